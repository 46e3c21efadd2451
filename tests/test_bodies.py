"""Hostile bodies, measured before parsing (shared/bodies.py), blank text, and the error every app sends when
something breaks anyway: a 500 that quotes its request id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter

from shared.bodies import BodyRefused, check_json_body, is_json, json_depth
from shared.service import ServiceState, create_app
from shared.settings import Settings
from shared.text import is_blank


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"", 0),
        (b'{"a": 1}', 1),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', 3),
        (b'{"text": "[[[[{{{{"}', 1),  # brackets in a string are text
        (b'["a \\" [[[ \\\\", [1]]', 2),  # escaped quotes and backslashes do not end the string
        (nested(100_000), 100_000),
    ],
)
def test_json_depth_counts_nesting_outside_strings(raw: bytes, depth: int) -> None:
    assert json_depth(raw) == depth
    if depth < 500:
        assert raw == b"" or json.loads(raw) is not None  # the examples are JSON


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("application/merge-patch+json", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        (None, False),
    ],
)
def test_json_media_types(content_type: str | None, expected: bool) -> None:
    assert is_json(content_type) is expected


def test_a_body_is_refused_for_its_type_encoding_or_depth() -> None:
    check_json_body(b"", None, 32)  # no body: nothing to check
    check_json_body(nested(32), "application/json", 32)
    with pytest.raises(BodyRefused) as deep:
        check_json_body(nested(33), "application/json", 32)
    assert deep.value.status == 422 and "33 levels" in deep.value.message and "SG_MAX_JSON_DEPTH" in deep.value.message
    with pytest.raises(BodyRefused) as untyped:
        check_json_body(b"{}", None, 32)
    assert untyped.value.status == 415 and "application/json" in untyped.value.message
    with pytest.raises(BodyRefused) as latin:
        check_json_body('{"a": "é"}'.encode("latin-1"), "application/json", 32)
    assert latin.value.status == 422 and "UTF-8" in latin.value.message
    check_json_body(b'{\r\n\t"a": 1}', "application/json", 32)  # whitespace is not a control character here
    with pytest.raises(BodyRefused) as control:
        check_json_body(b"\x19\x00\tgG", "application/json", 32)  # json.loads would guess UTF-16 and fail apart
    assert control.value.status == 422 and "control character (byte 0)" in control.value.message


@pytest.mark.parametrize(
    ("text", "blank"),
    [
        ("", True),
        (" \t\n", True),
        ("\u200b\u200c\u200d\u2060\ufeff", True),
        ("\u3000\u200b ", True),  # an ideographic space is whitespace
        ("a\u200b", False),
        ("好", False),
    ],
)
def test_blank_text(text: str, blank: bool) -> None:
    assert is_blank(text) is blank


async def test_an_unhandled_error_quotes_the_request_id(settings: Settings) -> None:
    broken = APIRouter()

    @broken.get("/v1/broken")
    async def fail() -> None:
        raise RuntimeError("a bug")

    @asynccontextmanager
    async def resources(settings: Settings) -> AsyncIterator[ServiceState]:
        yield ServiceState(settings=settings)

    app = create_app("broken", routers=[broken], settings=settings, resources=resources)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)  # as a server would
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/v1/broken", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.json()["error"] == {
        "type": "internal_error",
        "message": "internal error; quote the request id",
        "request_id": "req-500",
    }
    assert response.headers["x-request-id"] == "req-500"
