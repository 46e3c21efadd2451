"""What the user asked the products to satisfy, as the guide says it back, and which of it the products shown miss.

The values are the call's structured ``constraints``: what the catalog applied. A call that carries only words (an
outside caller's) is read the way the catalog reads it, with the shared parser (``from_words``); so is a budget the
user states before there is any call. Nothing here parses a price or a brand itself. The words keep what the values
lose: the currency the user spoke in, so a range kept in the catalog's yuan is said back as "under $100".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shared.engines.constraints import (
    APPROXIMATE,
    BARE_TOLERANCE,
    UNITS,
    Currencies,
    find_price,
    fits,
    from_words,
    price_distance,
    read_price,
    resolve_brands,
)
from shared.lexicon import format_number
from shared.products import value_text
from shared.schemas import AttributeConstraint, BrandConstraint, FunctionCall, PriceRange, SkuInfo
from shared.taxonomy import Category
from shared.taxonomy.index import TaxonomyIndex

_USE_KEYS = ("use", "scene", "occasion", "purpose")
# A currency as a reply names it: (Chinese unit after the amount, English sign before it).
_MONEY = {
    "CNY": ("元", "¥"), "USD": ("美元", "$"), "EUR": ("欧元", "€"), "GBP": ("英镑", "£"), "HKD": ("港元", "HK$"),
    "JPY": ("日元", "JP¥"),
}
# The parser's units in a Chinese reply; the others ("GB", "mAh", "kg") are written the same in both.
_ZH_UNITS = {
    "person": "人", "inch": "英寸", "mm": "毫米", "cm": "厘米", "m": "米", "g": "克", "kg": "公斤", "lb": "磅",
    "L": "升", "ml": "毫升", "hour": "小时", "minute": "分钟", "day": "天", "month": "个月", "year": "岁",
    "piece": "片", "speed": "速",
}
_EN_PLURALS = {"person": "people", "hour": "hours", "minute": "minutes", "day": "days", "month": "months",
               "year": "years", "piece": "pieces"}


@dataclass(frozen=True, slots=True)
class Budget:
    """A price range as the user said it: in their currency, "about" a figure where they said so."""

    low: float | None
    high: float | None
    currency: str
    about: float | None = None

    def text(self, zh: bool) -> str:
        """"700元以内" / "under $100"; "2000-3000元" / "between ¥2000 and ¥3000"; "3000元左右" / "around ¥3000"."""
        unit, sign = _MONEY.get(self.currency, (self.currency, f"{self.currency} "))
        low, high = (None if v is None else format_number(v) for v in (self.low, self.high))
        if zh:
            if self.about is not None:
                return f"{format_number(self.about)}{unit}左右"
            if low is not None and high is not None:
                return f"{low}{unit}" if low == high else f"{low}-{high}{unit}"
            return f"{high}{unit}以内" if high is not None else f"{low}{unit}以上"
        if self.about is not None:
            return f"around {sign}{format_number(self.about)}"
        if low is not None and high is not None:
            return f"{sign}{low}" if low == high else f"between {sign}{low} and {sign}{high}"
        return f"under {sign}{high}" if high is not None else f"over {sign}{low}"


def said_back(price: PriceRange, words: str, currencies: Currencies) -> Budget:
    """``price`` as the user said it: the words' own figures while they still state this range, else the range
    converted back into the currency the words name (a later turn moved it: "cheaper", "at least 3000")."""
    mention = find_price(words) if words else None
    if mention is not None and _same(read_price(words, currencies), price):
        return Budget(mention.low, mention.high, mention.currency or currencies.catalog, mention.about)
    currency = mention.currency if mention is not None and mention.currency in currencies.rates else None
    rate = currencies.rates[currency] if currency else 1.0
    low, high = (None if v is None else round(v / rate, 2) for v in (price.min, price.max))
    return Budget(low, high, currency or price.currency)


def _same(read: PriceRange | None, price: PriceRange) -> bool:
    """Whether the words' range is ``price`` (values that went through JSON or arithmetic may differ by a cent)."""
    return read is not None and read.currency == price.currency and all(
        a == b or (a is not None and b is not None and math.isclose(a, b, abs_tol=0.01))
        for a, b in ((read.min, price.min), (read.max, price.max))
    )


