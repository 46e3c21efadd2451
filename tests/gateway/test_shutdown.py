"""The gateway's part in a drain (shared.drain), driven in-process: what its clients see when it stops."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

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

