"""``python -m training.finetune.score``: the extraction task routed to a model served by ``training.finetune.serve``,
scored on the real development data (``training.eval_realdata``'s files and rules).

The model is served in a child process on a free port; the extraction service's own engine (``Extractor``:
prompt, parser, consistency checks, one repair round) runs here with ``engine=llm`` and an ``LLMClient`` whose
extraction route is an OpenAI-compatible pool of that one server: the path the service takes with
``SG_LLM_TASKS__EXTRACTION__BACKEND=openai``. An unusable reply falls back to the local engine, as in service;
the report gives both the answers as served and the LLM's alone (a fallback counted as no call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, get_args

import httpx

from services.extraction.engine import Extractor, LocalExtractor
from shared.deps import llm_client
from shared.engines.artefacts import load_extraction, load_intent, models_dir
from shared.llm.base import ChatMessage
from shared.settings import PoolSettings, Settings, StructuredOutput, Task, TaskRoute, get_settings
from training import eval_realdata as realdata
from training.finetune.cpu_data import OUT_DIR

POOL = "finetune"
ROWS = ("call where yes", "no call where no", "brand captured", "invented brands (count)",
        "outside catalog: no wrong category", "category (tax id) strict", "category (tax id) lenient",
        "call made (info)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def items(directory: Path, limit: int | None) -> tuple[list[realdata.ShoppingItem], list[realdata.ShoppingItem]]:
    """The shopping turns and single messages; with ``limit``, every k-th of each so the sources stay mixed."""
    shopping, turns = realdata.load_shopping(directory / "shopping.jsonl"), realdata.load_turns(directory / "turns.jsonl")
    if limit is None or limit >= len(shopping) + len(turns):
        return shopping, turns
    step = (len(shopping) + len(turns)) / limit
    return shopping[:: max(1, round(step))], turns[:: max(1, round(step))]


async def _wait(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the model server exited with {server.returncode}")
            try:
                if (await client.get(url + "/health", timeout=5)).is_success:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(2)
    raise TimeoutError(f"the model server at {url} did not answer in {timeout_s:.0f}s")


async def score(url: str, name: str, shopping: list[realdata.ShoppingItem], turns: list[realdata.ShoppingItem],
                max_tokens: int, structured_output: StructuredOutput = "json_schema") -> dict[str, Any]:
    pool = PoolSettings(
        endpoints=[url], model=name, read_timeout_s=900, max_retries=0, structured_output=structured_output
    )
    settings = Settings(
        llm_pools={POOL: pool},
        # A CPU model's reply takes tens of seconds; the route's 30 s default is for GPU pools.
        llm_tasks={Task.EXTRACTION: TaskRoute(backend="openai", pool=POOL, max_tokens=max_tokens, timeout_s=900)},
    )
    directory = models_dir(get_settings())
    local = LocalExtractor(load_intent(directory), load_extraction(directory))
    async with llm_client(settings) as llm:
        # The streamed path once, as a chat task would take it: the server must stream a reply with usage.
        streamed = "".join([d async for d in llm.stream(Task.EXTRACTION, [ChatMessage(role="user", content="Hi")],
                                                         max_tokens=8)])
        if not streamed:
            raise RuntimeError("the model server streamed an empty reply")
        extractor = Extractor(llm, local)
        served: dict[str, list[realdata.Outcome]] = {"shopping": [], "turns": []}
        alone: dict[str, list[realdata.Outcome]] = {"shopping": [], "turns": []}
        engines: dict[str, int] = {}
        seconds: list[float] = []
        for part, part_items in (("shopping", shopping), ("turns", turns)):
            for n, item in enumerate(part_items, 1):
                started = time.perf_counter()
                answer = await extractor.extract(list(item.messages), "llm")
                seconds.append(time.perf_counter() - started)
                engines[answer.engine] = engines.get(answer.engine, 0) + 1
                served[part].append(realdata.Outcome(item, "", answer.call))
                alone[part].append(realdata.Outcome(item, "", answer.call if answer.engine == "llm" else None))
                print(f"  {part} {n}/{len(part_items)}: engine {answer.engine}, {seconds[-1]:.1f}s", flush=True)
    seconds.sort()
    return {
        "model": name,
        "items": {"shopping": len(shopping), "turns": len(turns)},
        "engines": engines,
        "seconds_per_item": {"p50": seconds[len(seconds) // 2], "max": seconds[-1]},
        "served": _tables(served),
        "llm_alone": _tables(alone),
    }


def _tables(outcomes: dict[str, list[realdata.Outcome]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part, part_outcomes in outcomes.items():
        scores = realdata.score_shopping(part_outcomes, with_intent=False)
        # No intent is read here: the gate row would score an empty label.
        for check in set(scores.totals) - set(ROWS):
            del scores.totals[check], scores.hits[check]
        out[part] = {
            "table": realdata.shopping_table(f"{part} ({len(part_outcomes)})", scores),
            "rates": {check: scores.rate(check, "all") for check in ROWS if check in scores.totals},
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.finetune.score", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="a saved model folder; default: the packaged GGUF")
    parser.add_argument("--name", default=None, help="served model name and the result file's suffix")
    parser.add_argument("--data", type=Path, default=None, help="default: the realdata_dir setting")
    parser.add_argument("--limit", type=int, default=None, help="score about this many items, spread over the data")
    parser.add_argument("--max-tokens", type=int, default=160, help="the extraction route's max_tokens")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--structured-output",
        choices=get_args(StructuredOutput),
        default="json_schema",
        help="how the extraction asks for its JSON (the pool setting): the schema, any JSON, or the prompt alone",
    )
    args = parser.parse_args(argv)
    directory = args.data or get_settings().realdata_dir
    if reason := realdata.absent(directory):
        print(reason)
        return 1
    name = args.name or ("merged" if args.model else "base")
    port = free_port()
    command = [sys.executable, "-m", "training.finetune.serve", "--port", str(port), "--name", name]
    if args.model:
        command += ["--model", str(args.model)]
    server = subprocess.Popen(command, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    # A SIGTERM (timeout, kill) ends this process through ``finally``, which stops the server too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(_wait(url, server, 900))
        started = time.perf_counter()
        result = asyncio.run(score(url, name, *items(directory, args.limit), args.max_tokens, args.structured_output))
        result["seconds"] = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:  # a generation in flight holds up its graceful shutdown
            server.kill()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"score-{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"extraction with engine=llm on {name}: engines {result['engines']}, {result['seconds']:.0f}s")
    for view in ("served", "llm_alone"):
        print(f"\n{view.replace('_', ' ')}:")
        for part in ("shopping", "turns"):
            print("\n".join(result[view][part]["table"]))
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
