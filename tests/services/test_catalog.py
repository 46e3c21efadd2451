"""Catalog service: recommendation filters and relaxation, knowledge search, product lookup, validation."""

from __future__ import annotations

import pytest

from services.catalog.app import create_app
from services.catalog.engine import price_range
from tests.conftest import app_client


def _call(**arguments: str) -> dict:
    return {"call": {"name": "get_recommds_by_sku", "arguments": arguments}, "top_k": 5}


async def test_recommend_filters_by_category_brand_and_price(settings) -> None:
    async with app_client(create_app(settings)) as client:
        response = await client.post("/v1/recommend", json=_call(category="smartphone", brand="Samsung", price="under 8000"))
    assert response.status_code == 200
    ads = response.json()["adList"]
    assert ads, "the sample catalog has Samsung phones under 8000"
    for ad in ads:
        sku = ad["skuInfo"]
        assert sku["category"] == "smartphone" and sku["brand"] == "Samsung" and sku["price"] <= 8000
        assert sku["skuCommentList"][0]["commentContent"]
    assert response.json()["relaxed"] == []


async def test_impossible_filters_are_relaxed_in_order(settings) -> None:
    async with app_client(create_app(settings)) as client:
        body = (await client.post("/v1/recommend", json=_call(category="smartphone", price="under 5"))).json()
    assert body["relaxed"] == ["price"]
    assert all(ad["skuInfo"]["category"] == "smartphone" for ad in body["adList"])


async def test_product_lookup(settings) -> None:
    async with app_client(create_app(settings)) as client:
        sku = (await client.post("/v1/recommend", json=_call(category="laptop"))).json()["adList"][0]["skuInfo"]
        found = await client.get(f"/v1/products/{sku['skuId']}")
        missing = await client.get("/v1/products/nope")
    assert found.json()["skuName"] == sku["skuName"]
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]


async def test_knowledge_search_finds_guides(settings) -> None:
    async with app_client(create_app(settings)) as client:
        response = await client.post("/v1/knowledge/search", json={"query": "婴儿睡袋怎么选", "top_k": 3})
    hits = response.json()["hits"]
    assert hits and all(hit["text"] and hit["source"] for hit in hits)


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/v1/recommend", {"call": {"name": "get_weather", "arguments": {}}}, "get_recommds_by_sku"),
        ("/v1/recommend", {**_call(category="laptop"), "top_k": 0}, "top_k"),
        ("/v1/recommend", {**_call(category="laptop"), "top_k": 51}, "top_k"),
        ("/v1/knowledge/search", {"query": "  "}, "query"),
    ],
)
async def test_bad_input(settings, path, body, fragment) -> None:
    async with app_client(create_app(settings)) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("under $1500", (None, 1500.0)),
        ("3000以内", (None, 3000.0)),
        ("2000-3000元", (2000.0, 3000.0)),
        ("over 5k", (5000.0, None)),
        ("good camera", (None, None)),
    ],
)
def test_price_range(text, expected) -> None:
    assert price_range(text) == expected
