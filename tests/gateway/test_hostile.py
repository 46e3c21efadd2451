"""Hostile bodies at the gateway: checked after admission, before the cache key or the OpenAI facade parse
them; refused with the request id, and never forwarded."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import gateway

CACHED_INTENT = [{"path": "/v1/intent", "upstream": "intent", "tasks": ["intent", "scene"], "cache": {"ttl_s": 60}}]
JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> bytes:
    return b'{"messages": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize("depth", [33, 500])
async def test_deep_json_to_a_cached_route_is_a_422_naming_the_limit(
    make_settings: Any, upstream: Any, depth: int
) -> None:
    async with gateway(make_settings(routes=CACHED_INTENT)) as (client, _):
        response = await client.post("/v1/intent", content=nested(depth), headers={**JSON, "X-Request-ID": "deep-1"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == f"body: the body nests {depth} levels deep; the limit is 32 (SG_MAX_JSON_DEPTH)"
    assert error["errors"] == [{"field": "body", "message": error["message"].removeprefix("body: ")}]
    assert error["request_id"] == "deep-1" == response.headers["x-request-id"]
    assert upstream.calls["/v1/intent"] == 0


async def test_json_within_the_limit_is_cached_and_forwarded(make_settings: Any, upstream: Any) -> None:
    async with gateway(make_settings(routes=CACHED_INTENT)) as (client, _):
        first = await client.post("/v1/intent", content=nested(32), headers=JSON)
        second = await client.post("/v1/intent", content=nested(32), headers=JSON)
    assert first.status_code == second.status_code == 200
    assert second.headers["x-cache"] == "hit" and upstream.calls["/v1/intent"] == 1


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ({"Content-Type": "text/plain"}, "/v1/intent"),
        ({}, "/v1/intent"),
        ({"Content-Type": "text/plain"}, "/v1/chat/completions"),
    ],
)
async def test_a_body_that_is_not_json_is_a_415(
    make_settings: Any, upstream: Any, headers: dict[str, str], path: str
) -> None:
    async with gateway(make_settings()) as (client, _):
        response = await client.post(path, content=b'{"messages": []}', headers=headers)
    assert response.status_code == 415
    assert "send the body as application/json" in response.json()["error"]["message"]
    assert sum(upstream.calls.values()) == 0


async def test_a_completion_whose_question_shows_nothing_is_refused(make_settings: Any, upstream: Any) -> None:
    body = {"model": "shopping-guide", "messages": [{"role": "user", "content": "\u200b\u2060\ufeff"}]}
    async with gateway(make_settings()) as (client, _):
        response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert "empty" in response.json()["error"]["message"]
    assert upstream.calls["/v1/chat"] == 0
