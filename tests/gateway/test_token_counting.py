"""The gateway's token limits count an answer's tokens as the serving model does: at its pool's tokenize
endpoint (the simulator's here), or with a local tokenizer.json, the word estimate only as the fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from tokenizers import Tokenizer
from tokenizers.models import BPE
from tokenizers.pre_tokenizers import Whitespace

from shared.settings import PoolSettings, Task, TaskRoute
from shared.simulator import RunningServer, SimConfig, run_in_thread
from shared.simulator import create_app as create_simulator

from .conftest import ROUTES, gateway

# The fake dialog answers "one two three four five six": 6 tokens by the estimate, 23 one character a token.
LIMITED = [
    {**route, "rate_limit": {"tokens_per_minute": 20, "tokens_per_request": 1}} if route["path"] == "/v1/dialog" else route
    for route in ROUTES
]


def counted(method: str) -> float:
    return REGISTRY.get_sample_value("sg_tokens_counted_total", {"method": method}) or 0.0


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningServer]:
    with run_in_thread(create_simulator(SimConfig())) as server:
        yield server


@pytest.fixture
def per_character(tmp_path: Path) -> Path:
    """A tokenizer.json whose tokens are single characters."""
    chars = "abcdefghijklmnopqrstuvwxyz"
    tokenizer = Tokenizer(BPE({c: i for i, c in enumerate(["[UNK]", *chars])}, [], unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    return path


async def admitted(settings: Any, requests: int = 5) -> int:
    async with gateway(settings) as (client, _):
        statuses = [(await client.post("/v1/dialog", json={})).status_code for _ in range(requests)]
    return statuses.count(200)


async def test_answers_are_counted_at_the_pool_tokenize_endpoint(make_settings, upstream, simulator) -> None:
    settings = make_settings(
        routes=LIMITED,
        llm_pools={"sim": PoolSettings(endpoints=[simulator.url], health_interval_s=60)},
        llm_tasks={Task.DIALOG: TaskRoute(backend="openai", pool="sim")},
    )
    httpx.post(f"{simulator.url}/sim/reset").raise_for_status()
    before = counted("endpoint")
    assert await admitted(settings) == 4  # 6 tokens each, as the simulator counts: 0, 6, 12, 18 held, then 24
    assert counted("endpoint") - before == 4
    assert httpx.get(f"{simulator.url}/sim/stats").json()["tokenized"] == 1  # the same reply, counted once


async def test_answers_are_counted_with_a_local_tokenizer(make_settings, upstream, per_character) -> None:
    before = counted("local")
    assert await admitted(make_settings(routes=LIMITED, tokenizer_path=per_character)) == 1  # 23 tokens
    assert counted("local") - before == 1


async def test_the_estimate_counts_without_either(make_settings, upstream) -> None:
    before = counted("estimate")
    assert await admitted(make_settings(routes=LIMITED)) == 4
    assert counted("estimate") - before == 4
