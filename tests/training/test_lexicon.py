"""Lexicons and surface patterns."""

from __future__ import annotations

import pytest

from shared.engines.patterns import BUDGET, DECIDED, brand_like
from shared.engines.terms import TermLexicon, brand_terms, category_terms
from shared.taxonomy import load_taxonomy

BRANDS = TermLexicon(brand_terms(load_taxonomy()))
CATEGORIES = TermLexicon(category_terms(load_taxonomy()))


def test_longest_term_wins_and_ascii_terms_stand_as_words() -> None:
    assert [(m.surface, m.value) for m in BRANDS.find("I like Samsung and Google Pixel phones")] == [
        ("Samsung", "Samsung"),
        ("Google Pixel", "Google Pixel"),
    ]
    assert [m.value for m in CATEGORIES.find("我想买个笔记本电脑")] == ["laptop"]
    assert [m.value for m in CATEGORIES.find("two tents")] == ["tent"]  # plural
    assert CATEGORIES.find("the content of it") == []  # "tent" inside a word


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("想了解下theragun的筋膜枪", ["theragun"]),  # a Latin name in Chinese text is how a brand is written there
        ("Actually I want Sony headphones, nothing Good", ["Sony"]),
        ("So I need one. Run it by me", []),  # capitalised words in English are sentence starts and words
        ("are Zorbas on sale?", []),  # a capitalised name the lexicon lacks is not taken on its shape
        ("are crocs on sale?", ["crocs"]),  # the general brand lexicon knows brands the catalog does not carry
        ("a gift for my brother", []),  # a brand that is an everyday word is left out of that lexicon
        ("看看这个 http://item.jd.com/100012.html 的手机", []),  # a link is no brand
        ("链接www.taobao.com/item?id=3 还有货吗", []),
        ("I like LG", ["LG"]),
        ("that's a bulge", []),  # brands stand as words
        ("索尼 A7M4 和佳能 R6 哪个好", ["索尼", "A7M4", "佳能"]),
        ("I'm going on a trip to Banff in February", []),  # a place, not a brand
        ("防晒霜要SPF50以上，不油腻的", []),  # a spec, not a model
        ("想买个5000左右的笔记本", []),  # 左右 is a sofa brand, and a word
        ("a treadmill with a 3.5 HP motor", []),  # HP after a number is the unit
    ],
)
def test_brand_like_names(text: str, names: list[str]) -> None:
    assert [m.surface for m in brand_like(text, BRANDS)] == names


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("3000以内的滚筒洗衣机", "3000以内"),
        ("under $1500", "under $1500"),
        ("一万以内", "一万以内"),
        ("价格别超过4000", "别超过4000"),
        ("good phone for under 500 bucks", "under 500 bucks"),
    ],
)
def test_budgets(text: str, budget: str) -> None:
    match = BUDGET.search(text)
    assert match is not None and match.group(0).strip() == budget


def test_decided_purchase() -> None:
    assert DECIDED.search("let's go with the Roborock. can I get it delivered by Friday?")
    assert DECIDED.search("那我下单了，用什么支付方式可以打折")
    assert not DECIDED.search("is there free shipping?")
