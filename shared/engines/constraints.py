"""Constraints read as values, in Chinese and English: budgets and ranges (converted to the catalog's currency),
quantities and sizes with their units, and the taxonomy values a message names; how a newer constraint refines an
older one; and whether a product's attribute value fits one.

The extraction engine reads messages with it; the catalog applies what it reads, and parses the call's ``price``
and ``brand`` words with it when a caller sent no structured ``constraints``. Nothing here knows the dialog.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from shared.schemas import AttributeConstraint, BrandConstraint, Constraints, PriceRange
from shared.settings import Settings
from shared.taxonomy import Attribute, Category

# A range given with "about", "左右": this far either side.
APPROXIMATE = 0.2
# A size given bare ("6 inch", "16GB"): this far either side, so "6 inch" finds the 6.1 inch phones.
BARE_TOLERANCE = 0.1


@dataclass(frozen=True, slots=True)
class Currencies:
    """The catalog's currency and what other currencies are worth in it."""

    catalog: str
    rates: Mapping[str, float]

    @classmethod
    def of(cls, settings: Settings) -> Currencies:
        return cls(settings.catalog_currency.upper(), settings.currency_rates)

    def convert(self, amount: float, currency: str) -> float | None:
        """``amount`` of ``currency`` in the catalog's currency; None when no rate is known."""
        if currency == self.catalog:
            return amount
        rate = self.rates.get(currency)
        return round(amount * rate, 2) if rate else None


# ----------------------------------------------------------------------------------------------- numbers
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_MAGNITUDE = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_EN_NUMBER = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_MAGNITUDE = {"k": 1000, "千": 1000, "万": 10000, "百": 100}
_CN = "零〇一二两俩三四五六七八九十百千万"
# "两三百", "三四千", "一两万": two neighbouring digits and one magnitude, a range.
_CN_PAIR = re.compile(r"^([一二两三四五六七八九])([二两三四五六七八九])([十百千万])$")


def cn_number(text: str) -> float | None:
    """A Chinese numeral as a number: "三千五" 3500, "两万" 20000, "十五" 15, "一百二" 120; None if it is none."""
    if not text or any(c not in _CN_DIGIT and c not in _CN_MAGNITUDE for c in text):
        return None
    total, section, digit, last_magnitude = 0, 0, 0, 1
    for char in text:
        if char in _CN_DIGIT:
            digit = _CN_DIGIT[char]
            continue
        magnitude = _CN_MAGNITUDE[char]
        if magnitude == 10000:
            total += (section + digit) * magnitude
            section, digit = 0, 0
        else:
            section += (digit or 1) * magnitude
            digit = 0
        last_magnitude = magnitude
    # A trailing digit after a magnitude is one step below it: "三千五" is 3500, "一百二" 120.
    if digit and last_magnitude > 10 and text[-1] in _CN_DIGIT and len(text) > 1 and text[-2] in _CN_MAGNITUDE:
        digit *= last_magnitude // 10 if last_magnitude != 10000 else 1000
    return float(total + section + digit)


def _cn_range(text: str) -> tuple[float, float] | None:
    if (pair := _CN_PAIR.match(text)) is None:
        return None
    low, high = _CN_DIGIT[pair.group(1)], _CN_DIGIT[pair.group(2)]
    if high != low + 1 and not (low == 1 and pair.group(2) == "两"):
        return None
    magnitude = _CN_MAGNITUDE[pair.group(3)]
    return float(low * magnitude), float(high * magnitude)


def _number(digits: str | None, chinese: str | None, magnitude: str | None) -> float | None:
    if digits:
        value = float(digits.replace(",", ""))
    elif chinese:
        if (parsed := cn_number(chinese)) is None:
            return None
        value = parsed
    else:
        return None
    return value * _MAGNITUDE.get((magnitude or "").lower(), 1)


