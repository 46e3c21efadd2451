"""Real-data evaluation: the local engines on real public shopping dialogs and customer-service summaries.

The data lives outside the repository (``Settings.realdata_dir``, by default ``<checkout>/../shared/realdata``;
``--data DIR`` here): the development half of a labelled set drawn from MG-ShopDial (en), Amazon ESCI
queries (en), the E-commerce Dialogue Corpus (ECD, zh), JDDC dialogs (zh) and CSDS summaries (zh). Nothing
of it may enter the repository; this module only reads it, and the report names misses by id (``--verbose``
prints their texts to the terminal). Without the directory the report is one line saying so.

The engines run in-process as the services answer with engine=local: ``LocalIntentEngine``,
``LocalExtractor`` (the call, gated by the intent model) and ``LocalSummariser``, on the shipped artefacts
(``training.build``, trained on all of ``training/data``; none of the real data is trained on).

Scores (``shopping.jsonl``: a user turn with the dialog before it; ``turns.jsonl``: a single message):
- intent strict (the label) and lenient (the label or one of ``intent_alt``);
- shopping or not: "random chat" and "random shopping" against the four higher levels;
- the call: made where ``call`` is ``yes``, not made where ``no`` (``either`` is not scored);
- brand captured: one of the user's brand aliases inside the call's brand, or the call's brand inside one,
  case-folded; invented: a call brand where the user named none;
- outside the catalog (``tax`` null): no category, or one of ``tax_near``; in the catalog (``tax`` an id):
  category right, strictly and with ``tax_near``; ``tax`` "?" is not scored;
- summaries: character ROUGE-L F1 (``eval_summary.rouge_l``) of 用户问题 / 客服方案 against the gold user /
  agent summaries, and the 是/否 labels where the product team gave one;
- p50 in-process latency per request of the intent engine and the extractor (embedding cache cleared first).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shared.schemas import NON_SHOPPING_INTENTS, FunctionCall, Message
from shared.settings import get_settings
from training.metrics import normalise
from training.registry import evaluation

SOURCES = {"mg": "MG-ShopDial", "esci": "ESCI", "ecd": "ECD", "jddc": "JDDC"}
LANGS = ("en", "zh")
COLUMNS = (*SOURCES.values(), *LANGS, "all")
FILES = ("shopping.jsonl", "turns.jsonl", "summary.jsonl")
# The p50 reported is the lowest of a few passes: a shared machine's other load only ever adds time.
LATENCY_PASSES = 3


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Labels:
    """What a shopping message is labelled with: ``tax`` None = outside the taxonomy, "?" = unknown."""

    tax: str | None
    tax_near: tuple[str, ...] = ()
    brand: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShoppingItem:
    id: str
    lang: str
    source: str
    messages: tuple[Message, ...]
    intent: str | None  # None on turns.jsonl, which has no intent label
    intent_alt: tuple[str, ...]
    call: str | None  # "yes" / "no" / "either"; None on turns.jsonl
    labels: Labels


@dataclass(frozen=True, slots=True)
class SummaryItem:
    id: str
    conversation: str
    ref_user: str
    ref_agent: str
    flags: dict[str, str]  # 是否接受 / 是否负面情绪 -> 是 / 否, only where labelled


def source_of(item_id: str) -> str:
    """The dataset an id comes from, by its prefix ("mg-01-04" -> MG-ShopDial, "turn-..." by its origin)."""
    prefix = item_id.removeprefix("turn-").split("-", 1)[0]
    return SOURCES.get(prefix, prefix)


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _labels(row: dict[str, Any]) -> Labels:
    return Labels(row["tax"], tuple(row.get("tax_near") or ()), tuple(row.get("brand") or ()))


def load_shopping(path: Path) -> list[ShoppingItem]:
    return [
        ShoppingItem(
            row["id"],
            row["lang"],
            source_of(row["id"]),
            tuple(Message.model_construct(role=m["role"], content=m["content"]) for m in row["messages"]),
            row["intent"],
            tuple(row.get("intent_alt") or ()),
            row["call"],
            _labels(row),
        )
        for row in _rows(path)
    ]


def load_turns(path: Path) -> list[ShoppingItem]:
    return [
        ShoppingItem(
            row["id"],
            row["lang"],
            source_of(row.get("from") or row["id"]),
            (Message.model_construct(role="user", content=row["message"]),),
            None,
            (),
            None,
            _labels(row),
        )
        for row in _rows(path)
    ]


def load_summaries(path: Path) -> list[SummaryItem]:
    items = []
    for row in _rows(path):
        labels = row.get("labels") or {}
        flags = {k: v for k in ("是否接受", "是否负面情绪") if (v := labels.get(k)) in ("是", "否")}
        items.append(SummaryItem(row["id"], row["conversation"], row["ref_user"], row["ref_agent"], flags))
    return items


# --------------------------------------------------------------------------- scoring rules
def intent_lenient(predicted: str, gold: str, alternatives: Iterable[str]) -> bool:
    return predicted == gold or predicted in set(alternatives)


def is_shopping(label: str) -> bool:
    """The four levels that name a kind of product, against random chat and random shopping."""
    return label not in NON_SHOPPING_INTENTS


def call_right(expected: str, made: bool) -> bool | None:
    """Whether making (or not making) a call is right; None where either is (not scored)."""
    return {"yes": made, "no": not made}.get(expected)


def brand_captured(call_brand: str | None, aliases: Sequence[str]) -> bool:
    """One alias of a brand the user named within the call's brand, or the call's brand within one
    (case-folded, spacing and punctuation folded)."""
    got = normalise(call_brand or "")
    if not got:
        return False
    wanted = [a for a in (normalise(alias) for alias in aliases) if a]
    return any(a in got or (len(got) >= 2 and got in a) for a in wanted)


def brand_invented(call_brand: str | None, aliases: Sequence[str]) -> bool:
    """A brand in the call where the user named none."""
    return bool(normalise(call_brand or "")) and not aliases


def outside_catalog_right(category: str | None, labels: Labels) -> bool | None:
    """For a product outside the taxonomy: no category, or a near one. None where the rule does not apply."""
    if labels.tax is not None:
        return None
    return category is None or category in labels.tax_near


def category_right(category: str | None, labels: Labels, lenient: bool) -> bool | None:
    """For a product in the taxonomy: its id (or, leniently, a near one). None unless ``tax`` is an id."""
    if labels.tax in (None, "?"):
        return None
    return category == labels.tax or (lenient and category in labels.tax_near)


# --------------------------------------------------------------------------- running the engines
@dataclass(slots=True)
class Outcome:
    """One item's answers from the engines."""

    item: ShoppingItem
    intent: str
    call: FunctionCall | None

    @property
    def category(self) -> str | None:
        return self.call.arguments.get("category") if self.call else None

    @property
    def brand(self) -> str | None:
        return self.call.arguments.get("brand") if self.call else None


