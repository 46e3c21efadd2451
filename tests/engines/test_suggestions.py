"""Next-question suggestions: from where the dialog stands, in the user's language, three at most."""

from __future__ import annotations

from shared.engines.suggestions import MAX_SUGGESTIONS, suggest
from shared.schemas import FunctionCall, SkuInfo
from shared.vocabulary import OpenCatalog, Vocabulary, VocabularyBrand, VocabularyCategory, sample_vocabulary

CATALOG = OpenCatalog.of(sample_vocabulary())
# From dicts, as the catalog sends them: skuNameEn is an extra field, outside the checked constructor signature.
PHONES = [
    SkuInfo.model_validate({"skuId": "a", "skuName": "苹果 iPhone 15 Pro Max 256GB", "skuNameEn": "Apple iPhone 15 Pro Max 256GB"}),
    SkuInfo.model_validate({"skuId": "b", "skuName": "小米14", "skuNameEn": "Xiaomi 14"}),
]


def test_small_talk_gets_a_way_in_by_the_catalogs_kinds_and_brands() -> None:
    assert suggest(CATALOG, True, None, []) == ["帮我推荐一款手机", "苹果的笔记本电脑怎么样？", "最近有什么值得买的？"]
    assert suggest(CATALOG, False, None, PHONES)[:2] == [
        "What smartphone would you recommend?", "Which laptop from Apple is good?"
    ]


def test_another_shop_suggests_its_own_goods() -> None:
    tea = VocabularyCategory(id="tea", name_en="tea", name_zh="茶叶", brands=["Twinings"], attributes={"form": ["tea bags"]})
    honey = VocabularyCategory(id="honey", name_en="honey", name_zh="", attributes={"type": ["manuka"]})
    shop = OpenCatalog.of(Vocabulary(
        version="v", categories=[honey, tea], brands=[VocabularyBrand(name="Twinings", aliases=["川宁"], categories=["tea"])]
    ))
    assert suggest(shop, True, None, []) == ["帮我推荐一款honey", "川宁的茶叶怎么样？", "最近有什么值得买的？"]
    assert suggest(shop, False, None, []) == [
        "What honey would you recommend?", "Which tea from Twinings is good?", "What's worth buying right now?"
    ]
    # An attribute the taxonomy file does not know goes by its key in words.
    assert suggest(shop, False, FunctionCall(arguments={"category": "tea", "price": "under 50"}), []) == [
        "Which one is best for form?"
    ]


def test_shown_products_then_an_attribute_not_talked_about() -> None:
    call = FunctionCall(arguments={"category": "smartphone", "screen size": "6.7 inch"})
    assert suggest(CATALOG, False, call, PHONES) == [
        "Compare Apple iPhone 15 and Xiaomi 14",  # names cut to three words
        "Which one is best for screen panel?",
        "What do reviewers say about Apple iPhone 15?",
    ]
    assert suggest(CATALOG, True, call, PHONES)[:2] == ["对比一下苹果 iPhone 15和小米14", "屏幕材质方面哪款更好？"]


def test_a_cheaper_one_only_without_a_budget() -> None:
    unknown = FunctionCall(arguments={"category": "spaceship"})
    assert suggest(CATALOG, False, unknown, []) == ["Anything cheaper?"]
    assert suggest(CATALOG, False, FunctionCall(arguments={"category": "spaceship", "price": "under 10"}), []) == []
    assert len(suggest(CATALOG, True, FunctionCall(arguments={"category": "smartphone"}), PHONES)) == MAX_SUGGESTIONS
