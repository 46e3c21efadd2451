"""Constraints read as values: prices and ranges in both languages, currencies, quantities and sizes, catalog
values, and how a later constraint refines an earlier one."""

from __future__ import annotations

import math

import pytest

from shared.engines.constraints import (
    Currencies,
    cn_number,
    distance,
    find_price,
    fits,
    measure,
    merge,
    read_attributes,
    read_price,
    resolve_brands,
)
from shared.engines.moves import read_ordinal, read_relative
from shared.schemas import AttributeConstraint, BrandConstraint, Constraints, PriceRange, Relative
from shared.settings import Settings
from shared.taxonomy import load_taxonomy

RATES = Currencies("CNY", {"USD": 7.0, "EUR": 8.0})
TAXONOMY = load_taxonomy()


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("3000以内", None, 3000),
        ("预算3000以内的手机", None, 3000),
        ("不要太贵，两三百的", 200, 300),
        ("三四千的就行", 3000, 4000),
        ("五百左右", 400, 600),
        ("一千五左右", 1200, 1800),
        ("1-2千", 1000, 2000),
        ("两千到三千", 2000, 3000),
        ("一万以内", None, 10000),
        ("6000元以上", 6000, None),
        ("价格别超过4000", None, 4000),
        ("预算6000", None, 6000),
        ("预算1.5万", None, 15000),
        ("100-200元", 100, 200),
        ("under $100", None, 700),
        ("Under 100 dollars please", None, 700),
        ("around 800 dollars", 4480, 6720),
        ("my budget is about $800.", 4480, 6720),
        ("a laptop for 3k", 2400, 3600),
        ("over 5k", 5000, None),
        ("between 200 and 300", 200, 300),
        ("less than 2000 yuan", None, 2000),
        ("$50-$80", 350, 560),
        ("500欧元以内", None, 4000),
    ],
)
def test_prices_in_both_languages_in_the_catalogs_currency(text: str, low: float | None, high: float | None) -> None:
    assert read_price(text, RATES) == PriceRange(min=low, max=high, currency="CNY")


@pytest.mark.parametrize(
    "text", ["I need a tent for 4 people", "16GB of RAM", "the iPhone 14", "第二款", "一款面霜", "good camera", "5G手机"]
)
def test_no_price_where_none_is_stated(text: str) -> None:
    assert read_price(text, RATES) is None


def test_a_currency_without_a_rate_is_left_to_the_words() -> None:
    assert read_price("under 100 dollars", Currencies("CNY", {})) is None
    mention = find_price("不要太贵，两三百的")
    assert mention is not None and mention.phrase == "两三百"


def test_rates_are_settings() -> None:
    settings = Settings(_env_file=None, catalog_currency="USD", currency_rates={"cny": 0.14})
    assert read_price("3000元以内", Currencies.of(settings)) == PriceRange(max=420.0, currency="USD")
    with pytest.raises(ValueError, match="positive"):
        Settings(_env_file=None, currency_rates={"USD": 0})


@pytest.mark.parametrize(
    ("text", "about", "currency"),
    [("五百左右", 500, None), ("around $800", 800, "USD"), ("3000以内", None, None), ("3000出头", None, None),
     ("两三百", None, None), ("预算6000", None, None)],
)
def test_a_price_given_about_a_figure_keeps_the_figure(text: str, about: float | None, currency: str | None) -> None:
    mention = find_price(text)  # so a reply can say it back as the user did: "500元左右", "around $800"
    assert mention is not None and (mention.about, mention.currency) == (about, currency)


def test_chinese_numerals() -> None:
    assert [cn_number(t) for t in ("三千五", "两万", "十五", "一百二", "一万五", "三百五十")] == [
        3500, 20000, 15, 120, 15000, 350,
    ]


@pytest.mark.parametrize(
    ("category", "text", "expected"),
    [
        ("tent", "what do you suggest for 4 people", {"capacity": AttributeConstraint(min=4, unit="person")}),
        ("tent", "两个人用的", {"capacity": AttributeConstraint(min=2, unit="person")}),
        ("sofa", "四口之家", {"seats": AttributeConstraint(min=4, unit="person")}),
        ("smartphone", "a 6 inch screen", {"screen size": AttributeConstraint(min=5.4, max=6.6, unit="inch")}),
        ("laptop", "16GB RAM", {"memory": AttributeConstraint(min=14.4, max=17.6, unit="GB")}),
        ("laptop", "at least 512GB storage", {"storage": AttributeConstraint(min=512, unit="GB")}),
        ("laptop", "under 4 lbs", {"weight": AttributeConstraint(max=4, unit="lb")}),
        ("refrigerator", "300升左右", {"capacity": AttributeConstraint(min=240, max=360, unit="L")}),
        ("sunscreen", "SPF50以上", {"spf": AttributeConstraint(min=50, unit="SPF")}),
        ("baby_sleeping_bag", "冬天睡觉总踢被子", {"season": AttributeConstraint(value="winter")}),
        ("baby_sleeping_bag", "for cold winter nights", {"season": AttributeConstraint(value="winter")}),
    ],
)
def test_quantities_sizes_and_named_values(category: str, text: str, expected: dict[str, AttributeConstraint]) -> None:
    assert read_attributes(text, TAXONOMY[category]) == expected