# ----------------------------------------------------------------------------------------------- bounds
_AT_MOST = re.compile(
    r"(?:under|below|less than|no more than|not more than|not over|within|up to|upto|max(?:imum)?|at most|"
    r"cheaper than|lower than|lighter than|smaller than|shorter than|thinner than|不超过|别超过|不要超过|不能超过|不高于|最多|最高|低于|小于|少于|控制在)\W{0,2}$",
    re.I,
)
_AT_LEAST = re.compile(
    r"(?:over|above|more than|at least|from|starting at|min(?:imum)?|no less than|bigger than|larger than|"
    r"longer than|heavier than|不低于|至少|最少|高于|大于|"
    r"不少于|超过)\W{0,2}$",
    re.I,
)
_ABOUT = re.compile(
    r"(?:around|about|approximately|approx\.?|roughly|like|circa|somewhere around|大概|大约|差不多|约|~)\W{0,2}$", re.I
)
_AFTER_MAX = re.compile(r"^\s*(?:以内|以下|之内|内|封顶|max\b|or less\b|or under\b|tops\b|at most\b)", re.I)
_AFTER_MIN = re.compile(r"^\s*(?:以上|起步?|往上|多|\+|or more\b|or above\b|and up\b|plus\b)", re.I)
_AFTER_ABOUT = re.compile(r"^\s*(?:左右|上下|前后|的样子|ish\b|or so\b)", re.I)
_AFTER_LITTLE_OVER = re.compile(r"^\s*出头")


def _bounds(low: float, high: float, left: str, right: str, default: str) -> tuple[float | None, float | None]:
    """The range a value (or a low-high pair) stands for, read from the words around it."""
    if low != high:
        return low, high
    if _AFTER_LITTLE_OVER.match(right):
        return low, round(low * (1 + APPROXIMATE), 2)
    if _AT_MOST.search(left) or _AFTER_MAX.match(right):
        return None, low
    if _AT_LEAST.search(left) or _AFTER_MIN.match(right):
        return low, None
    if _ABOUT.search(left) or _AFTER_ABOUT.match(right) or default == "about":
        return round(low * (1 - APPROXIMATE), 2), round(low * (1 + APPROXIMATE), 2)
    if default == "max":
        return None, low
    return low, low


# ----------------------------------------------------------------------------------------------- prices
_CURRENCY_WORDS: dict[str, str] = {
    **dict.fromkeys(("$", "us$", "usd", "dollar", "dollars", "bucks", "buck", "美元", "美金", "刀"), "USD"),
    **dict.fromkeys(("€", "eur", "euro", "euros", "欧元"), "EUR"),
    **dict.fromkeys(("£", "gbp", "quid", "英镑"), "GBP"),
    **dict.fromkeys(("hk$", "hkd", "港币", "港元"), "HKD"),
    **dict.fromkeys(("jpy", "円", "日元"), "JPY"),
    **dict.fromkeys(("¥", "￥", "cny", "rmb", "yuan", "元", "块", "块钱", "人民币", "rmb元"), "CNY"),
}
_SYMBOL = r"(?:us\$|hk\$|[$¥￥€£])"
_UNIT_WORD = (
    r"(?:dollars?|bucks?|usd|美元|美金|euros?|eur|欧元|gbp|quid|英镑|hkd|港币|港元|jpy|円|日元|cny|rmb|yuan|人民币|块钱|元|块|刀)"
)
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_MAG = r"(?:[kK](?![A-Za-z])|千|万|百)"


def _amount_pattern(p: str) -> str:
    return rf"(?:(?P<{p}digits>{_NUM})\s*(?P<{p}mag>{_MAG})?|(?P<{p}cn>[{_CN}]+))"


