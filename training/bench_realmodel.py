"""The structured tasks against a real model: schema-valid rate, cascade fallbacks, time to first token, tokens/s.

Intent, extraction and summary run through their services' own engines (prompt, schema, parser, checks, repair
round, local fallback) on the labelled data, with every LLM call streamed so that its first token is timed. A
reply is schema-valid when the task's pydantic model (which its JSON schema was made from) accepts it whole.
By default it starts the real model server of ``make model-server`` (llama.cpp, SmolLM2-135M, CPU) on a free
port; ``--url`` measures a server already running (vLLM, a bigger model).

``python -m training.bench_realmodel [--calls 50] [--tasks intent,extraction] [--concurrency 2] [--threads 1]
[--url http://127.0.0.1:8080]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Unpack

from pydantic import BaseModel, ValidationError

from services.extraction.engine import Extractor, LocalExtractor
from services.extraction.schemas import extraction_answer
from services.intent.engine import IntentRecogniser, LocalIntentEngine
from services.intent.schemas import IntentAnswer
from services.summary.engine import LocalSummariser, Summariser
from services.summary.schemas import Summary, SummaryRequest
from shared.engines.artefacts import load_extraction, load_intent, models_dir
from shared.llm import ChatMessage, ChatResponse, LLMClient, UsageMeter
from shared.llm.cascade import LLMOptions
from shared.llm.model_server import MODEL_NAME, ModelServer, ServerOptions
from shared.settings import PoolSettings, Settings, Task, TaskRoute
from shared.taxonomy import load_taxonomy
from training.data import load_extraction as extraction_examples
from training.data import load_intent as intent_examples
from training.eval_summary import load_summaries

# Room for each task's longest JSON, as its schema bounds it: a reply cut at max_tokens is not schema-valid,
# whatever the grammar, and a small model fills every string to its bound. SmolLM2's byte-level BPE spends 3 tokens
# on a Chinese character: intent's reason, aim and scene (200 characters) about 600 tokens; an extraction's 10
# nullable values of 40 characters (a brand and a category's keys) about 1,350; a summary's two texts (140) 500.
# A bound costs nothing until a reply needs it: generation ends where the grammar does.
MAX_TOKENS = {Task.INTENT: 640, Task.EXTRACTION: 1536, Task.SUMMARY: 576}


@dataclass
class Call:
    text: str
    ttft_s: float
    tokens_per_s: float | None


@dataclass
class TaskStats:
    answers: int = 0
    fallbacks: int = 0
    calls: list[Call] = field(default_factory=list)  # the same list as TimedLLM's for the task


class TimedLLM:
    """The LLM client, each completion streamed: its first token timed, its generation speed measured."""

    def __init__(self, llm: LLMClient) -> None:
        self.llm = llm
        self.calls: dict[Task, list[Call]] = {}

    def uses_local(self, task: Task) -> bool:
        return False

    async def complete(self, task: Task, messages: list[ChatMessage], **options: Unpack[LLMOptions]) -> ChatResponse:
        meter = options.get("meter") or UsageMeter()  # the engine's own, summing its calls: this call's is the rise
        before = meter.completion_tokens
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        async for piece in self.llm.stream(task, messages, **(options | {"meter": meter})):
            first = first or time.perf_counter()
            pieces.append(piece)
        ended = time.perf_counter()
        written = meter.completion_tokens - before
        speed = (written - 1) / (ended - first) if first and written > 1 and ended > first else None
        self.calls.setdefault(task, []).append(Call("".join(pieces), (first or ended) - started, speed))
        return ChatResponse(text="".join(pieces), backend="openai", model=MODEL_NAME)

    def stream(
        self, task: Task, messages: list[ChatMessage], **options: Unpack[LLMOptions]
    ) -> AsyncGenerator[str, None]:
        return self.llm.stream(task, messages, **options)


def _valid(model: type[BaseModel], text: str) -> bool:
    try:
        model.model_validate_json(text)
    except ValidationError:
        return False
    return True


async def _run(
    inputs: list[Any], answer: Callable[[Any], Awaitable[str]], stats: TaskStats, calls: int, concurrency: int
) -> None:
    """Answers ``inputs`` in order until the task has made ``calls`` LLM calls (or the inputs run out)."""
    pending = iter(inputs)  # shared by the workers: each item answered once

    async def worker() -> None:
        for item in pending:
            if len(stats.calls) >= calls:  # enough LLM calls: an answer may take a repair round besides its first
                return
            engine = await answer(item)
            stats.answers += 1
            stats.fallbacks += engine == "local"

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def bench(
    url: str, calls: int, tasks: tuple[Task, ...] = tuple(MAX_TOKENS), concurrency: int = 1
) -> dict[Task, tuple[TaskStats, type[BaseModel]]]:
    pool = PoolSettings(endpoints=[url], model=MODEL_NAME, read_timeout_s=600, max_retries=0, health_interval_s=60)
    settings = Settings(
        _env_file=None,
        llm_pools={"real": pool},
        llm_tasks={
            task: TaskRoute(backend="openai", pool="real", max_tokens=n, timeout_s=600) for task, n in MAX_TOKENS.items()
        },
    )
    intent_model, extraction_model = load_intent(models_dir()), load_extraction(models_dir())
    taxonomy = load_taxonomy()
    results: dict[Task, tuple[TaskStats, type[BaseModel]]] = {}
    async with LLMClient(settings) as llm:
        timed = TimedLLM(llm)
        recogniser = IntentRecogniser(timed, LocalIntentEngine(intent_model), threshold=1.0)
        extractor = Extractor(timed, LocalExtractor(intent_model, extraction_model))
        summariser = Summariser(timed, LocalSummariser())

        async def intent(messages: Any) -> str:
            return (await recogniser.recognise(list(messages), "llm")).engine

        async def extraction(messages: Any) -> str:
            return (await extractor.extract(list(messages), "llm")).engine

        async def summary(conversation: Any) -> str:
            return (await summariser.summarise(SummaryRequest(conversation=conversation, engine="llm"))).engine

        summaries = [example.conversation for example in load_summaries()]
        plan: list[tuple[Task, list[Any], Callable[[Any], Awaitable[str]], type[BaseModel]]] = [
            (Task.INTENT, [e.messages for e in intent_examples()], intent, IntentAnswer),
            (Task.EXTRACTION, [e.messages for e in extraction_examples()], extraction, extraction_answer(taxonomy)),
            (Task.SUMMARY, summaries, summary, Summary),
        ]
        plan = [entry for entry in plan if entry[0] in tasks]
        # One task after the other, `concurrency` requests at a time in the server's slots: each task's figures
        # are its own, and a slot's attention does not also cover the other tasks' long prompts.
        progress = asyncio.create_task(_progress(results))  # a slow machine's partial figures are figures too
        for task, inputs, answer, model in plan:
            results[task] = (TaskStats(calls=timed.calls.setdefault(task, [])), model)
            # Spread over the data: both languages, every label.
            await _run(inputs[:: max(1, len(inputs) // calls)], answer, results[task][0], calls, concurrency)
        progress.cancel()
    return results


async def _progress(results: dict[Task, tuple[TaskStats, type[BaseModel]]], every_s: float = 120.0) -> None:
    while True:
        await asyncio.sleep(every_s)
        report(results)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(results: dict[Task, tuple[TaskStats, type[BaseModel]]]) -> None:
    print(flush=True)
    print("| task | answers | LLM calls | schema-valid | cascade fell back | TTFT p50 | TTFT p95 | tokens/s p50 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for task, (stats, model) in results.items():
        if not stats.calls:
            continue
        valid = sum(_valid(model, call.text) for call in stats.calls)
        ttft = [call.ttft_s for call in stats.calls]
        speeds = [call.tokens_per_s for call in stats.calls if call.tokens_per_s is not None]
        print(
            f"| {task.value} | {stats.answers} | {len(stats.calls)} | {valid}/{len(stats.calls)} "
            f"({100 * valid / max(1, len(stats.calls)):.0f}%) | {stats.fallbacks}/{stats.answers} "
            f"| {_percentile(ttft, 0.5):.2f} s | {_percentile(ttft, 0.95):.2f} s "
            f"| {statistics.median(speeds) if speeds else 0:.1f} |"
        )


@contextlib.contextmanager
def _server(url: str | None, threads: int, slots: int) -> Iterator[str]:
    if url:
        yield url.rstrip("/")
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # A slot per request in flight, each with room for the longest prompt and reply.
    with ModelServer(ServerOptions(port=port, threads=threads, ctx_size=slots * 4096, parallel=slots)) as server:
        yield server.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--calls", type=int, default=50, help="LLM calls per task at least (an answer makes one, two with a repair)"
    )
    parser.add_argument(
        "--threads", type=int, default=ServerOptions().threads, help="CPU threads of the server started here"
    )
    parser.add_argument("--url", help="an OpenAI-compatible server already running, instead of starting one")
    parser.add_argument(
        "--tasks", default=",".join(MAX_TOKENS), help=f"comma-separated, of {', '.join(MAX_TOKENS)} (default: all)"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight per task")
    args = parser.parse_args()
    try:
        tasks = [Task(name.strip()) for name in args.tasks.split(",") if name.strip()]
    except ValueError as error:
        parser.error(f"--tasks: {error}")
    if unknown := [task for task in tasks if task not in MAX_TOKENS]:
        parser.error(f"--tasks: no bench for {', '.join(unknown)}; choose from {', '.join(MAX_TOKENS)}")
    started = time.perf_counter()
    with _server(args.url, args.threads, args.concurrency) as url:
        results = asyncio.run(bench(url, args.calls, tuple(tasks), args.concurrency))
    report(results)
    print(f"\nat least {args.calls} LLM calls per task in {time.perf_counter() - started:.0f} s against {url}")


if __name__ == "__main__":
    main()