@dataclass(slots=True)
class Scores:
    """Per check, per column: the item ids that passed and failed (a miss carries a short reason)."""

    hits: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    misses: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def add(self, check: str, item: ShoppingItem | None, ok: bool | None, why: str = "", item_id: str = "") -> None:
        if ok is None:
            return
        columns = (item.source, item.lang, "all") if item else ("all",)
        for column in columns:
            self.totals.setdefault(check, {}).setdefault(column, 0)
            self.hits.setdefault(check, {}).setdefault(column, 0)
            self.totals[check][column] += 1
            self.hits[check][column] += int(ok)
        if not ok:
            self.misses.setdefault(check, []).append((item.id if item else item_id, why))

    def rate(self, check: str, column: str) -> tuple[float, int]:
        total = self.totals.get(check, {}).get(column, 0)
        return (self.hits[check][column] / total if total else float("nan")), total


def score_shopping(outcomes: Sequence[Outcome], with_intent: bool) -> Scores:
    scores = Scores()
    for o in outcomes:
        item, labels = o.item, o.item.labels
        if with_intent and item.intent is not None:
            gold = item.intent + (f" (alt {', '.join(item.intent_alt)})" if item.intent_alt else "")
            scores.add("intent strict", item, o.intent == item.intent, f"gold {gold}, got {o.intent}")
            scores.add(
                "intent lenient",
                item,
                intent_lenient(o.intent, item.intent, item.intent_alt),
                f"gold {gold}, got {o.intent}",
            )
            scores.add(
                "shopping vs not",
                item,
                is_shopping(o.intent) == is_shopping(item.intent),
                f"gold {item.intent}, got {o.intent}",
            )
        if item.call is not None:
            check = {"yes": "call where yes", "no": "no call where no"}.get(item.call)
            if check:
                made = o.call is not None
                scores.add(
                    check,
                    item,
                    call_right(item.call, made),
                    f"call made at intent {o.intent}" if made else f"no call: intent {o.intent}",
                )
            if item.call == "yes":  # the intent model's share of the call: the gate the extractor passes
                scores.add("intent gate open where yes", item, is_shopping(o.intent), f"intent {o.intent}")
        else:
            scores.add("call made (info)", item, o.call is not None, f"no call: intent {o.intent}")
        if labels.brand:
            scores.add(
                "brand captured",
                item,
                brand_captured(o.brand, labels.brand),
                "no call" if o.call is None else ("call without brand" if not o.brand else "other brand"),
            )
        invented = brand_invented(o.brand, labels.brand)
        scores.add("invented brands (count)", item, not invented, "a brand in the call, none named")
        scores.add(
            "outside catalog: no wrong category",
            item,
            outside_catalog_right(o.category, labels),
            f"category {o.category}",
        )
        for lenient, check in ((False, "category (tax id) strict"), (True, "category (tax id) lenient")):
            scores.add(
                check,
                item,
                category_right(o.category, labels, lenient),
                f"gold {labels.tax}, got {o.category or 'none'}",
            )
    return scores