_PRICE = re.compile(
    rf"(?<![A-Za-z0-9.])(?P<sym>{_SYMBOL})?\s*{_amount_pattern('a')}"
    rf"(?:\s*(?P<unit1>{_UNIT_WORD}))?"
    rf"(?:\s*(?:-|–|—|~|～|到|至|to)\s*(?P<sym2>{_SYMBOL})?\s*{_amount_pattern('b')})?"
    rf"(?:\s*(?P<unit>{_UNIT_WORD}))?",
    re.I,
)
_PRICE_CUE = re.compile(
    r"budget|price|cost|spend|pay|afford|cheap|expensive|dollars?|bucks|贵|便宜|预算|价格|价位|价钱|花|元|块|钱|under|below|"
    r"less than|within|up to|around|about|between|以内|以下|左右|之内|上下|出头|以上|不超过|别超过|不要超过",
    re.I,
)
_BETWEEN_AND = re.compile(r"(\bbetween\s+\S+)\s+and\s+", re.I)
# The bound words kept with a price's phrase: "under $100", "3000以内".
_LEAD = re.compile(
    r"(?:under|below|less than|no more than|within|up to|at most|around|about|over|above|at least|between|"
    r"不超过|别超过|不要超过|最多|大概|至少)\s*$",
    re.I,
)
_TAIL = re.compile(r"^\s*(?:以内|以下|之内|左右|上下|以上|出头|or less|or so|or more)", re.I)
_BUDGET_CUE = re.compile(r"budget|afford|spend|预算|最多|上限", re.I)


@dataclass(frozen=True, slots=True)
class PriceMention:
    """A price a message states, in the currency it was stated in, and the words that state it."""

    low: float | None
    high: float | None
    currency: str | None  # None: no currency named (the catalog's)
    phrase: str
    about: float | None = None  # "3000左右", "around $800": the figure the range is around, to say it back


def read_price(text: str, currencies: Currencies) -> PriceRange | None:
    """The price range a message states, in the catalog's currency; None when it states none (or names a currency
    without a rate).

    "3000以内", "两三百", "五百左右", "1-2千", "under $100", "around 800 dollars", "3k", "between 200 and 300",
    "预算6000": a bare figure with a budget word is an upper bound, one without is "about" that figure.
    """
    if (mention := find_price(text)) is None:
        return None
    currency = mention.currency or currencies.catalog
    low, high = (None if v is None else currencies.convert(v, currency) for v in (mention.low, mention.high))
    if (low is None and mention.low is not None) or (high is None and mention.high is not None):
        return None
    return PriceRange(min=low, max=high, currency=currencies.catalog)


def find_price(text: str) -> PriceMention | None:
    """The first price ``text`` states, with its bounds."""
    masked = _BETWEEN_AND.sub(lambda m: m.group(1) + " to" + " " * (len(m.group(0)) - len(m.group(1)) - 3),
                              mask_quantities(text))
    for match in _PRICE.finditer(masked):
        if (found := _price_from(match, masked, text)) is not None:
            return found
    return None


def _price_from(match: re.Match[str], masked: str, text: str) -> PriceMention | None:
    low = _number(match.group("adigits"), match.group("acn"), match.group("amag"))
    if low is None:
        return None
    chinese_pair = _cn_range(match.group("acn") or "")
    high = _number(match.group("bdigits"), match.group("bcn"), match.group("bmag"))
    left, right = masked[max(0, match.start() - 16) : match.start()], masked[match.end() : match.end() + 6]
    currency_word = match.group("unit") or match.group("unit1") or match.group("sym") or match.group("sym2") or ""
    # "3k", "1-2千", "两三百": a magnitude is how people write money.
    magnitude = match.group("amag") or match.group("bmag") or _CN_MAGNITUDE.keys() & set(match.group("acn") or "")
    if not currency_word and not magnitude and not _PRICE_CUE.search(left + " " + right):
        return None
    if match.group("acn") and not (_CN_MAGNITUDE.keys() & set(match.group("acn")) or currency_word):
        return None  # "一款", "两个": a Chinese digit alone is no price
    if high is not None:
        # "1-2千": the magnitude written once counts for both ends.
        if match.group("bmag") and not match.group("amag") and match.group("adigits"):
            low *= _MAGNITUDE[match.group("bmag").lower()]
        low, high = min(low, high), max(low, high)
    elif chinese_pair:
        low, high = chinese_pair
    else:
        high = low
    default = "max" if _BUDGET_CUE.search(left) else "about" if low == high else "range"
    bound_low, bound_high = _bounds(low, high, left, right, default)
    about = low if bound_low is not None and bound_high is not None and bound_low < low == high < bound_high else None
    lead = _LEAD.search(left)
    tail = _TAIL.match(right)
    phrase = text[match.start() - (len(lead.group(0)) if lead else 0) : match.end() + (tail.end() if tail else 0)]
    currency = _CURRENCY_WORDS.get(currency_word.lower().strip()) if currency_word else None
    return PriceMention(bound_low, bound_high, currency, phrase.strip(), about)


