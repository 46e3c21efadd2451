"""What the user asked the products to satisfy, as the guide acknowledges it: a budget, a brand (wanted or
excluded) and a use; and which of those the products shown do not meet.

``read_constraints`` is the one place that reads the call's argument shapes: the budget as the user's
words ("3000以内", "under $1500") or structured ("<700", "2000-3000", or ``price_max``/``price_min`` keys),
the brand as a name or a negation ("not Apple", ``exclude_brand``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.engines.patterns import BUDGET
from shared.lexicon import format_number
from shared.schemas import SkuInfo
from shared.taxonomy import Category
from shared.taxonomy.index import TaxonomyIndex

# Only to compare a budget in dollars with the catalog's yuan prices; never shown to the user.
YUAN_PER_DOLLAR = 7.0
# A budget "around" an amount spans this share either side of it.
AROUND = 0.2

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_CN_UNITS = {"百": 100, "千": 1000, "万": 10000}
_AMOUNT = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)\s*(?P<unit>k\b|千|万|w\b)?|(?P<cn>[一二两三四五六七八九十]+)(?P<cnunit>[百千万])",
    re.I,
)
_RANGE = re.compile(r"-|~|～|到|至|\bto\b|\.\.|\bbetween\b.*\band\b", re.I)
_AT_MOST = re.compile(
    r"<|≤|以内|以下|之内|不超过|别超过|不要超过|不到|\b(?:under|below|less than|no more than|within|up to|max(?:imum)?|"
    r"at most|cheaper than)\b",
    re.I,
)
_AT_LEAST = re.compile(r">|≥|以上|起|不低于|至少|\b(?:over|above|more than|at least|from|min(?:imum)?)\b", re.I)
_ABOUT = re.compile(r"左右|上下|大概|差不多|\b(?:around|about|roughly|approximately)\b|~\s*\d", re.I)
_DOLLARS = re.compile(r"\$|\b(?:dollars?|bucks|usd)\b", re.I)
_NEGATION = re.compile(
    r"^\s*(?:not|no|non-?|except|excluding|exclude|anything but|avoid|不要|不买|不考虑|别|非|除了|排除)\s*", re.I
)
_EXCLUDE_KEYS = ("exclude_brand", "excluded_brand", "brand_exclude", "not_brand", "brand_not", "exclude")
_BUDGET_KEYS = ("price", "budget", "price_range")
_MAX_KEYS = ("price_max", "max_price", "budget_max")
_MIN_KEYS = ("price_min", "min_price", "budget_min")
_USE_KEYS = ("use", "scene", "occasion", "purpose")
_BRAND_SPLIT = re.compile(r"\s+(?:or|and)\s+|或者?|和|、|/|,|，", re.I)
_NEGATED_BRAND = r"(?:不要|不买|不考虑|别(?:推荐|选)?|除了|排除|非|\bnot\b|\bno\b|\bexcept\b|\banything but\b|\bavoid\b)"


@dataclass(frozen=True, slots=True)
class Budget:
    low: float | None
    high: float | None
    dollars: bool = False
    about: float | None = None  # "3000左右": the amount itself, for the acknowledgement

    def fits(self, price: float | None) -> bool | None:
        """Whether a price in yuan is within the budget; None when the price is not known."""
        if price is None:
            return None
        rate = YUAN_PER_DOLLAR if self.dollars else 1.0
        return (self.low is None or price >= self.low * rate) and (self.high is None or price <= self.high * rate)

    def text(self, zh: bool) -> str:
        """"700元以内" / "under ¥700"; "2000-3000元" / "¥2000-3000"; "3000元以上" / "over ¥3000"."""
        sign = "$" if self.dollars else "¥"
        if zh:
            unit = "美元" if self.dollars else "元"
            if self.about is not None:
                return f"{format_number(self.about)}{unit}左右"
            if self.low is not None and self.high is not None:
                return f"{format_number(self.low)}-{format_number(self.high)}{unit}"
            if self.high is not None:
                return f"{format_number(self.high)}{unit}以内"
            return f"{format_number(self.low or 0)}{unit}以上"
        if self.about is not None:
            return f"around {sign}{format_number(self.about)}"
        if self.low is not None and self.high is not None:
            return f"between {sign}{format_number(self.low)} and {sign}{format_number(self.high)}"
        if self.high is not None:
            return f"under {sign}{format_number(self.high)}"
        return f"over {sign}{format_number(self.low or 0)}"


@dataclass(frozen=True, slots=True)
class Constraints:
    budget: Budget | None = None
    brands: tuple[str, ...] = ()  # wanted, canonical where the taxonomy knows the brand
    excluded: tuple[str, ...] = ()  # brands the user does not want
    use: str = ""

    @property
    def stated(self) -> bool:
        return bool(self.budget or self.brands or self.excluded or self.use)


def _cn_number(digits: str) -> int:
    """一 -> 1, 十 -> 10, 十五 -> 15, 二十 -> 20, 三十五 -> 35 (what comes before 百/千/万 in a budget)."""
    if "十" not in digits:
        return _CN_DIGITS[digits[-1]]
    tens, _, ones = digits.partition("十")
    return (_CN_DIGITS[tens[-1]] if tens else 1) * 10 + (_CN_DIGITS[ones[0]] if ones else 0)


def _amount(match: re.Match[str]) -> float:
    if match.group("cn"):
        return float(_cn_number(match.group("cn")) * _CN_UNITS[match.group("cnunit")])
    value = float(match.group("num").replace(",", ""))
    unit = (match.group("unit") or "").lower()
    return value * (10000 if unit in ("万", "w") else 1000 if unit in ("k", "千") else 1)


def parse_budget(text: str) -> Budget | None:
    """A budget from the user's words or a structured value; None when it names no amount ("cheap")."""
    amounts = [_amount(m) for m in _AMOUNT.finditer(text)]
    if not amounts:
        return None
    dollars = bool(_DOLLARS.search(text))
    if len(amounts) >= 2 and _RANGE.search(text):
        low, high = sorted(amounts[:2])
        return Budget(low, high, dollars)
    amount = amounts[0]
    if _ABOUT.search(text):
        return Budget(amount * (1 - AROUND), amount * (1 + AROUND), dollars, about=amount)
    if _AT_LEAST.search(text) and not _AT_MOST.search(text):
        return Budget(amount, None, dollars)
    return Budget(None, amount, dollars)  # a bare amount is a ceiling, as the catalog reads it


