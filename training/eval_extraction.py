"""Extraction evaluation: a BFCL-style AST check of the local engine's calls on the held-out split.

Per dialog, as BFCL's AST category checks a function call: the function name is exact; no key lies
outside the category's schema; every key of the gold call is present with a value that matches after
normalisation (``metrics.values_match``); and, strictly, no key is present that the gold call lacks.
A gold ``null`` passes only on a predicted ``null``. Three views are reported: strict (all of the above),
required (name, category and the gold's brand and price, the keys the recommender filters on), and
per-key precision/recall over (key, value) pairs. Brand values are compared in the catalog's spelling.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.engines.extraction import gated_call
from shared.engines.terms import TermLexicon, taxonomy_brand_terms
from shared.schemas import RECOMMEND_FUNCTION, FunctionCall
from shared.taxonomy import load_taxonomy
from training import train_extraction, train_intent
from training.data import ExtractionExample, load_extraction, load_intent, split
from training.metrics import values_match
from training.registry import evaluation

REQUIRED = ("category", "brand", "price")


_BRANDS = TermLexicon(taxonomy_brand_terms(load_taxonomy()))


def _canonical_brands(value: str) -> str:
    """Brand aliases in the catalog's spelling, so "联想" matches "Lenovo" (the engine answers the latter)."""
    out, cursor = [], 0
    for mention in _BRANDS.find(value):
        out += [value[cursor : mention.start], f" {mention.value} "]
        cursor = mention.end
    return "".join(out) + value[cursor:]


def matched_keys(predicted: dict[str, str], gold: dict[str, str]) -> set[str]:
    def same(key: str) -> bool:
        p, g = predicted[key], gold[key]
        return values_match(_canonical_brands(p), _canonical_brands(g)) if key == "brand" else values_match(p, g)

    return {k for k in gold if k in predicted and same(k)}


def ast_check(predicted: FunctionCall | None, gold: FunctionCall | None, strict: bool) -> bool:
    if predicted is None or gold is None:
        return predicted is None and gold is None
    if predicted.name != RECOMMEND_FUNCTION or predicted.arguments.get("category") != gold.arguments["category"]:
        return False
    allowed = load_taxonomy().allowed_keys(gold.arguments["category"])
    if set(predicted.arguments) - allowed:
        return False
    keys = set(gold.arguments) if strict else {k for k in REQUIRED if k in gold.arguments}
    if strict and set(predicted.arguments) - set(gold.arguments):
        return False
    return keys <= matched_keys(predicted.arguments, gold.arguments)


def _report(examples: Sequence[ExtractionExample], calls: Sequence[FunctionCall | None]) -> list[str]:
    pairs = list(zip(examples, calls, strict=True))
    lines = []
    for name, keep in (
        ("all", lambda _: True),
        ("zh", lambda e: e.lang == "zh"),
        ("en", lambda e: e.lang == "en"),
        ("multi-turn", lambda e: e.multi_turn),
    ):
        rows = [(e, c) for e, c in pairs if keep(e)]
        strict = sum(ast_check(c, e.call, strict=True) for e, c in rows) / len(rows)
        required = sum(ast_check(c, e.call, strict=False) for e, c in rows) / len(rows)
        lines.append(f"{name:12}{strict:10.3f}{required:10.3f}{len(rows):8d}")
    return [f"{'subset':12}{'strict':>10}{'required':>10}{'n':>8}", *lines]


@evaluation("extraction")
def extraction_heldout() -> str:
    train, heldout = split(load_extraction())
    # The gate is the intent model, trained on intent data minus any dialog that is a held-out extraction one.
    held_texts = {e.messages[-1].content for e in heldout}
    intent_train = [e for e in split(load_intent())[0] if e.messages[-1].content not in held_texts]
    gate, model = train_intent.train(intent_train), train_extraction.train(train)
    calls = [gated_call(e.messages, gate, model) for e in heldout]

    gold_calls = [e.call for e in heldout]
    detection = sum((c is None) == (g is None) for c, g in zip(calls, gold_calls, strict=True)) / len(heldout)
    both = [(c, g) for c, g in zip(calls, gold_calls, strict=True) if c and g]
    category = sum(c.arguments["category"] == g.arguments["category"] for c, g in both) / max(len(both), 1)
    tp = sum(len(matched_keys(c.arguments, g.arguments) - {"category"}) for c, g in both)
    n_pred = sum(len(c.arguments) - 1 for c in calls if c)
    n_gold = sum(len(g.arguments) - 1 for g in gold_calls if g)
    precision, recall = tp / max(n_pred, 1), tp / max(n_gold, 1)
    per_key = {}
    for key in ("brand", "price", "use"):
        with_key = [(c, g) for c, g in zip(calls, gold_calls, strict=True) if g and key in g.arguments]
        per_key[key] = sum(c is not None and key in matched_keys(c.arguments, g.arguments) for c, g in with_key) / max(
            len(with_key), 1
        )
    return "\n".join(
        [
            f"trained on {len(train)}, held out {len(heldout)} ({sum(g is None for g in gold_calls)} null calls)",
            f"call vs null decided right: {detection:.3f}; category right when both call: {category:.3f} (n={len(both)})",
            (
                f"(key, value) pairs beyond category: precision {precision:.3f}, recall {recall:.3f}, "
                f"F1 {2 * precision * recall / max(precision + recall, 1e-9):.3f}"
            ),
            "recall by key: " + ", ".join(f"{k} {v:.3f}" for k, v in per_key.items()),
            "BFCL-style AST pass rate:",
            *_report(heldout, calls),
        ]
    )
