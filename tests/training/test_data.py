"""The labelled data and its held-out split."""

from __future__ import annotations

from collections import Counter

from training.data import is_heldout, load_extraction, load_intent, split

BRAND_TURN = "I like Samsung and Google Pixel phones"


def test_split_is_deterministic_disjoint_and_about_a_fifth() -> None:
    examples = load_intent()
    train, heldout = split(examples)
    assert {e.id for e in train}.isdisjoint(e.id for e in heldout)
    assert len(train) + len(heldout) == len(examples)
    assert 0.15 < len(heldout) / len(examples) < 0.25
    assert split(list(reversed(examples)))[1] == list(reversed(heldout))  # by id, not by position
    assert is_heldout("int-0001") == is_heldout("int-0001")


def test_every_label_has_enough_examples_in_both_languages() -> None:
    counts = Counter((e.intent, e.lang) for e in load_intent())
    labels = {label for label, _ in counts}
    assert len(labels) == 6
    assert all(counts[(label, lang)] >= 30 for label in labels for lang in ("zh", "en"))
    assert any(BRAND_TURN in e.messages[-1].content and e.intent == "specific brand" for e in load_intent())


def test_extraction_calls_are_typed() -> None:
    examples = load_extraction()
    smartphone = next(e for e in examples if e.id == "ext-0001")
    assert smartphone.call is not None and smartphone.call.arguments["category"] == "smartphone"
    assert any(e.call is None for e in examples)