# ----------------------------------------------------------------------------------------------- quantities
@dataclass(frozen=True, slots=True)
class Unit:
    name: str  # as the constraint writes it
    dimension: str
    factor: float  # to the dimension's base unit


def _units() -> dict[str, Unit]:
    table: dict[str, tuple[str, str, float, str]] = {
        "inch": ("inch", "inch", 1, "inch inches 英寸 寸 \""),
        "mm": ("mm", "length", 0.001, "mm 毫米"),
        "cm": ("cm", "length", 0.01, "cm 厘米 公分"),
        "m": ("m", "length", 1, "m 米"),
        "g": ("g", "mass", 0.001, "g 克 grams gram"),
        "kg": ("kg", "mass", 1, "kg kgs 公斤 千克 kilos kilo"),
        "jin": ("斤", "mass", 0.5, "斤"),
        "lb": ("lb", "mass", 0.4536, "lb lbs pounds pound 磅"),
        "ml": ("ml", "volume", 0.001, "ml 毫升"),
        "l": ("L", "volume", 1, "l 升 liters liter litres litre"),
        "gb": ("GB", "data", 1, "gb"),
        "tb": ("TB", "data", 1024, "tb t"),
        "mah": ("mAh", "charge", 1, "mah 毫安 毫安时"),
        "person": ("person", "people", 1, "person people persons 人 人用 seater 座 人位 个人"),
        "tog": ("TOG", "tog", 1, "tog"),
        "w": ("W", "power", 1, "w 瓦 watts watt"),
        "hp": ("HP", "hp", 1, "hp 匹"),
        "hour": ("hour", "time", 1, "hours hour hrs hr h 小时 个小时"),
        "minute": ("minute", "time", 1 / 60, "minutes minute min mins 分钟"),
        "day": ("day", "time", 24, "days day 天"),
        "month": ("month", "age", 1, "months month 个月"),
        "year": ("year", "age", 12, "years year 岁 周岁"),
        "mp": ("MP", "pixels", 1, "mp megapixels 百万像素"),
        "wanpx": ("万像素", "pixels", 0.01, "万像素"),
        "db": ("dB", "db", 1, "db 分贝"),
        "pa": ("Pa", "pa", 1, "pa"),
        "m2": ("m²", "area", 1, "m² m2 平 平米 平方米 sqm"),
        "kmh": ("km/h", "speed", 1, "km/h kmh 公里每小时"),
        "gsm": ("gsm", "gsm", 1, "gsm"),
        "fp": ("FP", "fp", 1, "fp"),
        "speed": ("speed", "gears", 1, "speed 速"),
        "piece": ("piece", "count", 1, "pieces piece pcs 片"),
        "spf": ("SPF", "spf", 1, "spf"),
    }
    return {alias: Unit(name, dimension, factor) for name, dimension, factor, aliases in table.values()
            for alias in aliases.split()}


