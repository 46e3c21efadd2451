"""Summary evaluation: the local summariser on every labelled dialog of ``data/summary.jsonl``.

Reported: format validity of the answer as the service serialises it, accuracy of the two 是/否 fields
(with 2x2 confusions), and character-level BLEU-4 and ROUGE-1/2/L for 用户问题 and 客服方案.

Text scores are on characters after NFKC, case folding and removal of punctuation and whitespace
(``metrics.normalise``), so "，" against "、" costs nothing; digits and Latin letters count one character
each. BLEU-4 is corpus-level (n-gram counts summed over the dialogs, one reference each, uniform weights,
brevity penalty on the summed lengths) with sacrebleu's default "exp" smoothing: an order with no match
gets precision 1 / (2^k x its n-gram count), k = 1, 2, ... for successive such orders; no match at all,
or no n-gram of some order (hypotheses all under 4 characters), gives 0. Checked against sacrebleu 2.x
(``tokenize="char"`` on the stripped text) and rouge-score with a character tokenizer: equal figures. ROUGE-N and ROUGE-L are F1 (beta 1) per dialog, averaged over the dialogs.

The local engine's lexicons were tuned by their author on these same dialogs (the only labelled summaries
there are), so its label accuracy here is optimistic. The report adds the accuracy on a fixed third of the
ids (by hash), which is no clean held-out either: the same tuned engine answers it.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.summary.engine import PROBLEM_CHARS, SOLUTION_CHARS, LocalSummariser
from services.summary.schemas import SummaryRequest, SummaryResponse
from training.data import DATA_DIR
from training.metrics import accuracy, confusion_table, normalise
from training.registry import evaluation

SUMMARY_FILE = DATA_DIR / "summary.jsonl"
KEYS = ("用户问题", "客服方案", "是否接受", "是否负面情绪")
TEXT_FIELDS = ("用户问题", "客服方案")
FLAG_FIELDS = ("是否接受", "是否负面情绪")
YES_NO = ("是", "否")
TARGET_CHARS = {"用户问题": PROBLEM_CHARS, "客服方案": SOLUTION_CHARS}
REFERENCE_FIGURES = "the reference summary model (a fine-tuned ERNIE-Speed, its own test split, Qianfan's scorer): BLEU-4 62.2, ROUGE-L 78.0"


# --------------------------------------------------------------------------- BLEU and ROUGE on characters
def chars(text: str) -> list[str]:
    """The characters scored: NFKC, case-folded, punctuation and whitespace removed."""
    return list(normalise(text).replace(" ", ""))


def _ngrams(units: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(units[i : i + n]) for i in range(len(units) - n + 1))


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], max_n: int = 4) -> float:
    """Character-level corpus BLEU-``max_n`` in 0-100, one reference per hypothesis (see the module doc)."""
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        h, r = chars(hyp), chars(ref)
        hyp_len, ref_len = hyp_len + len(h), ref_len + len(r)
        for n in range(1, max_n + 1):
            h_grams, r_grams = _ngrams(h, n), _ngrams(r, n)
            matches[n - 1] += sum((h_grams & r_grams).values())
            totals[n - 1] += sum(h_grams.values())
    if not any(matches) or not all(totals):  # nothing matches, or no n-gram of some order at all: 0, as sacrebleu
        return 0.0
    log_precision, k = 0.0, 1
    for match, total in zip(matches, totals, strict=True):
        if match == 0:
            precision = 1 / (2**k * total)
            k += 1
        else:
            precision = match / total
        log_precision += math.log(precision) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * brevity * math.exp(log_precision)


def _f1(overlap: int, hyp_total: int, ref_total: int) -> float:
    if not overlap:
        return 0.0
    precision, recall = overlap / hyp_total, overlap / ref_total
    return 2 * precision * recall / (precision + recall)


def rouge_n(hypothesis: str, reference: str, n: int) -> float:
    """Character ROUGE-N F1 in 0-100 for one pair."""
    h, r = _ngrams(chars(hypothesis), n), _ngrams(chars(reference), n)
    return 100 * _f1(sum((h & r).values()), sum(h.values()), sum(r.values()))


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(hypothesis: str, reference: str) -> float:
    """Character ROUGE-L F1 (longest common subsequence) in 0-100 for one pair."""
    h, r = chars(hypothesis), chars(reference)
    return 100 * _f1(_lcs(h, r), len(h), len(r))


def text_scores(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU-4 and the mean ROUGE-1/2/L F1 over the pairs, all 0-100."""
    pairs = list(zip(hypotheses, references, strict=True))

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    return {
        "bleu4": corpus_bleu(hypotheses, references),
        "rouge1": mean([rouge_n(h, r, 1) for h, r in pairs]),
        "rouge2": mean([rouge_n(h, r, 2) for h, r in pairs]),
        "rougeL": mean([rouge_l(h, r) for h, r in pairs]),
    }


