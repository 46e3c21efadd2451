"""An open catalog: a shop with other goods (a small grocery catalog, ``tests/data/grocery_products.jsonl``, none of
its kinds in the taxonomy file) ingested into its own embedded Qdrant, and conversations over it through the real
HTTP services (router -> intent, extraction -> catalog -> dialog; copywriting). The services and the router learn the
catalog's vocabulary from the catalog itself: its categories and brands are recognised, products come from it, an item
it lacks gets an honest answer and no other kind's products, and suggestions, comparisons and copy speak of its goods
with its own names (``attributeNames``, ``attributesZh`` on its products)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.catalog.ingest import ingest_files
from services.catalog.knowledge import open_knowledge_base
from shared.settings import Settings
from shared.suite import serve_in_threads

from .conftest import Answer, conversation

GROCERY = Path(__file__).parents[1] / "data" / "grocery_products.jsonl"
PRODUCTS = [json.loads(line) for line in GROCERY.read_text(encoding="utf-8").splitlines() if line.strip()]


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
        names = ["catalog", "intent", "extraction", "dialog", "copywriting", "router"]
        started = stack.enter_context(serve_in_threads(settings, names))
        yield {"router": started.services.router, "catalog": started.services.catalog}



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
    assert categories["fresh_fruit"]["values_zh"]["fruit"] == {"apple": "苹果", "orange": "橙子"}
    assert categories["coffee_beans"]["attribute_names"]["weight"] == {"zh": "净含量", "en": "net weight"}


def test_a_kind_and_a_budget_in_chinese(shop: dict[str, str]) -> None:
    (answer,) = conversation(shop["router"], "推荐一款咖啡豆，预算150以内")
    assert answer["intent"] not in {"random chat", "random shopping"}
    assert answer["call"]["constraints"]["price"]["max"] == 150
    products = _of(answer, "coffee_beans")
    assert all(p["price"] <= 150 for p in products)
    assert answer["relaxed"] == []


def test_a_brand_of_this_catalog_in_english_then_its_chinese_name(shop: dict[str, str]) -> None:
    (english,) = conversation(shop["router"], "I'd like some Twinings tea")
    assert english["call"]["constraints"]["brands"]["include"] == ["Twinings"]
    assert {p["brand"] for p in _of(english, "tea")} == {"Twinings"}
    (chinese,) = conversation(shop["router"], "想买点蜂蜜，不要康维他的")
    assert chinese["call"]["constraints"]["brands"]["exclude"] == ["Comvita"]
    assert all(p["brand"] != "Comvita" for p in _of(chinese, "honey"))


def test_apples_here_are_fruit(shop: dict[str, str]) -> None:
    (chinese,) = conversation(shop["router"], "买点苹果，要脆甜的")
    assert "brand" not in chinese["call"]["arguments"] and not (chinese["call"]["constraints"] or {}).get("brands")
    assert "GRO-fresh_fruit-011" in [p["skuId"] for p in _of(chinese, "fresh_fruit")]
    (english,) = conversation(shop["router"], "I'd like some apples")
    assert english["call"]["arguments"]["fruit"] == "apples", "a value of this catalog's own attribute"
    assert [p["skuId"] for p in _of(english, "fresh_fruit")][0] == "GRO-fresh_fruit-011"


@pytest.mark.parametrize(
    ("message", "words"),
    [("I need a pair of ice skates", "ice skates"), ("有没有狗粮", "狗粮")],
)
def test_an_item_the_shop_lacks_gets_an_honest_answer(shop: dict[str, str], message: str, words: str) -> None:
    (answer,) = conversation(shop["router"], message)
    assert answer["intent"] not in {"random chat", "random shopping"}, "asking for a product is shopping"
    assert answer["call"] is not None and "category" not in answer["call"]["arguments"]
    assert answer["call"]["arguments"]["query"] == words
    assert answer["products"] == [], "no other kind's products stand in for it"
    assert words in answer["reply"]
    assert any(cue in answer["reply"] for cue in ("we don't carry", "we don't stock", "没有"))


def test_after_an_item_it_lacks_the_shop_answers_for_one_it_has(shop: dict[str, str]) -> None:
    lacking, carried = conversation(shop["router"], "I need ice skates", "ok then, some olive oil please")
    assert lacking["products"] == []
    assert all(p["category"] == "olive_oil" for p in _of(carried, "olive_oil"))


# The attribute names this shop gives its products, by key: what replies, comparisons and copy must call them.
NAMES = {key: name for p in PRODUCTS for key, name in p["attributeNames"].items()}


def test_apples_in_chinese_fill_the_same_value(shop: dict[str, str]) -> None:
    (answer,) = conversation(shop["router"], "我想买点苹果")
    assert answer["call"]["arguments"]["fruit"] == "苹果", "the Chinese value the catalog gives for apple"
    assert [p["skuId"] for p in _of(answer, "fresh_fruit")][0] == "GRO-fresh_fruit-011"


@pytest.mark.parametrize(("message", "kinds", "phones"), [("你好", "咖啡豆", "手机"), ("hello there", "coffee beans", "phone")])
def test_suggestions_name_the_shops_own_goods(shop: dict[str, str], message: str, kinds: str, phones: str) -> None:
    (answer,) = conversation(shop["router"], message)
    suggestions = answer["suggestions"]
    assert any(kinds in s for s in suggestions), suggestions
    assert not any(phones in s.lower() for s in suggestions), suggestions
    brands = {p["brand"] for p in PRODUCTS} | {a for p in PRODUCTS for a in p["brandAliases"]}
    assert any(b in s for s in suggestions for b in brands), "a brand the shop carries"


def test_suggestions_after_products_ask_by_the_catalogs_attribute_names(shop: dict[str, str]) -> None:
    (answer,) = conversation(shop["router"], "推荐一款咖啡豆，预算150以内")
    _of(answer, "coffee_beans")
    asked = [s for s in answer["suggestions"] if "方面哪款更好" in s]
    assert asked and asked[0].removesuffix("方面哪款更好？") in {n["zh"] for n in NAMES.values()}, answer["suggestions"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_comparison_labels_attributes_with_the_catalogs_names(shop: dict[str, str], language: str) -> None:
    body = {"sku_ids": ["GRO-coffee_beans-001", "GRO-coffee_beans-002"], "language": language}
    response = httpx.post(f"{shop['router']}/v1/compare", json=body, timeout=30)
    assert response.status_code == 200, response.text
    rows = {row["key"]: row for row in response.json()["rows"]}
    assert set(rows) == {"price", "roast", "weight", "origin"}
    for key in ("roast", "weight", "origin"):
        assert rows[key]["label"] == NAMES[key][language], rows[key]
    if language == "zh":  # values in the catalog's Chinese where it gives them
        assert rows["roast"]["values"] == ["中度烘焙", "中度烘焙"] and rows["origin"]["values"][0] == "巴西和印度"


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("product", PRODUCTS, ids=[p["skuId"] for p in PRODUCTS])
def test_copy_for_a_grocery_product_has_no_raw_keys(shop: dict[str, str], product: Answer, language: str) -> None:
    body = {"sku_id": product["skuId"], "language": language}
    response = httpx.post(f"{shop['router']}/v1/agents/copywriting", json=body, timeout=30)
    assert response.status_code == 200, response.text
    copy = response.json()["copy"]
    names = product["attributeNames"]
    if language == "zh":
        assert not any(key in copy for key in names), copy
        assert product["skuName"].split()[0] in copy and product["brand"] + " " not in copy, "the brand named once, in Chinese"
    else:
        # A key the catalog names otherwise ("net weight", "variety") is never stated bare next to a value.
        bare = [key for key, name in names.items() if name["en"] != key and f"{product['attributes'][key]} {key}" in copy]
        assert not bare, copy
    assert any(name[language] in copy or product["attributes"][key] in copy for key, name in names.items()), copy