UNITS = _units()
# Longest spelling first, so "mah" is not "m" and "万像素" not "万".
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True) if u != "spf")
_QUANTITY = re.compile(
    rf"(?P<low>\d+(?:\.\d+)?|[{_CN}]+|\b(?:{'|'.join(_EN_NUMBER)})\b)"
    rf"(?:\s*(?:-|–|~|～|到|至|to)\s*(?P<high>\d+(?:\.\d+)?|[{_CN}]+))?"
    rf"\s*-?\s*(?P<unit>{_UNIT_ALT})(?![A-Za-z0-9/³²])"
    r"|(?P<spf>spf)\s*(?P<spf_value>\d+)\s*(?P<spf_plus>\+)?",
    re.I,
)
# "四口之家", "a family of four": people.
_FAMILY = re.compile(rf"(?P<n>\d+|[{_CN}]+)口之家|family of (?P<en>\d+|{'|'.join(_EN_NUMBER)})", re.I)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured amount a message or a catalog value states: ``low``..``high`` in ``unit``."""

    low: float | None
    high: float | None
    unit: Unit
    start: int
    end: int

    def base(self) -> tuple[float, float]:
        """The range in the dimension's base unit, open ends as infinities."""
        low = -math.inf if self.low is None else self.low * self.unit.factor
        high = math.inf if self.high is None else self.high * self.unit.factor
        return low, high


def _amount(text: str) -> float | None:
    lowered = text.lower()
    if lowered in _EN_NUMBER:
        return float(_EN_NUMBER[lowered])
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    return cn_number(text)


def quantities(text: str, *, bare: str = "exact") -> list[Quantity]:
    """Every number with a unit in ``text``, its bounds read from the words around it. ``bare`` says what a figure
    without such words stands for: ``exact`` (a catalog value) or ``near`` (a user's "6 inch": ±10%)."""
    found: list[Quantity] = []
    for match in _FAMILY.finditer(text):
        if (n := _amount(match.group("n") or match.group("en"))) is not None:
            found.append(Quantity(n, None, UNITS["person"], match.start(), match.end()))
    for match in _QUANTITY.finditer(text):
        if any(q.start <= match.start() < q.end for q in found):
            continue
        if match.group("spf"):
            value = float(match.group("spf_value"))
            right = text[match.end() : match.end() + 6]
            spf_low, spf_high = _bounds(value, value, "", "+" if match.group("spf_plus") else right, "exact")
            found.append(Quantity(spf_low, spf_high, UNITS["spf"], *match.span()))
            continue
        low, high = _amount(match.group("low")), _amount(match.group("high") or "")
        unit = UNITS[match.group("unit").lower()]
        if low is None:
            continue
        left, right = text[max(0, match.start() - 16) : match.start()], text[match.end() : match.end() + 6]
        if high is not None:
            found.append(Quantity(min(low, high), max(low, high), unit, *match.span()))
            continue
        if unit.dimension == "people" and bare == "near":
            found.append(Quantity(low, None, unit, *match.span()))  # "for 4 people": room for at least 4
            continue
        bounds = _bounds(low, low, left, right, "exact")
        if bare == "near" and bounds == (low, low):
            bounds = (round(low * (1 - BARE_TOLERANCE), 4), round(low * (1 + BARE_TOLERANCE), 4))
        found.append(Quantity(*bounds, unit, *match.span()))
    return sorted(found, key=lambda q: q.start)


def mask_quantities(text: str) -> str:
    """``text`` with its measured amounts blanked, so "up to 10 mph" or "16GB" is read as no price."""
    for quantity in quantities(text):
        text = text[: quantity.start] + "#" * (quantity.end - quantity.start) + text[quantity.end :]
    return text


def measure(value: str) -> Quantity | None:
    """The amount a catalog value carries ("3-4 person", "6.5 inch", "650 g", "SPF50+"); None for values that
    carry none or several dimensions ("40 x 110 cm")."""
    if re.search(r"\d\s*x\s*\d", value, re.I):
        return None
    found = quantities(value)
    return found[0] if found else None


# ----------------------------------------------------------------------------------------------- attributes
# A season named in everyday words -> how the taxonomy writes it.
_SEASONS = {
    "winter": ("冬天", "冬季", "冬", "寒冷", "winter", "cold nights"),
    "summer": ("夏天", "夏季", "夏", "炎热", "summer", "hot nights"),
    "spring and autumn": ("春秋", "春天", "秋天", "spring", "autumn", "fall"),
}


def _measured(attribute: Attribute) -> list[Quantity]:
    return [q for q in map(measure, attribute.values_en) if q is not None]