def stated_price(said: Sequence[str], currencies: Currencies) -> tuple[PriceRange, Budget] | None:
    """The last price the user's words state: in the catalog's currency, and as they said it."""
    for text in reversed(said):
        if (price := read_price(text, currencies)) is not None:
            return price, said_back(price, text, currencies)
    return None


@dataclass(frozen=True, slots=True)
class Asked:
    """What the user asked the products to satisfy."""

    price: PriceRange | None = None  # in the catalog's currency, as products are priced
    budget: Budget | None = None  # the same range as the user said it
    brands: tuple[str, ...] = ()  # wanted, in the catalog's spelling
    excluded: tuple[str, ...] = ()
    attributes: Mapping[str, AttributeConstraint] = field(default_factory=dict)
    use: str = ""

    @property
    def stated(self) -> bool:
        return bool(self.price or self.brands or self.excluded or self.attributes or self.use)


def read_asked(
    call: FunctionCall | None, said: Sequence[str], category: Category | None, index: TaxonomyIndex,
    currencies: Currencies,
) -> Asked:
    """The call's constraints, or its words read as the catalog reads them; without a call, a budget the user's
    words (``said``, their turns) state."""
    if call is None:
        stated = stated_price(said, currencies)
        return Asked(price=stated[0], budget=stated[1]) if stated else Asked()
    arguments = {key.strip().lower(): value.strip() for key, value in call.arguments.items() if value.strip()}
    pool = _pool(category, index)
    constraints = call.constraints if call.constraints is not None else from_words(arguments, pool, currencies)
    brands = constraints.brands or BrandConstraint()
    price = constraints.price
    if price is not None and price.min is None and price.max is None:
        price = None  # open at both ends: no budget, the catalog filters on none
    return Asked(
        price=price,
        budget=said_back(price, arguments.get("price", ""), currencies) if price else None,
        brands=tuple(brands.include),
        excluded=tuple(brands.exclude),
        attributes=dict(constraints.attributes),
        use=next((arguments[key] for key in _USE_KEYS if key in arguments), ""),
    )


# --------------------------------------------------------------------------- attributes in words
def attribute_text(key: str, wanted: AttributeConstraint, category: Category | None, index: TaxonomyIndex,
                   zh: bool) -> str:
    """An attribute constraint as a reply says it: a named value ("四季" / "4-season") or a measured range with its
    label ("容纳人数4人以上" / "a capacity of at least 4 people")."""
    if wanted.value is not None:
        return index.localise(category, key, wanted.value, zh)
    label = index.label(category, key, zh)
    return f"{label}{_bound(wanted, zh)}" if zh else f"a {label} of {_bound(wanted, zh)}"


def _bound(wanted: AttributeConstraint, zh: bool) -> str:
    low, high, unit = wanted.min, wanted.max, wanted.unit or ""
    if low is not None and high is not None:
        if (mid := _around(low, high)) is not None:
            return f"{_amount(mid, unit, zh)}左右" if zh else f"about {_amount(mid, unit, zh)}"
        if low == high:
            return _amount(low, unit, zh)
        return _amount(high, unit, zh, low)
    if low is not None:
        return f"{_amount(low, unit, zh)}以上" if zh else f"at least {_amount(low, unit, zh)}"
    return f"{_amount(high or 0, unit, zh)}以内" if zh else f"at most {_amount(high or 0, unit, zh)}"


def _around(low: float, high: float) -> float | None:
    """The figure a range is the parser's "about" span of ("6 inch": 5.4-6.6), else None."""
    mid = (low + high) / 2
    spans = (mid * share for share in (BARE_TOLERANCE, APPROXIMATE))
    return round(mid, 2) if mid > 0 and any(math.isclose((high - low) / 2, s, rel_tol=1e-3) for s in spans) else None


