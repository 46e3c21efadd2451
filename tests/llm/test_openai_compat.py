"""The OpenAI-compatible backend against real simulator servers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from shared.llm import ChatRequest, LLMError, LLMStreamCut, LLMUnavailable, OpenAICompatBackend

from .helpers import Sim, eventually

MakeBackend = Callable[..., OpenAICompatBackend]
MakeRequest = Callable[..., ChatRequest]


def _retries(pool: str) -> float:
    return REGISTRY.get_sample_value("llm_retries_total", {"pool": pool}) or 0.0


def _snapshot(backend: OpenAICompatBackend, url: str) -> dict[str, Any]:
    return dict(next(entry for entry in backend.pool.snapshot() if entry["url"] == url))


async def _collect(backend: OpenAICompatBackend, request: ChatRequest) -> list[str]:
    return [delta async for delta in backend.stream(request)]


async def test_complete(make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim) -> None:
    sim_a.configure(reply="Two running shoes.")
    reply = await make_backend(sim_a.url).complete(chat_request("shoes?"))
    assert reply.text == "Two running shoes."
    assert (reply.backend, reply.model, reply.finish_reason) == ("openai", "sim-a", "stop")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (1, 3)


async def test_request_body_and_headers(make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim) -> None:
    backend = make_backend(sim_a.url, api_key="secret")
    await backend.complete(
        chat_request("hi", model="m-1", temperature=0.3, max_tokens=7, stop=["\n"], request_id="rid-1")
    )
    sent = sim_a.last_request()
    assert sent["body"] == {
        "messages": [{"role": "user", "content": "hi"}],
        "model": "m-1",
        "temperature": 0.3,
        "max_tokens": 7,
        "stop": ["\n"],
        "stream": False,
    }
    assert sent["headers"]["authorization"] == "Bearer secret"
    assert sent["headers"]["x-request-id"] == "rid-1"

    await _collect(backend, chat_request("hi"))
    sent = sim_a.last_request()
    assert sent["body"]["stream"] is True
    assert sent["body"]["stream_options"] == {"include_usage": True}
    assert "model" not in sent["body"] and "x-request-id" not in sent["headers"]


async def test_stream(make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim) -> None:
    sim_a.configure(reply="Light and breathable shoes.", itl_ms=1)
    deltas = await _collect(make_backend(sim_a.url), chat_request())
    assert deltas == ["Light ", "and ", "breathable ", "shoes."]
    assert sim_a.stats()["completed"] == 1


async def test_stream_records_usage(make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim) -> None:
    labels = {"backend": "openai:usage", "task": "dialog", "kind": "completion"}
    before = REGISTRY.get_sample_value("llm_tokens_total", labels) or 0.0
    sim_a.configure(reply="one two three")
    await _collect(make_backend(sim_a.url, name="usage"), chat_request())
    assert REGISTRY.get_sample_value("llm_tokens_total", labels) == before + 3


async def test_retries_5xx_then_succeeds(make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim) -> None:
    sim_a.configure(fail_next=1)
    before = _retries("retry")
    reply = await make_backend(sim_a.url, name="retry").complete(chat_request())
    assert reply.text == "alpha"
    assert sim_a.stats()["requests"] == 2
    assert _retries("retry") == before + 1


async def test_stream_retries_5xx(make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim) -> None:
    sim_a.configure(fail_next=2)
    assert await _collect(make_backend(sim_a.url), chat_request()) == ["alpha"]
    assert sim_a.stats()["requests"] == 3


async def test_gives_up_after_max_retries(make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim) -> None:
    sim_a.configure(fail_next=10)
    backend = make_backend(sim_a.url, max_retries=2)
    with pytest.raises(LLMUnavailable, match="3 attempt"):
        await backend.complete(chat_request())
    assert sim_a.stats()["requests"] == 3


async def test_fails_over_from_a_dead_endpoint(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, dead_url: str
) -> None:
    backend = make_backend(dead_url, sim_a.url, max_retries=1)
    assert (await backend.complete(chat_request())).text == "alpha"  # first pick: the dead one
    dead = _snapshot(backend, dead_url)
    assert dead["consecutive_failures"] == 1 and dead["ejected_for_s"] > 0
    for _ in range(3):
        assert (await backend.complete(chat_request())).text == "alpha"
    assert sim_a.stats()["requests"] == 4
    assert _snapshot(backend, dead_url)["consecutive_failures"] == 1  # ejected: not tried again


async def test_fails_over_from_an_erroring_endpoint(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim
) -> None:
    sim_a.configure(fail_next=1)
    backend = make_backend(sim_a.url, sim_b.url, max_retries=1)
    assert (await backend.complete(chat_request())).text == "beta"
    assert (sim_a.stats()["requests"], sim_b.stats()["requests"]) == (1, 1)
    assert _snapshot(backend, sim_a.url)["ejected_for_s"] > 0


async def test_stream_fails_over_from_a_dead_endpoint(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_b: Sim, dead_url: str
) -> None:
    backend = make_backend(dead_url, sim_b.url, max_retries=1)
    assert await _collect(backend, chat_request()) == ["beta"]
    assert _snapshot(backend, dead_url)["ejected_for_s"] > 0


async def test_timeout_before_the_first_byte_is_retried_elsewhere(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim
) -> None:
    sim_a.configure(hang_rate=1.0)
    backend = make_backend(sim_a.url, sim_b.url, read_timeout_s=0.2, max_retries=1)
    assert await _collect(backend, chat_request()) == ["beta"]
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)  # the hung request was abandoned


async def test_retries_go_to_another_endpoint(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim
) -> None:
    # Affinity would pick the same replica again; a busy (429) replica is not even ejected.
    backend = make_backend(sim_a.url, sim_b.url, session_affinity=True, max_retries=1)
    home = (await backend.complete(chat_request(session_id="s"))).text
    home_sim, other = (sim_a, "beta") if home == "alpha" else (sim_b, "alpha")
    home_sim.configure(fail_next=1, error_status=429)
    assert (await backend.complete(chat_request(session_id="s"))).text == other
    assert (await backend.complete(chat_request(session_id="s"))).text == home


async def test_429_is_retried_without_ejecting(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim
) -> None:
    sim_a.configure(fail_next=1, error_status=429)
    backend = make_backend(sim_a.url)
    assert (await backend.complete(chat_request())).text == "alpha"
    assert sim_a.stats()["requests"] == 2
    assert _snapshot(backend, sim_a.url)["consecutive_failures"] == 0


@pytest.mark.parametrize("stream", [False, True])
async def test_4xx_is_not_retried(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim, stream: bool
) -> None:
    sim_a.configure(fail_next=1, error_status=400)
    backend = make_backend(sim_a.url, sim_b.url)
    with pytest.raises(LLMError, match=r"HTTP 400\): simulated failure") as caught:
        await (_collect(backend, chat_request()) if stream else backend.complete(chat_request()))
    assert not isinstance(caught.value, LLMUnavailable)
    assert (sim_a.stats()["requests"], sim_b.stats()["requests"]) == (1, 0)
    assert _snapshot(backend, sim_a.url)["healthy"] is True


async def test_no_retry_after_the_first_token(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim
) -> None:
    sim_a.configure(reply="one two three four", cut_after=2)
    backend = make_backend(sim_a.url, sim_b.url)
    received: list[str] = []
    with pytest.raises(LLMStreamCut):
        async for delta in backend.stream(chat_request()):
            received.append(delta)
    assert received == ["one ", "two "]
    assert (sim_a.stats()["requests"], sim_b.stats()["requests"]) == (1, 0)
    assert _snapshot(backend, sim_a.url)["ejected_for_s"] > 0


async def test_cut_before_the_first_token_is_retried(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim
) -> None:
    sim_a.configure(cut_after=0)
    backend = make_backend(sim_a.url, sim_b.url)
    assert await _collect(backend, chat_request()) == ["beta"]
    assert (sim_a.stats()["cut"], sim_b.stats()["completed"]) == (1, 1)


async def test_closing_the_stream_cancels_upstream(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim
) -> None:
    sim_a.configure(reply="word " * 100, itl_ms=10)
    backend = make_backend(sim_a.url)
    stream = backend.stream(chat_request())
    assert [await anext(stream), await anext(stream)] == ["word ", "word "]
    await stream.aclose()
    assert _snapshot(backend, sim_a.url)["outstanding"] == 0
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)
    stats = sim_a.stats()
    assert (stats["completed"], stats["in_flight"]) == (0, 0)
    assert _snapshot(backend, sim_a.url)["healthy"] is True  # the client left: not the endpoint's fault


async def test_cancelling_the_consumer_task_cancels_upstream(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim
) -> None:
    sim_a.configure(reply="word " * 100, itl_ms=10)
    backend = make_backend(sim_a.url)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in backend.stream(chat_request()):
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)


async def test_least_outstanding_under_load(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim
) -> None:
    backend = make_backend(sim_a.url, sim_b.url)
    sim_a.configure(ttft_ms=150)
    sim_b.configure(ttft_ms=150)
    replies = await asyncio.gather(*(backend.complete(chat_request()) for _ in range(8)))
    assert sorted(reply.text for reply in replies) == ["alpha"] * 4 + ["beta"] * 4

    # One replica busy with a slow request: everything else goes to the idle one, where round
    # robin would alternate.
    sim_a.reset()
    sim_b.reset()
    sim_a.configure(ttft_ms=600)
    slow = asyncio.create_task(backend.complete(chat_request()))
    await eventually(lambda: sim_a.stats()["in_flight"] == 1)
    quick = [(await backend.complete(chat_request())).text for _ in range(5)]
    assert quick == ["beta"] * 5
    assert (await slow).text == "alpha"


async def test_session_affinity_over_http(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim
) -> None:
    backend = make_backend(sim_a.url, sim_b.url, session_affinity=True, max_retries=1)
    home = (await backend.complete(chat_request(session_id="s-1"))).text
    for _ in range(4):
        assert (await backend.complete(chat_request(session_id="s-1"))).text == home
    seen = {(await backend.complete(chat_request(session_id=f"s-{n}"))).text for n in range(2, 24)}
    assert seen == {"alpha", "beta"}

    # Its replica fails: the session fails over and stays away while the replica is ejected,
    # then returns once a health check finds it answering.
    home_sim, other = (sim_a, "beta") if home == "alpha" else (sim_b, "alpha")
    home_sim.configure(fail_next=1)
    assert (await backend.complete(chat_request(session_id="s-1"))).text == other
    assert (await backend.complete(chat_request(session_id="s-1"))).text == other
    await backend.pool.check_health()
    assert (await backend.complete(chat_request(session_id="s-1"))).text == home


async def test_ejected_endpoint_returns_when_health_recovers(
    make_backend: MakeBackend, chat_request: MakeRequest, sim_a: Sim, sim_b: Sim
) -> None:
    backend = make_backend(sim_a.url, sim_b.url, health_interval_s=0.02)
    sim_a.configure(healthy=False)
    await backend.start()
    await eventually(lambda: _snapshot(backend, sim_a.url)["ejected_for_s"] > 0)
    assert await backend.ready()
    replies = {(await backend.complete(chat_request())).text for _ in range(4)}
    assert replies == {"beta"}

    sim_a.configure(healthy=True)
    await eventually(lambda: _snapshot(backend, sim_a.url)["ejected_for_s"] == 0)
    replies = {(await backend.complete(chat_request())).text for _ in range(4)}
    assert replies == {"alpha", "beta"}


async def test_ready_reflects_endpoint_health(make_backend: MakeBackend, sim_a: Sim, dead_url: str) -> None:
    dead = make_backend(dead_url)
    live = make_backend(sim_a.url)
    await dead.pool.check_health()
    await live.pool.check_health()
    assert (await dead.ready(), await live.ready()) == (False, True)


async def test_all_endpoints_down_fails_fast(
    make_backend: MakeBackend, chat_request: MakeRequest, dead_url: str
) -> None:
    backend = make_backend(dead_url, max_retries=2)
    before = _retries(backend.pool.name)
    # Fast: every attempt is refused outright, none waits out a timeout or for an endpoint to come back.
    with pytest.raises(LLMUnavailable, match=r"3 attempt\(s\); last error: ConnectError"):
        await backend.complete(chat_request())
    assert _retries(backend.pool.name) == before + 2
