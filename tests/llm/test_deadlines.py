"""Deadlines in the LLM layer, against real simulators: a task's timeout and the caller's deadline cancel the call
down to the model server; a read timeout is never retried on the endpoint that may still be generating."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from shared.deadline import within
from shared.llm import ChatMessage, LLMClient, LLMTimeout, OpenAICompatBackend
from shared.settings import Settings, Task, TaskRoute

from .helpers import Sim, eventually, pool_settings

MakeBackend = Callable[..., OpenAICompatBackend]
MESSAGES = [ChatMessage(role="user", content="hello")]


def _timeouts(task: Task) -> float:
    labels = {"backend": "openai:sim", "task": task.value, "outcome": "timeout"}
    return REGISTRY.get_sample_value("llm_requests_total", labels) or 0.0


@pytest.fixture
async def llm_for(sim_a: Sim) -> AsyncIterator[Callable[..., LLMClient]]:
    """``llm_for(timeout_s=..., **settings)``: an LLMClient whose dialog task runs on sim_a with that timeout,
    its pool's own read timeout far longer (30 s), so that only the task's budget can end a call."""
    clients: list[LLMClient] = []

    def make(timeout_s: float = 30.0, **values: Any) -> LLMClient:
        settings = Settings(
            _env_file=None,
            llm_pools={"sim": pool_settings(sim_a.url, read_timeout_s=30.0)},
            llm_tasks={Task.DIALOG: TaskRoute(backend="openai", pool="sim", timeout_s=timeout_s)},
            **values,
        )
        clients.append(LLMClient(settings))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


async def _stream(client: LLMClient) -> list[str]:
    return [delta async for delta in client.stream(Task.DIALOG, MESSAGES)]


async def test_a_read_timeout_is_not_retried_on_the_same_endpoint(make_backend: MakeBackend, chat_request, sim_a: Sim) -> None:
    sim_a.configure(hang_rate=1.0)
    backend = make_backend(sim_a.url, read_timeout_s=0.3, max_retries=2)
    with pytest.raises(LLMTimeout, match="in 1 attempt"):
        await backend.complete(chat_request())
    with pytest.raises(LLMTimeout, match="in 1 attempt"):
        [delta async for delta in backend.stream(chat_request())]
    # One attempt each, both abandoned at the server: nothing is left generating for nobody.
    await eventually(lambda: sim_a.stats()["cancelled"] == 2)
    assert sim_a.stats()["requests"] == 2 and sim_a.stats()["in_flight"] == 0


async def test_a_read_timeout_is_retried_on_another_endpoint(
    make_backend: MakeBackend, chat_request, sim_a: Sim, sim_b: Sim
) -> None:
    sim_a.configure(hang_rate=1.0)
    backend = make_backend(sim_a.url, sim_b.url, read_timeout_s=0.3, max_retries=2)
    assert (await backend.complete(chat_request())).text == "beta"
    assert (sim_a.stats()["requests"], sim_b.stats()["requests"]) == (1, 1)
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)


async def test_a_5xx_before_any_byte_is_still_retried_on_the_same_endpoint(
    make_backend: MakeBackend, chat_request, sim_a: Sim
) -> None:
    sim_a.configure(fail_next=1)
    backend = make_backend(sim_a.url, max_retries=1)
    assert (await backend.complete(chat_request())).text == "alpha"
    assert sim_a.stats()["requests"] == 2


@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_the_tasks_timeout_cancels_the_generation_at_the_server(llm_for, sim_a: Sim, mode: str) -> None:
    sim_a.configure(hang_rate=1.0)
    client = llm_for(timeout_s=0.3)
    before = _timeouts(Task.DIALOG)
    with pytest.raises(LLMTimeout, match="the task's timeout_s or the caller's deadline"):
        await (client.complete(Task.DIALOG, MESSAGES) if mode == "complete" else _stream(client))
    assert _timeouts(Task.DIALOG) == before + 1
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)
    assert sim_a.stats()["requests"] == 1 and sim_a.stats()["in_flight"] == 0


@pytest.mark.parametrize("mode", ["complete", "stream"])
async def test_the_callers_deadline_cuts_a_longer_task_timeout(llm_for, sim_a: Sim, mode: str) -> None:
    sim_a.configure(hang_rate=1.0)
    client = llm_for(timeout_s=30.0)
    with within(0.6), pytest.raises(LLMTimeout):
        await (client.complete(Task.DIALOG, MESSAGES) if mode == "complete" else _stream(client))
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)
    assert sim_a.stats()["in_flight"] == 0


async def test_a_spent_deadline_asks_no_model(llm_for, sim_a: Sim) -> None:
    client = llm_for(deadline_margin_s=0.5)
    before = _timeouts(Task.DIALOG)
    with within(0.2):  # less than the margin this layer keeps to answer without the model
        with pytest.raises(LLMTimeout, match="not asked"):
            await client.complete(Task.DIALOG, MESSAGES)
        with pytest.raises(LLMTimeout, match="not asked"):
            await _stream(client)
    assert sim_a.stats()["requests"] == 0 and _timeouts(Task.DIALOG) == before + 2


async def test_a_started_stream_is_not_cut_by_the_timeout_that_bounds_its_first_token(llm_for, sim_a: Sim) -> None:
    # Four tokens 0.5 s apart: the whole stream outlasts the task's timeout, each gap is far inside the read timeout.
    sim_a.configure(reply="one two three four", itl_ms=500)
    client = llm_for(timeout_s=1.0)
    assert "".join(await _stream(client)) == "one two three four"
    assert sim_a.stats()["completed"] == 1