def budget_in_text(text: str) -> Budget | None:
    """The last budget the user's words state ("预算500以内", "under $100")."""
    found = list(BUDGET.finditer(text))
    return parse_budget(found[-1].group(0)) if found else None


def canonical_brand(name: str, category: Category | None, index: TaxonomyIndex) -> str:
    name = name.strip()
    pools = [category] if category else list(index.taxonomy.categories.values())
    for cat in pools:
        for alias, brand in cat.brand_aliases.items():
            if alias.lower() == name.lower():
                return brand
        for brand in cat.brands:
            if brand.lower() == name.lower():
                return brand
    return name


def _brands(text: str, category: Category | None, index: TaxonomyIndex) -> tuple[str, ...]:
    names = [canonical_brand(part, category, index) for part in _BRAND_SPLIT.split(text) if part.strip()]
    return tuple(dict.fromkeys(names))


def excluded_in_text(text: str, category: Category | None, index: TaxonomyIndex) -> tuple[str, ...]:
    """Brands the user's words rule out: "不要苹果的", "not Apple", "anything but Samsung"."""
    if category is None:
        return ()
    names = {**{b: b for b in category.brands}, **category.brand_aliases}
    found: dict[str, None] = {}
    for name, brand in names.items():
        if re.search(rf"{_NEGATED_BRAND}\s*(?:the\s+|an?\s+)?{re.escape(name)}", text, re.I):
            found[brand] = None
    return tuple(found)


def _names(text: str, brand: str, category: Category | None, index: TaxonomyIndex) -> bool:
    lowered = text.lower()
    return any(name.lower() in lowered for name in index.brand_names(category, brand) if len(name) >= 2)


