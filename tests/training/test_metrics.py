"""Scores: value matching, calibration error, the BFCL-style AST check, the evaluation registry."""

from __future__ import annotations

import pytest

from shared.schemas import FunctionCall
from training.eval_extraction import ast_check
from training.metrics import expected_calibration_error, normalise, values_match
from training.registry import evaluation, load_all


def test_values_match_after_normalisation() -> None:
    assert normalise("6-inch") == "6 inch"
    assert values_match("good camera", "really good camera")
    assert values_match("３０００以内", "3000以内")
    assert not values_match("black", "white")
    assert not values_match("", "white") and values_match("", "")


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([1.0, 1.0], [False, False]) == pytest.approx(1.0)


def _call(**arguments: str) -> FunctionCall:
    return FunctionCall(arguments=arguments)


def test_ast_check() -> None:
    gold = _call(category="smartphone", brand="Samsung and Google Pixel", camera="good camera")
    exact = _call(category="smartphone", brand="Samsung and Google Pixel", camera="a good camera")
    missing = _call(category="smartphone", brand="Samsung and Google Pixel")
    extra = _call(category="smartphone", brand="Samsung and Google Pixel", camera="good camera", colour="black")
    assert ast_check(exact, gold, strict=True)
    assert not ast_check(missing, gold, strict=True) and ast_check(missing, gold, strict=False)
    assert not ast_check(extra, gold, strict=True) and ast_check(extra, gold, strict=False)
    assert not ast_check(_call(category="laptop"), gold, strict=False)
    assert not ast_check(_call(category="smartphone", wings="two"), _call(category="smartphone"), strict=False)
    assert ast_check(None, None, strict=True) and not ast_check(None, gold, strict=False)
    assert ast_check(_call(category="laptop", brand="Lenovo"), _call(category="laptop", brand="联想"), strict=True)


def test_registry_lists_the_evaluations_once() -> None:
    registry = load_all()
    assert {"intent", "intent_designs", "extraction"} <= set(registry)
    with pytest.raises(ValueError, match="twice"):
        evaluation("intent")(lambda: "")