def _amount(value: float, unit: str, zh: bool, low: float | None = None) -> str:
    """"4 people", "6.7 inch", "3-4人"; ``low`` makes it a range up to ``value``."""
    figure = format_number(value) if low is None else f"{format_number(low)}-{format_number(value)}"
    if unit == UNITS["spf"].name:
        return f"SPF{figure}"
    if zh:
        return f"{figure}{_ZH_UNITS.get(unit, unit)}"
    return f"{figure} {_EN_PLURALS.get(unit, unit) if low is not None or value != 1 else unit}"


# --------------------------------------------------------------------------- what the products meet
def _pool(category: Category | None, index: TaxonomyIndex) -> list[Category]:
    """The categories whose brands a name is looked up among, as the catalog does: the call's, else all."""
    return [category] if category else list(index.taxonomy.categories.values())


def is_brand(product: SkuInfo, brands: Sequence[str], category: Category | None, index: TaxonomyIndex) -> bool:
    """Whether the product is of one of ``brands``: by its brand (an alias counts: 华为), else by its name."""
    own = {b.lower() for b in resolve_brands(product.brand, _pool(category, index))} if product.brand else set()
    name = product.skuName.lower()
    for brand in brands:
        aliases = [n.lower() for n in index.brand_names(category, brand)] or [brand.lower()]
        if brand.lower() in own or any(len(a) >= 2 and a in name for a in aliases):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Fit:
    """The products to present and which constraints none of them meets."""

    products: list[SkuInfo]
    # As the catalog names what it relaxed: "price", "brand", "brand_exclude", "attribute:<key>", "category".
    unmet: tuple[str, ...]
    # sku id -> "over" or "below" the budget, for products priced outside it while others are within it
    off_budget: Mapping[str, str] = field(default_factory=dict)


def fit(
    products: Sequence[SkuInfo],
    asked: Asked,
    relaxed: Sequence[str],
    category: Category | None,
    index: TaxonomyIndex,
) -> Fit:
    """What the recommender said it relaxed, and what the products themselves show: a recommender that does
    not report relaxing (or an outside one) still gets an honest answer."""
    unmet: list[str] = []
    shown = list(products)
    if asked.excluded and shown:
        allowed = [p for p in shown if not is_brand(p, asked.excluded, category, index)]
        if allowed:
            shown = allowed
        else:
            unmet.append("brand_exclude")
    if category is not None and shown and (
        "category" in relaxed or all(index.category_of(p) not in (None, category) for p in shown)
    ):
        unmet.append("category")
    if asked.brands and shown and (
        "brand" in relaxed or not any(is_brand(p, asked.brands, category, index) for p in shown)
    ):
        unmet.append("brand")
    relaxed_keys = [name.removeprefix("attribute:") for name in relaxed if name.startswith("attribute:")]
    for key in dict.fromkeys([*asked.attributes, *relaxed_keys]):
        if shown and (key in relaxed_keys or _none_fits(shown, key, asked.attributes[key], category, index)):
            unmet.append(f"attribute:{key}")
    off: dict[str, str] = {}
    if (wanted := asked.price) is not None and shown:
        priced = [p for p in shown if p.price is not None]
        if "price" in relaxed or (priced and all(price_distance(p.price, wanted) for p in priced)):
            unmet.append("price")
        else:
            off = {p.skuId: "over" if wanted.max is not None and p.price > wanted.max else "below"
                   for p in priced if p.price is not None and price_distance(p.price, wanted)}
    elif "price" in relaxed and shown:
        unmet.append("price")
    return Fit(shown, tuple(unmet), off)


def _none_fits(
    products: Sequence[SkuInfo], key: str, wanted: AttributeConstraint, category: Category | None, index: TaxonomyIndex
) -> bool:
    """Whether the products that state the attribute all miss it (none stating it tells nothing)."""
    attribute = index.attribute(category, key)
    values = [
        value_text(v) for p in products for k, v in p.attributes.items()
        if k == key or (attribute is not None and index.attribute(category, k) == attribute)
    ]
    values = [v for v in values if v]
    return bool(values) and not any(fits(v, wanted) for v in values)