def read_constraints(
    arguments: Mapping[str, str], user_text: str, category: Category | None, index: TaxonomyIndex
) -> Constraints:
    """The constraints of this turn: from the call's arguments, else (budget, excluded brands) the user's words."""
    args = {key.strip().lower(): str(value).strip() for key, value in arguments.items() if str(value).strip()}
    budget = next((b for key in _BUDGET_KEYS if key in args and (b := parse_budget(args[key]))), None)
    if budget is None and (high := next((args[k] for k in _MAX_KEYS if k in args), None)):
        low = next((args[k] for k in _MIN_KEYS if k in args), None)
        ceiling, floor = parse_budget(high), parse_budget(low) if low else None
        if ceiling is not None:
            budget = Budget(floor.high if floor else None, ceiling.high, ceiling.dollars)
    elif budget is None and (low := next((args[k] for k in _MIN_KEYS if k in args), None)):
        floor = parse_budget(low)
        budget = Budget(floor.high, None, floor.dollars) if floor else None
    if budget is None and "price" not in args:
        budget = budget_in_text(user_text)
    # A brand ruled out earlier and asked for again in the latest message ("还是要苹果吧") is wanted again.
    latest = user_text.rsplit("\n", 1)[-1]
    excluded = [
        b for b in excluded_in_text(user_text, category, index)
        if b in excluded_in_text(latest, category, index) or not _names(latest, b, category, index)
    ]
    for key in _EXCLUDE_KEYS:
        if key in args:
            excluded += _brands(_NEGATION.sub("", args[key]), category, index)
    brands: tuple[str, ...] = ()
    if brand := args.get("brand", ""):
        if _NEGATION.match(brand):
            excluded += _brands(_NEGATION.sub("", brand), category, index)
        else:
            brands = tuple(b for b in _brands(brand, category, index) if b not in excluded)
    use = next((args[key] for key in _USE_KEYS if key in args), "")
    return Constraints(budget, brands, tuple(dict.fromkeys(excluded)), use)


# --------------------------------------------------------------------------- what the products meet
def brand_of(product: SkuInfo, category: Category | None, index: TaxonomyIndex) -> str:
    return canonical_brand(product.brand, category, index) if product.brand else ""


def is_brand(product: SkuInfo, brands: Sequence[str], category: Category | None, index: TaxonomyIndex) -> bool:
    own = brand_of(product, category, index).lower()
    name = product.skuName.lower()
    for brand in brands:
        aliases = [n.lower() for n in index.brand_names(category, brand)] or [brand.lower()]
        if own == brand.lower() or any(len(a) >= 2 and a in name for a in aliases):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Fit:
    """The products to present and which constraints none of them meets."""

    products: list[SkuInfo]
    unmet: tuple[str, ...]  # "price", "brand", "category", "excluded"
    over_budget: frozenset[str]  # sku ids priced outside the budget while others are within it


def fit(
    products: Sequence[SkuInfo],
    constraints: Constraints,
    relaxed: Sequence[str],
    category: Category | None,
    index: TaxonomyIndex,
) -> Fit:
    """What the recommender said it relaxed, and what the products themselves show: a recommender that does
    not report relaxing (or an outside one) still gets an honest answer."""
    unmet: list[str] = []
    shown = list(products)
    if constraints.excluded and shown:
        allowed = [p for p in shown if not is_brand(p, constraints.excluded, category, index)]
        if allowed:
            shown = allowed
        else:
            unmet.append("excluded")
    if category is not None and shown and (
        "category" in relaxed or all(index.category_of(p) not in (None, category) for p in shown)
    ):
        unmet.append("category")
    if constraints.brands and shown and (
        "brand" in relaxed or not any(is_brand(p, constraints.brands, category, index) for p in shown)
    ):
        unmet.append("brand")
    over: frozenset[str] = frozenset()
    budget = constraints.budget
    if budget is not None and shown:
        fits = {p.skuId: budget.fits(p.price) for p in shown}
        if "price" in relaxed or (any(v is not None for v in fits.values()) and not any(fits.values())):
            unmet.append("price")
        else:
            over = frozenset(sku for sku, ok in fits.items() if ok is False)
    elif "price" in relaxed and shown:
        unmet.append("price")
    return Fit(shown, tuple(unmet), over)