def _engines() -> tuple[Any, Any]:
    from services.extraction.engine import LocalExtractor
    from services.intent.engine import LocalIntentEngine
    from shared.engines.artefacts import models_dir
    from training import build

    directory = models_dir()
    return LocalIntentEngine(build.intent(directory)), LocalExtractor(
        build.intent(directory), build.extraction(directory)
    )


def _p50_ms(run: Callable[[list[Message]], object], dialogs: Sequence[list[Message]]) -> tuple[float, float]:
    """Median milliseconds per request: wall clock, and this process's CPU time (what load elsewhere leaves)."""
    wall, cpu = [], []
    for dialog in dialogs:
        started, started_cpu = time.perf_counter(), time.process_time()
        run(dialog)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return float(np.percentile(wall, 50) * 1000), float(np.percentile(cpu, 50) * 1000)


@dataclass(slots=True)
class Result:
    shopping: list[Outcome]
    turns: list[Outcome]
    summaries: list[tuple[SummaryItem, dict[str, Any]]]
    latency_ms: dict[str, tuple[float, float]]  # engine -> (wall, CPU) p50


def run_engines(directory: Path) -> Result:
    from services.summary.engine import LocalSummariser
    from services.summary.schemas import parse_transcript

    intent, extractor = _engines()
    shopping, turns = load_shopping(directory / "shopping.jsonl"), load_turns(directory / "turns.jsonl")

    def outcome(item: ShoppingItem) -> Outcome:
        messages = list(item.messages)
        return Outcome(item, intent.classify(messages).intent, extractor.read(messages)[0])

    results = [outcome(i) for i in shopping], [outcome(i) for i in turns]
    dialogs = [list(i.messages) for i in (*shopping, *turns)]
    latency = {}
    for name, run in (("intent", intent.classify), ("extraction", extractor.read)):
        passes = []
        for _ in range(LATENCY_PASSES):
            intent.model.encoder.encode_one.cache_clear()  # distinct messages: no answer from the embedding cache
            passes.append(_p50_ms(run, dialogs))
        latency[name] = min(passes)  # the pass with the lowest wall-clock p50

    summariser, summaries = LocalSummariser(), []
    for item in load_summaries(directory / "summary.jsonl"):
        try:
            summary = summariser.summarise(parse_transcript(item.conversation))
            answer = summary.model_dump(by_alias=True)
        except Exception as exc:  # a crash is an empty answer, scored as such
            answer = {"error": f"{type(exc).__name__}"}
        summaries.append((item, answer))
    return Result(*results, summaries, latency)


def score_summaries(summaries: Sequence[tuple[SummaryItem, dict[str, Any]]]) -> dict[str, Any]:
    from training.eval_summary import rouge_l

    out: dict[str, Any] = {"n": len(summaries), "misses": []}
    for key, ref in (("用户问题", "ref_user"), ("客服方案", "ref_agent")):
        values = [rouge_l(str(a.get(key, "")), getattr(i, ref)) / 100 for i, a in summaries]
        out[key] = (float(np.mean(values)) if values else float("nan"), len(values))
    for key in ("是否负面情绪", "是否接受"):
        labelled = [(i, a) for i, a in summaries if key in i.flags]
        right = [i.flags[key] == a.get(key) for i, a in labelled]
        out[key] = (sum(right) / len(right) if right else float("nan"), len(right))
        out["misses"] += [
            (i.id, f"{key}: gold {i.flags[key]}, got {a.get(key)}")
            for (i, a), ok in zip(labelled, right, strict=True)
            if not ok
        ]
    return out


# --------------------------------------------------------------------------- the report
SHOPPING_ROWS: tuple[tuple[str, str], ...] = (
    ("intent strict", ""),
    ("intent lenient", ">=0.75"),
    ("shopping vs not", ">=0.90"),
    ("call where yes", ">=0.80"),
    ("no call where no", "1.00"),
    ("intent gate open where yes", ""),
    ("brand captured", ">=0.75"),
    ("invented brands (count)", "0"),
    ("outside catalog: no wrong category", ">=0.80"),
    ("category (tax id) strict", ""),
    ("category (tax id) lenient", ""),
    ("call made (info)", ""),
)
COLUMN_WIDTH = 11


def _cell(scores: Scores, check: str, column: str) -> str:
    rate, total = scores.rate(check, column)
    if not total:
        return "-".rjust(COLUMN_WIDTH)
    if check == "invented brands (count)":
        return f"{total - scores.hits[check][column]}/{total}".rjust(COLUMN_WIDTH)
    return f"{rate:.2f} ({total})".rjust(COLUMN_WIDTH)


