"""The built-in recommender and knowledge search, on the knowledge base (Qdrant + multilingual embeddings).

Recommendation: hard constraints from the call's ``constraints`` (category, price range in the catalog's currency,
brands asked for and excluded in the store's filter; measured attributes and named values checked on the
candidates' attribute values), or, for a caller that sent only words, its ``price`` and ``brand`` read by the
shared parser (``shared.engines.constraints``); then semantic ranking of the free-text wishes ("good camera",
"续航长") against each product's own text and the reviews buyers praised it in, both languages in one vector
space. When the constraints leave nothing, they are dropped one at a time in ``RELAX_ORDER`` and the response
names each dropped one (``price``, ``brand``, ``brand_exclude``, ``attribute:<key>``, ``category``); the nearest
to what was dropped come first, so nothing that misses a constraint is shown as if it met it. Embeddings match topics,
not amounts, so a wish for more of an attribute ("long battery life", "拍照好") also ranks by where the
product's value stands on that attribute's taxonomy scale (entry-level to premium).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from services.catalog.knowledge import KnowledgeBase
from services.catalog.knowledge.base import normalise_query
from services.catalog.knowledge.documents import PRODUCTS, point_id
from services.catalog.knowledge.store import AnyOf, Between, Condition, Filter, Hit, NoneOf
from shared.engines.constraints import Currencies, distance, fits, from_words, price_distance
from shared.recommender import Ad, RecommendResponse
from shared.schemas import AttributeConstraint, FunctionCall, KnowledgeHit, PriceRange, SkuInfo
from shared.taxonomy import Category, load_taxonomy
from shared.vocabulary import Vocabulary, vocabulary_of

# The least telling constraint goes first: a measured attribute is often read loosely ("6 inch"), a budget is
# approximate, a brand a preference, an excluded brand a plain no, the category what the user came for.
RELAX_ORDER = ("attributes", "price", "brand", "brand_exclude", "category")
# How much what buyers praise counts next to what the product is.
REVIEW_WEIGHT = 0.5
# Candidates fetched per vector before fusing, as a multiple of top_k.
CANDIDATES_PER_RESULT = 4
# Candidates fetched when attribute constraints are checked on them: the store cannot compare "3-4 person" with
# "for 4 people", so the check runs on the candidates' values, and a deeper pool keeps fitting products in it.
ATTRIBUTE_CANDIDATES = 200
# What the top of an attribute's scale adds to a product's score when the user wants more of it; text scores
# are cosines, mostly 0.3-0.6.
TIER_WEIGHT = 0.15
# A wish for more or better of an attribute, not a specific value.
_MORE = re.compile(
    r"\b(good|great|better|best|long|longer|large|larger|big|bigger|high|higher|excellent|strong|powerful|fast|"
    r"bright|premium|top|pro|lots?)\b|好|强|长|久|大|高|快|优|旗舰|顶级|专业|耐用",
    re.IGNORECASE,
)
_INTERNAL_FIELDS = frozenset({"hash", "doc"})


@lru_cache(maxsize=1)
def _category_names() -> dict[str, str]:
    """Every name a category goes by (id, English, Chinese, synonyms), lower-cased, to its id."""
    names: dict[str, str] = {}
    for category in load_taxonomy().categories.values():
        for name in (category.id, category.id.replace("_", " "), category.name_en, category.name_zh,
                     *category.synonyms_en, *category.synonyms_zh):
            names.setdefault(name.lower(), category.id)
    return names


def resolve_category(text: str) -> str:
    """The taxonomy id for a category as the call names it; unknown names are kept (and match nothing)."""
    return _category_names().get(text.strip().lower(), text.strip())


def _categories(category: str | None) -> list[Category]:
    taxonomy = load_taxonomy()
    return [taxonomy[category]] if category is not None and category in taxonomy else list(taxonomy.categories.values())


@dataclass(frozen=True, slots=True)
class Wanted:
    """A call read as hard constraints (in relaxation order: store filters, and attribute checks on the
    candidates' values) and the free text to rank by."""

    filters: dict[str, Condition]
    checks: dict[str, AttributeConstraint]  # attribute key -> what its value must fit
    query: str
    price: PriceRange | None = None
    # The category's attributes the user wants more of, with that attribute's values from entry to premium.
    scales: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_call(cls, call: FunctionCall, currencies: Currencies) -> Wanted:
        args = {key.strip().lower(): value.strip() for key, value in call.arguments.items() if value.strip()}
        category = resolve_category(args["category"]) if "category" in args else None
        pool = _categories(category)
        # The structured constraints when the caller sent them; else the words read by the same parser.
        constraints = call.constraints if call.constraints is not None else from_words(args, pool, currencies)
        wishes = [f"{key} {value}" if key not in value.lower() else value
                  for key, value in args.items() if key not in {"category", "brand", "price"}]
        if "price" in args and constraints.price is None:
            wishes.append(args["price"])  # "cheap", "性价比高": a wish, not a range
        filters: dict[str, Condition] = {}
        if (price := constraints.price) is not None and (price.min is not None or price.max is not None):
            filters["price"] = Between("price", price.min, price.max)
        if brands := constraints.brands:
            spelled = {b.lower(): b for c in pool for b in c.brands}
            if brands.include:
                filters["brand"] = AnyOf("brand", tuple(spelled.get(b.lower(), b) for b in brands.include))
            if brands.exclude:
                filters["brand_exclude"] = NoneOf("brand", tuple(spelled.get(b.lower(), b) for b in brands.exclude))
        if category:
            filters["category"] = AnyOf("category", (category,))
        # Without wishes, rank by what was asked for at all, so the order still follows the request.
        query = ", ".join(wishes) or " ".join(args.get(k, "") for k in ("category", "brand", "price")).strip()
        return cls(
            {name: filters[name] for name in RELAX_ORDER if name in filters},
            dict(constraints.attributes),
            query,
            constraints.price,
            _scales(category, args),
        )

    def constraint_names(self) -> list[str]:
        """Every hard constraint by the name ``relaxed`` gives it, in relaxation order."""
        return [f"attribute:{key}" for key in self.checks] + list(self.filters)


def _scales(category: str | None, args: dict[str, str]) -> dict[str, tuple[str, ...]]:
    taxonomy = load_taxonomy()
    if category is None or category not in taxonomy:
        return {}
    scales = {}
    for attribute in taxonomy[category].attributes:
        wish = args.get(attribute.key.lower(), "")
        values = tuple(v.lower() for v in attribute.values_en)
        # A named value ("5000mAh") is matched by the text ranking; this is for "more of it".
        if len(values) > 1 and _MORE.search(wish) and wish.lower() not in values:
            scales[attribute.key] = values
    return scales


def tier_bonus(attributes: dict[str, Any], scales: dict[str, tuple[str, ...]]) -> float:
    """Where the product's values stand on the wished scales, 0 (entry-level) to TIER_WEIGHT (premium)."""
    tiers = [
        values.index(value) / (len(values) - 1) if (value := str(attributes.get(key, "")).lower()) in values else 0.0
        for key, values in scales.items()
    ]
    return TIER_WEIGHT * sum(tiers) / len(tiers) if tiers else 0.0


def _fits(payload: dict[str, Any], checks: dict[str, AttributeConstraint]) -> bool:
    attributes = payload.get("attributes", {})
    return all(fits(attributes.get(key), constraint) for key, constraint in checks.items())


def _miss(payload: dict[str, Any], wanted: Wanted, relaxed: list[str]) -> float:
    """How far a product is from the dropped measured constraints (price, attributes): 0 when it meets them.
    A dropped brand or category has no distance: the ranking stands there."""
    miss = 0.0
    for name in relaxed:
        if name == "price" and wanted.price is not None:
            miss += min(price_distance(payload.get("price"), wanted.price), 1e6)
        elif name.startswith("attribute:"):
            key = name.removeprefix("attribute:")
            constraint = wanted.checks[key]
            if constraint.value is None:
                miss += min(distance(payload.get("attributes", {}).get(key), constraint), 1e6)
            else:
                miss += 0.0 if fits(payload.get("attributes", {}).get(key), constraint) else 1.0
    return miss


def _sku(payload: dict[str, Any]) -> SkuInfo:
    return SkuInfo.model_validate({k: v for k, v in payload.items() if k not in _INTERNAL_FIELDS})


def fuse(text_hits: list[Hit], review_hits: list[Hit]) -> list[tuple[float, Hit]]:
    """Text score plus ``REVIEW_WEIGHT`` x praised-review score. A product missing from one list scores at
    most that list's lowest there, so it gets that (products without praise have no review vector at all)."""
    text = {h.id: h.score for h in text_hits}
    reviews = {h.id: h.score for h in review_hits}
    text_floor = min(text.values(), default=0.0)
    review_floor = min(reviews.values(), default=0.0)
    by_id = {h.id: h for h in (*review_hits, *text_hits)}
    scored = [
        (text.get(pid, text_floor) + REVIEW_WEIGHT * reviews.get(pid, review_floor), hit)
        for pid, hit in by_id.items()
    ]
    scored.sort(key=lambda item: (-item[0], item[1].id))
    return scored


class Catalog:
    def __init__(
        self, kb: KnowledgeBase, currencies: Currencies, preparing: asyncio.Task[object] | None = None
    ) -> None:
        self.kb = kb
        self.currencies = currencies
        # Start-up work that may still run (model warm-up, seeding): every call waits for it first.
        self._preparing = preparing
        # The vocabulary of the products' content version it was read at: read again only when ingestion moves it.
        self._vocabulary: Vocabulary | None = None

    async def _prepared(self) -> None:
        if self._preparing is not None:
            await asyncio.shield(self._preparing)

    async def ready(self) -> bool:
        if self._preparing is not None and not self._preparing.done():
            return False
        await self._prepared()
        return await self.kb.store.count(PRODUCTS) > 0

    async def recommend(self, call: FunctionCall, top_k: int) -> RecommendResponse:
        await self._prepared()
        request = {
            "arguments": {k.strip().lower(): normalise_query(v) for k, v in call.arguments.items()},
            "constraints": call.constraints.model_dump() if call.constraints is not None else None,
            "top_k": top_k,
        }
        return await self.kb.recall(
            PRODUCTS, request, lambda: self._recommend(call, top_k),
            dump=lambda response: response.model_dump(), load=RecommendResponse.model_validate,
        )

    async def _recommend(self, call: FunctionCall, top_k: int) -> RecommendResponse:
        wanted = Wanted.from_call(call, self.currencies)
        vector = (await self.kb.embedder.embed_query(wanted.query)).tolist()
        active = wanted.constraint_names()
        relaxed: list[str] = []
        while True:
            checks = {k: c for k, c in wanted.checks.items() if f"attribute:{k}" in active}
            flt = Filter(tuple(c for name, c in wanted.filters.items() if name in active))
            limit = ATTRIBUTE_CANDIDATES if checks else max(top_k * CANDIDATES_PER_RESULT, 20)
            ranked = await self._ranked(vector, flt, limit)
            # Payloads are read for the winners only, unless the candidates' attributes decide (checks, scales,
            # the nearest to a dropped constraint).
            needs_all = bool(checks or wanted.scales or relaxed)
            found = await self.kb.store.retrieve(PRODUCTS, [h.id for _, h in (ranked if needs_all else ranked[:top_k])])
            payloads = {h.id: h.payload for h in found}
            ranked = [(score, h) for score, h in ranked if _fits(payloads.get(h.id, {}), checks)]
            if ranked or not active:
                break
            relaxed.append(active.pop(0))  # ``active`` keeps RELAX_ORDER
        if wanted.scales:
            ranked = sorted(
                ((score + tier_bonus(payloads.get(h.id, {}).get("attributes", {}), wanted.scales), h) for score, h in ranked),
                key=lambda item: (-item[0], item[1].id),
            )
        if relaxed:
            # Nothing met every constraint: the nearest to what was dropped first, then the best ranked.
            ranked.sort(key=lambda item: _miss(payloads.get(item[1].id, {}), wanted, relaxed))
        winners = ranked[:top_k]
        ads = [Ad(skuInfo=_sku(payloads[hit.id]), score=round(score, 4)) for score, hit in winners if hit.id in payloads]
        return RecommendResponse(adList=ads, relaxed=relaxed, source="catalog")

    async def _ranked(self, vector: list[float], flt: Filter, limit: int) -> list[tuple[float, Hit]]:
        text_hits = await self.kb.store.search(PRODUCTS, "text", vector, flt, limit, payload=False)
        if not text_hits:
            return []
        review_hits = await self.kb.store.search(PRODUCTS, "reviews", vector, flt, limit, payload=False)
        return fuse(text_hits, review_hits)

    async def search_knowledge(self, query: str, top_k: int, category: str | None) -> list[KnowledgeHit]:
        await self._prepared()
        return await self.kb.search(query, top_k, resolve_category(category) if category else None)

    async def vocabulary(self) -> Vocabulary:
        """What the ingested products carry, read from the store once per content version (ingestion moves it)."""
        await self._prepared()
        version = await self.kb.store.version(PRODUCTS)
        if self._vocabulary is None or self._vocabulary.version != version:
            ids = list(await self.kb.store.fingerprints(PRODUCTS))
            found = await self.kb.store.retrieve(PRODUCTS, ids)
            # In skuId order: the same products give the same vocabulary, whatever order the store keeps them in.
            products = sorted((h.payload for h in found), key=lambda p: str(p.get("skuId", "")))
            self._vocabulary = vocabulary_of(products, version or "empty")
        return self._vocabulary

    async def product(self, sku_id: str) -> SkuInfo | None:
        await self._prepared()
        found = await self.kb.store.retrieve(PRODUCTS, [point_id(PRODUCTS, sku_id)])
        return _sku(found[0].payload) if found else None
