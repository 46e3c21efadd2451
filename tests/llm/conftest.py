"""Fixtures for the LLM layer tests: two real simulator servers, shared by the session, reset per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.llm import ChatMessage, ChatRequest, OpenAICompatBackend
from shared.settings import Task
from shared.simulator import SimConfig, create_app, run_in_thread

from .helpers import Sim, pool_settings, unused_url


@pytest.fixture(scope="session")
def sim_servers() -> Iterator[tuple[Sim, Sim]]:
    with (
        httpx.Client() as control,
        run_in_thread(create_app(SimConfig(model_name="sim-a", reply="alpha"))) as a,
        run_in_thread(create_app(SimConfig(model_name="sim-b", reply="beta"))) as b,
    ):
        yield Sim(a, control), Sim(b, control)


@pytest.fixture
def sim_a(sim_servers: tuple[Sim, Sim]) -> Sim:
    """A simulator answering "alpha", reset to that before the test."""
    sim_servers[0].reset()
    return sim_servers[0]


@pytest.fixture
def sim_b(sim_servers: tuple[Sim, Sim]) -> Sim:
    """A simulator answering "beta", reset to that before the test."""
    sim_servers[1].reset()
    return sim_servers[1]


@pytest.fixture
def dead_url() -> str:
    return unused_url()


@pytest.fixture
async def make_backend() -> AsyncIterator[Callable[..., OpenAICompatBackend]]:
    """``make_backend(*urls, **pool_overrides)``; every backend made is closed after the test."""
    backends: list[OpenAICompatBackend] = []

    def make(*urls: str, name: str = "test", **overrides: Any) -> OpenAICompatBackend:
        backend = OpenAICompatBackend(name, pool_settings(*urls, **overrides))
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        await backend.aclose()


@pytest.fixture
def chat_request() -> Callable[..., ChatRequest]:
    def make(text: str = "hello", **fields: Any) -> ChatRequest:
        return ChatRequest(
            task=fields.pop("task", Task.DIALOG), messages=[ChatMessage(role="user", content=text)], **fields
        )

    return make
