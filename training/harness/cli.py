"""``python -m training.harness`` (``make eval``): every task's labelled sets against one target, written as
JSON and a self-contained HTML report, compared with the previous run of the same target.

Targets: the local engines in-process (default; intent and extraction trained here on the training split,
the real data answered by the shipped artefacts), ``--base URL`` (a running gateway, or one service: the
tasks it does not serve are skipped), or ``--backend NAME`` (the language services started here with their
LLM tasks routed to the pool NAME of ``SG_LLM_POOLS``, or bedrock). ``--judge NAME`` adds the model-as-judge
pass. Results go to ``var/eval/<target>.json`` and ``.html``; the run before is kept as ``<target>.previous.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from shared.engines import intent
from shared.engines.artefacts import fingerprint, models_dir
from shared.engines.intent import IntentModel
from shared.settings import Settings, get_settings
from shared.taxonomy import load_taxonomy
from shared.taxonomy.index import TaxonomyIndex
from training import augment, build, eval_intent, train_extraction, train_intent
from training.artefacts import fresh, write
from training.data import EXTRACTION_FILE, IntentExample, load_extraction, load_intent, split
from training.eval_copywriting import PER_CATEGORY, cases_for, load_products, sample_products
from training.eval_realdata import absent
from training.eval_summary import load_summaries
from training.harness import judge as judging
from training.harness import tasks as run
from training.harness.report import console, html
from training.harness.results import Design, DesignRun, Latency, Results, TaskResult, compare
from training.harness.results import Target as TargetInfo
from training.harness.targets import HttpTarget, LocalTarget, Target, Unserved, backend_target, routed_to

TASKS = ("intent", "extraction", "summary", "copywriting", "realdata", "designs")
TOLERANCE = 0.02
LATENCY_TOLERANCE = 0.5
HELDOUT_ARTEFACT = "intent-heldout.npz"
DESIGNS_FILE = "intent-designs.json"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.harness", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--base", metavar="URL", help="a running gateway or service: its /v1/intent, /v1/extract, ...")
    where.add_argument("--backend", metavar="NAME", help="route the LLM tasks to this pool (or bedrock)")
    parser.add_argument("--engine", choices=("auto", "local", "llm"), default="auto",
                        help="the engine asked of the services with --base (default auto: as the stack routes)")
    parser.add_argument("--api-key", help="for a gateway (default: the first of SG_API_KEYS)")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS), metavar="TASK",
                        help=f"default: all of {', '.join(TASKS)} (designs: in-process only)")
    parser.add_argument("--limit", type=int, help="at most this many items per labelled set (a quick run)")
    parser.add_argument("--realdata", type=Path, help="default: the realdata_dir setting (skipped when absent)")
    parser.add_argument("--judge", metavar="NAME", help="score dialog and copy with this pool's model (or bedrock)")
    parser.add_argument("--judge-items", type=int, default=6, help="items per kind the judge scores (default 6)")
    parser.add_argument("--out", type=Path, help="default: <data_dir>/eval")
    parser.add_argument("--previous", type=Path, help="compare with this results file instead of the last run")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="a drop beyond it is a regression")
    parser.add_argument("--latency-tolerance", type=float, default=LATENCY_TOLERANCE,
                        help="relative p50 growth beyond which an engine is reported slower (default 0.5)")
    parser.add_argument("--fresh-designs", action="store_true",
                        help="measure the intent designs again even when their inputs are unchanged")
    parser.add_argument("--fail-on-regression", action="store_true", help="exit 1 when a score regressed")
    return parser.parse_args(argv)


def slug(args: argparse.Namespace) -> str:
    if args.backend:
        return "backend-" + re.sub(r"[^A-Za-z0-9]+", "-", args.backend)
    if args.base:
        return "http-" + re.sub(r"[^A-Za-z0-9]+", "-", args.base.split("://", 1)[-1]).strip("-")
    return "local"


@contextlib.contextmanager
def targets(args: argparse.Namespace, settings: Settings) -> Iterator[tuple[Target, Target]]:
    """(the target for the project's own held-out sets, the one for the real data): the same one over HTTP;
    in-process, models trained on the training split, and the shipped artefacts."""
    if args.backend:
        with backend_target(settings, args.backend) as target:
            yield target, target
    elif args.base:
        api_key = args.api_key or (settings.api_keys[0] if settings.api_keys else None)
        target = HttpTarget({t: args.base for t in ("intent", "extraction", "summary", "copywriting", "dialog")},
                            args.engine, api_key, description=args.base)
        try:
            yield target, target
        finally:
            target.close()
    else:
        directory = models_dir(settings)
        shipped = LocalTarget(build.intent(directory), build.extraction(directory), "local engines in-process")
        if not {"intent", "extraction", "designs"} & set(args.tasks):
            yield shipped, shipped  # the models of the training split would go unused
        else:
            heldout = LocalTarget(heldout_intent_model(directory),
                                  train_extraction.train(split(load_extraction())[0]), "local engines in-process")
            yield heldout, shipped


def heldout_intent_model(directory: Path) -> IntentModel:
    """The intent model of the training split, kept as an artefact beside the shipped one and rebuilt, as
    ``make models`` rebuilds those, only when the data or the engine or training code changed."""
    path, sources = directory / HELDOUT_ARTEFACT, (*train_intent.SOURCES, EXTRACTION_FILE)
    if (arrays := fresh(path, intent.SOURCES, sources)) is not None:
        return intent.from_arrays(arrays)
    examples = _intent_train()
    _say(f"training the intent model on the {len(examples)} dialogs of the training split ({path})...")
    model = train_intent.train(examples)
    write(path, model.classifier.arrays(intent.PREFIX), intent.SOURCES, sources)
    return model


def _intent_train() -> list[IntentExample]:
    """The intent training split without any dialog held out from extraction: one model is the intent engine
    scored on its held-out split and the extraction's gate on the other."""
    held_texts = {e.messages[-1].content for e in split(load_extraction())[1]}
    return [e for e in split(load_intent())[0] if e.messages[-1].content not in held_texts]


def _task(target: Target, engine_tasks: tuple[str, ...], data: str, body: Callable[[], TaskResult]) -> TaskResult:
    """``body()`` with the engines that answered it counted; a target without the endpoint skips the task."""
    before = {t: Counter(target.engines[t]) for t in engine_tasks}
    try:
        result = body()
    except Unserved as exc:
        return TaskResult(data=data, skipped=str(exc))
    for t in engine_tasks:
        result.engines = dict(Counter(result.engines) + (target.engines[t] - before[t]))
    return result


def compared_designs(target: LocalTarget, out: Path, remeasure: bool) -> DesignRun:
    """The intent designs compared on the held-out split: measured again only when the data, the engine, the
    training or the comparison changed (it trains four models), or when asked."""
    path = out / DESIGNS_FILE
    key = fingerprint(*intent.SOURCES, *train_intent.SOURCES, EXTRACTION_FILE, Path(eval_intent.__file__),
                      Path(augment.__file__))
    if path.is_file() and not remeasure:
        with contextlib.suppress(ValidationError):
            kept = DesignRun.model_validate_json(path.read_text("utf-8"))
            if kept.fingerprint == key:
                _say(f"intent designs: as measured {kept.measured:%Y-%m-%d %H:%M} (inputs unchanged; --fresh-designs "
                     "measures again)")
                return kept
    _say("comparing the local intent designs (trains four more models)...")
    rows = eval_intent.compare_designs(_intent_train(), split(load_intent())[1], target.intent_engine.model)
    run_ = DesignRun(fingerprint=key, measured=datetime.now(UTC),
                     designs=[Design(name=n, accuracy=a, p50_ms=p, note=note) for n, a, p, note in rows])
    path.write_text(run_.model_dump_json(indent=1), "utf-8")
    return run_


def evaluate(args: argparse.Namespace, settings: Settings, out: Path) -> Results:
    started, clock = datetime.now(UTC), time.perf_counter()
    limit = args.limit
    intent_heldout = split(load_intent())[1][:limit]
    extraction_heldout = split(load_extraction())[1][:limit]
    index = TaxonomyIndex(load_taxonomy())
    per_category = 1 if limit else PER_CATEGORY
    catalog = load_products()
    products = sample_products(catalog, per_category)
    results: dict[str, TaskResult] = {}
    designs = None
    judged = None
    with targets(args, settings) as (own, real):
        # A stack's local engines are the shipped ones, trained on all of training/data: held out from LLMs only.
        caveat = "" if isinstance(own, LocalTarget) else "; a stack's local engine was trained on all of it"
        if "intent" in args.tasks:
            data = f"training/data/intent.jsonl held-out split ({len(intent_heldout)}){caveat}"
            results["intent"] = _task(own, ("intent",), data, lambda: run.run_intent(own, intent_heldout, data))
        if "extraction" in args.tasks:
            data = f"training/data/extraction.jsonl held-out split ({len(extraction_heldout)}){caveat}"
            results["extraction"] = _task(own, ("extraction",), data,
                                          lambda: run.run_extraction(own, extraction_heldout, data))
        if "summary" in args.tasks:
            summaries = load_summaries()[:limit]
            data = f"training/data/summary.jsonl, every labelled dialog ({len(summaries)}; the local engine was tuned on them)"
            results["summary"] = _task(own, ("summary",), data, lambda: run.run_summary(own, summaries, data))
        if "copywriting" in args.tasks:
            results["copywriting"] = _task(own, ("copywriting",), "sample catalog",
                                           lambda: run.run_copywriting(own, products, per_category, index))
        if "realdata" in args.tasks:
            directory = args.realdata or settings.realdata_dir
            if reason := absent(directory):
                results["realdata"] = TaskResult(data=str(directory), skipped=reason)
            else:
                try:
                    results |= run.run_realdata(real, directory, limit)
                except Unserved as exc:
                    results["realdata"] = TaskResult(data=str(directory), skipped=str(exc))
        if "designs" in args.tasks and isinstance(own, LocalTarget):
            designs = compared_designs(own, out, args.fresh_designs)
        if args.judge:
            _say(f"judging dialog and copy with {args.judge}...")
            items = {
                "dialog": judging.dialog_items(own, split(load_extraction())[1], catalog, args.judge_items),
                "copy": judging.copy_items(own, cases_for(products), index, args.judge_items),
            }
            judged = judging.judge(settings, args.judge, items)
        latency = {
            task: Latency.of(samples)
            for task in ("intent", "extraction", "summary", "copywriting", "dialog")
            if (samples := own.latency_ms[task] + (real.latency_ms[task] if real is not own else []))
        }
        info = TargetInfo(kind=own.kind, description=own.description, engine=own.engine,  # type: ignore[arg-type]
                          models=own.models)
    return Results(started=started, wall_s=time.perf_counter() - clock, target=info, tasks=results, designs=designs,
                   latency=latency, judge=judged)


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    args = parse(argv)
    settings = settings or get_settings()
    out = args.out or settings.data_dir / "eval"
    out.mkdir(parents=True, exist_ok=True)
    latest, kept = out / f"{slug(args)}.json", out / f"{slug(args)}.previous.json"
    try:
        for backend in filter(None, (args.backend, args.judge)):
            routed_to(settings, backend)
    except ValueError as exc:  # an unknown backend, named in the message, before anything runs
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = evaluate(args, settings, out)
    previous_file = args.previous or (latest if latest.is_file() else None)
    if previous_file is not None:
        try:
            previous = Results.model_validate_json(previous_file.read_text("utf-8"))
        except (OSError, ValidationError) as exc:
            _say(f"the previous results {previous_file} cannot be read ({type(exc).__name__}); not compared")
        else:
            results.comparison = compare(results, previous, str(previous_file), args.tolerance,
                                         args.latency_tolerance)
    if latest.is_file():
        latest.replace(kept)
    latest.write_text(results.model_dump_json(indent=1), "utf-8")
    report = out / f"{slug(args)}.html"
    report.write_text(html(results), "utf-8")
    print(console(results))
    print(f"results: {latest}\nreport:  {report}")
    return 1 if args.fail_on_regression and results.comparison and results.comparison.regressions else 0
