"""The gateway's part in a drain (shared.drain), driven in-process: what its clients see when it stops."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from prometheus_client import REGISTRY

from shared.drain import DRAIN_KEY, Drain

from .conftest import asgi_post, gateway
from .fakes import Upstream

COMPLETION = {"model": "shopping-guide", "messages": [{"role": "user", "content": "hold"}]}


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/chat", {"message": "hold", "stream": True}), ("/v1/chat/completions", {**COMPLETION, "stream": True})],
)
async def test_a_relayed_stream_the_drain_stops_ends_with_a_shutdown_error(make_settings, path, body) -> None:
    async with gateway(make_settings()) as (client, manager):
        drain: Drain = manager._state[DRAIN_KEY]

        def stop_mid_stream(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message["body"]:
                drain.stop()  # the upstream holds its stream open: only the drain can end it

        async with asyncio.timeout(30):  # a hang guard, not a measurement
            status, headers, chunks = await asgi_post(manager.app, path, body, on_send=stop_mid_stream)
        refused = await client.post("/v1/chat", json={"message": "hi"})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    last = chunks[-1].decode()
    if path == "/v1/chat":
        assert last.startswith("event: error\n")
    payload = json.loads(last.split("data:", 1)[1])
    assert payload.get("type", payload.get("error", {}).get("type")) == "shutdown"
    assert refused.status_code == 503 and refused.json()["error"]["type"] == "shutdown"
    assert refused.headers["retry-after"] and refused.headers["connection"] == "close"


@pytest.mark.parametrize(("path", "body"), [("/v1/chat", {"message": "hold"}), ("/v1/chat/completions", COMPLETION)])
async def test_a_request_not_answered_when_the_drain_stops_gets_a_503(
    make_settings, upstream: Upstream, path, body
) -> None:
    async with gateway(make_settings()) as (_, manager):
        drain: Drain = manager._state[DRAIN_KEY]
        waiting = asyncio.create_task(asgi_post(manager.app, path, body))
        async with asyncio.timeout(30):
            while not upstream.calls["/v1/chat"]:  # upstream, waiting for the turn's answer
                await asyncio.sleep(0.01)
            drain.stop()
            status, headers, chunks = await waiting
    assert status == 503 and headers["retry-after"]
    assert json.loads(b"".join(chunks))["error"]["type"] == "shutdown"


async def test_turns_past_the_limit_are_shed_with_a_503_and_retry_after(make_settings, upstream: Upstream) -> None:
    shed = REGISTRY.get_sample_value("sg_gateway_shed_total", {"business": "default"}) or 0.0
    async with gateway(make_settings(max_inflight_turns=2)) as (client, manager):
        held = [
            asyncio.create_task(asgi_post(manager.app, "/v1/chat", {"message": "hold", "stream": True})) for _ in range(2)
        ]
        async with asyncio.timeout(30):
            while upstream.calls["/v1/chat"] < 2:  # both turns upstream, their streams held open
                await asyncio.sleep(0.01)
        third = await client.post("/v1/chat", json={"message": "hi"})
        not_a_turn = await client.post("/v1/intent", json={"messages": [{"role": "user", "content": "hi"}]})
        for task in held:  # their clients leave: the slots are free again
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        fourth = await client.post("/v1/chat", json={"message": "hi"})
    assert third.status_code == 503 and third.headers["retry-after"] == "1"
    assert third.json()["error"]["type"] == "overloaded" and "SG_MAX_INFLIGHT_TURNS" in third.json()["error"]["message"]
    assert upstream.calls["/v1/chat"] == 3, "a shed turn never reaches the router"
    assert REGISTRY.get_sample_value("sg_gateway_shed_total", {"business": "default"}) == shed + 1
    assert not_a_turn.status_code == 200 and fourth.status_code == 200
