"""The catalog's vocabulary: the categories, attribute keys and values, and brands of the products a shop ingested.

The catalog service builds it from its knowledge base (``GET /v1/catalog/vocabulary``); the services that read a
dialog (extraction, dialog) fetch it and refresh it when the catalog's content version moves (``VocabularyFeed``), so
a shop with other goods is understood without a code change. ``open_taxonomy`` makes it the taxonomy those services
already work with: the catalog's categories, each enriched by the taxonomy file where that file knows its id
(synonyms, attribute names and value scales from entry-level to premium, brand aliases); a category the file does not
know is named by its products (``categoryName`` / ``categoryNameEn`` / ``categoryAliases`` on a product, else its id in
words), and so is an attribute the file does not know (``attributeNames``: key -> ``{"zh": …, "en": …}``, else its key)
and its values in Chinese (``attributesZh``: key -> the value in Chinese, so that 苹果 fills ``fruit: apple``). A
category the file knows but the catalog does not carry is left out: nothing would answer it.

``OpenCatalog`` is what a reader of dialogs keeps of a vocabulary: it, its open taxonomy and the index over that.

Offline (training, evaluation, a service started without the catalog) the vocabulary is that of the shipped sample
catalog file, read by the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

from shared.settings import PROJECT_ROOT
from shared.taxonomy import Attribute, Category, Taxonomy, load_taxonomy
from shared.taxonomy.index import TaxonomyIndex

log = logging.getLogger(__name__)

SOURCE = Path(__file__)  # what artefacts built with a vocabulary are checked against
SAMPLE_CATALOG = PROJECT_ROOT / "services" / "catalog" / "sample_data" / "products.jsonl"
VOCABULARY_PATH = "/v1/catalog/vocabulary"
# The group of a category the taxonomy file does not know.
CATALOG_GROUP = "catalog"
# Most values kept per attribute key: a free-text attribute (a book's title) is no vocabulary.
MAX_VALUES = 40
# A catalog series name is taken as a brand's alias only when it cannot be an ordinary word: inner capitals (iPhone,
# MacBook, QuietComfort) or letters mixed with digits (X100VI, WH-1000XM5).
_SERIES = re.compile(r"^(?=[A-Za-z])(?=.*[a-z][A-Z]|.*\d)[\w-]{3,}$")


class AttributeName(BaseModel):
    zh: str = ""
    en: str = ""


class VocabularyCategory(BaseModel):
    id: str
    name_en: str
    name_zh: str = ""
    aliases: list[str] = Field(default_factory=list, description="Other names the products give the kind")
    attributes: dict[str, list[str]] = Field(default_factory=dict, description="Attribute key -> the values carried")
    attribute_names: dict[str, AttributeName] = Field(
        default_factory=dict, description="Attribute key -> its names, where the products give them"
    )
    values_zh: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Attribute key -> value -> the value in Chinese, where the products give it"
    )
    brands: list[str] = Field(default_factory=list)
    products: int = 0
    entry_price: float | None = Field(None, description="The cheapest product of the kind (catalog currency)")


class VocabularyBrand(BaseModel):
    name: str
    aliases: list[str] = Field(default_factory=list, description="Local names and series names (苹果, iPhone)")
    categories: list[str] = Field(default_factory=list)


class Vocabulary(BaseModel):
    version: str = Field(description="Changes whenever the catalog's products do")
    categories: list[VocabularyCategory] = Field(default_factory=list)
    brands: list[VocabularyBrand] = Field(default_factory=list)

    def brand_terms(self) -> dict[str, str]:
        """Every name and alias of a brand -> the brand as the catalog files it."""
        return {term: brand.name for brand in self.brands for term in (brand.name, *brand.aliases)}

    def brand_categories(self) -> dict[str, set[str]]:
        return {brand.name: set(brand.categories) for brand in self.brands}

    def entry_prices(self) -> dict[str, float]:
        return {c.id: c.entry_price for c in self.categories if c.entry_price is not None}


def _words(category_id: str) -> str:
    return category_id.replace("_", " ").strip()


def vocabulary_of(products: Iterable[Mapping[str, Any]], version: str = "") -> Vocabulary:
    """The vocabulary of these products (payloads as the catalog stores them); ``version`` defaults to a hash of it."""
    categories: dict[str, VocabularyCategory] = {}
    values: dict[str, dict[str, dict[str, None]]] = {}
    names: dict[str, dict[str, AttributeName]] = {}
    chinese: dict[str, dict[str, dict[str, str]]] = {}
    prices: dict[str, list[float]] = {}
    brands: dict[str, VocabularyBrand] = {}
    for product in products:
        cid = str(product.get("category") or "").strip()
        if not cid:
            continue
        category = categories.get(cid)
        if category is None:
            category = categories[cid] = VocabularyCategory(
                id=cid,
                name_en=str(product.get("categoryNameEn") or _words(cid)),
                name_zh=str(product.get("categoryName") or ""),
            )
        category.products += 1
        for alias in product.get("categoryAliases") or ():
            if alias not in category.aliases:
                category.aliases.append(str(alias))
        attributes = product.get("attributes") or {}
        in_chinese = product.get("attributesZh") or {}
        for key, value in attributes.items():
            values.setdefault(cid, {}).setdefault(str(key), {})[str(value)] = None
            if zh := str(in_chinese.get(key) or "").strip():
                chinese.setdefault(cid, {}).setdefault(str(key), {}).setdefault(str(value), zh)
        for key, name in (product.get("attributeNames") or {}).items():
            if key in attributes and isinstance(name, Mapping):
                names.setdefault(cid, {}).setdefault(str(key), AttributeName.model_validate(name))
        if isinstance(price := product.get("price"), int | float):
            prices.setdefault(cid, []).append(float(price))
        if name := str(product.get("brand") or "").strip():
            if name not in category.brands:
                category.brands.append(name)
            brand = brands.setdefault(name, VocabularyBrand(name=name))
            if cid not in brand.categories:
                brand.categories.append(cid)
            for alias in _brand_aliases(product, name):
                if alias not in brand.aliases and alias != name:
                    brand.aliases.append(alias)
    for cid, category in categories.items():
        category.attributes = {k: list(v)[:MAX_VALUES] for k, v in values.get(cid, {}).items()}
        category.attribute_names = names.get(cid, {})
        category.values_zh = {k: v for k, v in chinese.get(cid, {}).items() if k in category.attributes}
        if found := prices.get(cid):
            category.entry_price = min(found)
    vocabulary = Vocabulary(version=version, categories=list(categories.values()), brands=list(brands.values()))
    if not version:
        blob = vocabulary.model_dump_json().encode()
        vocabulary.version = hashlib.sha256(blob).hexdigest()[:16]
    return vocabulary


def _brand_aliases(product: Mapping[str, Any], brand: str) -> list[str]:
    """A brand's other names on a product: its own ``brandAliases``, the local name that opens ``skuName`` (苹果 in
    "苹果 iPhone 15"), and the series that follows the brand in ``skuNameEn`` ("Apple iPhone 15")."""
    aliases = [str(a) for a in product.get("brandAliases") or ()]
    if (local := str(product.get("skuName", "")).split(" ", 1)[0]) and not local.isascii() and " " in product.get(
        "skuName", ""
    ):
        aliases.append(local)
    english = str(product.get("skuNameEn", ""))
    rest = english[len(brand) :].split() if english.startswith(brand) else []
    if rest and _SERIES.match(rest[0]):
        aliases.append(rest[0])
    return aliases


def read_vocabulary(path: Path = SAMPLE_CATALOG) -> Vocabulary:
    """The vocabulary of a products JSONL file (the sample catalog by default); empty when there is no file."""
    if not path.exists():
        return Vocabulary(version="none")
    with path.open(encoding="utf-8") as handle:
        return vocabulary_of(json.loads(line) for line in handle if line.strip())


@lru_cache(maxsize=1)
def sample_vocabulary() -> Vocabulary:
    return read_vocabulary()


# ----------------------------------------------------------------------------------------------- as a taxonomy
def open_taxonomy(vocabulary: Vocabulary, enrichment: Taxonomy | None = None) -> Taxonomy:
    """The catalog's categories as a taxonomy, each enriched by ``enrichment`` (the taxonomy file) where it knows the
    id. With an empty vocabulary (no catalog at all) the enrichment alone."""
    enrichment = enrichment if enrichment is not None else load_taxonomy()
    if not vocabulary.categories:
        return enrichment
    terms = vocabulary.brand_terms()
    common = {a.key for a in enrichment.common_attributes}
    # The taxonomy file's order (importance, groups) for the kinds it knows, then the catalog's own in its order.
    carried = {c.id: c for c in vocabulary.categories}
    order = [cid for cid in enrichment.categories if cid in carried] + [c for c in carried if c not in enrichment]
    categories = {cid: _category(carried[cid], enrichment.categories.get(cid), terms, common) for cid in order}
    return Taxonomy(categories, enrichment.common_attributes)


def _category(
    found: VocabularyCategory, known: Category | None, brand_terms: Mapping[str, str], common: set[str]
) -> Category:
    brands = tuple(dict.fromkeys((*(known.brands if known else ()), *found.brands)))
    aliases = {term: brand for term, brand in brand_terms.items() if brand in found.brands and term != brand}
    if known is not None:
        keys = {a.key for a in known.attributes} | common
        extra = tuple(_attribute(found, k) for k in found.attributes if k not in keys)
        return Category(
            id=known.id,
            group=known.group,
            name_en=known.name_en,
            name_zh=known.name_zh,
            synonyms_en=tuple(dict.fromkeys((*known.synonyms_en, *(a for a in found.aliases if a.isascii())))),
            synonyms_zh=tuple(dict.fromkeys((*known.synonyms_zh, *(a for a in found.aliases if not a.isascii())))),
            attributes=(*known.attributes, *extra),
            brands=brands,
            brand_aliases={**aliases, **known.brand_aliases},
        )
    return Category(
        id=found.id,
        group=CATALOG_GROUP,
        name_en=found.name_en,
        name_zh=found.name_zh,
        synonyms_en=tuple(a for a in dict.fromkeys((_words(found.id), *found.aliases)) if a.isascii() and a != found.name_en),
        synonyms_zh=tuple(a for a in found.aliases if not a.isascii()),
        attributes=tuple(_attribute(found, k) for k in found.attributes if k not in common),
        brands=brands,
        brand_aliases=aliases,
    )


def _attribute(found: VocabularyCategory, key: str) -> Attribute:
    """An attribute the taxonomy file does not know, as the catalog names it; its values in Chinese run beside them
    (those without a Chinese form as written), which both matches 苹果 and localises ``apple`` in a Chinese reply."""
    values = tuple(found.attributes[key])
    name = found.attribute_names.get(key) or AttributeName()
    if chinese := found.values_zh.get(key):
        values_zh = tuple(chinese.get(v, v) for v in values)
    else:
        values_zh = values if any(not v.isascii() for v in values) else ()
    return Attribute(key=key, zh=name.zh, en=name.en or _words(key), values_en=values, values_zh=values_zh)


@dataclass(frozen=True, slots=True)
class OpenCatalog:
    """A vocabulary with its open taxonomy and the index over it: what the router words suggestions and comparisons
    with, and the copywriting service its copy."""

    vocabulary: Vocabulary
    taxonomy: Taxonomy
    index: TaxonomyIndex

    @classmethod
    def of(cls, vocabulary: Vocabulary, enrichment: Taxonomy | None = None) -> OpenCatalog:
        taxonomy = open_taxonomy(vocabulary, enrichment)
        return cls(vocabulary, taxonomy, TaxonomyIndex(taxonomy))


# ----------------------------------------------------------------------------------------------- the feed
class VocabularyFeed:
    """The catalog's vocabulary as a service holds it: fetched at start, then every ``interval_s``; ``on_change``
    rebuilds what depends on it when its version moves. Until the catalog answers (or when it stops answering) the
    last vocabulary stays, at first the sample catalog's, and ``source`` says which one is in use."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        catalog_url: str,
        interval_s: float,
        on_change: Callable[[Vocabulary], Awaitable[None]],
        initial: Vocabulary | None = None,
    ) -> None:
        self.http = http
        self.url = catalog_url.rstrip("/") + VOCABULARY_PATH
        self.interval_s = interval_s
        self.on_change = on_change
        self.current = initial or sample_vocabulary()
        self.source = "sample"

    async def refresh(self) -> bool:
        """Fetch once; True when a new version was taken."""
        try:
            response = await self.http.get(self.url, timeout=10)
            response.raise_for_status()
            found = Vocabulary.model_validate(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("the catalog's vocabulary could not be fetched from %s (%s); keeping the %s one",
                        self.url, exc, self.source)
            return False
        if not found.categories:  # an empty catalog (still seeding): nothing to understand it by yet
            return False
        self.source = "catalog"
        if found.version == self.current.version:
            return False
        await self.on_change(found)
        self.current = found
        return True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.refresh()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[VocabularyFeed]:
        """Fetched once before the service starts answering (a catalog that is up is understood from the first
        request; one that is down costs a refused connection), then refreshed in the background."""
        await self.refresh()
        task = asyncio.create_task(self._poll(), name="vocabulary-feed")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
