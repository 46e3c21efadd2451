"""What a message says about the products just shown: which one it refers to ("the second one", "第二款") and
which way it moves from them ("cheaper", "便宜点", "bigger screen", "轻一点"). Only the router knows what was
shown; these readings say the reference and the direction, and the router resolves them."""

from __future__ import annotations

import re
from typing import Literal

from shared.engines.constraints import measure
from shared.schemas import Relative
from shared.taxonomy import Attribute, Category

_EN_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
                "fifth": 5, "5th": 5, "last": -1}
_ZH_ORDINALS = {"一": 1, "1": 1, "二": 2, "2": 2, "三": 3, "3": 3, "四": 4, "4": 4, "五": 5, "5": 5}
_ORDINAL = re.compile(
    r"\bthe (?P<en>first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b(?! (?:time|place|thing|step))"
    r"|\b(?:number|no\.|option|#) ?(?P<num>[1-5])\b"
    r"|第(?P<zh>[一二三四五1-5])(?:款|个|台|件|双|部|种|套|条|只|把|支|张|项|个产品)"
    r"|(?P<zh_last>最后)(?:那|一)?(?:款|个|台|件|双|部|种|套)",
    re.I,
)
_CHEAPER = re.compile(
    r"\bcheaper\b|\bless expensive\b|\blower (?:price|priced)\b|\bmore affordable\b|\btoo (?:expensive|pricey)\b|"
    r"\b(?:a )?bit pricey\b|便宜(?:一)?[点些]|更便宜|再便宜|太贵|价格低一?[点些]|贵了",
    re.I,
)
_PRICIER = re.compile(
    r"\bpricier\b|\bmore expensive\b|\bhigher[- ]end\b|\bmore premium\b|贵一?[点些]的|更贵|更高端|高端一?[点些]", re.I
)
_MORE = re.compile(r"\b(?:bigger|larger|more|longer|higher|heavier|stronger)\b|大一?[点些]|更大|更长|更多|更高|长一?[点些]", re.I)
_LESS = re.compile(
    r"\b(?:smaller|lighter|less|shorter|thinner|lower|quieter)\b|小一?[点些]|更小|轻一?[点些]|更轻|更薄|薄一?[点些]|"
    r"更安静|安静一?[点些]|短一?[点些]",
    re.I,
)
# A direction word that names its own attribute: "lighter" is weight, "quieter" noise.
_OWN_ATTRIBUTE = (
    (re.compile(r"\blighter\b|轻一?[点些]|更轻", re.I), "weight"),
    (re.compile(r"\bquieter\b|更安静|安静一?[点些]", re.I), "noise"),
)
_GENERIC_WORDS = frozenset({"size", "level", "type", "rating", "range", "count"})


def read_ordinal(text: str) -> int | None:
    """The shown product a message refers to by position: 1 the first, -1 the last; None when it refers to none."""
    match = _ORDINAL.search(text)
    if match is None:
        return None
    if match.group("en"):
        return _EN_ORDINALS[match.group("en").lower()]
    if match.group("num"):
        return int(match.group("num"))
    if match.group("zh"):
        return _ZH_ORDINALS[match.group("zh")]
    return -1


def _names(attribute: Attribute) -> list[str]:
    words = [w for w in re.findall(r"[a-z]{3,}", f"{attribute.key} {attribute.en}".lower()) if w not in _GENERIC_WORDS]
    zh = [attribute.zh, attribute.zh[:2]] if len(attribute.zh) >= 2 else []
    return [*words, *zh]


def _measured(category: Category) -> list[Attribute]:
    return [a for a in category.attributes if any(measure(v) for v in a.values_en)]


def read_relative(text: str, category: Category | None) -> list[Relative]:
    """Moves from what was shown: cheaper or pricier, and more or less of a measured attribute the message names
    ("bigger screen", "longer battery life", "lighter")."""
    moves: list[Relative] = []
    if _CHEAPER.search(text):
        moves.append(Relative(key="price", direction="less"))
    elif _PRICIER.search(text):
        moves.append(Relative(key="price", direction="more"))
    if category is None:
        return moves
    lowered = text.lower()
    measured = _measured(category)
    for pattern, word in _OWN_ATTRIBUTE:
        if pattern.search(text) and (attribute := next((a for a in measured if word in a.key), None)):
            return [*moves, Relative(key=attribute.key, direction="less")]
    direction: Literal["less", "more"] | None = "more" if _MORE.search(text) else "less" if _LESS.search(text) else None
    if direction is None:
        return moves
    named = [a for a in measured if any(name in lowered for name in _names(a))]
    if named:
        moves.append(Relative(key=named[0].key, direction=direction))
    return moves
