"""Catalog service: filters, semantic ranking in both languages, relaxation, cross-lingual knowledge search,
product lookup, the recall cache, the embedder check at start, validation.

The store is built once per session, by the service's own start-up seeding on an empty store; document
vectors are cached under var/embeddings, so only the first run on a machine embeds the sample (~10 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.catalog.app import create_app
from services.catalog.engine import resolve_category
from services.catalog.ingest import SAMPLE_GUIDES, SAMPLE_PRODUCTS
from services.catalog.knowledge import CollectionMismatch
from services.catalog.knowledge.base import KnowledgeBase
from services.catalog.knowledge.documents import PRODUCTS, guide_documents
from shared.settings import Settings
from shared.taxonomy import load_taxonomy
from tests.conftest import app_client
from tests.knowledge.conftest import make_store
from tests.knowledge.fakes import FakeEmbedder


@pytest.fixture(scope="session")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("catalog-store")


@pytest.fixture
async def catalog_settings(settings: Settings, store_path: Path) -> AsyncIterator[Settings]:
    ready = settings.model_copy(update={"qdrant_path": store_path})
    if not (store_path / "edge").exists():
        # First use: start the service on the empty store, which seeds it in the background (a first
        # `make run`); a call waits for that, and /readyz says when it is done.
        async with app_client(create_app(ready)) as client:
            assert (await client.post("/v1/knowledge/search", json={"query": "tent"})).status_code == 200
            assert (await client.get("/readyz")).json() == {"ready": True, "checks": {"catalog": True}, "degraded": []}
    yield ready


def _call(**arguments: str) -> dict:
    return {"call": {"name": "get_recommds_by_sku", "arguments": arguments}, "top_k": 5}


async def _recommend(settings: Settings, **arguments: str) -> dict:
    async with app_client(create_app(settings)) as client:
        response = await client.post("/v1/recommend", json=_call(**arguments))
    assert response.status_code == 200, response.text
    return response.json()


async def test_recommend_filters_by_category_brand_and_price(catalog_settings) -> None:
    body = await _recommend(catalog_settings, category="smartphone", brand="Samsung", price="under 8000")
    ads = body["adList"]
    assert ads, "the sample catalog has Samsung phones under 8000"
    for ad in ads:
        sku = ad["skuInfo"]
        assert sku["category"] == "smartphone" and sku["brand"] == "Samsung" and sku["price"] <= 8000
        assert sku["skuCommentList"][0]["commentContent"]
    assert body["relaxed"] == []


async def test_chinese_brand_and_budget(catalog_settings) -> None:
    body = await _recommend(catalog_settings, category="手机", brand="苹果", price="3000以内")
    assert [(a["skuInfo"]["brand"], a["skuInfo"]["price"] <= 3000) for a in body["adList"]] == [("Apple", True)]


@pytest.mark.parametrize(
    ("arguments", "key", "expected"),
    [
        ({"category": "smartphone", "camera": "periscope telephoto zoom"}, "camera", "periscope"),
        ({"category": "smartphone", "camera": "潜望长焦"}, "camera", "periscope"),
        ({"category": "laptop", "processor": "Apple M3 chip"}, "processor", "Apple M3"),
        ({"category": "laptop", "processor": "苹果M3芯片"}, "processor", "Apple M3"),
        ({"category": "smartphone", "operating system": "鸿蒙系统"}, "operating system", "HarmonyOS"),
    ],
)
async def test_free_text_wishes_rank_matching_products_first(catalog_settings, arguments, key, expected) -> None:
    ads = (await _recommend(catalog_settings, **arguments))["adList"]
    assert expected in ads[0]["skuInfo"]["attributes"][key]
    assert all(a["skuInfo"]["category"] == arguments["category"] for a in ads)
    assert [a["score"] for a in ads] == sorted((a["score"] for a in ads), reverse=True)


@pytest.mark.parametrize(
    ("wish", "category"),
    [
        ("sleeping bag for a newborn baby", "baby_sleeping_bag"),
        ("适合新生儿的睡袋", "baby_sleeping_bag"),
        ("espresso coffee machine", "coffee_machine"),
        ("意式咖啡机", "coffee_machine"),
        ("防水的登山背包", "hiking_backpack"),
    ],
)
async def test_a_wish_alone_finds_the_right_kind_of_product(catalog_settings, wish, category) -> None:
    ads = (await _recommend(catalog_settings, need=wish))["adList"]
    assert [a["skuInfo"]["category"] for a in ads] == [category] * 5


@pytest.mark.parametrize(
    ("category", "key", "wish"),
    [("smartphone", "battery", "long battery life"), ("smartphone", "camera", "拍照好"), ("laptop", "memory", "big memory")],
)
async def test_a_wish_for_more_ranks_up_the_scale(catalog_settings, category, key, wish) -> None:
    """Embeddings match topics, not amounts: "long battery life" must still put bigger batteries first."""
    values = [v.lower() for v in next(a for a in load_taxonomy()[category].attributes if a.key == key).values_en]

    def mean_tier(ads: list[dict]) -> float:
        return sum(values.index(ad["skuInfo"]["attributes"][key].lower()) for ad in ads) / len(ads)

    wished = (await _recommend(catalog_settings, category=category, **{key: wish}))["adList"]
    plain = (await _recommend(catalog_settings, category=category))["adList"]
    assert mean_tier(wished) > mean_tier(plain)
    assert mean_tier(wished) >= (len(values) - 1) / 2, "the recommended ones sit in the upper half of the scale"


async def test_impossible_filters_are_relaxed_in_order(catalog_settings) -> None:
    body = await _recommend(catalog_settings, category="smartphone", price="under 5")
    assert body["relaxed"] == ["price"]
    assert all(ad["skuInfo"]["category"] == "smartphone" for ad in body["adList"])

    body = await _recommend(catalog_settings, category="smartphone", brand="Samsung and Google Pixel", price="under 10")
    assert body["relaxed"] == ["price"]
    assert {ad["skuInfo"]["brand"] for ad in body["adList"]} == {"Samsung", "Google Pixel"}

    body = await _recommend(catalog_settings, category="smartphone", brand="Nokia", price="under 10")
    assert body["relaxed"] == ["price", "brand"]
    assert body["adList"] and all(ad["skuInfo"]["category"] == "smartphone" for ad in body["adList"])

    body = await _recommend(catalog_settings, category="spaceship", wish="good camera")
    assert body["relaxed"] == ["category"]
    assert body["adList"][0]["skuInfo"]["category"] in {"camera", "smartphone"}


async def _recommend_constrained(settings: Settings, arguments: dict, constraints: dict) -> dict:
    body = {"call": {"name": "get_recommds_by_sku", "arguments": arguments, "constraints": constraints}, "top_k": 5}
    async with app_client(create_app(settings)) as client:
        response = await client.post("/v1/recommend", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_structured_constraints_are_applied(catalog_settings) -> None:
    body = await _recommend_constrained(
        catalog_settings,
        {"category": "smartphone", "price": "3000以内"},
        {"price": {"max": 3000}, "brands": {"exclude": ["Apple", "samsung"]}},
    )
    skus = [ad["skuInfo"] for ad in body["adList"]]
    assert body["relaxed"] == [] and skus
    assert all(s["price"] <= 3000 and s["brand"] not in {"Apple", "Samsung"} for s in skus), "brands as the catalog spells them"
    tents = await _recommend_constrained(
        catalog_settings, {"category": "tent"}, {"attributes": {"capacity": {"min": 4, "unit": "person"}}}
    )
    assert tents["relaxed"] == [] and {ad["skuInfo"]["attributes"]["capacity"] for ad in tents["adList"]} <= {
        "3-4 person", "6 person"
    }
    winter = await _recommend_constrained(
        catalog_settings, {"category": "baby_sleeping_bag"}, {"attributes": {"season": {"value": "winter"}}}
    )
    assert winter["adList"] and all(ad["skuInfo"]["attributes"]["season"] == "winter" for ad in winter["adList"])


async def test_a_constraint_nothing_meets_is_named_and_the_nearest_come_first(catalog_settings) -> None:
    body = await _recommend_constrained(
        catalog_settings, {"category": "tent"}, {"attributes": {"capacity": {"min": 10, "unit": "person"}}}
    )
    assert body["relaxed"] == ["attribute:capacity"]
    assert body["adList"][0]["skuInfo"]["attributes"]["capacity"] == "6 person", "the largest is the nearest"
    every_brand = list(load_taxonomy()["tent"].brands)
    excluded = await _recommend_constrained(catalog_settings, {"category": "tent"}, {"brands": {"exclude": every_brand}})
    assert excluded["relaxed"] == ["brand_exclude"]
    cheap = await _recommend_constrained(catalog_settings, {"category": "tent"}, {"price": {"max": 1}})
    prices = [ad["skuInfo"]["price"] for ad in cheap["adList"]]
    assert cheap["relaxed"] == ["price"] and prices == sorted(prices)


async def test_product_lookup(catalog_settings) -> None:
    async with app_client(create_app(catalog_settings)) as client:
        sku = (await client.post("/v1/recommend", json=_call(category="laptop"))).json()["adList"][0]["skuInfo"]
        found = await client.get(f"/v1/products/{sku['skuId']}")
        missing = await client.get("/v1/products/nope")
    assert found.json() == sku
    assert "hash" not in found.json() and found.json()["skuNameEn"]
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("婴儿睡袋怎么选", "zh_baby_sleeping_bag.md"),
        ("如何选择跑步鞋", "en_running_shoes.md"),  # Chinese query, English guide
        ("笔记本电脑怎么选", "en_laptop.md"),
        ("how to choose a baby stroller", "zh_stroller.md"),  # English query, Chinese guide
        ("what SPF sunscreen should I use", "zh_sunscreen.md"),
    ],
)
async def test_knowledge_search_across_languages(catalog_settings, query, source) -> None:
    async with app_client(create_app(catalog_settings)) as client:
        response = await client.post("/v1/knowledge/search", json={"query": query, "top_k": 3})
    hits = response.json()["hits"]
    assert hits[0]["source"].split("#")[0] == source
    assert all(hit["text"] and hit["source"] and hit["score"] is not None for hit in hits)


async def test_knowledge_search_by_category_keeps_its_guides_and_general_faqs(catalog_settings) -> None:
    async with app_client(create_app(catalog_settings)) as client:
        response = await client.post("/v1/knowledge/search", json={"query": "保修多久", "top_k": 5, "category": "laptop"})
    hits = response.json()["hits"]
    assert hits and {h["category"] for h in hits} <= {"laptop", "general"}
    assert any(h["source"].startswith("en_general_warranty") for h in hits)


def _recall(result: str) -> float:
    return REGISTRY.get_sample_value("sg_recall_cache_total", {"collection": PRODUCTS, "result": result}) or 0.0


async def test_repeated_recommendation_comes_from_the_cache(catalog_settings) -> None:
    hits, misses = _recall("hit"), _recall("miss")
    async with app_client(create_app(catalog_settings)) as client:
        first = await client.post("/v1/recommend", json=_call(category="tent", wish="family camping"))
        second = await client.post("/v1/recommend", json=_call(category="tent", wish="Family  Camping"))
    assert first.json() == second.json()
    assert (_recall("hit") - hits, _recall("miss") - misses) == (1, 1)


async def test_a_store_built_by_another_embedder_stops_the_start(settings, tmp_path) -> None:
    fake = FakeEmbedder(dim=8, model="other-model")
    store = make_store("edge", tmp_path)
    await KnowledgeBase(store, fake, cache=None).open()
    await store.aclose()
    with pytest.raises(CollectionMismatch, match=r"'other-model' \(8 dimensions\).*'use-multilingual-v3' \(512"):
        async with app_client(create_app(settings.model_copy(update={"qdrant_path": tmp_path}))):
            pass


async def test_a_store_held_by_another_process_gives_a_private_one(settings, tmp_path) -> None:
    holder = make_store("edge", tmp_path)  # as `make run` holds var/qdrant while a test suite starts a catalog
    await KnowledgeBase(holder, FakeEmbedder(), cache=None).open()
    try:
        async with app_client(create_app(settings.model_copy(update={"qdrant_path": tmp_path}))) as client:
            response = await client.post("/v1/recommend", json=_call(category="tent"))
        assert response.json()["adList"], "the private store has the sample data"
    finally:
        await holder.aclose()


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/v1/recommend", {"call": {"name": "get_weather", "arguments": {}}}, "get_recommds_by_sku"),
        ("/v1/recommend", {**_call(category="laptop"), "top_k": 0}, "top_k"),
        ("/v1/recommend", {**_call(category="laptop"), "top_k": 51}, "top_k"),
        ("/v1/recommend", _call(category=" "), "no arguments"),
        ("/v1/knowledge/search", {"query": "  "}, "query"),
        ("/v1/knowledge/search", {"query": "tents", "top_k": 0}, "top_k"),
    ],
)
async def test_bad_input(catalog_settings, path, body, fragment) -> None:
    async with app_client(create_app(catalog_settings)) as client:
        response = await client.post(path, json=body)
    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]


def test_names_resolve_to_the_taxonomy() -> None:
    assert resolve_category("手机") == resolve_category("Phone") == "smartphone"
    assert resolve_category("spaceship") == "spaceship"


def test_ingestion_cli_is_idempotent(tmp_path) -> None:
    products = tmp_path / "products.jsonl"
    products.write_text("\n".join(Path(SAMPLE_PRODUCTS).read_text("utf-8").splitlines()[:30]) + "\n", "utf-8")
    env = {**os.environ, "SG_DATA_DIR": str(tmp_path / "data"), "SG_CACHE_BACKEND": "memory"}
    command = [sys.executable, "-m", "services.catalog.ingest", "--products", str(products),
               "--guides", str(SAMPLE_GUIDES / "en_tent.md"), "--json", "--quiet"]

    def run() -> dict[str, dict]:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
        return {row["collection"]: row for row in map(json.loads, done.stdout.splitlines())}

    first, again = run(), run()
    assert (first["products"]["added"], first["knowledge"]["added"]) == (30, len(guide_documents(SAMPLE_GUIDES / "en_tent.md")))
    assert again["products"]["unchanged"] == 30 and again["products"]["added"] == again["products"]["updated"] == 0
    assert again["products"]["version"] == first["products"]["version"] and again["products"]["items_per_s"] > 0
