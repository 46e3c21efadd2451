"""The tier-1 gateway against peers, in front of the same LLM simulator and measured by the same client.

    python -m training.bench_gateway [--requests 300] [--seconds 3] [--streams 60] [--workers 1,2,4]

Each proxy runs in a process of its own (uvicorn, one worker), the simulator in another:

- ``direct``: the simulator itself, the baseline the others add to;
- ``plain hop``: FastAPI + one pooled httpx client relaying the body and the answer as they are (no auth,
  no limits): the least any Python proxy does;
- ``gateway``: tier 1 as deployed (``gateway.tier1.app``): API key, route table, the Redis sliding-window
  request and token limits, token counting of the answer, on an ``llm`` route to the simulator;
- ``LiteLLM``: LiteLLM's proxy (``pip install -e '.[bench]'``) with a master key, the simulator as an
  OpenAI-compatible model; skipped, and said so, when it is not installed.

Measured: added latency at concurrency 1 (each percentile minus the simulator's own, requests interleaved
across the targets so background load hits all alike), requests per second at concurrency 32, and 20-token
streams (time to first token, and the added time per token after the first). Then the gateway's throughput
at concurrency 32 with 1, 2 and 4 uvicorn worker processes. Results as a dict (``training.bench`` writes
them to var/bench/).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import yaml
from fastapi import FastAPI, Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse
from tqdm import tqdm

from shared.settings import get_settings

STREAM_TOKENS = 20
REPLY = " ".join(f"word{i}" for i in range(STREAM_TOKENS))  # the simulator sends one token per word
MODEL = "sim-model"
KEY = "bench-key"
CONCURRENCY = 32
UPSTREAM_ENV = "SG_BENCH_UPSTREAM"  # the plain hop's upstream


def plain_hop() -> FastAPI:
    """One plain hop: the body relayed to ``$SG_BENCH_UPSTREAM`` and the answer streamed back as it comes."""
    upstream = os.environ[UPSTREAM_ENV]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=100)) as c:
            app.state.http = c
            yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        http: httpx.AsyncClient = request.app.state.http
        sent = http.build_request(
            "POST", f"{upstream}/v1/chat/completions", content=await request.body(),
            headers={"content-type": "application/json"},
        )
        answer = await http.send(sent, stream=True)
        return StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code,
            headers={"content-type": answer.headers.get("content-type", "application/json")},
            background=BackgroundTask(answer.aclose),
        )

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Target:
    name: str
    url: str  # the chat completions URL
    pid: int  # its server's process
    headers: dict[str, str] = field(default_factory=dict)


def _uvicorn(target: str, port: int, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--no-access-log"]


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], ready_url: str, timeout_s: float = 120) -> Iterator[int]:
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{command[2:4]} exited: {log.read()[-2000:].decode(errors='replace')}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{ready_url} not ready within {timeout_s:g}s")
            time.sleep(0.2)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _body(stream: bool, n: int = 0) -> dict[str, Any]:
    # A distinct message per request: nothing on the way may answer from a cache.
    return {"model": MODEL, "messages": [{"role": "user", "content": f"hello {n}"}], "stream": stream}


async def _post(client: aiohttp.ClientSession, target: Target, n: int) -> int:
    """A whole JSON request and answer; its status."""
    async with client.post(target.url, json=_body(False, n), headers=target.headers) as response:
        await response.read()
        return response.status


async def _latencies(client: aiohttp.ClientSession, targets: list[Target], requests: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {t.name: [] for t in targets}
    for target in targets:  # warm-up: connections, first imports
        for n in range(10):
            if (status := await _post(client, target, n)) != 200:
                raise RuntimeError(f"{target.name} answered {status}")
    for n in tqdm(range(requests), desc="  latency at concurrency 1", unit="round", leave=False):
        for target in targets:  # interleaved: background load hits every target alike
            started = time.perf_counter()
            status = await _post(client, target, n)
            samples[target.name].append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"{target.name} answered {status}")
    return samples


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants: what a hop costs whatever the load."""
    total = 0.0
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _cpu_s(int(child))
    return total


