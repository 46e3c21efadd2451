"""The built-in recommender and knowledge search, on the knowledge base (Qdrant + multilingual embeddings).

Recommendation: hard filters from what the call states in structure (category, brand, price range), then
semantic ranking of the free-text wishes ("good camera", "续航长") against each product's own text and the
reviews buyers praised it in, both languages in one vector space. When the filters leave nothing, they are
dropped one at a time in ``RELAX_ORDER`` and the response names the dropped ones. Embeddings match topics,
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
from services.catalog.knowledge.store import AnyOf, Between, Condition, Filter, Hit
from shared.recommender import Ad, RecommendResponse
from shared.schemas import FunctionCall, KnowledgeHit, SkuInfo
from shared.taxonomy import load_taxonomy

# The least telling filter goes first: a budget is often approximate, a brand a preference, the category
# what the user came for.
RELAX_ORDER = ("price", "brand", "category")
# How much what buyers praise counts next to what the product is.
REVIEW_WEIGHT = 0.5
# Candidates fetched per vector before fusing, as a multiple of top_k.
CANDIDATES_PER_RESULT = 4
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
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:\s*k\b)?", re.IGNORECASE)


def price_range(text: str) -> tuple[float | None, float | None]:
    """(low, high) from a budget in the user's words: "under $1500", "3000以内", "2000-3000元"."""
    numbers = [float(n.lower().replace(",", "").replace("k", "").strip()) * (1000 if "k" in n.lower() else 1)
               for n in _NUMBER.findall(text)]
    if not numbers:
        return None, None
    if len(numbers) >= 2:
        return min(numbers[:2]), max(numbers[:2])
    if re.search(r"(over|above|more than|at least|以上|起)", text, re.IGNORECASE):
        return numbers[0], None
    if re.search(r"(around|about|左右|上下)", text, re.IGNORECASE):
        return numbers[0] * 0.8, numbers[0] * 1.2
    return None, numbers[0]


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


def _mentions(text: str, name: str) -> bool:
    if re.fullmatch(r"[\x00-\x7f]+", name):  # Latin names as whole words: "LG" is not in "bulge"
        return re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", text) is not None
    return name.lower() in text


def resolve_brands(text: str, category: str | None) -> tuple[str, ...]:
    """Canonical brands named in ``"Samsung and Google Pixel phones"`` or ``"苹果或华为"``."""
    taxonomy = load_taxonomy()
    pool = [taxonomy[category]] if category is not None and category in taxonomy else list(taxonomy.categories.values())
    lowered = text.lower()
    found: dict[str, None] = {}
    for cat in pool:
        for brand in cat.brands:
            if _mentions(lowered, brand):
                found[brand] = None
        for alias, brand in cat.brand_aliases.items():
            if _mentions(lowered, alias):
                found[brand] = None
    return tuple(found) or (text.strip(),)  # no known brand: filter on the text, which then gets relaxed


@dataclass(frozen=True, slots=True)
class Wanted:
    """A call read as hard filters (in relaxation order) and the free text to rank by."""

    filters: dict[str, Condition]
    query: str
    # The category's attributes the user wants more of, with that attribute's values from entry to premium.
    scales: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_call(cls, call: FunctionCall) -> Wanted:
        args = {key.strip().lower(): value.strip() for key, value in call.arguments.items() if value.strip()}
        filters: dict[str, Condition] = {}
        category = resolve_category(args["category"]) if "category" in args else None
        wishes = [f"{key} {value}" if key not in value.lower() else value
                  for key, value in args.items() if key not in {"category", "brand", "price"}]
        if "price" in args:
            low, high = price_range(args["price"])
            if low is None and high is None:
                wishes.append(args["price"])  # "cheap", "性价比高": a wish, not a range
            else:
                filters["price"] = Between("price", low, high)
        if "brand" in args:
            filters["brand"] = AnyOf("brand", resolve_brands(args["brand"], category))
        if category:
            filters["category"] = AnyOf("category", (category,))
        # Without wishes, rank by what was asked for at all, so the order still follows the request.
        query = ", ".join(wishes) or " ".join(args.get(k, "") for k in ("category", "brand", "price")).strip()
        return cls({name: filters[name] for name in RELAX_ORDER if name in filters}, query, _scales(category, args))


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
    def __init__(self, kb: KnowledgeBase, preparing: asyncio.Task[object] | None = None) -> None:
        self.kb = kb
        # Start-up work that may still run (model warm-up, seeding): every call waits for it first.
        self._preparing = preparing

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
            "top_k": top_k,
        }
        return await self.kb.recall(
            PRODUCTS, request, lambda: self._recommend(call, top_k),
            dump=lambda response: response.model_dump(), load=RecommendResponse.model_validate,
        )

    async def _recommend(self, call: FunctionCall, top_k: int) -> RecommendResponse:
        wanted = Wanted.from_call(call)
        vector = (await self.kb.embedder.embed_query(wanted.query)).tolist()
        active = dict(wanted.filters)
        relaxed: list[str] = []
        while True:
            ranked = await self._ranked(vector, Filter(tuple(active.values())), top_k)
            if ranked or not active:
                break
            dropped = next(iter(active))  # ``active`` keeps RELAX_ORDER
            del active[dropped]
            relaxed.append(dropped)
        # Candidates are ranked without payloads; only the winners' are read, unless the scales need every
        # candidate's attributes to rank them.
        wanted_ids = [h.id for _, h in (ranked if wanted.scales else ranked[:top_k])]
        found = await self.kb.store.retrieve(PRODUCTS, wanted_ids) if wanted_ids else []
        payloads = {h.id: h.payload for h in found}
        if wanted.scales:
            ranked = sorted(
                ((score + tier_bonus(payloads.get(h.id, {}).get("attributes", {}), wanted.scales), h) for score, h in ranked),
                key=lambda item: (-item[0], item[1].id),
            )
        winners = ranked[:top_k]
        ads = [Ad(skuInfo=_sku(payloads[hit.id]), score=round(score, 4)) for score, hit in winners if hit.id in payloads]
        return RecommendResponse(adList=ads, relaxed=relaxed, source="catalog")

    async def _ranked(self, vector: list[float], flt: Filter, top_k: int) -> list[tuple[float, Hit]]:
        limit = max(top_k * CANDIDATES_PER_RESULT, 20)
        text_hits = await self.kb.store.search(PRODUCTS, "text", vector, flt, limit, payload=False)
        if not text_hits:
            return []
        review_hits = await self.kb.store.search(PRODUCTS, "reviews", vector, flt, limit, payload=False)
        return fuse(text_hits, review_hits)

    async def search_knowledge(self, query: str, top_k: int, category: str | None) -> list[KnowledgeHit]:
        await self._prepared()
        return await self.kb.search(query, top_k, resolve_category(category) if category else None)

    async def product(self, sku_id: str) -> SkuInfo | None:
        await self._prepared()
        found = await self.kb.store.retrieve(PRODUCTS, [point_id(PRODUCTS, sku_id)])
        return _sku(found[0].payload) if found else None
