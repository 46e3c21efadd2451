"""Agents around products and whole dialogs: comparison (seed 001's copilot), copy, customer-service summary."""

from __future__ import annotations

import asyncio
from statistics import mean
from typing import Any

from fastapi import HTTPException

from gateway.router.clients import ServiceError, Services
from gateway.router.schemas import (
    CompareRequest,
    CompareResponse,
    CompareRow,
    CopywritingAgentRequest,
    Highlight,
    Recommendation,
)
from shared.lexicon import best_review_sentence, format_number
from shared.products import localised_text, reviews_in, value_text
from shared.schemas import SkuInfo
from shared.sessions import Session, SessionStore
from shared.taxonomy import Taxonomy
from shared.taxonomy.index import TaxonomyIndex
from shared.text import is_chinese, tokens


def _language(requested: str | None, session: Session) -> bool:
    """True for Chinese: as asked, else the language of the user's last message."""
    if requested:
        return requested == "zh"
    last = next((m.content for m in reversed(session.history) if m.role == "user"), "")
    return is_chinese(last) if last else True


async def _session(sessions: SessionStore, session_id: str | None) -> Session:
    return await sessions.load(session_id) if session_id else Session(id="-")


class CompareAgent:
    def __init__(self, services: Services, sessions: SessionStore, taxonomy: Taxonomy) -> None:
        self.services = services
        self.sessions = sessions
        self.index = TaxonomyIndex(taxonomy)

    async def run(self, request: CompareRequest) -> CompareResponse:
        session = await _session(self.sessions, request.session_id)
        try:
            found = await asyncio.gather(*(self.services.product(sku) for sku in request.sku_ids))
        except ServiceError as exc:
            raise HTTPException(502, f"the catalog did not answer: {exc}") from exc
        missing = [sku for sku, product in zip(request.sku_ids, found, strict=True) if product is None]
        if missing:
            raise HTTPException(404, f"no product with skuId {', '.join(map(repr, missing))}")
        products = [p for p in found if p is not None]
        zh = _language(request.language, session)
        return CompareResponse(
            products=products,
            rows=self._rows(products, zh),
            highlights=[self._highlight(p, zh) for p in products],
            recommendation=self._recommend(products, session.preferences, zh),
        )

    def _rows(self, products: list[SkuInfo], zh: bool) -> list[CompareRow]:
        category = self.index.category_of(products[0])
        price = CompareRow(
            key="price",
            label="价格" if zh else "price",
            values=[f"¥{format_number(p.price)}" if p.price is not None else "-" for p in products],
        )
        keys = list(dict.fromkeys(k for p in products for k in p.attributes))
        rows = [
            CompareRow(
                key=key,
                label=self.index.label(category, key, zh),
                values=[self.index.localise(category, key, value_text(p.attributes.get(key)), zh) or "-"
                        for p in products],
            )
            for key in keys
        ]
        return [price, *rows]

    @staticmethod
    def _highlight(product: SkuInfo, zh: bool) -> Highlight:
        pick = best_review_sentence(reviews_in(product, zh) or product.skuCommentList)
        return Highlight(skuId=product.skuId, review=pick.sentence if pick else "")

    @staticmethod
    def _recommend(products: list[SkuInfo], preferences: dict[str, str], zh: bool) -> Recommendation:
        """The product matching most of what the user asked for; then the best rated; then the cheapest."""
        wishes = {k: set(tokens(v)) for k, v in preferences.items() if k not in {"category", "brand", "price"}}

        def matched(product: SkuInfo) -> list[str]:
            return [
                key for key, words in wishes.items()
                if words & set(tokens(f"{key} {value_text(product.attributes.get(key))}"))
            ]

        def rating(product: SkuInfo) -> float:
            scores = [c.score for c in product.skuCommentList if c.score is not None]
            return mean(scores) if scores else 0.0

        best = max(products, key=lambda p: (len(matched(p)), rating(p), -(p.price or 0)))
        name = localised_text(best, "skuName", zh)
        reasons: list[str] = []
        if hits := matched(best):
            reasons.append(f"最符合您对{'、'.join(hits)}的要求" if zh else f"it fits what you asked for in {', '.join(hits)}")
        if rating(best):
            reasons.append(f"用户评分{rating(best):.1f}" if zh else f"it is rated {rating(best):.1f}/5 by buyers")
        if best.price is not None and best.price == min(p.price or float("inf") for p in products):
            reasons.append("价格最低" if zh else "it is the cheapest")
        reason = ("推荐" + name + "：" + "，".join(reasons) + "。") if zh else (
            f"{name}: " + "; ".join(reasons) + "." if reasons else f"{name}."
        )
        return Recommendation(skuId=best.skuId, reason=reason)


class CopywritingAgent:
    """Copy for one product (by id or inline), tailored to what the user said in the session."""

    def __init__(self, services: Services, sessions: SessionStore) -> None:
        self.services = services
        self.sessions = sessions

    async def body(self, request: CopywritingAgentRequest) -> dict[str, Any]:
        session = await _session(self.sessions, request.session_id)
        product = request.product
        if request.sku_id is not None:
            try:
                product = await self.services.product(request.sku_id)
            except ServiceError as exc:
                raise HTTPException(502, f"the catalog did not answer: {exc}") from exc
            if product is None:
                raise HTTPException(404, f"no product with skuId {request.sku_id!r}")
        assert product is not None
        body: dict[str, Any] = {"product": product.model_dump()}
        if session.history:
            body["messages"] = [m.model_dump() for m in session.history]
        if request.language:
            body["language"] = request.language
        if request.max_length:
            body["max_length"] = request.max_length
        return body


class SummaryAgent:
    """The customer-service summary (seed 004) of a whole session."""

    def __init__(self, services: Services, sessions: SessionStore) -> None:
        self.services = services
        self.sessions = sessions

    async def run(self, session_id: str) -> dict[str, Any]:
        session = await self.sessions.load(session_id)
        if not session.history:
            raise HTTPException(404, f"session {session_id!r} has no dialog to summarise")
        try:
            return await self.services.summary(session.history)
        except ServiceError as exc:
            raise HTTPException(502, f"the summary service did not answer: {exc}") from exc
