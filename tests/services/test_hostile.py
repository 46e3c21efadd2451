"""Hostile input to the services: a clear 4xx, never a 500. Product ids in paths are checked against the
product-id pattern, bodies are checked before parsing (JSON media type, UTF-8, nesting), and text that shows
nothing (whitespace, zero-width characters) is empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.catalog.app import create_app as create_catalog
from services.copywriting.app import create_app as create_copywriting
from services.intent.app import create_app as create_intent
from services.summary.app import create_app as create_summary
from shared.engines.artefacts import load_intent, models_dir
from shared.settings import Settings
from tests.conftest import app_client

from .conftest import user

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff \t"


@pytest.fixture(autouse=True, scope="module")
def _model_loaded() -> None:
    load_intent(models_dir())


def nested(depth: int) -> bytes:
    return b'{"messages": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


async def test_a_product_id_outside_the_pattern_is_a_422(settings: Settings, tmp_path: Path) -> None:
    # An encoded "/" makes another path (404: no such route); what fits one segment is checked against the pattern.
    empty = settings.model_copy(update={"qdrant_path": tmp_path, "catalog_seed_sample": False})
    async with app_client(create_catalog(empty)) as client:
        for sku_id in ["%2E%2E", "SKU-%01", "x%3Fy%3D1", "-leading-dash", "a" * 129]:
            response = await client.get(f"/v1/products/{sku_id}")
            assert response.status_code == 422, sku_id
            assert response.json()["error"]["errors"][0]["field"] == "path.sku_id"


@pytest.mark.parametrize("depth", [33, 500, 100_000])
async def test_a_body_nested_past_the_limit_is_a_422_naming_it(settings: Settings, depth: int) -> None:
    async with app_client(create_intent(settings)) as client:
        response = await client.post(
            "/v1/intent", content=nested(depth), headers={"Content-Type": "application/json", "X-Request-ID": "deep"}
        )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == f"body: the body nests {depth} levels deep; the limit is 32 (SG_MAX_JSON_DEPTH)"
    assert error["request_id"] == "deep" and response.headers["x-request-id"] == "deep"


async def test_the_depth_limit_is_a_setting(settings: Settings) -> None:
    async with app_client(create_intent(settings.model_copy(update={"max_json_depth": 8}))) as client:
        deep = await client.post("/v1/intent", content=nested(9), headers={"Content-Type": "application/json"})
        fine = await client.post("/v1/intent", json={"messages": [user("I want a phone")]})
    assert deep.status_code == 422 and "the limit is 8" in deep.json()["error"]["message"]
    assert fine.status_code == 200


@pytest.mark.parametrize(
    ("content", "headers", "status", "fragment"),
    [
        (
            b'{"messages": []}',
            {"Content-Type": "text/plain"},
            415,
            "send the body as application/json (not text/plain)",
        ),
        (b'{"messages": []}', {}, 415, "send the body as application/json (and no Content-Type was given)"),
        (b"messages=hi", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"),
        (b"{'messages': []}", {"Content-Type": "application/json"}, 422, "body: not valid JSON"),
        (b"\x14\xee\x8f8Rs", {"Content-Type": "application/json"}, 422, "body: the body is not UTF-8 (byte 1)"),
    ],
)
async def test_a_body_that_is_not_json_says_what_is_expected(
    settings: Settings, content: bytes, headers: dict[str, str], status: int, fragment: str
) -> None:
    async with app_client(create_intent(settings)) as client:
        response = await client.post("/v1/intent", content=content, headers=headers)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]
    assert "application/json" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("create", "path", "body", "field"),
    [
        (create_intent, "/v1/intent", {"messages": [user(INVISIBLE)]}, "messages.0.content"),
        (create_summary, "/v1/summary", {"messages": [user("hi"), user("\u200b")]}, "messages.1.content"),
        (create_summary, "/v1/summary", {"conversation": "\ufeff\u200b\n"}, "conversation"),
        (create_copywriting, "/v1/copywriting", {"product": {"skuName": "\u2060\u200d"}}, "product.skuName"),
    ],
)
async def test_text_of_only_invisible_characters_is_empty(
    settings: Settings, create: Any, path: str, body: dict[str, Any], field: str
) -> None:
    async with app_client(create(settings)) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["error"]["errors"]] == [field]
