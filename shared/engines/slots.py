"""Attribute values in the user's own words: which phrase of a message fills which key of a category.

A message is cut into phrases (commas, "and", "、"...). A phrase goes to the attribute whose cues it
holds: the key's own words, its Chinese name, the words of the taxonomy's values, and the values the
annotator wrote for that key in the training split. Numbers with a unit go to the key whose taxonomy
values carry that unit ("6 inch" -> screen size, "9kg" -> capacity of a washer, weight of a laptop).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.engines.constraints import find_price
from shared.engines.patterns import BUDGET
from shared.taxonomy import Attribute, Category
from shared.text import is_chinese

COMMON_KEYS = ("price", "size", "colour", "use")
_PHRASE = re.compile(r"[^，,。.!?！？;；、\n]+|(?<=\d)\.(?=\d)")
_SPLIT_WORDS = re.compile(
    r"\s+(?:and|but|also|plus|with|since|because|so|though|or so)\s+|还要|而且|并且|另外|最好|也要", re.I
)
_NUMBER_UNIT = re.compile(
    r"(?:at least |up to |under |over |about |around |like |至少|不低于)?\d+(?:\.\d+)?\s*"
    r"(?P<unit>inch(?:es)?|in\b|英寸|寸|mah|毫安时?|gb|tb|g\b|kg|lbs?|pounds?|公斤|斤|克|l\b|liters?|litres?|升|ml|毫升|"
    r"mm|毫米|cm|厘米|m\b|米|hp|匹|w\b|瓦|hours?|小时|days?|天|minutes?|分钟|mp|万像素|fps|帧|db|分贝|tog|persons?|people|人|"
    r"months?|个月|years?|岁|段|片|pieces?|%|cu ft|sq ft|平|mph|km/h|公里|gsm|k\b|hz)",
    re.I,
)
# Unit spellings -> the unit as the taxonomy values write it.
_UNIT_ALIASES = {
    alias: unit
    for unit, aliases in {
        "inch": "inches in 英寸 寸",
        "mah": "毫安 毫安时",
        "kg": "lbs lb pounds pound 公斤 斤",
        "g": "克",
        "l": "liters liter litres litre 升",
        "ml": "毫升",
        "mm": "毫米",
        "cm": "厘米",
        "m": "米",
        "hp": "匹",
        "w": "瓦",
        "hour": "hours 小时",
        "day": "days 天",
        "minute": "minutes 分钟",
        "mp": "万像素",
        "fps": "帧",
        "db": "分贝",
        "person": "人 people persons",
        "month": "months 个月",
        "year": "years 岁",
        "piece": "片 pieces",
        "km": "公里 km/h mph",
    }.items()
    for alias in aliases.split()
}
_COLOUR = re.compile(
    r"(?:浅|深|亮|暗|藏|米|酒|雾|奶)?[红橙黄绿青蓝紫黑白灰粉棕金银咖米]色|\b(?:light |dark |navy |emerald |rose )?"
    r"(?:black|white|silver|grey|gray|blue|navy|red|pink|green|beige|brown|purple|gold|yellow|orange)\b",
    re.I,
)
# Clothing and shoe sizes; letter sizes only in capitals, so "I'm" is no size M.
_SIZE = re.compile(
    r"(?i:\bsize \d+(?:\.\d+)?(?: wide)?\b|\b\d{2}x\d{2}\b)|(?<![\w'])(?:XXL|XL|XS|S|M|L)(?![\w'])|"
    r"\d{2}码|(?:XXL|XL|XS|S|M|L)码|[大中小]号"
)
_BUDGET_LEAD = re.compile(r"^(?:budget(?:'s| is)?\s*|预算(?:可以)?(?:再)?(?:提到|加到|是|在)?\s*|价格)", re.I)
_EN_STOP = frozenset(
    "a an the i i'm i'd my me we our it its is are be to of for with and or in on at that this which what some "
    "any really very so also want need needs looking like would should must have has get got one ones something "
    "please just more less most much can could will it's i've prefer preferably ideally if possible you do does "
    "suggest recommend there anything".split()
)
_ZH_LEAD = re.compile(
    r"^(?:我?(?:想要|想买|要|需要|希望|最好|还要|也要|还得|得|必须|一定要)|(?:帮我|给我)?推荐(?:一下)?|一?[款个台件条双把支只套张辆]|"
    r"那款|那个|这款|这个|"
    r"能不能|有没有|其实)+"
)
_ZH_TAIL = re.compile(r"(?:的|吧|呢|啊|哈|呀|吗|那种|一些|就够了|就行|就好|可以)+$")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9'+-]{2,}", text.lower()) if w not in _EN_STOP}


def _cjk_terms(text: str) -> set[str]:
    runs = re.findall(r"[\u4e00-\u9fff]{2,}", text)
    return {run[i : i + 2] for run in runs for i in range(len(run) - 1)}


def _units(attribute: Attribute) -> set[str]:
    units = set()
    for value in (*attribute.values_en, *attribute.values_zh):
        for match in _NUMBER_UNIT.finditer(value):
            unit = match.group("unit").lower()
            units.add(_UNIT_ALIASES.get(unit, unit))
    return units


@dataclass
class CueBook:
    """Cues per attribute key of one category, the taxonomy's and those learned from labelled calls."""

    category: Category
    cues: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    units: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, category: Category, learned: Mapping[str, Iterable[str]] | None = None) -> CueBook:
        book = cls(category)
        for attribute in category.attributes:
            texts = (
                attribute.key,
                attribute.zh,
                attribute.en,
                *attribute.values_en,
                *attribute.values_zh,
                *(learned or {}).get(attribute.key, ()),
            )
            for text in texts:
                book.cues[attribute.key] |= _words(text) | _cjk_terms(text) | {text.lower()}
            book.units[attribute.key] = _units(attribute)
        shared = {
            cue
            for key, cues in book.cues.items()
            for other, rest in book.cues.items()
            if other != key
            for cue in cues & rest
        }
        for key in book.cues:  # a cue two keys share tells neither apart
            book.cues[key] -= shared
        return book

    def key_for(self, phrase: str) -> str | None:
        lowered = phrase.lower()
        scores = {
            key: sum(
                len(cue)
                for cue in cues
                if cue in lowered and (not cue.isascii() or re.search(rf"(?<![a-z0-9]){re.escape(cue)}", lowered))
            )
            for key, cues in self.cues.items()
        }
        best = max(scores, key=lambda k: scores[k], default=None)
        return best if best and scores[best] >= 2 else None

    def names_value(self, name: str) -> bool:
        """Whether ``name`` is one of the category's attribute words ("Ryzen", "OLED")."""
        return any(word in cues for word in _words(name) for cues in self.cues.values())

    def key_of_value(self, term: str) -> str | None:
        """The key of which ``term`` is a value, in either language (苹果 or apple(s) of ``fruit``)."""
        lowered = term.lower()
        for attribute in self.category.attributes:
            values = {v.lower() for v in (*attribute.values_en, *attribute.values_zh)}
            if lowered in values or (lowered.isascii() and lowered.removesuffix("s") in values):
                return attribute.key
        return None

    def key_for_unit(self, unit: str) -> str | None:
        unit = _UNIT_ALIASES.get(unit.lower(), unit.lower())
        return next((key for key, units in self.units.items() if unit in units), None)


