"""Each task's labelled sets sent to a target and scored with the evaluations' own rules
(``training.eval_*``): the same figures whatever answered.

A request that fails is left out of the scores and counted: ``failed`` and the ``answered`` score (a share,
compared run to run like the others, so more failures than last time is a regression).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from shared.schemas import INTENT_LABELS, FunctionCall
from training import eval_realdata as real
from training.data import ExtractionExample, IntentExample
from training.eval_copywriting import CHECKS, Outcome, case_request, cases_for, check_copy, summarise_outcomes
from training.eval_extraction import ast_check, matched_keys
from training.eval_summary import FLAG_FIELDS, TEXT_FIELDS, SummaryExample, evaluate_summaries, text_scores
from training.harness.results import Confusion, LabelScore, TaskResult
from training.harness.targets import MAX_FAILURES_KEPT, Target
from training.metrics import accuracy, confusion_matrix, per_label_scores

T = TypeVar("T")
_FAILED = object()
INTENT_CHECKS = ("intent strict", "intent lenient", "shopping vs not")
FIELD_NAMES = {"用户问题": "problem", "客服方案": "solution", "是否接受": "accept", "是否负面情绪": "negative"}


def progress(items: Sequence[T], label: str) -> Iterable[T]:
    """A progress bar on a terminal (stderr), nothing elsewhere."""
    return tqdm(items, desc=f"{label:>22}", unit="req", leave=False, disable=None, dynamic_ncols=True)


def ask(target: Target, task: str, items: Sequence[T], call: Callable[[T], Any], label: str) -> list[Any]:
    """One answer per item, ``_FAILED`` where the request failed."""
    answers = []
    target.forget()
    for item in progress(items, label):
        before = len(target.failures[task])
        answer = target.probe(task, lambda item=item: call(item))  # type: ignore[misc]
        answers.append(_FAILED if len(target.failures[task]) > before else answer)
    return answers


def _finish(result: TaskResult, target: Target, task: str, total: int, answers: Sequence[Any]) -> TaskResult:
    failed = sum(a is _FAILED for a in answers)
    result.metrics["answered"] = (total - failed) / total if total else float("nan")
    result.failed = failed
    result.failures = target.failures[task][-failed:][:MAX_FAILURES_KEPT] if failed else []
    return result


def classification(result: TaskResult, gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> None:
    """Accuracy, per-label scores, macro F1 and the confusion matrix into ``result``."""
    scores = per_label_scores(gold, predicted, labels)
    result.per_label = {
        label: LabelScore(precision=p, recall=r, f1=f, support=n) for label, (p, r, f, n) in scores.items()
    }
    supported = [f for _, _, f, n in scores.values() if n]
    result.metrics["accuracy"] = accuracy(gold, predicted)
    result.metrics["macro_f1"] = sum(supported) / len(supported) if supported else float("nan")
    result.confusion = Confusion(labels=list(labels), matrix=confusion_matrix(gold, predicted, labels))


# --------------------------------------------------------------------------- the project's own data
def run_intent(target: Target, examples: Sequence[IntentExample], data: str) -> TaskResult:
    answers = ask(target, "intent", examples, lambda e: target.intent(list(e.messages)), "intent")
    kept = [(e, a) for e, a in zip(examples, answers, strict=True) if a is not _FAILED]
    result = TaskResult(data=data, n=len(kept))
    classification(result, [e.intent for e, _ in kept], [a for _, a in kept], INTENT_LABELS)
    for name, keep in (("zh", lambda e: e.lang == "zh"), ("en", lambda e: e.lang == "en"),
                       ("single_turn", lambda e: not e.multi_turn), ("multi_turn", lambda e: e.multi_turn)):
        rows = [(e.intent, a) for e, a in kept if keep(e)]
        result.metrics[f"accuracy_{name}"] = accuracy([g for g, _ in rows], [p for _, p in rows])
    return _finish(result, target, "intent", len(examples), answers)


def run_extraction(target: Target, examples: Sequence[ExtractionExample], data: str) -> TaskResult:
    answers = ask(target, "extraction", examples, lambda e: target.extract(list(e.messages)), "extraction")
    kept: list[tuple[ExtractionExample, FunctionCall | None]] = [
        (e, a) for e, a in zip(examples, answers, strict=True) if a is not _FAILED
    ]
    result = TaskResult(data=data, n=len(kept))
    m = result.metrics
    m["call_decision"] = _mean([(c is None) == (e.call is None) for e, c in kept])
    both = [(c, e.call) for e, c in kept if c and e.call]
    m["category"] = _mean([c.arguments.get("category") == g.arguments["category"] for c, g in both])
    tp = sum(len(matched_keys(c.arguments, g.arguments) - {"category"}) for c, g in both)
    n_pred = sum(len(c.arguments) - 1 for _, c in kept if c)
    n_gold = sum(len(e.call.arguments) - 1 for e, _ in kept if e.call)
    precision, recall = tp / max(n_pred, 1), tp / max(n_gold, 1)
    m["key_precision"], m["key_recall"] = precision, recall
    m["key_f1"] = 2 * precision * recall / precision_recall if (precision_recall := precision + recall) else 0.0
    for key in ("brand", "price", "use"):
        with_key = [(c, e.call) for e, c in kept if e.call and key in e.call.arguments]
        m[f"{key}_recall"] = _mean([c is not None and key in matched_keys(c.arguments, g.arguments) for c, g in with_key])
    for strict in (True, False):
        name = "ast_strict" if strict else "ast_required"
        m[name] = _mean([ast_check(c, e.call, strict) for e, c in kept])
        for lang in ("zh", "en"):
            m[f"{name}_{lang}"] = _mean([ast_check(c, e.call, strict) for e, c in kept if e.lang == lang])
    result.figures["null_calls"] = sum(e.call is None for e, _ in kept)
    return _finish(result, target, "extraction", len(examples), answers)


def run_summary(target: Target, examples: Sequence[SummaryExample], data: str) -> TaskResult:
    answers = ask(target, "summary", examples, lambda e: target.summarise(e.conversation), "summary")
    kept = [(e, a) for e, a in zip(examples, answers, strict=True) if a is not _FAILED]
    scored = evaluate_summaries([e for e, _ in kept], [a for _, a in kept]) if kept else None
    result = TaskResult(data=data, n=len(kept))
    if scored:
        result.metrics["valid"] = 1 - len(scored["invalid"]) / scored["n"]
        for key in FLAG_FIELDS:
            result.metrics[f"{FIELD_NAMES[key]}_accuracy"] = scored["labels"][key]["accuracy"]
        for key in TEXT_FIELDS:
            for score in ("bleu4", "rouge1", "rouge2", "rougeL"):
                result.metrics[f"{FIELD_NAMES[key]}_{score}"] = scored["text"][key][score] / 100
            result.figures[f"{FIELD_NAMES[key]}_mean_chars"] = scored["text"][key]["mean_chars"]
        result.failures = [f"{i}: {why}" for i, why in scored["invalid"][:MAX_FAILURES_KEPT]]
    return _finish(result, target, "summary", len(examples), answers)


def run_copywriting(target: Target, products: Sequence[dict[str, Any]], per_category: int, index: Any) -> TaskResult:
    cases = cases_for(products)
    requests = [case_request(case, index) for case in cases]
    answers = ask(
        target, "copywriting", requests,
        lambda r: target.copy(r[0].model_dump(mode="json", by_alias=True, exclude_none=True)), "copywriting",
    )
    outcomes: list[Outcome] = [
        check_copy(case, request, wish, answer, index, None)
        for case, (request, wish), answer in zip(cases, requests, answers, strict=True)
        if answer is not _FAILED
    ]
    result = TaskResult(data=f"sample catalog, {len(products)} products x zh/en x 5 cases", n=len(outcomes))
    if outcomes:
        scored = summarise_outcomes(products, per_category, outcomes)
        for check in CHECKS:
            ok, n = scored["passed"][check]
            result.metrics[check] = ok / n if n else float("nan")
        result.metrics["grounded"] = _mean([not ({"numbers", "attributes"} & set(o.problems)) for o in outcomes])
        for lang in ("zh", "en"):
            result.figures[f"mean_length_{lang}_default"] = scored["mean_default_length"][lang]
        result.failures = [
            f"{o.case.name}: {check}: {o.problems[check]}" for check in CHECKS for o in scored["violations"][check]
        ][:MAX_FAILURES_KEPT]
    return _finish(result, target, "copywriting", len(cases), answers)


# --------------------------------------------------------------------------- the real development data
def _slug(check: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", check.lower()).strip("_")


def _scores_into(result: TaskResult, scores: real.Scores, checks: Sequence[str]) -> None:
    for check in checks:
        if check not in scores.totals:
            continue
        rate, _ = scores.rate(check, "all")
        name = "no_invented_brand" if check == "invented brands (count)" else _slug(check)
        if check == "call made (info)":
            result.figures[name] = rate
        else:
            result.metrics[name] = rate
        for lang in ("en", "zh"):
            lang_rate, n = scores.rate(check, lang)
            if n:
                result.figures[f"{name}_{lang}"] = lang_rate


def run_realdata(target: Target, directory: Path, limit: int | None) -> dict[str, TaskResult]:
    shopping = real.load_shopping(directory / "shopping.jsonl")[:limit]
    turns = real.load_turns(directory / "turns.jsonl")[:limit]
    summaries = real.load_summaries(directory / "summary.jsonl")[:limit]
    items = [*shopping, *turns]
    intents = ask(target, "intent", items, lambda i: target.intent(list(i.messages)), "realdata intent")
    calls = ask(target, "extraction", items, lambda i: target.extract(list(i.messages)), "realdata extraction")
    outcomes = {
        i.id: real.Outcome(i, intent, call)
        for i, intent, call in zip(items, intents, calls, strict=True)
        if intent is not _FAILED and call is not _FAILED
    }
    shop = [outcomes[i.id] for i in shopping if i.id in outcomes]
    single = [outcomes[i.id] for i in turns if i.id in outcomes]
    shop_scores, turn_scores = real.score_shopping(shop, True), real.score_shopping(single, False)
    data = f"{directory.name}/shopping.jsonl"
    intent = TaskResult(data=data, n=len(shop))
    labelled = [o for o in shop if o.item.intent is not None]
    classification(intent, [o.item.intent or "" for o in labelled], [o.intent for o in labelled], INTENT_LABELS)
    del intent.metrics["accuracy"]  # the strict intent score below is the same figure, under its real-data name
    _scores_into(intent, shop_scores, INTENT_CHECKS)
    extraction = TaskResult(data=data, n=len(shop))
    _scores_into(extraction, shop_scores, [c for c, _ in real.SHOPPING_ROWS if c not in INTENT_CHECKS])
    single_turns = TaskResult(data=f"{directory.name}/turns.jsonl", n=len(single))
    _scores_into(single_turns, turn_scores, [c for c, _ in real.SHOPPING_ROWS])
    per_item = [_FAILED if _FAILED in (a, b) else a for a, b in zip(intents, calls, strict=True)]

    answers = ask(target, "summary", summaries, lambda s: target.summarise(s.conversation), "realdata summary")
    kept = [(s, a) for s, a in zip(summaries, answers, strict=True) if a is not _FAILED]
    summary = TaskResult(data=f"{directory.name}/summary.jsonl", n=len(kept))
    if kept:
        pairs = [(s, a if isinstance(a, dict) else {}) for s, a in kept]
        flags = real.score_summaries(pairs)
        for key in ("是否接受", "是否负面情绪"):
            summary.metrics[f"{FIELD_NAMES[key]}_accuracy"], n = flags[key]
            summary.figures[f"{FIELD_NAMES[key]}_labelled"] = n
        for key, ref in (("用户问题", "ref_user"), ("客服方案", "ref_agent")):
            text = text_scores([str(a.get(key, "")) for _, a in pairs], [getattr(s, ref) for s, _ in pairs])
            for score, value in text.items():
                summary.metrics[f"{FIELD_NAMES[key]}_{score}"] = value / 100
    return {
        "realdata.intent": _finish(intent, target, "intent", len(shopping), per_item[: len(shopping)]),
        "realdata.extraction": _finish(extraction, target, "extraction", len(shopping), per_item[: len(shopping)]),
        "realdata.turns": _finish(single_turns, target, "extraction", len(turns), per_item[len(shopping) :]),
        "realdata.summary": _finish(summary, target, "summary", len(summaries), answers),
    }


def _mean(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")
