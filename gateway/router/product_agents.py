"""Agents around products and whole dialogs: comparison, copy, customer-service summary.

They fetch what they need (products from the catalog, the session) and call the services; the comparison's
wording is ``shared.engines.compare``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import HTTPException

from gateway.router.clients import ServiceError, Services
from gateway.router.schemas import CompareRequest, CompareResponse, CopywritingAgentRequest
from shared.cache import CacheError
from shared.engines import compare
from shared.sessions import Session, SessionStore
from shared.text import is_chinese
from shared.vocabulary import OpenCatalog


def _language(requested: str | None, session: Session) -> bool:
    """True for Chinese: as asked, else the language of the user's last message."""
    if requested:
        return requested == "zh"
    last = next((m.content for m in reversed(session.history) if m.role == "user"), "")
    return is_chinese(last) if last else True


async def _session(sessions: SessionStore, session_id: str | None) -> Session:
    return await sessions.load(session_id) if session_id else Session(id="-")


async def stored_session(sessions: SessionStore, session_id: str) -> Session | None:
    """The stored session, for a request that is about the session itself: with the store down it cannot be
    answered (503), which is not the same as a session that does not exist."""
    try:
        return await sessions.get(session_id)
    except CacheError as exc:
        raise HTTPException(503, "sessions cannot be read now (the session store does not answer); try again") from exc


class CompareAgent:
    """Two to five products side by side, worded in the user's language and against their needs profile."""

    def __init__(self, services: Services, sessions: SessionStore, catalog: OpenCatalog) -> None:
        self.services = services
        self.sessions = sessions
        self.catalog = catalog  # the catalog's vocabulary: replaced when it changes

    async def run(self, request: CompareRequest) -> CompareResponse:
        session = await _session(self.sessions, request.session_id)
        try:
            found = await asyncio.gather(*(self.services.product(sku) for sku in request.sku_ids))
        except ServiceError as exc:
            raise HTTPException(502, str(exc)) from exc
        missing = [sku for sku, product in zip(request.sku_ids, found, strict=True) if product is None]
        if missing:
            raise HTTPException(404, f"no product with skuId {', '.join(map(repr, missing))}")
        products = [p for p in found if p is not None]
        zh = _language(request.language, session)
        index = self.catalog.index
        return CompareResponse(
            products=products,
            rows=compare.rows(index, products, zh),
            highlights=[compare.highlight(p, zh) for p in products],
            recommendation=compare.recommend(index, products, session.preferences, zh),
        )


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
                raise HTTPException(502, str(exc)) from exc
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
    """The customer-service summary (the four keys) of a whole session."""

    def __init__(self, services: Services, sessions: SessionStore) -> None:
        self.services = services
        self.sessions = sessions

    async def run(self, session_id: str) -> dict[str, Any]:
        session = await stored_session(self.sessions, session_id)
        if session is None or not session.history:
            raise HTTPException(404, f"session {session_id!r} has no dialog to summarise")
        try:
            return await self.services.summary(session.history)
        except ServiceError as exc:
            raise HTTPException(502, str(exc)) from exc
