"""The reference recommender and knowledge search over the shipped sample data.

Hard filters from the structured arguments (category, brand, price), then ranking of the free-text wishes
against product text and reviews. This in-memory lexical ranker is the baseline the Qdrant-backed
semantic ranking (issue 5) replaces behind the same ``Catalog`` methods.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from shared.schemas import FunctionCall, KnowledgeHit, SkuInfo
from shared.text import tokens

from services.catalog.schemas import Ad, RecommendResponse

SAMPLE_DATA = Path(__file__).with_name("sample_data")
# Which structured filter goes first when the full set matches nothing.
RELAX_ORDER = ("price", "brand")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:\s*k\b)?", re.I)


def price_range(text: str) -> tuple[float | None, float | None]:
    """(low, high) from a budget in the user's words: "under $1500", "3000以内", "2000-3000元"."""
    numbers = [float(n.lower().replace(",", "").replace("k", "").strip()) * (1000 if "k" in n.lower() else 1)
               for n in _NUMBER.findall(text)]
    if not numbers:
        return None, None
    if len(numbers) >= 2:
        return min(numbers[:2]), max(numbers[:2])
    if re.search(r"(over|above|more than|at least|以上|起)", text, re.I):
        return numbers[0], None
    if re.search(r"(around|about|左右|上下)", text, re.I):
        return numbers[0] * 0.8, numbers[0] * 1.2
    return None, numbers[0]


@dataclass(frozen=True, slots=True)
class _Doc:
    vector: Counter[str]
    norm: float


def _doc(text: str) -> _Doc:
    vector = Counter(tokens(text))
    return _Doc(vector, math.sqrt(sum(v * v for v in vector.values())) or 1.0)


def _cosine(query: _Doc, doc: _Doc) -> float:
    return sum(count * doc.vector.get(tok, 0) for tok, count in query.vector.items()) / (query.norm * doc.norm)


def _product_text(sku: SkuInfo) -> str:
    extra = sku.model_extra or {}
    reviews = " ".join(c.commentContent for c in sku.skuCommentList)
    attributes = " ".join(f"{k} {v}" for k, v in sku.attributes.items())
    return " ".join((sku.skuName, str(extra.get("skuNameEn", "")), sku.brand, attributes, sku.intro,
                     str(extra.get("introEn", "")), reviews))


class Catalog:
    def __init__(self, products: list[SkuInfo], guides: list[KnowledgeHit]) -> None:
        self.products = {p.skuId: p for p in products}
        self._product_docs = {p.skuId: _doc(_product_text(p)) for p in products}
        self.guides = guides
        self._guide_docs = [_doc(g.text) for g in guides]

    @classmethod
    def from_sample_data(cls, folder: Path = SAMPLE_DATA) -> Catalog:
        products_file = folder / "products.jsonl"
        products = (
            [SkuInfo.model_validate_json(line) for line in products_file.read_text("utf-8").splitlines() if line]
            if products_file.exists()
            else []
        )
        guides = [hit for path in sorted((folder / "guides").glob("*.md")) for hit in _guide_chunks(path)]
        return cls(products, guides)

    def product(self, sku_id: str) -> SkuInfo | None:
        return self.products.get(sku_id)

    def recommend(self, call: FunctionCall, top_k: int) -> RecommendResponse:
        arguments = dict(call.arguments)
        wishes = " ".join(v for k, v in arguments.items() if k not in {"category", "brand", "price"})
        query = _doc(wishes)
        relaxed: list[str] = []
        candidates = self._filter(arguments)
        for name in RELAX_ORDER:
            if candidates or name not in arguments:
                continue
            arguments.pop(name)
            relaxed.append(name)
            candidates = self._filter(arguments)
        ranked = sorted(candidates, key=lambda p: -_cosine(query, self._product_docs[p.skuId]))
        return RecommendResponse(adList=[Ad(skuInfo=p) for p in ranked[:top_k]], relaxed=relaxed)

    def _filter(self, arguments: dict[str, str]) -> list[SkuInfo]:
        category = arguments.get("category")
        brand_text = arguments.get("brand", "").lower()
        low, high = price_range(arguments.get("price", ""))
        return [
            p
            for p in self.products.values()
            if (not category or p.category == category)
            and (not brand_text or (p.brand and p.brand.lower() in brand_text))
            and (low is None or (p.price or 0) >= low)
            and (high is None or (p.price or 0) <= high)
        ]

    def search_knowledge(self, query: str, top_k: int, category: str | None) -> list[KnowledgeHit]:
        q = _doc(query)
        scored = [
            (score, hit)
            for hit, doc in zip(self.guides, self._guide_docs, strict=True)
            if (not category or (hit.model_extra or {}).get("category") in (category, "general"))
            and (score := _cosine(q, doc)) > 0
        ]
        scored.sort(key=lambda item: -item[0])
        return [KnowledgeHit(text=hit.text, source=hit.source, score=round(score, 4)) for score, hit in scored[:top_k]]


def _guide_chunks(path: Path) -> list[KnowledgeHit]:
    """A guide split by its ``##`` sections, each chunk prefixed with the guide's title."""
    text = path.read_text("utf-8")
    meta: dict[str, str] = {}
    if text.startswith("---"):
        header, _, text = text[3:].partition("\n---")
        meta = dict(
            (k.strip(), v.split("#")[0].strip()) for k, _, v in (line.partition(":") for line in header.splitlines()) if v
        )
    title = meta.get("title", path.stem)
    sections = [s.strip() for s in re.split(r"\n(?=## )", text) if s.strip()]
    return [
        KnowledgeHit.model_validate(
            {"text": f"{title}\n{section}", "source": f"{path.name}#{i}", "category": meta.get("category", "general")}
        )
        for i, section in enumerate(sections)
    ]
