"""The recommender adapter: built-in catalog by default, an outside API by URL with timeout and fallback."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.recommender import HttpRecommender, RecommenderError, create_recommender
from shared.schemas import FunctionCall
from shared.settings import ServiceUrls, Settings

CALL = FunctionCall(arguments={"category": "smartphone", "camera": "good camera"})
CATALOG = "http://catalog:8106"
OUTSIDE = "http://reco.example/api/recommend"


def _ad(sku_id: str) -> dict:
    return {"skuInfo": {"skuId": sku_id, "skuName": sku_id, "skuCommentList": [{"commentContent": "ok", "score": 5}]}}


def _transport(outside: str, seen: list[str]) -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if str(request.url).startswith(CATALOG):
            return httpx.Response(200, json={"adList": [_ad("from-catalog")], "relaxed": []})
        if outside == "slow":
            await asyncio.sleep(1)
        if outside == "down":
            return httpx.Response(502, text="bad gateway")
        if outside == "garbage":
            return httpx.Response(200, json={"items": []})
        return httpx.Response(200, json={"adList": [_ad("from-outside")]})

    return httpx.MockTransport(handler)


def _settings(url: str | None) -> Settings:
    return Settings(_env_file=None, recommender_url=url, recommender_timeout_s=0.05, services=ServiceUrls(catalog=CATALOG))


async def test_default_is_the_catalog_service() -> None:
    seen: list[str] = []
    async with httpx.AsyncClient(transport=_transport("ok", seen)) as http:
        result = await create_recommender(_settings(None), http).recommend(CALL, top_k=3)
    assert result.source == "catalog" and result.adList[0].skuInfo.skuId == "from-catalog"
    assert seen == [f"{CATALOG}/v1/recommend"]


async def test_outside_api_answers_when_healthy() -> None:
    seen: list[str] = []
    async with httpx.AsyncClient(transport=_transport("ok", seen)) as http:
        result = await create_recommender(_settings(OUTSIDE), http).recommend(CALL)
    assert result.source == "external" and result.adList[0].skuInfo.skuId == "from-outside"
    assert seen == [OUTSIDE]


@pytest.mark.parametrize("failure", ["slow", "down", "garbage"])
async def test_outside_failures_fall_back_to_the_catalog(failure: str) -> None:
    seen: list[str] = []
    async with httpx.AsyncClient(transport=_transport(failure, seen)) as http:
        result = await create_recommender(_settings(OUTSIDE), http).recommend(CALL)
    assert result.source == "catalog" and result.adList[0].skuInfo.skuId == "from-catalog"
    assert seen == [OUTSIDE, f"{CATALOG}/v1/recommend"]


async def test_a_single_recommender_reports_its_failure() -> None:
    async with httpx.AsyncClient(transport=_transport("down", [])) as http:
        with pytest.raises(RecommenderError, match="502"):
            await HttpRecommender(http, OUTSIDE, 1.0, "external").recommend(CALL)
