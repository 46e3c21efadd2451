"""The simulator itself, over real HTTP: formats, replies, latency and faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.simulator import SimConfig, create_app, run_in_thread
from shared.simulator.__main__ import parse_args

from .helpers import Sim, eventually


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def _body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "any", "messages": [{"role": "user", "content": text}], **extra}


async def _sse(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> list[str]:
    """The ``data:`` payloads of a streamed completion."""
    async with http.stream("POST", f"{url}/v1/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [line[6:] async for line in response.aiter_lines() if line.startswith("data: ")]


async def test_non_streamed_completion(http: httpx.AsyncClient, sim_a: Sim) -> None:
    sim_a.configure(reply="Red shoes, size 42")
    data = (await http.post(f"{sim_a.url}/v1/chat/completions", json=_body("two words"))).json()
    assert data["object"] == "chat.completion" and data["model"] == "sim-a"
    assert data["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Red shoes, size 42"}, "finish_reason": "stop"}
    ]
    assert data["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}
    stats = sim_a.stats()
    assert (stats["requests"], stats["completed"], stats["streams"]) == (1, 1, 0)
    assert stats["last_requests"][-1]["body"] == _body("two words")


async def test_streamed_completion(http: httpx.AsyncClient, sim_a: Sim) -> None:
    sim_a.configure(reply="你好 world")
    payloads = await _sse(http, sim_a.url, _body())
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [chunk["choices"][0]["delta"].get("content") for chunk in chunks[1:-1]] == ["你好 ", "world"]
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert "usage" not in chunks[-1]

    with_usage = await _sse(http, sim_a.url, _body(stream_options={"include_usage": True}))
    usage_chunk = json.loads(with_usage[-2])
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == 2
    assert sim_a.stats()["completed"] == 2


async def test_reply_sources(http: httpx.AsyncClient, sim_a: Sim) -> None:
    async def reply(text: str) -> str:
        response = await http.post(f"{sim_a.url}/v1/chat/completions", json=_body(text))
        content: str = response.json()["choices"][0]["message"]["content"]
        return content

    sim_a.configure(script=["first", "second"], replies={"shoe": "shoe reply", "bag": "bag reply"})
    assert [await reply("shoe"), await reply("shoe"), await reply("a bag please"), await reply("other")] == [
        "first",
        "second",
        "bag reply",
        "alpha",
    ]
    sim_a.configure(echo=True)
    assert await reply("echo me") == "echo me"


async def test_each_request_records_when_it_started_and_ended(http: httpx.AsyncClient, sim_a: Sim) -> None:
    sim_a.configure(reply="a b c", ttft_ms=20, itl_ms=5)
    await http.post(f"{sim_a.url}/v1/chat/completions", json=_body())
    await _sse(http, sim_a.url, _body())
    sim_a.configure(fail_next=1)
    await http.post(f"{sim_a.url}/v1/chat/completions", json=_body())
    whole, streamed, failed = sim_a.stats()["last_requests"][-3:]
    # One after the other: what a test reads to tell requests that overlapped from those that did not.
    assert whole["started"] < whole["ended"] < streamed["started"] < streamed["ended"] < failed["started"]
    assert failed["started"] <= failed["ended"]


async def test_errors(http: httpx.AsyncClient, sim_a: Sim) -> None:
    sim_a.configure(fail_next=1, error_status=503)
    response = await http.post(f"{sim_a.url}/v1/chat/completions", json=_body())
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "simulated failure"
    assert (await http.post(f"{sim_a.url}/v1/chat/completions", json=_body())).status_code == 200

    bad = await http.post(f"{sim_a.url}/v1/chat/completions", json={"messages": []})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    assert sim_a.stats()["errors"] == 2


async def test_error_rate_is_reproducible_with_a_seed(http: httpx.AsyncClient, sim_a: Sim) -> None:
    async def pattern() -> list[int]:
        sim_a.configure(error_rate=0.5, seed=7)
        return [(await http.post(f"{sim_a.url}/v1/chat/completions", json=_body())).status_code for _ in range(20)]

    first = await pattern()
    assert set(first) == {200, 500}
    assert await pattern() == first


async def test_hang_until_the_client_gives_up(http: httpx.AsyncClient, sim_a: Sim) -> None:
    sim_a.configure(hang_rate=1.0)
    request = asyncio.create_task(http.post(f"{sim_a.url}/v1/chat/completions", json=_body(), timeout=0.3))
    await eventually(lambda: sim_a.stats()["in_flight"] == 1)
    with pytest.raises(httpx.ReadTimeout):
        await request
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)
    stats = sim_a.stats()
    assert (stats["hung"], stats["in_flight"], stats["completed"]) == (1, 0, 0)


async def test_cut_drops_the_connection(http: httpx.AsyncClient, sim_a: Sim) -> None:
    sim_a.configure(reply="one two three four", cut_after=2)
    contents: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        async with http.stream(
            "POST", f"{sim_a.url}/v1/chat/completions", json={**_body(), "stream": True}
        ) as response:
            async for line in response.aiter_lines():
                assert "[DONE]" not in line
                if line.startswith("data: "):
                    contents.append(json.loads(line[6:])["choices"][0]["delta"]["content"])
    assert contents == ["", "one ", "two "]
    stats = sim_a.stats()
    assert (stats["cut"], stats["cancelled"], stats["completed"]) == (1, 0, 0)


async def test_disconnect_mid_stream_is_counted(http: httpx.AsyncClient, sim_a: Sim) -> None:
    sim_a.configure(reply="word " * 100, itl_ms=10)
    async with http.stream("POST", f"{sim_a.url}/v1/chat/completions", json={**_body(), "stream": True}) as response:
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith("data: ")
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)
    assert sim_a.stats()["completed"] == 0


async def test_health_models_and_metrics(http: httpx.AsyncClient, sim_a: Sim) -> None:
    assert (await http.get(f"{sim_a.url}/health")).status_code == 200
    sim_a.configure(healthy=False)
    assert (await http.get(f"{sim_a.url}/health")).status_code == 503
    models = (await http.get(f"{sim_a.url}/v1/models")).json()
    assert [model["id"] for model in models["data"]] == ["sim-a"]

    await http.post(f"{sim_a.url}/v1/chat/completions", json=_body())
    sim_a.configure(fail_next=1)
    await http.post(f"{sim_a.url}/v1/chat/completions", json=_body())
    metrics = (await http.get(f"{sim_a.url}/metrics")).text
    for line in (
        "sim_requests_total 2.0",
        "sim_completed_total 1.0",
        "sim_errors_total 1.0",
        "sim_cancelled_total 0.0",
        "sim_in_flight 0.0",
        'vllm:num_requests_running{model_name="sim-a"} 0.0',
        'vllm:num_requests_waiting{model_name="sim-a"} 0.0',
    ):
        assert line in metrics.splitlines()


async def test_config_and_reset(http: httpx.AsyncClient, sim_a: Sim) -> None:
    response = await http.post(f"{sim_a.url}/sim/config", json={"reply": "changed", "itl_ms": 1})
    assert response.json()["reply"] == "changed"
    assert (await http.post(f"{sim_a.url}/sim/config", json={"no_such_field": 1})).status_code == 422
    assert (await http.post(f"{sim_a.url}/sim/config", json={"error_rate": 2})).status_code == 422
    assert (await http.post(f"{sim_a.url}/sim/config", content=b"not json")).status_code == 422
    await http.post(f"{sim_a.url}/v1/chat/completions", json=_body())
    assert sim_a.stats()["config"]["reply"] == "changed"

    reset = await http.post(f"{sim_a.url}/sim/reset")
    assert reset.json()["reply"] == "alpha"
    stats = sim_a.stats()
    assert (stats["requests"], stats["last_requests"]) == (0, [])


def test_run_in_thread_serves_and_stops() -> None:
    with run_in_thread(create_app(SimConfig())) as server:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health")


def test_cli_arguments() -> None:
    config, args = parse_args(
        [
            *("--port", "9100", "--ttft-ms", "50", "--itl-ms", "5", "--echo"),
            *("--error-rate", "0.1", "--hang-rate", "0.2", "--cut-after", "3", "--seed", "1", "--model-name", "bench"),
        ]
    )
    assert (args.host, args.port) == ("127.0.0.1", 9100)
    assert config == SimConfig(
        model_name="bench", ttft_ms=50, itl_ms=5, echo=True, error_rate=0.1, hang_rate=0.2, cut_after=3, seed=1
    )
    assert parse_args(["--reply", "fixed"])[0].reply == "fixed"
    with pytest.raises(SystemExit):
        parse_args(["--reply", "x", "--echo"])