def shopping_table(title: str, scores: Scores) -> list[str]:
    header = f"{title:36}" + "".join(c.rjust(COLUMN_WIDTH) for c in COLUMNS) + "target".rjust(9)
    lines = [header]
    for check, target in SHOPPING_ROWS:
        if check in scores.totals:
            lines.append(f"{check:36}" + "".join(_cell(scores, check, c) for c in COLUMNS) + target.rjust(9))
    return lines


def _miss_lines(scores: Scores, limit: int | None) -> list[str]:
    lines = []
    for check, _ in SHOPPING_ROWS:
        misses = scores.misses.get(check, [])
        if not misses:
            continue
        shown = misses if limit is None else misses[:limit]
        more = f"; +{len(misses) - len(shown)} more (--verbose)" if len(shown) < len(misses) else ""
        lines.append(f"  {check} ({len(misses)}): " + "; ".join(f"{i} {why}" for i, why in shown) + more)
    return lines


def render(result: Result, verbose: bool = False) -> str:
    shopping, turns = score_shopping(result.shopping, True), score_shopping(result.turns, False)
    summary = score_summaries(result.summaries)
    limit = None if verbose else 12
    lines = [
        "local engines in-process (shipped artefacts); cells: score (n) per source and language; "
        "invented brands: count/n",
        *shopping_table(f"shopping.jsonl ({len(result.shopping)} turns)", shopping),
        "",
        *shopping_table(f"turns.jsonl ({len(result.turns)} messages)", turns),
        "",
        f"{'summary.jsonl (CSDS, zh)':36}{'value':>11}{'n':>6}{'target':>9}",
    ]
    for key, label, target in (
        ("用户问题", "ROUGE-L (chars) 用户问题", ">=0.33"),
        ("客服方案", "ROUGE-L (chars) 客服方案", ">=0.33"),
        ("是否负面情绪", "是否负面情绪 accuracy", ">=0.85"),
        ("是否接受", "是否接受 accuracy", ""),
    ):
        value, n = summary[key]
        # A CJK character takes two terminal columns: pad by the width shown, not the length.
        pad = 36 - sum(2 if ord(ch) > 0x2E80 else 1 for ch in label)
        lines.append(f"{label}{' ' * pad}{value:11.2f}{n:6d}{target:>9}")
    lines += [
        "",
        "p50 per request, in-process, wall clock (CPU time): "
        + ", ".join(f"{name} {wall:.2f} ms ({cpu:.2f} ms)" for name, (wall, cpu) in result.latency_ms.items())
        + f"; target <= 5 ms; n={len(result.shopping) + len(result.turns)}, embedding cache cleared first, "
        f"best of {LATENCY_PASSES} passes",
        "",
        "misses (id: reason):",
        "shopping.jsonl",
        *_miss_lines(shopping, limit),
        "turns.jsonl",
        *_miss_lines(turns, limit),
        "summary.jsonl",
        *[f"  {i} {why}" for i, why in summary["misses"]],
    ]
    if verbose:
        lines += ["", "texts of the missed items (terminal only):", *_texts(result, shopping, turns)]
    return "\n".join(lines)


def _texts(result: Result, *scores: Scores) -> list[str]:
    missed = {i for s in scores for misses in s.misses.values() for i, _ in misses}
    lines = []
    for o in (*result.shopping, *result.turns):
        if o.item.id not in missed:
            continue
        context = " | ".join(f"{m.role[0]}: {m.content}" for m in o.item.messages[-3:])
        lines.append(
            f"{o.item.id} [{o.item.intent or '-'} / got {o.intent}] call={o.call.arguments if o.call else None} "
            f"brand labels={list(o.item.labels.brand)} :: {context}"
        )
    return lines


def absent(directory: Path) -> str | None:
    """Why the real-data report cannot run, or None when every file is there."""
    missing = [name for name in FILES if not (directory / name).is_file()]
    if not directory.is_dir():
        return f"real data: {directory} is absent; the real-data report is skipped"
    if missing:
        return f"real data: {directory} lacks {', '.join(missing)}; the real-data report is skipped"
    return None


def report(directory: Path | None = None, verbose: bool = False) -> str:
    directory = directory or get_settings().realdata_dir
    if reason := absent(directory):
        return reason
    return render(run_engines(directory), verbose)


@evaluation("realdata")
def realdata_report() -> str:
    return report()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The local engines on the real development data.")
    parser.add_argument("--data", type=Path, default=None, help="default: the realdata_dir setting")
    parser.add_argument("--verbose", action="store_true", help="list every miss, with its text (terminal only)")
    args = parser.parse_args(argv)
    print(report(args.data, args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
