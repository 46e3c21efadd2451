"""An open catalog: a shop with other goods (a small grocery catalog, ``tests/data/grocery_products.jsonl``, none of
its kinds in the taxonomy file) ingested into its own embedded Qdrant, and conversations over it through the real
HTTP services (router -> intent, extraction -> catalog -> dialog). The services learn the catalog's vocabulary from
the catalog itself: its categories and brands are recognised, products come from it, and an item it lacks gets an
honest answer and no other kind's products."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.catalog.ingest import ingest_files
from services.catalog.knowledge import open_knowledge_base
from shared.settings import Settings
from shared.suite import serve_in_threads

GROCERY = Path(__file__).parents[1] / "data" / "grocery_products.jsonl"
PRODUCTS = [json.loads(line) for line in GROCERY.read_text(encoding="utf-8").splitlines() if line.strip()]
Answer = dict[str, Any]


async def _ingest(settings: Settings) -> None:
    async with open_knowledge_base(settings, None) as kb:
        await ingest_files(kb, [GROCERY], [])


@pytest.fixture(scope="module")
def shop(redis_url_module: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    settings = Settings(
        _env_file=None,
        redis_url=redis_url_module,
        cache_backend="redis",
        qdrant_path=tmp_path_factory.mktemp("grocery-qdrant"),
        catalog_seed_sample=False,  # this shop sells groceries only
        log_json=False,
    )
    asyncio.run(_ingest(settings))
    with contextlib.ExitStack() as stack:
        names = ["catalog", "intent", "extraction", "dialog", "router"]
        started = stack.enter_context(serve_in_threads(settings, names))
        yield {"router": started.services.router, "catalog": started.services.catalog}


def _conversation(url: str, *messages: str) -> list[Answer]:
    answers: list[Answer] = []
    session: dict[str, str] = {}
    for message in messages:
        response = httpx.post(f"{url}/v1/chat", json={"message": message, **session}, timeout=60)
        assert response.status_code == 200, response.text
        answers.append(response.json())
        session = {"session_id": answers[-1]["session_id"]}
    return answers


def _of(answer: Answer, category: str) -> list[Answer]:
    """The answer's products, each checked to be of ``category`` and from this shop."""
    skus = {p["skuId"] for p in PRODUCTS}
    assert answer["call"]["arguments"]["category"] == category, answer["call"]
    assert answer["products"], answer["reply"]
    for product in answer["products"]:
        assert product["category"] == category and product["skuId"] in skus, product
    return answer["products"]


def test_the_catalog_serves_its_own_vocabulary(shop: dict[str, str]) -> None:
    vocabulary = httpx.get(f"{shop['catalog']}/v1/catalog/vocabulary", timeout=30).json()
    categories = {c["id"]: c for c in vocabulary["categories"]}
    assert set(categories) == {p["category"] for p in PRODUCTS}
    assert categories["honey"]["name_zh"] == "蜂蜜" and categories["olive_oil"]["name_en"] == "olive oil"
    assert categories["tea"]["attributes"]["form"] == ["tea bags", "loose leaf"]
    assert categories["honey"]["entry_price"] == min(p["price"] for p in PRODUCTS if p["category"] == "honey")
    brands = {b["name"]: b for b in vocabulary["brands"]}
    assert "川宁" in brands["Twinings"]["aliases"] and brands["Twinings"]["categories"] == ["tea"]
    assert "Apple" not in brands, "the taxonomy file's brands are no part of what this shop carries"


def test_a_kind_and_a_budget_in_chinese(shop: dict[str, str]) -> None:
    (answer,) = _conversation(shop["router"], "推荐一款咖啡豆，预算150以内")
    assert answer["intent"] not in {"random chat", "random shopping"}
    assert answer["call"]["constraints"]["price"]["max"] == 150
    products = _of(answer, "coffee_beans")
    assert all(p["price"] <= 150 for p in products)
    assert answer["relaxed"] == []


def test_a_brand_of_this_catalog_in_english_then_its_chinese_name(shop: dict[str, str]) -> None:
    (english,) = _conversation(shop["router"], "I'd like some Twinings tea")
    assert english["call"]["constraints"]["brands"]["include"] == ["Twinings"]
    assert {p["brand"] for p in _of(english, "tea")} == {"Twinings"}
    (chinese,) = _conversation(shop["router"], "想买点蜂蜜，不要康维他的")
    assert chinese["call"]["constraints"]["brands"]["exclude"] == ["Comvita"]
    assert all(p["brand"] != "Comvita" for p in _of(chinese, "honey"))


def test_apples_here_are_fruit(shop: dict[str, str]) -> None:
    (chinese,) = _conversation(shop["router"], "买点苹果，要脆甜的")
    assert "brand" not in chinese["call"]["arguments"] and not (chinese["call"]["constraints"] or {}).get("brands")
    assert "GRO-fresh_fruit-011" in [p["skuId"] for p in _of(chinese, "fresh_fruit")]
    (english,) = _conversation(shop["router"], "I'd like some apples")
    assert english["call"]["arguments"]["fruit"] == "apples", "a value of this catalog's own attribute"
    assert [p["skuId"] for p in _of(english, "fresh_fruit")][0] == "GRO-fresh_fruit-011"


@pytest.mark.parametrize(
    ("message", "words"),
    [("I need a pair of ice skates", "ice skates"), ("有没有狗粮", "狗粮")],
)
def test_an_item_the_shop_lacks_gets_an_honest_answer(shop: dict[str, str], message: str, words: str) -> None:
    (answer,) = _conversation(shop["router"], message)
    assert answer["intent"] not in {"random chat", "random shopping"}, "asking for a product is shopping"
    assert answer["call"] is not None and "category" not in answer["call"]["arguments"]
    assert answer["call"]["arguments"]["query"] == words
    assert answer["products"] == [], "no other kind's products stand in for it"
    assert words in answer["reply"]
    assert any(cue in answer["reply"] for cue in ("we don't carry", "we don't stock", "没有"))


def test_after_an_item_it_lacks_the_shop_answers_for_one_it_has(shop: dict[str, str]) -> None:
    lacking, carried = _conversation(shop["router"], "I need ice skates", "ok then, some olive oil please")
    assert lacking["products"] == []
    assert all(p["category"] == "olive_oil" for p in _of(carried, "olive_oil"))
