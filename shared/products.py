"""How a product is shown to a user: its name, features and reviews in the reply's language."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from shared.lexicon import format_number
from shared.schemas import SkuComment, SkuInfo
from shared.taxonomy import Category
from shared.taxonomy.index import TaxonomyIndex
from shared.text import is_chinese

_HAN_END = re.compile(r"[\u3400-\u9fff]$")


def localised_text(product: SkuInfo, field: str, zh: bool) -> str:
    """``skuName`` / ``intro``, or their English twins (``skuNameEn`` / ``introEn``) for an English reply."""
    if not zh:
        english = (product.model_extra or {}).get(f"{field}En")
        if isinstance(english, str) and english.strip():
            return english.strip()
    return str(getattr(product, field)).strip()


def display_name(product: SkuInfo, zh: bool = True, brand_names: Sequence[str] = ()) -> str:
    """The product's name, prefixed with its brand unless the name already carries it (or an alias: 苹果)."""
    brand, name = product.brand.strip(), localised_text(product, "skuName", zh)
    words = [w for b in (brand, *brand_names) for w in re.split(r"\s+", b.lower()) if len(w) >= 2]
    if not brand or not words or any(w in name.lower() for w in words):
        return name
    return f"{brand}{'' if _HAN_END.search(brand) else ' '}{name}"


_PLAIN_EN_LABELS = frozenset({"type", "style", "fit", "shade", "finish", "colour", "color", "size", "material"})


def feature_text(label: str, value: str, zh: bool) -> str:
    """"拍照4800万像素双摄", "主动降噪35dB" (not "降噪主动降噪35dB"); "48MP dual camera", "4000mAh battery"."""
    if label.lower() in value.lower() or label == value:
        return value
    if zh:
        return f"{label}{value}" if not label.isascii() else f"{label} {value}"
    return value if label.lower() in _PLAIN_EN_LABELS else f"{value} {label}"


def reviews_in(product: SkuInfo, zh: bool) -> list[SkuComment]:
    """The reviews written in the reply's language: a Chinese quote in an English reply reads badly."""
    return [c for c in product.skuCommentList if is_chinese(c.commentContent) == zh]


def ranked_attributes(
    product: SkuInfo, known: dict[str, str], category: Category | None, index: TaxonomyIndex
) -> list[tuple[str, str]]:
    """The product's own attributes: those the user cares about first, then in taxonomy order."""
    values = {key: value_text(value) for key, value in product.attributes.items() if value_text(value)}

    def rank(key: str) -> tuple[int, int]:
        attr = index.attribute(category, key)
        cared = attr is not None and attr.key in known
        keys = list(category.attribute_keys) if category else []
        order = keys.index(attr.key) if attr and attr.key in keys else 99
        return (0 if cared else 1, order)

    return sorted(values.items(), key=lambda item: rank(item[0]))


def value_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "/".join(str(v) for v in value if v not in (None, ""))
    if isinstance(value, float):
        return format_number(value)
    return "" if value is None else str(value).strip()

