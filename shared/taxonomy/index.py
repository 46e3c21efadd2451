"""Lookups over the taxonomy: category names and synonyms, attribute labels and values in both languages,
the cue words that show a user talks about an attribute, brands and their aliases.
"""

from __future__ import annotations

import re

from shared.schemas import SkuInfo
from shared.taxonomy import Attribute, Category, Taxonomy

BUDGET_KEY = "price"


_GENERIC_EN = frozenset(
    "type size with without hours hour inch inches support supported sold separately included the and for "
    "video playback water rating level system mode use user will".split()
)


_GENERIC_ZH = frozenset(("方式", "类型", "结构", "功能", "规格", "等级", "系统", "指数", "调节", "尺码", "材质", "容量"))


_BUDGET = re.compile(
    r"预算|价位|价格|多少钱|\d+\s*(?:元|块|rmb|yuan|以内|以下|左右|上下|出头)|千元|万元|"
    r"\bbudget\b|\bprice\b|\bcheap\w*|\bafford\w*|\$\s*\d+|\b\d+\s*(?:dollars|bucks|usd|rmb|yuan)\b|"
    r"\bunder\s+\d+",
    re.I,
)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text).strip().lower()


def _en_pattern(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(term)}s?(?![a-z0-9])", re.I)


class TaxonomyIndex:
    """Lookups over the taxonomy: category names and synonyms, attribute labels, cue words per attribute."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._by_name: dict[str, Category] = {}
        terms: list[tuple[str, Category]] = []
        for cat in taxonomy.categories.values():
            names = (cat.id, cat.id.replace("_", " "), cat.name_en, cat.name_zh, *cat.synonyms_en, *cat.synonyms_zh)
            for name in names:
                if name:
                    self._by_name.setdefault(_norm(name), cat)
                    terms.append((name, cat))
        terms.sort(key=lambda item: -len(item[0]))
        self._terms = [(term, cat, None if _is_ascii(term) else term) for term, cat in terms]
        self._en_terms = {term: _en_pattern(term) for term, _, zh in self._terms if zh is None}
        self.common = taxonomy.common_attributes
        self.budget = next((a for a in self.common if a.key == BUDGET_KEY), None)
        self._cues: dict[str, dict[str, list[str]]] = {}

    # ----------------------------------------------------------------- categories
    def category_named(self, name: str | None) -> Category | None:
        return self._by_name.get(_norm(name)) if name else None

    def category_of(self, product: SkuInfo) -> Category | None:
        """The product's category by its ``category`` field, else by a category name in its name."""
        return self.category_named(product.category) or self.category_in_text(product.skuName)

    def category_in_text(self, text: str) -> Category | None:
        """The category whose longest name or synonym occurs in ``text``."""
        for term, cat, zh in self._terms:
            if (zh is not None and zh in text) or (zh is None and self._en_terms[term].search(text)):
                return cat
        return None

    def attributes_of(self, category: Category | None) -> tuple[Attribute, ...]:
        return (*(category.attributes if category else ()), *self.common)

    def attribute(self, category: Category | None, key: str) -> Attribute | None:
        wanted = _norm(key)
        for attr in self.attributes_of(category):
            if wanted in {_norm(attr.key), _norm(attr.zh), _norm(attr.en)} - {""}:
                return attr
        return None

    def label(self, category: Category | None, key: str, zh: bool) -> str:
        attr = self.attribute(category, key)
        if attr is None:
            return key
        return (attr.zh or attr.key) if zh else (attr.en if attr.en and "/" not in attr.en else attr.key)

    def localise(self, category: Category | None, key: str, value: str, zh: bool) -> str:
        """A taxonomy value in the reply's language ("48MP dual camera" -> "4800万像素双摄"); others as given."""
        attr = self.attribute(category, key)
        if attr is None or len(attr.values_en) != len(attr.values_zh):
            return value
        source, target = (attr.values_en, attr.values_zh) if zh else (attr.values_zh, attr.values_en)
        lowered = [v.lower() for v in source]
        return target[lowered.index(value.lower())] if value.lower() in lowered else value

    def brand_names(self, category: Category | None, brand: str) -> list[str]:
        """The brand and its aliases (Apple, 苹果), for spotting it in a product name."""
        if not brand:
            return []
        aliases = [a for a, b in (category.brand_aliases.items() if category else ()) if b.lower() == brand.lower()]
        return [brand, *aliases]

    def brand_in_text(self, category: Category | None, text: str) -> str | None:
        if category is None:
            return None
        lowered = text.lower()
        for alias, brand in category.brand_aliases.items():
            if alias.lower() in lowered:
                return brand
        for brand in category.brands:
            if _en_pattern(brand.lower()).search(lowered):
                return brand
        return None

    # ----------------------------------------------------------------- attributes in text
    def cues(self, category: Category | None) -> dict[str, list[str]]:
        """Cue words per attribute of ``category``, without those two of its attributes share
        ("screen" names both the screen size and the screen panel, so it shows neither)."""
        key = category.id if category else ""
        if key not in self._cues:
            attributes = self.attributes_of(category)
            lists = {a.key: cue_words(a) for a in attributes}
            counts: dict[str, int] = {}
            for words in lists.values():
                for word in set(words):
                    counts[word] = counts.get(word, 0) + 1
            names = (*category.brands, *category.brand_aliases) if category else ()
            brands = {word.lower() for name in names for word in name.split()}
            self._cues[key] = {
                k: [w for w in words if counts[w] == 1 and w not in brands] for k, words in lists.items()
            }
        return self._cues[key]

    def mentioned_value(self, attr: Attribute, text: str, cues: list[str] | None = None) -> str | None:
        """A taxonomy value of ``attr`` named in ``text``, or ``""`` when only the attribute is talked about."""
        lowered = text.lower()
        squeezed = lowered.replace(" ", "")
        for value in (*attr.values_zh, *attr.values_en):
            if value and value.lower().replace(" ", "") in squeezed:
                return value
        if attr.key == BUDGET_KEY:
            return "" if _BUDGET.search(text) else None
        for cue in cue_words(attr) if cues is None else cues:
            if (not _is_ascii(cue) and cue in text) or (_is_ascii(cue) and _en_pattern(cue).search(lowered)):
                return ""
        return None


def _is_ascii(text: str) -> bool:
    return text.isascii()


def cue_words(attr: Attribute) -> list[str]:
    """Words that show the user talks about ``attr``: its names, their distinctive parts, value words."""
    cues: list[str] = []
    for name in (attr.key, attr.en):
        name = name.lower()
        if not name or len(name.split()) > 3:  # "how the user will use it" describes, it does not name
            continue
        if name not in _GENERIC_EN:
            cues.append(name)
        cues.extend(w for w in re.split(r"[\s/()-]+", name) if len(w) >= 4 and w not in _GENERIC_EN)
    for zh in re.split(r"[/()（）]", re.sub(r"[A-Za-z]", "", attr.zh)):
        if not zh:
            continue
        if zh not in _GENERIC_ZH:
            cues.append(zh)
        if len(zh) > 2:
            cues.extend(zh[i : i + 2] for i in range(len(zh) - 1) if zh[i : i + 2] not in _GENERIC_ZH)
    for value in attr.values_en:
        cues.extend(
            w for w in re.split(r"[\s/()+,]+", value.lower())
            if len(w) >= 4 and w not in _GENERIC_EN and not any(ch.isdigit() for ch in w)
        )
    return list(dict.fromkeys(cues))