async def _load(client: aiohttp.ClientSession, target: Target, seconds: float) -> tuple[int, float]:
    """Requests answered at concurrency 32 for ``seconds``, and the time they took."""
    done = 0
    failed = 0
    stop = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal done, failed
        n = 0
        while time.perf_counter() < stop:
            n += 1
            if await _post(client, target, w * 100_000 + n) == 200:
                done += 1
            else:
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))
    if failed:
        raise RuntimeError(f"{target.name}: {failed} of {done + failed} requests failed under load")
    return done, time.perf_counter() - started


async def _throughputs(
    client: aiohttp.ClientSession, targets: list[Target], seconds: float, rounds: int = 3
) -> dict[str, tuple[float, float]]:
    """Requests per second at concurrency 32 and CPU milliseconds per request, per target: ``rounds`` slices
    of ``seconds / rounds`` each, taken in turn, so that load from elsewhere hits every target alike. Each
    target first serves a slice at that concurrency unmeasured: the connections it opens for 32 clients at
    once (to them, its upstream, Redis) are set-up, not the cost of a request, and a proxy with more pools
    would pay more of it in the first measured slice."""
    done = dict.fromkeys((t.name for t in targets), 0)
    spent = dict.fromkeys(done, 0.0)
    cpu = dict.fromkeys(done, 0.0)
    for target in targets:
        await _load(client, target, seconds / rounds)
    for _ in tqdm(range(rounds), desc=f"  rps at concurrency {CONCURRENCY}", unit="round", leave=False):
        for target in targets:
            before = _cpu_s(target.pid)
            count, elapsed = await _load(client, target, seconds / rounds)
            cpu[target.name] += _cpu_s(target.pid) - before
            done[target.name] += count
            spent[target.name] += elapsed
    return {name: (done[name] / spent[name], cpu[name] * 1000 / done[name]) for name in done}


async def _stream(client: aiohttp.ClientSession, target: Target, n: int) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    async with client.post(target.url, json=_body(True, n), headers=target.headers) as response:
        response.raise_for_status()
        async for line in response.content:
            if first is None and line.startswith(b"data:") and b'"content"' in line:
                first = time.perf_counter() - started
    if first is None:
        raise RuntimeError(f"{target.name}: a stream without content")
    return first * 1000, (time.perf_counter() - started) * 1000


async def _streams(client: aiohttp.ClientSession, targets: list[Target], count: int) -> dict[str, list[tuple[float, float]]]:
    samples: dict[str, list[tuple[float, float]]] = {t.name: [] for t in targets}
    for target in targets:
        await _stream(client, target, 0)
    for n in tqdm(range(count), desc="  20-token streams", unit="round", leave=False):
        for target in targets:
            samples[target.name].append(await _stream(client, target, n))
    return samples


