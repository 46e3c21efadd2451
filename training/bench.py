"""``python -m training.bench`` (``make bench``): what the local engines cost on this machine.

- latency p50/p95 per request, in-process, of the local intent engine and the local extractor, over every
  labelled dialog once (distinct messages: the embedding cache is cleared first), then once more from the
  cache (a repeated message);
- RSS of each service process with its models loaded, after one request (a real uvicorn on loopback);
- the time to build the artefacts from scratch in a fresh process (``make models`` on a fresh clone).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

import httpx
import numpy as np

from services.extraction.engine import LocalExtractor
from services.intent.engine import LocalIntentEngine
from shared.engines.artefacts import models_dir
from shared.schemas import Message
from training import build
from training.data import load_extraction, load_intent

SERVICES = {"intent": ("services.intent.app", "/v1/intent"), "extraction": ("services.extraction.app", "/v1/extract")}
PROBE = {"messages": [{"role": "user", "content": "I need a phone with a good camera, under $500"}]}


def _percentiles(run: Callable[[list[Message]], object], dialogs: Sequence[list[Message]]) -> str:
    timings = []
    for dialog in dialogs:
        started = time.perf_counter()
        run(dialog)
        timings.append((time.perf_counter() - started) * 1000)
    return f"p50 {np.percentile(timings, 50):6.2f} ms   p95 {np.percentile(timings, 95):6.2f} ms   (n={len(timings)})"


def latency() -> list[str]:
    directory = models_dir()
    intent = LocalIntentEngine(build.intent(directory))
    extractor = LocalExtractor(build.intent(directory), build.extraction(directory))
    cache = intent.model.encoder.encode_one
    lines = []
    for name, run, dialogs in (
        ("intent", intent.classify, [list(e.messages) for e in load_intent()]),
        ("extraction", extractor.read, [list(e.messages) for e in load_extraction()]),
    ):
        for dialog in dialogs[:5]:  # warm-up: first calls pay for lazy imports and allocations
            run(dialog)
        cache.cache_clear()
        lines.append(f"{name:11} distinct  {_percentiles(run, dialogs)}")
        lines.append(f"{name:11} repeated  {_percentiles(run, dialogs)}")
    return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith(field))
    return int(line.split()[1]) / 1024


def service_rss(name: str) -> str:
    module, route = SERVICES[name]
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        f"{module}:create_app",
        "--factory",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            client.post(route, json=PROBE).raise_for_status()
        rss, peak = _status_mb(process.pid, "VmRSS"), _status_mb(process.pid, "VmHWM")
        return f"{name:11} RSS {rss:6.0f} MB   peak {peak:6.0f} MB   (models loaded, one request served)"
    finally:
        process.terminate()
        process.wait(timeout=10)


def build_time() -> str:
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "training.build"],
            check=True,
            capture_output=True,
            env={**os.environ, "SG_DATA_DIR": data_dir},
        )
        return f"artefacts from scratch (fresh process, encoder load included): {time.perf_counter() - started:.1f} s"


def main() -> int:
    print("in-process latency per request (local engines):", *latency(), sep="\n")
    print("\nservice memory:", *(service_rss(name) for name in SERVICES), sep="\n")
    print(f"\n{build_time()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
