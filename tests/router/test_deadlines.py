"""Deadlines and hang-ups across the whole chain: client -> gateway -> router/service -> LLM simulator, over real
HTTP. The caller's budget (X-Timeout-Ms) reaches the model call and cuts it; a spent one is refused at the door;
a client that hangs up leaves no generation running for nobody."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import httpx
from prometheus_client import REGISTRY

from tests.router.conftest import NLU_REPLY, MiniSuite

AUTH = {"Authorization": "Bearer dev-key"}


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _until(check: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


def test_a_spent_budget_is_refused_at_the_gateway(mini_suite: MiniSuite) -> None:
    mini_suite.configure(mini_suite.nlu_sim, reply=NLU_REPLY)
    response = httpx.post(
        f"{mini_suite.gateway}/v1/chat", json={"message": "a phone"}, headers={**AUTH, "X-Timeout-Ms": "0"}
    )
    assert response.status_code == 504 and response.json()["error"]["type"] == "deadline_exceeded"
    assert "X-Timeout-Ms" in response.json()["error"]["message"]
    assert mini_suite.stats(mini_suite.nlu_sim)["requests"] == 0


async def test_the_callers_budget_cuts_the_model_call_and_the_service_answers_locally(mini_suite: MiniSuite) -> None:
    """The intent task's own timeout is 30 s; the client gives 2 s. The budget reaches the LLM call through the
    gateway and the service, so the call is cut (and cancelled at the model server) in time for the service to
    answer with its local engine before the gateway gives up."""
    mini_suite.configure(mini_suite.nlu_sim, hang_rate=1.0)
    timeouts = _count("llm_requests_total", backend="openai:nlu", task="intent", outcome="timeout")
    body = {"messages": [{"role": "user", "content": f"a phone with a good camera {uuid.uuid4()}"}], "engine": "llm"}
    async with httpx.AsyncClient(headers={**AUTH, "X-Timeout-Ms": "2000"}, timeout=30) as client:
        response = await client.post(f"{mini_suite.gateway}/v1/intent", json=body)
    assert response.status_code == 200 and response.json()["engine"] == "local"
    assert _count("llm_requests_total", backend="openai:nlu", task="intent", outcome="timeout") == timeouts + 1
    await _until(lambda: mini_suite.stats(mini_suite.nlu_sim)["cancelled"] == 1, "the generation was cancelled")
    stats = mini_suite.stats(mini_suite.nlu_sim)
    assert stats["requests"] == 1 and stats["in_flight"] == 0


async def test_a_turn_within_a_budget_ends_in_time_with_its_model_calls_cancelled(mini_suite: MiniSuite) -> None:
    """A whole JSON turn given 3 s while the NLU model hangs: both NLU calls are cut by the budget (not by their
    30 s timeout) and cancelled at the server; the client gets the turn's answer, degraded, or a 504 naming the
    deadline, whichever the remaining budget allowed."""
    mini_suite.configure(mini_suite.nlu_sim, hang_rate=1.0)
    mini_suite.configure(mini_suite.dialog_sim, reply="Here are some phones.")
    async with httpx.AsyncClient(headers={**AUTH, "X-Timeout-Ms": "3000"}, timeout=30) as client:
        response = await client.post(f"{mini_suite.gateway}/v1/chat", json={"message": f"a phone {uuid.uuid4()}"})
    if response.status_code == 504:
        assert "X-Timeout-Ms" in response.json()["error"]["message"]
    else:
        assert response.status_code == 200 and response.json()["engines"]["intent"] != "llm"
    await _until(lambda: mini_suite.stats(mini_suite.nlu_sim)["cancelled"] == 2, "both NLU calls were cancelled")
    assert mini_suite.stats(mini_suite.nlu_sim)["in_flight"] == 0


async def test_a_hang_up_during_the_nlu_calls_cancels_them_at_the_model_server(mini_suite: MiniSuite) -> None:
    mini_suite.configure(mini_suite.nlu_sim, hang_rate=1.0)
    abandoned = {name: _count("sg_requests_abandoned_total", service=name) for name in ("gateway", "router")}
    async with httpx.AsyncClient(headers=AUTH, timeout=30) as client:
        waiting = asyncio.create_task(client.post(f"{mini_suite.gateway}/v1/chat", json={"message": "a phone"}))
        await _until(lambda: mini_suite.stats(mini_suite.nlu_sim)["in_flight"] == 2, "both NLU calls started")
        waiting.cancel()  # the client hangs up while the model generates
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    await _until(lambda: mini_suite.stats(mini_suite.nlu_sim)["cancelled"] == 2, "both generations were cancelled")
    assert mini_suite.stats(mini_suite.nlu_sim)["in_flight"] == 0
    counted = {name: _count("sg_requests_abandoned_total", service=name) for name in abandoned}
    assert all(counted[name] > before for name, before in abandoned.items()), counted
