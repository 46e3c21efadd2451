"""``python -m training.bench`` (``make bench``): every benchmark, one part after the other, each showing its
progress; the results go to ``var/bench/bench.json`` (with the machine they ran on) and the tables to the
terminal.

1. local engines: latency p50/p95 per request, in-process, of the local intent engine and the local extractor,
   over every labelled dialog once (distinct messages: the embedding cache is cleared first), then once more
   from the cache (a repeated message); RSS of each service process with its models loaded, after one
   request (a real uvicorn on loopback);
2. catalog at 10k products: ingestion throughput and /v1/recommend recall latency (``training.bench_catalog``);
3. a shopping turn's time to first token, the task tree against the sequential order (``training.bench_turn``);
4. the tier-1 gateway against a plain FastAPI+httpx hop and LiteLLM's proxy in front of the same simulator,
   then its throughput with 1, 2 and 4 worker processes (``training.bench_gateway``).

``--build-time`` adds the time to build the artefacts from scratch in a fresh process (``make models`` on a
fresh clone: minutes). ``--parts`` picks parts by name (engines, catalog, turn, gateway).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from tqdm import tqdm

from services.extraction.engine import LocalExtractor
from services.intent.engine import LocalIntentEngine
from shared.engines.artefacts import models_dir
from shared.schemas import Message
from shared.settings import PROJECT_ROOT
from training import bench_catalog, bench_gateway, bench_turn, build
from training.data import load_extraction, load_intent

SERVICES = {"intent": ("services.intent.app", "/v1/intent"), "extraction": ("services.extraction.app", "/v1/extract")}
PROBE = {"messages": [{"role": "user", "content": "I need a phone with a good camera, under $500"}]}


def _percentiles(run: Callable[[list[Message]], object], dialogs: Sequence[list[Message]], label: str) -> dict[str, float]:
    timings = []
    for dialog in tqdm(dialogs, desc=f"  {label}", unit="dialog", leave=False):
        started = time.perf_counter()
        run(dialog)
        timings.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": float(np.percentile(timings, 50)), "p95_ms": float(np.percentile(timings, 95)), "n": len(timings)}


def latency() -> dict[str, dict[str, float]]:
    directory = models_dir()
    intent = LocalIntentEngine(build.intent(directory))
    extractor = LocalExtractor(build.intent(directory), build.extraction(directory))
    cache = intent.model.encoder.encode_one
    results = {}
    for name, run, dialogs in (
        ("intent", intent.classify, [list(e.messages) for e in load_intent()]),
        ("extraction", extractor.read, [list(e.messages) for e in load_extraction()]),
    ):
        for dialog in dialogs[:5]:  # warm-up: first calls pay for lazy imports and allocations
            run(dialog)
        cache.cache_clear()
        results[f"{name} distinct"] = _percentiles(run, dialogs, f"{name}, distinct messages")
        results[f"{name} repeated"] = _percentiles(run, dialogs, f"{name}, repeated messages")
    return results


def _status_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith(field))
    return int(line.split()[1]) / 1024


def service_rss(name: str) -> dict[str, float]:
    module, route = SERVICES[name]
    port = bench_gateway.free_port()
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
        return {"rss_mb": _status_mb(process.pid, "VmRSS"), "peak_mb": _status_mb(process.pid, "VmHWM")}
    finally:
        process.terminate()
        process.wait(timeout=10)


def build_time() -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "training.build"],
            check=True,
            capture_output=True,
            env={**os.environ, "SG_DATA_DIR": data_dir},
        )
        return time.perf_counter() - started


def engines() -> tuple[dict[str, Any], str]:
    report: dict[str, Any] = {"latency": latency(), "rss": {}}
    for name in tqdm(SERVICES, desc="  service memory", leave=False):
        report["rss"][name] = service_rss(name)
    lines = ["in-process latency per request (local engines):"]
    lines += [f"  {name:20} p50 {r['p50_ms']:6.2f} ms   p95 {r['p95_ms']:6.2f} ms   (n={r['n']})"
              for name, r in report["latency"].items()]
    lines += [f"  {name:11} RSS {r['rss_mb']:6.0f} MB   peak {r['peak_mb']:6.0f} MB   (models loaded, one request served)"
              for name, r in report["rss"].items()]
    return report, "\n".join(lines)


def catalog() -> tuple[dict[str, Any], str]:
    # The local engine's recall (qdrant-client's local mode, ~0.1-0.3 s a query) is left to bench_catalog's own run.
    args = argparse.Namespace(products=10_000, requests=200, cold=False, engines="edge")
    report = asyncio.run(bench_catalog.main(args))
    return report, bench_catalog.render(report)


def turn() -> tuple[dict[str, Any], str]:
    report = bench_turn.run(turns=10)
    return report, bench_turn.render(report)


def gateway() -> tuple[dict[str, Any], str]:
    report = bench_gateway.run(say=lambda line: None)
    text = bench_gateway.render_peers(report["peers"]) + "\n" + bench_gateway.render_workers(
        report["gateway_workers_rps_c32"])
    return report, text


PARTS: dict[str, tuple[str, Callable[[], tuple[dict[str, Any], str]]]] = {
    "engines": ("local engines: latency and memory", engines),
    "catalog": ("catalog: ingestion and recall at 10k products", catalog),
    "turn": ("shopping turn: time to first token, task tree vs sequential order", turn),
    "gateway": ("tier-1 gateway vs a plain hop and LiteLLM; worker processes", gateway),
}


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "system": platform.platform(), "load_average": os.getloadavg()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ", ".join(PARTS))
    parser.add_argument("--build-time", action="store_true", help="also build the artefacts from scratch (minutes)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "bench" / "bench.json")
    args = parser.parse_args()
    wanted = [name for name in args.parts.split(",") if name]
    if unknown := set(wanted) - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    report: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                              "parts": {}}
    started = time.perf_counter()
    steps = len(wanted) + args.build_time
    for step, name in enumerate(wanted, 1):
        title, run = PARTS[name]
        print(f"[{step}/{steps}] {title} ...", flush=True)
        part_started = time.perf_counter()
        result, text = run()
        seconds = time.perf_counter() - part_started
        report["parts"][name] = {"seconds": round(seconds, 1), **result}
        print(text)
        print(f"[{step}/{steps}] done in {seconds:.0f} s\n", flush=True)
    if args.build_time:
        print(f"[{steps}/{steps}] artefacts from scratch in a fresh process ...", flush=True)
        report["build_s"] = build_time()
        print(f"artefacts from scratch (fresh process, encoder load included): {report['build_s']:.1f} s\n")
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["machine"]["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    cpu = report["machine"]
    print(f"{report['seconds']:.0f} s in all on {cpu['cpus']} x {cpu['cpu'] or 'CPU'} (load average "
          f"{cpu['load_average'][0]:.1f} at the start, {cpu['load_average_after'][0]:.1f} at the end); "
          f"results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
