"""SIGTERM to a real app process (``python -m shared.suite serve dialog``) mid-stream: it drains.

The dialog service streams from the LLM simulator. A stream that fits the drain window completes; one that
does not ends with an ``error`` event of type ``shutdown``, and its generation is cancelled at the simulator.
Meanwhile the app refuses new requests and /readyz says it is draining; then the process exits cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from shared.settings import PROJECT_ROOT
from shared.simulator import SimConfig, run_in_thread
from shared.simulator import create_app as create_simulator
from tests.conftest import free_port
from tests.llm.helpers import Sim

SHORT = "A short answer that fits the drain window easily."
LONG = " ".join(f"word{i}" for i in range(400))  # 400 tokens, 50 ms apart: far past the drain window
DRAIN_TIMEOUT_S = 8


@pytest.fixture
def sim() -> Iterator[Sim]:
    config = SimConfig(itl_ms=50, replies={"short": SHORT, "long": LONG})
    with run_in_thread(create_simulator(config)) as server, httpx.Client(timeout=10) as control:
        yield Sim(server, control)


@pytest.fixture
def dialog(sim: Sim, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The dialog service as a container runs it, its dialog task on the simulator; its URL and process."""
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("SG_")},
        "SG_SERVICES__DIALOG": url,
        "SG_LLM_POOLS": json.dumps({"sim": {"endpoints": [sim.url], "health_interval_s": 60}}),
        "SG_LLM_TASKS": json.dumps({"dialog": {"backend": "openai", "pool": "sim"}}),
        "SG_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S),
        "SG_CACHE_BACKEND": "memory",
        "SG_LOG_JSON": "false",
    }
    log = tmp_path / "dialog.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shared.suite", "serve", "dialog"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(url, proc, log)
            yield url, proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            pytest.fail(f"the dialog service exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"the dialog service did not get ready:\n{log.read_text()[-3000:]}")


def _ask(message: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": message}], "intent": "random chat", "stream": True}


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, object]]]:
    name = "message"
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line[5:])


async def test_sigterm_lets_streams_finish_and_ends_the_rest_with_a_shutdown_event(
    dialog: tuple[str, subprocess.Popen[bytes]], sim: Sim
) -> None:
    url, proc = dialog
    async with contextlib.AsyncExitStack() as stack:
        streams = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60))
        # Probes on fresh connections: the draining server closes idle keep-alive ones.
        probes = await stack.enter_async_context(
            httpx.AsyncClient(base_url=url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))
        )
        short = await stack.enter_async_context(streams.stream("POST", "/v1/dialog", json=_ask("short please")))
        long = await stack.enter_async_context(streams.stream("POST", "/v1/dialog", json=_ask("long please")))
        short_events, long_events = _events(short), _events(long)
        first = [await anext(short_events), await anext(long_events)]
        assert [name for name, _ in first] == ["token", "token"]

        proc.send_signal(signal.SIGTERM)
        for _ in range(200):  # the signal is handled between two ticks of the server's loop
            ready = await probes.get("/readyz")
            if ready.status_code == 503:
                break
            await asyncio.sleep(0.02)
        assert ready.status_code == 503 and ready.json()["reason"] == "draining"
        refused = await probes.post("/v1/dialog", json=_ask("short again"))
        assert refused.status_code == 503 and refused.headers["retry-after"]
        assert refused.json()["error"]["type"] == "shutdown"
        assert (await probes.get("/healthz")).status_code == 200, "alive while draining: no liveness restart"

        rest_short = [event async for event in short_events]
        rest_long = [event async for event in long_events]

    assert rest_short[-1][0] == "done" and rest_short[-1][1]["reply"] == SHORT
    assert [name for name, _ in rest_long[:-1]] == ["token"] * (len(rest_long) - 1)
    assert rest_long[-1][0] == "error" and rest_long[-1][1]["type"] == "shutdown"
    assert await asyncio.to_thread(proc.wait, 60) == 0
    for _ in range(100):  # the simulator notices the closed connection in its own thread
        stats = sim.stats()
        if not stats["in_flight"]:
            break
        await asyncio.sleep(0.05)
    # The long generation was cancelled at the LLM, not left running after its stream was ended.
    assert (stats["completed"], stats["cancelled"], stats["in_flight"]) == (1, 1, 0)
