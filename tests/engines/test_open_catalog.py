"""The open catalog in the engines: the vocabulary of ingested products as the taxonomy the engines read with, the
extraction of a request the catalog does not carry, brands only where a brand is named, and the budget a gift
reaches from the catalog's own prices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.dialog.engine import LocalDialogEngine
from services.dialog.gifts import gift_need
from services.dialog.schemas import DialogRequest
from shared.engines.constraints import Currencies, from_words
from shared.engines.extraction import ExtractionModel, gated_read
from shared.engines.intent import IntentModel
from shared.schemas import BrandConstraint
from shared.taxonomy import load_taxonomy
from shared.taxonomy.index import TaxonomyIndex
from shared.vocabulary import SAMPLE_CATALOG as SAMPLE
from shared.vocabulary import open_taxonomy, read_vocabulary, sample_vocabulary, vocabulary_of
from tests.conftest import chat

GROCERY = Path(__file__).parents[1] / "data" / "grocery_products.jsonl"
RATES = Currencies("CNY", {"USD": 7.0})



@pytest.fixture(scope="module")
def grocery(extraction: ExtractionModel) -> ExtractionModel:
    return extraction.for_vocabulary(read_vocabulary(GROCERY))


def test_the_sample_catalog_gives_the_taxonomy_it_was_made_from() -> None:
    taxonomy, opened = load_taxonomy(), open_taxonomy(sample_vocabulary())
    assert list(opened.categories) == list(taxonomy.categories)
    # In whatever order the store returns the products, the taxonomy file's order stands.
    products = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    shuffled = vocabulary_of(sorted(products, key=lambda p: p["skuId"], reverse=True))
    assert list(open_taxonomy(shuffled).categories) == list(taxonomy.categories)
    phone = opened["smartphone"]
    assert phone.attributes == taxonomy["smartphone"].attributes, "scales and names come from the taxonomy file"
    assert phone.brand_aliases["iPhone"] == "Apple" and phone.brand_aliases["苹果"] == "Apple"


def test_another_catalog_brings_its_own_kinds_values_and_brands() -> None:
    vocabulary = read_vocabulary(GROCERY)
    taxonomy = open_taxonomy(vocabulary)
    assert set(taxonomy.categories) == {"coffee_beans", "tea", "olive_oil", "honey", "fresh_fruit"}
    tea = taxonomy["tea"]
    assert (tea.name_en, tea.name_zh) == ("tea", "茶叶") and "绿茶" in tea.synonyms_zh
    assert {a.key for a in tea.attributes} == {"type", "form", "weight"}
    assert tea.brand_aliases["川宁"] == "Twinings"
    assert vocabulary.entry_prices()["tea"] == 39.9
    assert vocabulary_of([]).categories == [] and open_taxonomy(vocabulary_of([])) == load_taxonomy()


def test_the_catalog_names_its_own_attributes_and_their_values_in_chinese() -> None:
    taxonomy = open_taxonomy(read_vocabulary(GROCERY))
    roast = {a.key: a for a in taxonomy["coffee_beans"].attributes}["roast"]
    assert (roast.zh, roast.en) == ("烘焙程度", "roast")
    assert dict(zip(roast.values_en, roast.values_zh, strict=True)) == {"medium": "中度烘焙", "dark": "深度烘焙"}
    index = TaxonomyIndex(taxonomy)
    coffee = taxonomy["coffee_beans"]
    assert index.label(coffee, "weight", zh=False) == "net weight" and index.label(coffee, "weight", zh=True) == "净含量"
    assert index.localise(coffee, "roast", "dark", zh=True) == "深度烘焙"
    # Without names the key in words, and the values as written in both languages.
    plain = open_taxonomy(vocabulary_of([{"category": "pet_food", "attributes": {"life_stage": "adult"}}]))
    stage = plain["pet_food"].attributes[0]
    assert (stage.zh, stage.en, stage.values_zh) == ("", "life stage", ())


@pytest.mark.parametrize(
    ("message", "key", "value"),
    [("我想买点苹果", "fruit", "苹果"), ("I'd like some apples", "fruit", "apples"), ("来点红茶", "type", "红茶")],
)
def test_a_kind_named_by_its_value_fills_it_in_either_language(
    grocery: ExtractionModel, message: str, key: str, value: str
) -> None:
    call, _ = grocery.read(chat(message))
    assert call is not None and call.arguments[key] == value, call


def test_a_value_in_chinese_becomes_the_catalogs_value(grocery: ExtractionModel) -> None:
    call, _ = grocery.read(chat("想要中度烘焙的咖啡豆"))
    assert call is not None and call.constraints is not None
    assert call.constraints.attributes is not None and call.constraints.attributes["roast"].value == "medium"


def test_the_vocabulary_version_follows_the_products() -> None:
    products = [json.loads(line) for line in GROCERY.read_text(encoding="utf-8").splitlines()]
    assert vocabulary_of(products).version == vocabulary_of(products).version
    assert vocabulary_of(products[:-1]).version != vocabulary_of(products).version


def test_a_new_catalog_is_read_with_its_categories_and_brands(grocery: ExtractionModel) -> None:
    call, _ = grocery.read(chat("推荐点川宁的茶，预算100以内"))
    assert call is not None and call.arguments["category"] == "tea"
    assert call.constraints is not None and call.constraints.brands == BrandConstraint(include=["Twinings"])
    call, _ = grocery.read(chat("买点苹果，要脆甜的"))
    assert call is not None and call.arguments["category"] == "fresh_fruit" and "brand" not in call.arguments


@pytest.mark.parametrize(
    ("turns", "query"),
    [
        (("I need new ice skates for my daughter",), "ice skates"),
        (("狗粮有推荐的吗",), "狗粮"),
        (("can you help me buying a gimbal", "Sure, any specific brand?", "anything that fits an iphone 14"), "gimbal"),
    ],
)
def test_what_the_catalog_lacks_gets_a_call_without_a_category(
    extraction: ExtractionModel, intent: IntentModel, turns: tuple[str, ...], query: str
) -> None:
    call, reading = gated_read(chat(*turns), intent, extraction)
    assert call is not None and call.arguments == {"query": query}, call
    assert reading.query == query and reading.category is None


def test_a_kind_the_sample_shop_sells_is_not_lacking_in_a_grocery(grocery: ExtractionModel) -> None:
    call, reading = grocery.read(chat("I want a smartphone"))
    assert call is not None and "category" not in call.arguments and reading.query == "smartphone"


def test_no_call_without_anything_to_search_for(extraction: ExtractionModel) -> None:
    call, _ = extraction.open_read(chat("我在找找"))
    assert call is None
    call, _ = extraction.open_read(chat("wood planner makita"))
    assert call is not None and call.arguments["brand"] == "Makita"


def test_a_brand_the_guide_said_it_does_not_sell_is_no_longer_asked_for(extraction: ExtractionModel) -> None:
    dialog = chat(
        "Hi, I want to buy an Iphone.", "Sorry, we don't sell iPhones, but we have android phones.", "Sure, under $600."
    )
    call, _ = extraction.read(dialog)
    assert call is not None and call.arguments["category"] == "smartphone" and "brand" not in call.arguments


def test_an_author_stands_for_the_brand_of_a_book(extraction: ExtractionModel) -> None:
    call, _ = extraction.read(chat("Hi! can you suggest the best book by Stephen King?"))
    assert call is not None and call.arguments == {"query": "book", "brand": "Stephen King"}


@pytest.mark.parametrize(
    ("words", "include", "exclude"),
    [
        ("not Apple", [], ["Apple"]),
        ("Samsung, not Apple", ["Samsung"], ["Apple"]),
        ("除了小米", [], ["Xiaomi"]),
        ("不要苹果的", [], ["Apple"]),
        ("Samsung or Google Pixel", ["Samsung", "Google Pixel"], []),
    ],
)
def test_a_call_in_words_reads_an_exclusion_as_one(words: str, include: list[str], exclude: list[str]) -> None:
    constraints = from_words({"brand": words}, load_taxonomy().categories.values(), RATES)
    assert constraints.brands == BrandConstraint(include=include, exclude=exclude)


def test_a_gift_budget_is_weighed_against_the_catalog_prices() -> None:
    index = TaxonomyIndex(load_taxonomy())
    dialog = chat("想给我妈买个礼物，预算150以内")
    sample = gift_need(dialog, index, RATES, sample_vocabulary().entry_prices())
    assert sample is not None and "hair_dryer" in [k.id for k in sample.kinds]
    # A shop whose cheapest hair dryer costs 800 yuan: no hair dryer for a 150-yuan gift.
    dearer = {**sample_vocabulary().entry_prices(), "hair_dryer": 800.0}
    need = gift_need(dialog, index, RATES, dearer)
    assert need is not None and "hair_dryer" not in [k.id for k in need.kinds]


def test_the_guide_says_honestly_what_the_shop_does_not_carry() -> None:
    engine = LocalDialogEngine(TaxonomyIndex(open_taxonomy(read_vocabulary(GROCERY))), currencies=RATES)
    for text, query, expected in (("I need ice skates", "ice skates", "we don't"), ("有没有狗粮", "狗粮", "没有")):
        request = DialogRequest.model_validate(
            {"messages": [{"role": "user", "content": text}], "intent": "intended shopping",
             "call": {"arguments": {"query": query}}, "products": []}
        )
        reply = engine.plan(request).reply
        assert query in reply and expected in reply, reply
        assert "olive oil" in reply or "橄榄油" in reply, reply