# --------------------------------------------------------------------------- data and the engine
@dataclass(frozen=True, slots=True)
class SummaryExample:
    id: str
    conversation: str
    summary: dict[str, str]


def load_summaries(path: Path = SUMMARY_FILE) -> list[SummaryExample]:
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [SummaryExample(row["id"], row["conversation"], row["summary"]) for row in rows]


def in_third(example_id: str) -> bool:
    """A fixed third of the ids, by hash: stable when rows are added or reordered."""
    return int(hashlib.sha256(example_id.encode()).hexdigest(), 16) % 3 == 0


def summarise(engine: LocalSummariser, conversation: str) -> Any:
    """The engine's answer as the service sends it (request validated, response serialised by alias), as
    parsed JSON; what the service would answer with engine=local."""
    turns = SummaryRequest(conversation=conversation, engine="local").turns()
    response = SummaryResponse(summary=engine.summarise(turns), engine="local")
    return json.loads(response.model_dump_json(by_alias=True))["summary"]


def format_problems(answer: Any) -> list[str]:
    """What is wrong with an answer's format: keys, 是/否 flags, non-empty text, JSON round trip."""
    if not isinstance(answer, dict):
        return [f"not a JSON object: {type(answer).__name__}"]
    problems = []
    if set(answer) != set(KEYS):
        problems.append(f"keys {sorted(answer)}")
    problems += [f"{k}={answer.get(k)!r}" for k in FLAG_FIELDS if answer.get(k) not in YES_NO]
    problems += [f"{k} empty or not text" for k in TEXT_FIELDS if not (isinstance(answer.get(k), str) and answer[k])]
    try:
        if json.loads(json.dumps(answer, ensure_ascii=False)) != answer:
            problems.append("changes in a JSON round trip")
    except (TypeError, ValueError) as exc:
        problems.append(f"not JSON-serialisable: {exc}")
    return problems


# --------------------------------------------------------------------------- the evaluation
def _local_answer(engine: LocalSummariser, conversation: str) -> Any:
    try:
        return summarise(engine, conversation)
    except Exception as exc:  # a crash is an invalid answer, reported, not raised
        return exc


def evaluate_summaries(examples: Sequence[SummaryExample], given: Sequence[Any] | None = None) -> dict[str, Any]:
    """Every figure of the report, as data (the tests read it). ``given``: the answers to score, one per
    example (an exception where the request failed); by default the local engine's."""
    if given is None:
        engine = LocalSummariser()
        given = [_local_answer(engine, example.conversation) for example in examples]
    answers: list[dict[str, Any]] = []
    invalid: list[tuple[str, str]] = []
    for example, answer in zip(examples, given, strict=True):
        if isinstance(answer, BaseException):
            problems = [f"raised {type(answer).__name__}: {answer}"]
        else:
            problems = format_problems(answer)
        answers.append(answer if isinstance(answer, dict) else {})
        if problems:
            invalid.append((example.id, "; ".join(problems)))

    def value(answer: dict[str, Any], key: str) -> str:
        return str(answer.get(key, ""))

    third = [i for i, e in enumerate(examples) if in_third(e.id)]
    labels: dict[str, Any] = {}
    for key in FLAG_FIELDS:
        gold = [e.summary[key] for e in examples]
        predicted = [value(a, key) for a in answers]
        labels[key] = {
            "accuracy": accuracy(gold, predicted),
            "correct": sum(g == p for g, p in zip(gold, predicted, strict=True)),
            "confusion": {(g, p): sum(x == g and y == p for x, y in zip(gold, predicted, strict=True))
                          for g in YES_NO for p in YES_NO},
            "confusion_table": confusion_table(gold, predicted, YES_NO),
            "errors": [(e.id, g, p) for e, g, p in zip(examples, gold, predicted, strict=True) if g != p],
            "third_accuracy": accuracy([gold[i] for i in third], [predicted[i] for i in third]),
            "third_correct": sum(gold[i] == predicted[i] for i in third),
        }

    text: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        hyps, refs = [value(a, key) for a in answers], [e.summary[key] for e in examples]
        text[key] = {
            **text_scores(hyps, refs),
            "third": text_scores([hyps[i] for i in third], [refs[i] for i in third]),
            "mean_chars": sum(map(len, hyps)) / len(hyps),
            "mean_ref_chars": sum(map(len, refs)) / len(refs),
            "over_target": sum(len(h) > TARGET_CHARS[key] for h in hyps),
        }
    both = text_scores(
        [value(a, "用户问题") + value(a, "客服方案") for a in answers],
        [e.summary["用户问题"] + e.summary["客服方案"] for e in examples],
    )
    return {"n": len(examples), "third_n": len(third), "invalid": invalid, "labels": labels, "text": text,
            "both": both, "answers": answers}