def _key_for(quantity: Quantity, category: Category, phrase_key: str | None) -> str | None:
    """The category's attribute a quantity speaks of: one whose values carry its dimension; of several ("16GB"
    memory or storage), the one the phrase names, else the one whose values lie nearest."""
    candidates = {
        a.key: measured for a in category.attributes
        if (measured := _measured(a)) and measured[0].unit.dimension == quantity.unit.dimension
    }
    if not candidates:
        return None
    if phrase_key in candidates:
        return phrase_key
    low, high = quantity.base()
    point = low if math.isfinite(low) else high

    def distance(key: str) -> float:
        spots = [b for q in candidates[key] for b in q.base() if math.isfinite(b) and b > 0]
        return min(abs(math.log(max(point, 1e-9) / b)) for b in spots) if spots and point > 0 else math.inf

    return min(candidates, key=distance)


def read_attributes(
    text: str, category: Category, phrase_key: Callable[[str], str | None] | None = None
) -> dict[str, AttributeConstraint]:
    """The category's attributes a message constrains: measured ranges ("for 4 people", "at least 128GB") and
    values the taxonomy lists, named as such ("winter", "冬天")."""
    read: dict[str, AttributeConstraint] = {}
    for quantity in quantities(text, bare="near"):
        around = text[max(0, quantity.start - 12) : quantity.end + 12]
        cue = phrase_key(around) if phrase_key else None
        key = _key_for(quantity, category, cue)
        if key is None and quantity.unit.name in {"g", "TB"} and (quantity.low or quantity.high or 0) >= 8:
            # "256G" is storage where nothing is weighed in grams ("5G" is a network, not 5 GB).
            quantity = Quantity(quantity.low, quantity.high, UNITS["gb" if quantity.unit.name == "g" else "tb"], 0, 0)
            key = _key_for(quantity, category, cue)
        if key:
            read.setdefault(key, AttributeConstraint(min=quantity.low, max=quantity.high, unit=quantity.unit.name))
    lowered = text.lower()
    names = {n.lower() for n in (category.name_en, category.name_zh, *category.synonyms_en, *category.synonyms_zh)}
    for attribute in category.attributes:
        if attribute.key in read or _measured(attribute):
            continue
        for value_en, value_zh in zip(attribute.values_en, attribute.values_zh, strict=False):
            spellings = (value_en, value_zh, *_SEASONS.get(value_en.lower(), ()))
            if any(s.lower() in names for s in (value_en, value_zh)):
                continue
            if any(_names(lowered, s.lower()) for s in spellings if s):
                read[attribute.key] = AttributeConstraint(value=value_en)
                break
    return read


def _names(text: str, term: str) -> bool:
    if term.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text) is not None
    return term in text


def fits(value: object, constraint: AttributeConstraint) -> bool:
    """Whether a product's attribute value satisfies the constraint (a missing value does not)."""
    text = str(value or "")
    if not text:
        return False
    if constraint.value is not None:
        return _names(text.lower(), constraint.value.lower())
    return distance(text, constraint) == 0.0


def distance(value: object, constraint: AttributeConstraint) -> float:
    """How far a product's value lies outside the wanted range, relative to the range (0: inside); infinite when
    the value carries no comparable amount."""
    wanted = _wanted(constraint)
    have = measure(str(value or ""))
    if wanted is None or have is None or have.unit.dimension != wanted.unit.dimension:
        return math.inf
    (low, high), (want_low, want_high) = have.base(), wanted.base()
    if high >= want_low and low <= want_high:
        return 0.0
    gap = want_low - high if high < want_low else low - want_high
    scale = max(abs(b) for b in (want_low, want_high) if math.isfinite(b))
    return gap / scale if scale else math.inf


def _wanted(constraint: AttributeConstraint) -> Quantity | None:
    unit = UNITS.get((constraint.unit or "").lower())
    if unit is None or (constraint.min is None and constraint.max is None):
        return None
    return Quantity(constraint.min, constraint.max, unit, 0, 0)


