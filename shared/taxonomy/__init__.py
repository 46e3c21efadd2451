"""The category taxonomy: categories with Chinese/English names and synonyms, their key attributes and brands.

The services read the catalog's own vocabulary (``shared.vocabulary``): this file enriches the kinds it knows (names
and synonyms in both languages, attribute names, value scales from entry-level to premium, brand aliases, importance
order) and stands in for a catalog only offline. Source: ``categories.yaml`` beside this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("categories.yaml")


@dataclass(frozen=True, slots=True)
class Attribute:
    key: str
    zh: str = ""
    en: str = ""
    values_en: tuple[str, ...] = ()
    values_zh: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    group: str
    name_en: str
    name_zh: str
    synonyms_en: tuple[str, ...] = ()
    synonyms_zh: tuple[str, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    brands: tuple[str, ...] = ()
    brand_aliases: dict[str, str] = field(default_factory=dict)

    @property
    def attribute_keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.attributes)


@dataclass(frozen=True, slots=True)
class Taxonomy:
    categories: dict[str, Category]
    common_attributes: tuple[Attribute, ...]

    def __getitem__(self, category_id: str) -> Category:
        return self.categories[category_id]

    def __contains__(self, category_id: object) -> bool:
        return category_id in self.categories

    def allowed_keys(self, category_id: str) -> set[str]:
        common = {a.key for a in self.common_attributes}
        return common | set(self.categories[category_id].attribute_keys) | {"category", "brand"}


def _attribute(raw: Mapping[str, Any]) -> Attribute:
    return Attribute(
        key=str(raw["key"]),
        zh=str(raw.get("zh", "")),
        en=str(raw.get("en", "")),
        values_en=tuple(map(str, raw.get("values_en", ()) or ())),
        values_zh=tuple(map(str, raw.get("values_zh", ()) or ())),
    )


@lru_cache(maxsize=4)
def load_taxonomy(path: Path = DEFAULT_PATH) -> Taxonomy:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    categories = {
        c["id"]: Category(
            id=c["id"],
            group=c["group"],
            name_en=c["name_en"],
            name_zh=c["name_zh"],
            synonyms_en=tuple(c.get("synonyms_en", ())),
            synonyms_zh=tuple(c.get("synonyms_zh", ())),
            attributes=tuple(_attribute(a) for a in c.get("attributes", ())),
            brands=tuple(c.get("brands", ())),
            brand_aliases=dict(c.get("brand_aliases", {}) or {}),
        )
        for c in raw["categories"]
    }
    return Taxonomy(categories, tuple(_attribute(a) for a in raw.get("common_attributes", ())))