def _phrases(text: str) -> list[str]:
    return [p.strip() for chunk in _PHRASE.findall(text) for p in _SPLIT_WORDS.split(chunk) if p.strip()]


def _tidy(phrase: str, drop: Iterable[str]) -> str:
    """The phrase less the product name and the fillers around the wish."""
    for term in sorted(drop, key=len, reverse=True):
        phrase = re.sub(re.escape(term) + (r"s?\b" if term.isascii() else ""), "", phrase, flags=re.I)
    if is_chinese(phrase):
        return _ZH_TAIL.sub("", _ZH_LEAD.sub("", phrase.strip())).strip()
    words = phrase.split()
    while words and words[0].lower().strip("'") in _EN_STOP:
        words.pop(0)
    while words and words[-1].lower() in _EN_STOP:
        words.pop()
    return " ".join(words)


def attribute_values(text: str, book: CueBook, product_terms: Iterable[str]) -> dict[str, str]:
    """Values one user message gives for the category's keys and the common keys."""
    values: dict[str, str] = {}
    for match in _NUMBER_UNIT.finditer(text):
        if key := book.key_for_unit(match.group("unit")):
            values.setdefault(key, match.group(0).strip())
    # Budgets are read with the measured quantities masked, so "up to 10 mph" is no price.
    if budget := BUDGET.search(_NUMBER_UNIT.sub(lambda m: "#" * len(m.group(0)), text)):
        values["price"] = _BUDGET_LEAD.sub("", text[budget.start() : budget.end()]).strip(" ,.，。吧")
        text = text[: budget.start()] + text[budget.end() :]
    elif price := find_price(text):  # the forms the budget pattern lacks: "两三百", "1-2千", "between 200 and 300"
        values["price"] = price.phrase
        text = text.replace(price.phrase, "", 1)
    # The last colour or size in a message wins: "黑色的太常见了，换个米色的吧".
    if colours := _COLOUR.findall(text):
        values["colour"] = colours[-1].strip()
    if sizes := _SIZE.findall(text):
        values.setdefault("size", sizes[-1].strip())
    terms = tuple(product_terms)
    for phrase in _phrases(text):
        # The product's own name tells no attribute ("推荐一款面霜" names no texture), and is dropped from the
        # value unless it is the value ("front loader").
        tidy = _tidy(phrase, terms)
        if not tidy and _tidy(phrase, (book.category.name_en, book.category.name_zh)) == "":
            continue  # the product's own name and nothing more: "推荐一款面霜"
        key = book.key_for(tidy or phrase)
        value = _tidy(phrase, terms) or _tidy(phrase, ())
        if key is None:  # "买点苹果": the kind's name is the value ("apple" of fruit), in the words the user said
            key, value = next(((k, t) for t in terms if t in phrase and (k := book.key_of_value(t))), (None, value))
        if key and key not in values and value and value not in values.values():
            values[key] = value
    return values