def price_distance(price: float | None, wanted: PriceRange) -> float:
    """How far a price lies outside the range, relative to it (0: inside)."""
    if price is None:
        return math.inf
    if wanted.max is not None and price > wanted.max:
        return (price - wanted.max) / max(wanted.max, 1.0)
    if wanted.min is not None and price < wanted.min:
        return (wanted.min - price) / max(wanted.min, 1.0)
    return 0.0


# ----------------------------------------------------------------------------------------------- brands
def resolve_brands(text: str, categories: Iterable[Category]) -> tuple[str, ...]:
    """Canonical brands named in ``"Samsung and Google Pixel phones"`` or ``"苹果或华为"``, among the brands and
    aliases of ``categories``; a text naming none is kept as the one name it is."""
    lowered = text.lower()
    found: dict[str, None] = {}
    for category in categories:
        for brand in category.brands:
            if _names(lowered, brand.lower()):
                found[brand] = None
        for alias, brand in category.brand_aliases.items():
            if _names(lowered, alias.lower()):
                found[brand] = None
    return tuple(found) or (text.strip(),)


# Words in a call's brand that exclude the brands after them: "not Apple", "Samsung, no Huawei", "除了小米".
_BRAND_NOT = re.compile(
    r"\b(?:not|no|non|except(?: for)?|other than|anything but|without|avoid|excluding)\b|不要|不想要|不考虑|除了|排除|别",
    re.I,
)
_BRAND_PUNCTUATION = " ,，、;；.。:"


def from_words(arguments: Mapping[str, str], categories: Iterable[Category], currencies: Currencies) -> Constraints:
    """Constraints from a call that carries only words (an outside caller's): its ``price`` read as a range, its
    ``brand`` as the brands it names, asked for before an exclusion ("not Apple") and excluded after it."""
    price = read_price(arguments["price"], currencies) if arguments.get("price") else None
    brand = arguments.get("brand", "").strip()
    found = _BRAND_NOT.search(brand)
    wanted, unwanted = (brand[: found.start()], brand[found.end() :]) if found else (brand, "")
    pool = list(categories)
    include = resolve_brands(wanted, pool) if wanted.strip(_BRAND_PUNCTUATION) else ()
    exclude = resolve_brands(unwanted.strip(_BRAND_PUNCTUATION), pool) if unwanted.strip(_BRAND_PUNCTUATION) else ()
    brands = BrandConstraint(include=list(include), exclude=list(exclude)) if include or exclude else None
    return Constraints(price=price, brands=brands)


# ----------------------------------------------------------------------------------------------- merging
def merge(older: Constraints, newer: Constraints) -> Constraints:
    """``newer`` said later: it refines what it leaves open and replaces what it restates. A new price bound
    replaces the old one on its side and keeps the other while they agree; a brand asked for again is no longer
    excluded, one excluded no longer asked for; an attribute restated replaces the old reading."""
    return Constraints(
        price=_merge_price(older.price, newer.price),
        brands=_merge_brands(older.brands, newer.brands),
        attributes={**older.attributes, **newer.attributes},
    )


def _merge_price(older: PriceRange | None, newer: PriceRange | None) -> PriceRange | None:
    if older is None or newer is None:
        return newer or older
    if newer.min is not None and newer.max is not None:
        return newer
    low = newer.min if newer.min is not None else older.min
    high = newer.max if newer.max is not None else older.max
    if low is not None and high is not None and low > high:  # the old side no longer agrees: drop it
        low, high = (newer.min, None) if newer.min is not None else (None, newer.max)
    return PriceRange(min=low, max=high, currency=newer.currency)


def _merge_brands(older: BrandConstraint | None, newer: BrandConstraint | None) -> BrandConstraint | None:
    if older is None or newer is None:
        return newer or older
    include = newer.include or [b for b in older.include if b not in newer.exclude]
    exclude = [b for b in _unique([*older.exclude, *newer.exclude]) if b not in newer.include]
    return BrandConstraint(include=include, exclude=exclude) if include or exclude else None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