def _pad(text: str, width: int) -> str:
    """``text`` left-justified to ``width`` terminal columns (a Chinese character takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - columns)


def render(result: dict[str, Any]) -> str:
    n, third_n = result["n"], result["third_n"]
    lines = [
        f"engine: LocalSummariser (extractive, lexicons), in-process as the service answers engine=local; "
        f"{n} labelled dialogs (data/summary.jsonl)",
        "CAUTION: the engine's lexicons were tuned by its author on these same dialogs (the only labelled "
        "summaries), so these figures are optimistic. The 'third' columns are a fixed third of the ids (by "
        "hash of the id), answered by the same tuned engine: not a clean held-out either.",
        "",
        f"format valid (exactly the four keys, flags 是/否, text non-empty, JSON round trip): "
        f"{n - len(result['invalid'])}/{n}",
    ]
    lines += [f"  invalid {i}: {why}" for i, why in result["invalid"][:5]]
    lines += ["", f"{'label':14}{'accuracy (all)':>18}{f'accuracy (third, n={third_n})':>30}"]
    for key in FLAG_FIELDS:
        info = result["labels"][key]
        lines.append(
            f"{_pad(key, 14)}{info['accuracy']:10.3f} ({info['correct']:>2}/{n})"
            f"{info['third_accuracy']:20.3f} ({info['third_correct']:>2}/{third_n})"
        )
    for key in FLAG_FIELDS:
        info = result["labels"][key]
        errors = ", ".join(f"{i} gold {g} got {p}" for i, g, p in info["errors"][:8])
        more = f" (+{len(info['errors']) - 8} more)" if len(info["errors"]) > 8 else ""
        lines += ["", f"{key}:", info["confusion_table"], f"errors: {errors or 'none'}{more}"]
    lines += [
        "",
        "text fields, character level (NFKC, case-folded, punctuation and whitespace stripped); BLEU-4 corpus-"
        "level, 'exp' smoothing (unused when every order has a match); ROUGE F1 averaged over dialogs:",
        f"{'field':14}{'BLEU-4':>8}{'ROUGE-1':>9}{'ROUGE-2':>9}{'ROUGE-L':>9}   {'third: BLEU-4 / ROUGE-L':>24}"
        f"{'chars out/ref':>16}{'over target':>13}",
    ]
    for key in TEXT_FIELDS:
        s = result["text"][key]
        lines.append(
            f"{_pad(key, 14)}{s['bleu4']:8.1f}{s['rouge1']:9.1f}{s['rouge2']:9.1f}{s['rougeL']:9.1f}   "
            f"{s['third']['bleu4']:14.1f} / {s['third']['rougeL']:5.1f}"
            f"{s['mean_chars']:10.1f}/{s['mean_ref_chars']:4.1f}"
            f"{s['over_target']:7d} >{TARGET_CHARS[key]}"
        )
    b = result["both"]
    lines += [
        f"{'both (joined)':14}{b['bleu4']:8.1f}{b['rouge1']:9.1f}{b['rouge2']:9.1f}{b['rougeL']:9.1f}",
        f"for scale only, {REFERENCE_FIGURES}; not the same data, model or tokenisation.",
    ]
    return "\n".join(lines)


@evaluation("summary")
def summary_report(limit: int | None = None) -> str:
    """The report on every labelled dialog (or the first ``limit``)."""
    examples = load_summaries()
    return render(evaluate_summaries(examples[:limit] if limit else examples))
