"""Inline SVG charts for the HTML report: drawn here, so the report is one file that needs nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

FONT = "font-family='system-ui, sans-serif' font-size='12'"
BAR = "#4e79a7"
MARK = "#e15759"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{escape(title)}'><text x='4' y='16' {FONT} font-weight='bold'>{escape(title)}</text>"
        + "".join(body)
        + "</svg>"
    )


def hbars(rows: Sequence[tuple[str, float]], title: str, maximum: float | None = None, unit: str = "",
          digits: int = 3) -> str:
    """One horizontal bar per row, its value written at its end; NaN rows drawn as 'n/a'."""
    label_w, bar_w, row_h, top = 250, 280, 22, 28
    finite = [v for _, v in rows if np.isfinite(v)]
    top_value = maximum or (max(finite) * 1.1 if finite and max(finite) > 0 else 1.0)
    body = []
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        body.append(f"<text x='{label_w - 6}' y='{y + 15}' text-anchor='end' {FONT}>{escape(label[:40])}</text>")
        if not np.isfinite(value):
            body.append(f"<text x='{label_w + 4}' y='{y + 15}' {FONT} fill='#888'>n/a</text>")
            continue
        width = max(1.0, bar_w * min(value, top_value) / top_value)
        body.append(f"<rect x='{label_w}' y='{y + 3}' width='{width:.1f}' height='{row_h - 6}' fill='{BAR}'/>")
        body.append(f"<text x='{label_w + width + 4}' y='{y + 15}' {FONT}>{value:.{digits}f}{unit}</text>")
    return _svg(label_w + bar_w + 80, top + row_h * len(rows) + 6, body, title)


def heatmap(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str) -> str:
    """Rows gold, columns predicted; shade by the share of the row, the count written in each cell."""
    cell, left, top = 58, 150, 130
    body = [
        f"<text x='{left + cell * len(labels) / 2}' y='{top - 104}' text-anchor='middle' {FONT}>predicted</text>",
        f"<text x='14' y='{top + cell * len(labels) / 2}' {FONT} transform='rotate(-90 14 "
        f"{top + cell * len(labels) / 2})' text-anchor='middle'>gold</text>",
    ]
    for j, label in enumerate(labels):
        x = left + j * cell + cell / 2
        body.append(f"<text x='{x}' y='{top - 6}' {FONT} transform='rotate(-40 {x} {top - 6})'>{escape(label)}</text>")
    for i, (label, row) in enumerate(zip(labels, matrix, strict=True)):
        y = top + i * cell
        total = sum(row) or 1
        body.append(f"<text x='{left - 6}' y='{y + cell / 2 + 4}' text-anchor='end' {FONT}>{escape(label)}</text>")
        for j, count in enumerate(row):
            share = count / total
            colour = f"rgb({int(255 - 200 * share)},{int(255 - 140 * share)},{int(255 - 60 * share)})"
            if i != j and count:
                colour = f"rgb(255,{int(235 - 120 * share)},{int(225 - 120 * share)})"
            ink = "#fff" if share > 0.6 else "#000"
            body.append(f"<rect x='{left + j * cell}' y='{y}' width='{cell}' height='{cell}' fill='{colour}' "
                        "stroke='#ccc'/>")
            body.append(f"<text x='{left + j * cell + cell / 2}' y='{y + cell / 2 + 4}' text-anchor='middle' "
                        f"fill='{ink}' {FONT}>{count}</text>")
    # Room on the right for the last column's slanted label.
    return _svg(left + cell * len(labels) + 90, top + cell * len(labels) + 10, body, title)


def histogram(samples_ms: Sequence[float], title: str, bins: int = 24) -> str:
    """Request latencies in equal bins up to the 99th percentile (slower ones in the last bin), with the p50
    and p90 marked."""
    width, height, left, top, bottom = 460, 200, 44, 28, 36
    values = np.asarray(samples_ms)
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    upper = max(float(p99) * 1.05, 1e-3)
    counts, edges = np.histogram(np.minimum(values, upper), bins=bins, range=(0, upper))
    plot_w, plot_h = width - left - 30, height - top - bottom  # room for the last tick label
    peak = max(int(counts.max()), 1)
    body = [f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' stroke='#333'/>",
            f"<text x='{left - 4}' y='{top + 8}' text-anchor='end' {FONT}>{peak}</text>",
            f"<text x='{left - 4}' y='{top + plot_h}' text-anchor='end' {FONT}>0</text>"]
    bar = plot_w / bins
    for k, count in enumerate(counts):
        h = plot_h * count / peak
        body.append(f"<rect x='{left + k * bar + 1:.1f}' y='{top + plot_h - h:.1f}' width='{bar - 2:.1f}' "
                    f"height='{h:.1f}' fill='{BAR}'/>")
    for k in (0, bins // 2, bins):
        body.append(f"<text x='{left + k * bar:.1f}' y='{top + plot_h + 14}' text-anchor='middle' {FONT}>"
                    f"{edges[k]:.1f}</text>")
    body.append(f"<text x='{left + plot_w / 2}' y='{height - 4}' text-anchor='middle' {FONT}>ms per request "
                f"(n={len(values)})</text>")
    for name, value in (("p50", p50), ("p90", p90)):
        x = left + plot_w * min(float(value), upper) / upper
        body.append(f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{top + plot_h}' stroke='{MARK}' "
                    "stroke-dasharray='4 3'/>")
        body.append(f"<text x='{x + 3:.1f}' y='{top + 10 + (12 if name == 'p90' else 0)}' fill='{MARK}' {FONT}>"
                    f"{name} {value:.2f}</text>")
    return _svg(width, height, body, title)