def _client() -> aiohttp.ClientSession:
    """The load generator: aiohttp, which costs the shared cores little. With httpx's client, which checks
    every idle connection each time a request starts or ends, it alone capped every target near 130 rps at
    concurrency 32 (the simulator served 139 directly, 514 with a leaner client)."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))


def _gateway_env(directory: Path, upstream: str) -> dict[str, str]:
    routes = directory / "routes.yaml"
    routes.write_text(yaml.safe_dump({"routes": [{
        "path": "/v1/llm/chat/completions",
        "upstream": "dialog",
        "upstream_path": "/v1/chat/completions",
        "llm": True,
        "rate_limit": {"requests_per_minute": 10_000_000, "tokens_per_minute": 1_000_000_000},
    }]}))
    settings = get_settings()
    return {
        "SG_GATEWAY_ROUTES_FILE": str(routes),
        "SG_SERVICES__DIALOG": upstream,
        "SG_API_KEYS": json.dumps([KEY]),
        "SG_CACHE_BACKEND": "redis",
        "SG_REDIS_URL": settings.redis_url,
        "SG_LOG_LEVEL": "WARNING",
        "SG_LOG_JSON": "false",
    }


def _litellm_command(directory: Path, upstream: str, port: int) -> list[str] | None:
    executable = shutil.which("litellm", path=str(Path(sys.executable).parent))
    if executable is None:
        return None
    config = directory / "litellm.yaml"
    config.write_text(yaml.safe_dump({
        "model_list": [{"model_name": MODEL, "litellm_params": {
            "model": f"openai/{MODEL}", "api_base": f"{upstream}/v1", "api_key": "sk-none"}}],
        "general_settings": {"master_key": f"sk-{KEY}"},
        "litellm_settings": {"telemetry": False},
    }))
    return [executable, "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]


# No network here: LiteLLM must not fetch its model price list at start.
LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "DISABLE_SCHEMA_UPDATE": "true"}


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def _summarise(
    latency: dict[str, list[float]], rps: dict[str, tuple[float, float]], streams: dict[str, list[tuple[float, float]]]
) -> dict[str, dict[str, float]]:
    direct = latency["direct"]
    direct_ttft = [s[0] for s in streams["direct"]]
    direct_tail = [s[1] - s[0] for s in streams["direct"]]
    rows: dict[str, dict[str, float]] = {}
    for name in latency:
        ttft = [s[0] for s in streams[name]]
        tail = [s[1] - s[0] for s in streams[name]]
        rows[name] = {
            **{f"added_p{q}_ms": _pct(latency[name], q) - _pct(direct, q) for q in (50, 95, 99)},
            "rps_c32": rps[name][0],
            "cpu_ms_per_request": rps[name][1],
            "stream_ttft_p50_ms": _pct(ttft, 50),
            "stream_added_ttft_p50_ms": _pct(ttft, 50) - _pct(direct_ttft, 50),
            # After the first token: what the hop adds per token relayed.
            "added_ms_per_token": (_pct(tail, 50) - _pct(direct_tail, 50)) / (STREAM_TOKENS - 1),
        }
    return rows


def run(requests: int = 300, seconds: float = 3.0, streams: int = 60, workers: tuple[int, ...] = (1, 2, 4),
        say: Callable[[str], None] = print) -> dict[str, Any]:
    sim_port, hop_port, gw_port, llm_port = (free_port() for _ in range(4))
    upstream = f"http://127.0.0.1:{sim_port}"
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        directory = Path(tmp)
        say("  starting the simulator, the plain hop, the gateway and LiteLLM")
        pid = stack.enter_context(_process(
            [sys.executable, "-m", "shared.simulator", "--port", str(sim_port), "--reply", REPLY, "--log-level",
             "warning"], {}, f"{upstream}/health"))
        targets = [Target("direct", f"{upstream}/v1/chat/completions", pid)]
        pid = stack.enter_context(_process(_uvicorn("training.bench_gateway:plain_hop", hop_port),
                                           {UPSTREAM_ENV: upstream}, f"http://127.0.0.1:{hop_port}/docs"))
        targets.append(Target("plain hop", f"http://127.0.0.1:{hop_port}/v1/chat/completions", pid))
        gateway_env = _gateway_env(directory, upstream)
        pid = stack.enter_context(_process(_uvicorn("gateway.tier1.app:create_app", gw_port), gateway_env,
                                           f"http://127.0.0.1:{gw_port}/readyz"))
        auth = {"Authorization": f"Bearer {KEY}"}
        gateway = Target("gateway", f"http://127.0.0.1:{gw_port}/v1/llm/chat/completions", pid, auth)
        targets.append(gateway)
        litellm = _litellm_command(directory, upstream, llm_port)
        if litellm is None:
            say("  LiteLLM is not installed (pip install -e '.[bench]'): compared with the plain hop only")
        else:
            pid = stack.enter_context(
                _process(litellm, LITELLM_ENV, f"http://127.0.0.1:{llm_port}/health/liveliness", 240))
            targets.append(Target("LiteLLM", f"http://127.0.0.1:{llm_port}/v1/chat/completions", pid,
                                  {"Authorization": f"Bearer sk-{KEY}"}))

        async def measure() -> tuple[
            dict[str, list[float]], dict[str, tuple[float, float]], dict[str, list[tuple[float, float]]]
        ]:
            async with _client() as client:
                latency = await _latencies(client, targets, requests)
                rps = await _throughputs(client, targets, seconds)
                return latency, rps, await _streams(client, targets, streams)

        latency, rps, stream_samples = asyncio.run(measure())
        rows = _summarise(latency, rps, stream_samples)
        say(render_peers(rows))
        stack.close()  # the gateway's one worker and the peers leave the cores to the worker counts below

        scaling: dict[str, float] = {}
        with _process([sys.executable, "-m", "shared.simulator", "--port", str(sim_port), "--reply", REPLY,
                       "--log-level", "warning"], {}, f"{upstream}/health"):
            for count in tqdm(workers, desc="  gateway worker processes", leave=False):
                with _process(_uvicorn("gateway.tier1.app:create_app", gw_port, count), gateway_env,
                              f"http://127.0.0.1:{gw_port}/readyz"):
                    async def load() -> float:
                        async with _client() as client:
                            for n in range(20):
                                await _post(client, gateway, n)
                            done, elapsed = await _load(client, gateway, seconds)
                            return done / elapsed

                    scaling[str(count)] = asyncio.run(load())
        say(render_workers(scaling))
    return {"peers": rows, "gateway_workers_rps_c32": scaling, "requests": requests, "seconds": seconds,
            "streams": streams, "stream_tokens": STREAM_TOKENS}


def render_peers(rows: dict[str, dict[str, float]]) -> str:
    """A markdown table: what each hop adds to the simulator's own answer."""
    lines = [
        "| | added p50 | added p95 | added p99 | rps at c=32 | CPU per request | stream TTFT p50 | added per token |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        added = ["-"] * 3 if name == "direct" else [f"{row[f'added_p{q}_ms']:+.2f} ms" for q in (50, 95, 99)]
        per_token = "-" if name == "direct" else f"{row['added_ms_per_token']:+.3f} ms"
        lines.append(
            f"| {'simulator (direct)' if name == 'direct' else name} | " + " | ".join(added)
            + f" | {row['rps_c32']:.0f} | {row['cpu_ms_per_request']:.2f} ms | {row['stream_ttft_p50_ms']:.2f} ms"
            f" | {per_token} |"
        )
    gateway, hop = rows.get("gateway"), rows.get("plain hop")
    if gateway and hop:
        lines.append(
            f"\ngateway against the plain hop: {gateway['added_p50_ms'] / hop['added_p50_ms']:.2f}x its added latency "
            f"(p50), {gateway['rps_c32'] / hop['rps_c32']:.2f}x its rps, "
            f"{gateway['cpu_ms_per_request'] / hop['cpu_ms_per_request']:.2f}x its CPU per request"
        )
    if gateway and "LiteLLM" in rows:
        lite = rows["LiteLLM"]
        lines.append(
            f"gateway against LiteLLM: {gateway['rps_c32'] / lite['rps_c32']:.2f}x its rps, "
            f"{lite['added_p50_ms'] / gateway['added_p50_ms']:.1f}x less added latency (p50), "
            f"{lite['cpu_ms_per_request'] / gateway['cpu_ms_per_request']:.1f}x less CPU per request"
        )
    return "\n".join(lines)


def render_workers(scaling: dict[str, float]) -> str:
    return "gateway rps at concurrency 32 by uvicorn worker processes: " + ", ".join(
        f"{count}: {rps:.0f}" for count, rps in scaling.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--streams", type=int, default=60)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    run(args.requests, args.seconds, args.streams, tuple(int(w) for w in args.workers.split(",")))


if __name__ == "__main__":
    main()
