"""Next-question suggestions: from where the dialog stands, in the user's language, three at most."""

from __future__ import annotations

from shared.engines.suggestions import MAX_SUGGESTIONS, suggest
from shared.schemas import FunctionCall, SkuInfo
from shared.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
# From dicts, as the catalog sends them: skuNameEn is an extra field, outside the checked constructor signature.
PHONES = [
    SkuInfo.model_validate({"skuId": "a", "skuName": "苹果 iPhone 15 Pro Max 256GB", "skuNameEn": "Apple iPhone 15 Pro Max 256GB"}),
    SkuInfo.model_validate({"skuId": "b", "skuName": "小米14", "skuNameEn": "Xiaomi 14"}),
]


def test_small_talk_gets_a_way_in() -> None:
    assert suggest(TAXONOMY, True, None, []) == ["帮我推荐一款手机", "最近有什么值得买的？", "送女朋友什么礼物好？"]
    assert suggest(TAXONOMY, False, None, PHONES)[0] == "Recommend a phone for me"


def test_shown_products_then_an_attribute_not_talked_about() -> None:
    call = FunctionCall(arguments={"category": "smartphone", "screen size": "6.7 inch"})
    assert suggest(TAXONOMY, False, call, PHONES) == [
        "Compare Apple iPhone 15 and Xiaomi 14",  # names cut to three words
        "Which one is best for screen panel?",
        "What do reviewers say about Apple iPhone 15?",
    ]
    assert suggest(TAXONOMY, True, call, PHONES)[:2] == ["对比一下苹果 iPhone 15和小米14", "屏幕材质方面哪款更好？"]


def test_a_cheaper_one_only_without_a_budget() -> None:
    unknown = FunctionCall(arguments={"category": "spaceship"})
    assert suggest(TAXONOMY, False, unknown, []) == ["Anything cheaper?"]
    assert suggest(TAXONOMY, False, FunctionCall(arguments={"category": "spaceship", "price": "under 10"}), []) == []
    assert len(suggest(TAXONOMY, True, FunctionCall(arguments={"category": "smartphone"}), PHONES)) == MAX_SUGGESTIONS
