"""Time to first token of a shopping turn: the concurrent task tree against the sequential order (every stage after the previous one).

Both run the real router and services on real HTTP, with intent, extraction and dialog served by the
project's LLM simulator at fixed latencies, so the difference measured is the orchestration alone.
``python -m training.bench_turn [--turns N]``
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
from tqdm import tqdm

from shared.events import StreamEvent
from shared.settings import PoolSettings, Settings, Task, TaskRoute
from shared.simulator import SimConfig, run_in_thread
from shared.simulator import create_app as create_simulator
from shared.suite import serve_in_threads

NLU_TTFT_MS = 150
DIALOG_TTFT_MS = 250
DIALOG_ITL_MS = 10
NLU_REPLY = (
    '<response>{"category": "specific needs", "reason": "benchmark", "aim": "", "scene": "",'
    ' "call": {"name": "get_recommds_by_sku", "arguments": {"category": "smartphone", "camera": "good camera"}}}'
    "</response>"
)
APPS = ["intent", "extraction", "dialog", "catalog", "router"]


@contextlib.contextmanager
def _router(concurrent: bool) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        nlu = stack.enter_context(run_in_thread(create_simulator(SimConfig(ttft_ms=NLU_TTFT_MS, reply=NLU_REPLY))))
        dialog = stack.enter_context(run_in_thread(create_simulator(SimConfig(
            ttft_ms=DIALOG_TTFT_MS, itl_ms=DIALOG_ITL_MS,
            reply="These phones have the best cameras for the money; here is how they compare. " * 2,
        ))))
        settings = Settings(
            _env_file=None,
            cache_backend="memory",
            log_level="WARNING",
            cascade_threshold=1.0,
            shopping_turn_concurrent=concurrent,
            llm_pools={"nlu": PoolSettings(endpoints=[nlu.url]), "dialog": PoolSettings(endpoints=[dialog.url])},
            llm_tasks={
                Task.INTENT: TaskRoute(backend="openai", pool="nlu"),
                Task.EXTRACTION: TaskRoute(backend="openai", pool="nlu"),
                Task.DIALOG: TaskRoute(backend="openai", pool="dialog"),
            },
        )
        yield stack.enter_context(serve_in_threads(settings, APPS)).services.router


def _turn(client: httpx.Client, router: str) -> tuple[float, float]:
    started = time.perf_counter()
    first_token = None
    with client.stream("POST", f"{router}/v1/chat", json={"message": "a phone with a good camera", "stream": True}) as r:
        for line in r.iter_lines():
            if first_token is None and line.startswith(f"event: {StreamEvent.TOKEN}"):
                first_token = time.perf_counter() - started
    if first_token is None:
        raise RuntimeError("the turn produced no token")
    return first_token, time.perf_counter() - started


def _measure(concurrent: bool, turns: int, label: str) -> tuple[list[float], list[float]]:
    with _router(concurrent) as router, httpx.Client(timeout=30) as client:
        _turn(client, router)  # warm-up: connections, first imports
        samples = [_turn(client, router) for _ in tqdm(range(turns), desc=f"  {label}", unit="turn", leave=False)]
    return [s[0] for s in samples], [s[1] for s in samples]


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def run(turns: int = 20) -> dict[str, Any]:
    orders: dict[str, dict[str, float]] = {}
    for label, concurrent in (("sequential order", False), ("task tree (concurrent)", True)):
        ttft, total = _measure(concurrent, turns, label)
        orders[label] = {"ttft_p50_ms": _p(ttft, 50), "ttft_p95_ms": _p(ttft, 95), "total_p50_ms": _p(total, 50)}
    return {"turns": turns, "orders": orders}


def render(report: dict[str, Any]) -> str:
    lines = [
        f"shopping turn, {report['turns']} streamed turns each; simulator: intent and extraction TTFT {NLU_TTFT_MS} "
        f"ms, dialog TTFT {DIALOG_TTFT_MS} ms, {DIALOG_ITL_MS} ms/token",
        f"{'order':<24}{'TTFT p50':>10}{'TTFT p95':>10}{'total p50':>11}",
    ]
    for label, r in report["orders"].items():
        lines.append(f"{label:<24}{r['ttft_p50_ms']:>8.0f}ms{r['ttft_p95_ms']:>8.0f}ms{r['total_p50_ms']:>9.0f}ms")
    orders = report["orders"]
    saved = orders["sequential order"]["ttft_p50_ms"] - orders["task tree (concurrent)"]["ttft_p50_ms"]
    lines.append(f"the task tree reaches the first token {saved:.0f} ms sooner at the median")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    print(render(run(args.turns)))


if __name__ == "__main__":
    main()
