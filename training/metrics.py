"""Scores and report tables shared by the evaluations."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from shared.text import tokens


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else float("nan")


def confusion_table(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> str:
    """Rows are the gold labels, columns the predictions."""
    short = [label.split()[-1][:8] if label.startswith("specific") else label[:8] for label in labels]
    lines = ["gold \\ predicted".ljust(20) + "".join(s.rjust(10) for s in short)]
    for label, row in zip(labels, confusion_matrix(gold, predicted, labels), strict=True):
        lines.append(label.ljust(20) + "".join(str(count).rjust(10) for count in row))
    return "\n".join(lines)


def per_label_scores(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, tuple[float, float, float, int]]:
    """label -> (precision, recall, F1, support); 0 where a label is never predicted or never gold."""
    scores = {}
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        n_pred, n_gold = sum(p == label for p in predicted), sum(g == label for g in gold)
        precision, recall = tp / n_pred if n_pred else 0.0, tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = (precision, recall, f1, n_gold)
    return scores


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Rows are the gold labels, columns the predictions."""
    counts = Counter(zip(gold, predicted, strict=True))
    return [[counts[(g, p)] for p in labels] for g in labels]


def per_label_table(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> str:
    lines = [f"{'label':20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for label, (precision, recall, f1, n_gold) in per_label_scores(gold, predicted, labels).items():
        lines.append(f"{label:20}{precision:10.3f}{recall:10.3f}{f1:10.3f}{n_gold:10d}")
    return "\n".join(lines)


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    conf, hit = np.asarray(confidence), np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in pairwise(edges):
        in_bin = (conf > low) & (conf <= high)
        if in_bin.any():
            error += in_bin.mean() * abs(hit[in_bin].mean() - conf[in_bin].mean())
    return float(error)


def normalise(value: str) -> str:
    """Case, width and punctuation folded: "6-inch" ~ "6 inch", "ＳＰＦ５０" ~ "spf50"."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return re.sub(r"[\s\W_]+", " ", folded).strip()


def token_f1(a: str, b: str) -> float:
    left, right = Counter(tokens(a)), Counter(tokens(b))
    overlap = sum((left & right).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(left.values()), overlap / sum(right.values())
    return 2 * precision * recall / (precision + recall)


def values_match(predicted: str, gold: str, threshold: float = 0.5) -> bool:
    """Equal after normalisation, one inside the other, or token F1 >= threshold (the user's words vary)."""
    p, g = normalise(predicted), normalise(gold)
    if not p or not g:
        return p == g
    contained = min(len(p), len(g)) >= 2 and (p in g or g in p)
    return p == g or contained or token_f1(p, g) >= threshold