def test_the_product_name_names_no_value() -> None:
    assert read_attributes("推荐一款面霜", TAXONOMY["moisturizer"]) == {}


def test_catalog_values_carry_amounts() -> None:
    tent = measure("3-4 person")
    assert tent is not None and (tent.low, tent.high, tent.unit.name) == (3, 4, "person")
    assert measure("40 x 110 cm") is None and measure("Bluetooth 5.3") is None
    for_four = AttributeConstraint(min=4, unit="person")
    assert fits("3-4 person", for_four) and fits("6 person", for_four) and not fits("2 person", for_four)
    light = AttributeConstraint(max=4, unit="lb")  # 1.81 kg
    assert fits("1.6 kg", light) and not fits("1.9 kg", light) and fits("650 g", light)
    assert distance("1.9 kg", light) > 0 and distance("8 hours", light) == math.inf
    assert fits("winter", AttributeConstraint(value="winter")) and not fits("spring and autumn", AttributeConstraint(value="winter"))


def test_later_constraints_refine_or_replace() -> None:
    budget = Constraints(price=PriceRange(min=200, max=300))
    assert merge(budget, Constraints(price=PriceRange(max=250))).price == PriceRange(min=200, max=250)
    assert merge(budget, Constraints(price=PriceRange(max=150))).price == PriceRange(max=150)  # old floor disagrees
    assert merge(budget, Constraints(price=PriceRange(min=5000, max=6000))).price == PriceRange(min=5000, max=6000)
    assert merge(budget, Constraints()).price == budget.price
    either = Constraints(brands=BrandConstraint(include=["Sony", "Bose"]))
    not_sony = merge(either, Constraints(brands=BrandConstraint(exclude=["Sony"])))
    assert not_sony.brands == BrandConstraint(include=["Bose"], exclude=["Sony"])
    back = merge(not_sony, Constraints(brands=BrandConstraint(include=["Sony"])))
    assert back.brands == BrandConstraint(include=["Sony"], exclude=[])
    sized = Constraints(attributes={"capacity": AttributeConstraint(min=2, unit="person")})
    assert merge(sized, Constraints(attributes={"capacity": AttributeConstraint(min=4, unit="person")})).attributes == {
        "capacity": AttributeConstraint(min=4, unit="person")
    }


def test_brand_words_resolve_to_the_catalogs_spelling() -> None:
    phones = [TAXONOMY["smartphone"]]
    assert resolve_brands("Samsung and Google Pixel phones", phones) == ("Samsung", "Google Pixel")
    assert resolve_brands("苹果或者华为", phones) == ("Apple", "Huawei")
    assert resolve_brands("Nokia", phones) == ("Nokia",)
    assert resolve_brands("LG", phones) != ("Samsung",) and resolve_brands("bulge", phones) == ("bulge",)


@pytest.mark.parametrize(
    ("text", "ordinal"),
    [("the second one", 2), ("tell me about the first", 1), ("第二款怎么样", 2), ("第3个", 3), ("最后那款", -1),
     ("option 2 please", 2), ("my first time buying", None), ("一款面霜", None)],
)
def test_ordinals(text: str, ordinal: int | None) -> None:
    assert read_ordinal(text) == ordinal


@pytest.mark.parametrize(
    ("category", "text", "moves"),
    [
        ("smartphone", "cheaper", [Relative(key="price", direction="less")]),
        ("smartphone", "便宜点", [Relative(key="price", direction="less")]),
        ("smartphone", "有没有更贵一点的", [Relative(key="price", direction="more")]),
        ("smartphone", "bigger screen", [Relative(key="screen size", direction="more")]),
        ("smartphone", "屏幕大一点", [Relative(key="screen size", direction="more")]),
        ("laptop", "something lighter", [Relative(key="weight", direction="less")]),
        ("smartphone", "a good camera", []),
    ],
)
def test_moves_from_what_was_shown(category: str, text: str, moves: list[Relative]) -> None:
    assert read_relative(text, TAXONOMY[category]) == moves
