"""A small suite in this process: every service and the router on real uvicorn servers (threads), the NLU
and dialog tasks routed to two LLM simulators so that timings and cancellations can be observed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis

from shared.settings import PoolSettings, Settings, Task, TaskRoute
from shared.simulator import SimConfig, run_in_thread
from shared.simulator import create_app as create_simulator
from shared.suite import serve_in_threads
from tests.conftest import REDIS_DB

NLU_TTFT_MS = 300
# One reply both NLU paths accept: the intent prompt's <response> block, and extraction's {"call": ...}.
NLU_REPLY = (
    '<response>{"category": "specific needs", "reason": "simulated", "aim": "photos", "scene": "",'
    ' "call": {"name": "get_recommds_by_sku", "arguments": {"category": "smartphone", "camera": "good camera"}}}'
    "</response>"
)
CHAT_REPLY = '<response>{"category": "random chat", "reason": "simulated", "call": null}</response>'


@dataclass(frozen=True)
class MiniSuite:
    router: str
    gateway: str
    nlu_sim: str
    dialog_sim: str

    def configure(self, sim: str, **config: object) -> None:
        httpx.post(f"{sim}/sim/reset").raise_for_status()
        httpx.post(f"{sim}/sim/config", json=config).raise_for_status()

    def stats(self, sim: str) -> dict:
        return httpx.get(f"{sim}/sim/stats").json()


@pytest.fixture(scope="module")
def mini_suite(redis_url_module: str) -> Iterator[MiniSuite]:
    with contextlib.ExitStack() as stack:
        nlu = stack.enter_context(run_in_thread(create_simulator(SimConfig(ttft_ms=NLU_TTFT_MS, reply=NLU_REPLY))))
        dialog = stack.enter_context(run_in_thread(create_simulator(SimConfig(itl_ms=20))))
        base = Settings(
            _env_file=None,
            redis_url=redis_url_module,
            cache_backend="redis",
            llm_pools={
                "nlu": PoolSettings(endpoints=[nlu.url], health_interval_s=60),
                "dialog": PoolSettings(endpoints=[dialog.url], health_interval_s=60),
            },
            llm_tasks={
                Task.INTENT: TaskRoute(backend="openai", pool="nlu"),
                Task.EXTRACTION: TaskRoute(backend="openai", pool="nlu"),
                Task.DIALOG: TaskRoute(backend="openai", pool="dialog"),
            },
            cascade_threshold=1.0,  # always ask the LLM, so both NLU calls take the simulator's time
        )
        names = ["intent", "extraction", "dialog", "copywriting", "summary", "catalog", "router", "gateway"]
        started = stack.enter_context(serve_in_threads(base, names))
        yield MiniSuite(
            router=started.services.router, gateway=started.services.gateway, nlu_sim=nlu.url, dialog_sim=dialog.url
        )


@pytest.fixture(scope="module")
def redis_url_module() -> Iterator[str]:
    url = f"redis://127.0.0.1:6379/{REDIS_DB - 1}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


Answer = dict[str, Any]


def conversation(url: str, *messages: str) -> list[Answer]:
    """The router's answers to ``messages`` sent one after another in one session."""
    answers: list[Answer] = []
    session: dict[str, str] = {}
    for message in messages:
        response = httpx.post(f"{url}/v1/chat", json={"message": message, **session}, timeout=60)
        assert response.status_code == 200, response.text
        answers.append(response.json())
        session = {"session_id": answers[-1]["session_id"]}
    return answers
