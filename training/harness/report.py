"""The run as one self-contained HTML file (inline CSS and SVG, no script, nothing fetched) and as a console
summary."""

from __future__ import annotations

import math
from html import escape

from training.harness.charts import hbars, heatmap, histogram
from training.harness.results import Results

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px}
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.regression td{background:#fde2e2}tr.improvement td{background:#e2f5e4}
.bad{color:#b00020;font-weight:bold}.good{color:#1b7f33}.muted{color:#777}
.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.box{border:1px solid #e5e5e5;border-radius:6px;padding:8px 12px;margin:12px 0}
code{background:#f4f4f4;padding:0 3px}
"""


def _num(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _changes(results: Results) -> tuple[set[str], set[str]]:
    comparison = results.comparison
    if comparison is None:
        return set(), set()
    return {c.metric for c in comparison.regressions}, {c.metric for c in comparison.improvements}


def _previous(results: Results) -> dict[str, float]:
    return results.comparison.previous_scores if results.comparison else {}


def _comparison_box(results: Results) -> str:
    comparison = results.comparison
    if comparison is None:
        return "<div class='box muted'>No previous run of this target to compare with: this run is the baseline.</div>"
    lines = [
        f"<div class='box'><b>Compared with</b> <code>{escape(comparison.previous)}</code> "
        f"({comparison.previous_started:%Y-%m-%d %H:%M} UTC): {comparison.compared} scores in both runs; a regression "
        f"is a score lower by more than {comparison.tolerance}, an engine slower when its p50 grew by more than "
        f"{comparison.latency_tolerance:.0%}.",
    ]
    if comparison.regressions:
        lines.append(f"<p class='bad'>{len(comparison.regressions)} regression(s):</p><table><tr><th>score</th>"
                     "<th>previous</th><th>now</th><th>change</th></tr>")
        lines += [f"<tr class='regression'><td>{escape(c.metric)}</td><td class='n'>{c.previous:.3f}</td>"
                  f"<td class='n'>{c.current:.3f}</td><td class='n'>{c.delta:+.3f}</td></tr>"
                  for c in comparison.regressions]
        lines.append("</table>")
    else:
        lines.append("<p class='good'>No regression.</p>")
    if comparison.slower:
        lines.append("<p class='bad'>Slower: " + ", ".join(
            f"{escape(c.metric)} {c.previous:.2f} → {c.current:.2f} ms" for c in comparison.slower) + "</p>")
    if comparison.improvements:
        lines.append("<p class='good'>Improved: " + ", ".join(
            f"{escape(c.metric)} {c.previous:.3f} → {c.current:.3f}" for c in comparison.improvements) + "</p>")
    return "\n".join([*lines, "</div>"])


def _task_section(name: str, results: Results) -> str:
    task = results.tasks[name]
    regressed, improved = _changes(results)
    previous = _previous(results)
    parts = [f"<h2 id='{escape(name)}'>{escape(name)}</h2><p class='muted'>{escape(task.data)}; n={task.n}"]
    if task.engines:
        parts.append("; answered by " + ", ".join(f"{escape(k)} {v}" for k, v in sorted(task.engines.items())))
    parts.append("</p>")
    if task.skipped:
        return "".join([*parts, f"<p class='bad'>skipped: {escape(task.skipped)}</p>"])
    if task.failed:
        parts.append(f"<p class='bad'>{task.failed} request(s) failed (left out of the scores): "
                     + "; ".join(escape(f) for f in task.failures) + "</p>")
    rows = ["<table><tr><th>score</th><th>value</th><th>previous</th></tr>"]
    for metric, value in task.metrics.items():
        key = f"{name}.{metric}"
        css = " class='regression'" if key in regressed else " class='improvement'" if key in improved else ""
        before = f"{previous[key]:.3f}" if key in previous else ""
        rows.append(f"<tr{css}><td>{escape(metric)}</td><td class='n'>{_num(value)}</td><td class='n'>{before}</td>"
                    "</tr>")
    rows += [f"<tr><td class='muted'>{escape(k)}</td><td class='n muted'>{_num(v, 2)}</td><td></td></tr>"
             for k, v in task.figures.items()]
    rows.append("</table>")
    charts = ["<div class='charts'>", "<div>", *rows, "</div>"]
    if task.per_label:
        charts.append(hbars([(label, s.f1) for label, s in task.per_label.items()], "F1 per label", maximum=1.0))
    if task.confusion:
        charts.append(heatmap(task.confusion.labels, task.confusion.matrix, "Confusion matrix"))
    if not task.per_label and task.metrics:
        charts.append(hbars(list(task.metrics.items()), "Scores", maximum=1.0))
    charts.append("</div>")
    if task.failures and not task.failed:
        charts.append("<details><summary>first misses</summary><ul>"
                      + "".join(f"<li>{escape(f)}</li>" for f in task.failures) + "</ul></details>")
    return "".join(parts) + "\n".join(charts)


def _latency_section(results: Results) -> str:
    if not results.latency:
        return ""
    rows = ["<table><tr><th>engine</th><th>n</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>mean</th>"
            "<th>max</th></tr>"]
    rows += [f"<tr><td>{escape(e)}</td><td class='n'>{s.n}</td><td class='n'>{s.p50:.2f}</td><td class='n'>"
             f"{s.p90:.2f}</td><td class='n'>{s.p99:.2f}</td><td class='n'>{s.mean:.2f}</td><td class='n'>{s.max:.2f}"
             "</td></tr>" for e, s in results.latency.items()]
    charts = [histogram(s.samples_ms, f"{e}") for e, s in results.latency.items()]
    return ("<h2 id='latency'>Latency per engine</h2><p class='muted'>Wall clock per request as the harness saw it "
            f"({escape(results.target.description)}), one request at a time, on a machine shared with other work."
            "</p>" + "".join(rows) + "</table><div class='charts'>" + "".join(charts) + "</div>")


def _designs_section(results: Results) -> str:
    if not results.designs:
        return ""
    designs = results.designs.designs
    rows = "".join(f"<tr><td>{escape(d.name)}</td><td class='n'>{d.accuracy:.3f}</td><td class='n'>{d.p50_ms:.2f}</td>"
                   f"<td>{escape(d.note)}</td></tr>" for d in designs)
    return (
        "<h2 id='designs'>Intent designs compared</h2><p class='muted'>The local designs the shipped one was chosen "
        "from, trained on the same split: held-out accuracy and in-process p50, measured "
        f"{results.designs.measured:%Y-%m-%d %H:%M} UTC (again whenever their inputs change).</p>"
        f"<table><tr><th>design</th><th>accuracy</th><th>p50 ms</th><th>note</th></tr>{rows}</table>"
        "<div class='charts'>"
        + hbars([(d.name, d.accuracy) for d in designs], "Held-out accuracy", maximum=1.0)
        + hbars([(d.name, d.p50_ms) for d in designs], "p50 ms per request", unit=" ms", digits=2)
        + "</div>"
    )


def _judge_section(results: Results) -> str:
    judge = results.judge
    if judge is None:
        return ""
    parts = [f"<h2 id='judge'>Model as judge</h2><p>Judge: <b>{escape(judge.model)}</b> (backend "
             f"{escape(judge.backend)}), rubric <code>{escape(judge.rubric)}</code> sha256 "
             f"{judge.rubric_sha256[:12]}.</p><div class='charts'>"]
    for kind, means in judge.mean.items():
        read = sum(bool(i.scores) for i in judge.items[kind])
        title = f"{kind}: mean score (1-5) of the {read} of {len(judge.items[kind])} verdicts read"
        parts.append(hbars(list(means.items()), title, maximum=5.0, digits=2))
    parts.append("</div>")
    for kind, items in judge.items.items():
        parts.append(f"<details><summary>{escape(kind)}: {len(items)} items</summary><table><tr><th>item</th>"
                     "<th>scores</th><th>reason</th></tr>")
        parts += [f"<tr><td>{escape(i.item)}</td><td>{escape(', '.join(f'{k} {v}' for k, v in i.scores.items()))}"
                  f"</td><td>{escape(i.problem or i.reason)}</td></tr>" for i in items]
        parts.append("</table></details>")
    return "".join(parts)


def html(results: Results) -> str:
    target = results.target
    nav = " · ".join(f"<a href='#{escape(n)}'>{escape(n)}</a>" for n in results.tasks)
    body = [
        f"<h1>Evaluation: {escape(target.description)}</h1>",
        f"<p>Started {results.started:%Y-%m-%d %H:%M:%S} UTC, {results.wall_s:.0f} s; engine asked: "
        f"<code>{escape(target.engine)}</code>"
        + (("; models: " + ", ".join(f"{escape(k)} {escape(v)}" for k, v in target.models.items())) if target.models
           else "")
        + f"</p><p>{nav}</p>",
        _comparison_box(results),
        *(_task_section(name, results) for name in results.tasks),
        _designs_section(results),
        _latency_section(results),
        _judge_section(results),
    ]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Evaluation report</title>"
            f"<style>{CSS}</style></head><body>" + "\n".join(body) + "</body></html>")


def console(results: Results) -> str:
    """The scores, one task a line group, regressions last and loud."""
    regressed, _ = _changes(results)
    lines = [f"evaluation of {results.target.description} ({results.wall_s:.0f} s)"]
    for name, task in results.tasks.items():
        if task.skipped:
            lines.append(f"{name:22} skipped: {task.skipped}")
            continue
        cells = [f"{m} {_num(v)}{' (!)' if f'{name}.{m}' in regressed else ''}" for m, v in task.metrics.items()]
        failed = f"; {task.failed} FAILED" if task.failed else ""
        lines.append(f"{name:22} n={task.n}{failed}: " + ", ".join(cells))
    for engine, latency in results.latency.items():
        lines.append(f"latency {engine:14} p50 {latency.p50:.2f} ms, p90 {latency.p90:.2f}, p99 {latency.p99:.2f} "
                     f"(n={latency.n})")
    if results.judge:
        for kind, means in results.judge.mean.items():
            lines.append(f"judge {results.judge.model} on {kind}: "
                         + ", ".join(f"{k} {v:.2f}" for k, v in means.items()))
    comparison = results.comparison
    if comparison is None:
        lines.append("no previous run of this target: this one is the baseline")
    else:
        lines.append(f"compared with {comparison.previous}: {comparison.compared} scores")
        lines += [f"REGRESSION {c.metric}: {c.previous:.3f} -> {c.current:.3f} ({c.delta:+.3f})"
                  for c in comparison.regressions]
        lines += [f"SLOWER {c.metric}: {c.previous:.2f} -> {c.current:.2f} ms" for c in comparison.slower]
        if not comparison.regressions:
            lines.append(f"no regression beyond {comparison.tolerance}")
    return "\n".join(lines)
