"""Typed calls from the router to the services, over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx

from shared.recommender import Recommender, RecommenderError
from shared.schemas import FunctionCall, KnowledgeHit, Message, SkuInfo
from shared.settings import ServiceUrls
from shared.sse import WireEvent, read_events

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A service did not answer usefully; the agent degrades that stage."""


class Services:
    def __init__(self, http: httpx.AsyncClient, urls: ServiceUrls, recommender: Recommender) -> None:
        self.http = http
        self.urls = urls
        self.recommender = recommender

    async def _send(
        self, method: str, url: str, body: dict[str, Any] | None = None, expected: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        try:
            response = await self.http.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise ServiceError(f"{url}: {exc.__class__.__name__} {exc}") from exc
        if response.status_code not in expected:
            raise ServiceError(f"{url}: HTTP {response.status_code} {response.text[:300]}")
        return response

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = (await self._send("POST", url, body)).json()  # the services answer JSON objects
        return answer

    @staticmethod
    def _messages(messages: list[Message]) -> list[dict[str, str]]:
        return [m.model_dump() for m in messages]

    async def intent(self, messages: list[Message]) -> dict[str, Any]:
        return await self._post(f"{self.urls.intent}/v1/intent", {"messages": self._messages(messages)})

    async def extract(self, messages: list[Message]) -> dict[str, Any]:
        return await self._post(f"{self.urls.extraction}/v1/extract", {"messages": self._messages(messages)})

    async def recommend(self, call: FunctionCall, top_k: int = 5) -> tuple[list[SkuInfo], list[str]]:
        """Through the recommender adapter: an outside recommendation API when configured, else the catalog."""
        try:
            result = await self.recommender.recommend(call, top_k)
        except RecommenderError as exc:
            raise ServiceError(str(exc)) from exc
        return [ad.skuInfo for ad in result.adList], result.relaxed

    async def knowledge(self, query: str, category: str | None, top_k: int = 3) -> list[KnowledgeHit]:
        body: dict[str, Any] = {"query": query, "top_k": top_k}
        if category:
            body["category"] = category
        data = await self._post(f"{self.urls.catalog}/v1/knowledge/search", body)
        return [KnowledgeHit.model_validate(hit) for hit in data["hits"]]

    async def product(self, sku_id: str) -> SkuInfo | None:
        response = await self._send("GET", f"{self.urls.catalog}/v1/products/{sku_id}", expected=(200, 404))
        return SkuInfo.model_validate(response.json()) if response.status_code == 200 else None

    async def copywriting(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post(f"{self.urls.copywriting}/v1/copywriting", body)

    async def summary(self, messages: list[Message]) -> dict[str, Any]:
        return await self._post(f"{self.urls.summary}/v1/summary", {"messages": self._messages(messages)})

    async def stream(self, service: str, path: str, body: dict[str, Any]) -> AsyncIterator[WireEvent]:
        """A service's event stream; closing this iterator closes the connection, which stops the service."""
        url = f"{getattr(self.urls, service)}{path}"
        try:
            async with self.http.stream("POST", url, json={**body, "stream": True}) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise ServiceError(f"{url}: HTTP {response.status_code} {response.text[:300]}")
                async for event in read_events(response.aiter_lines()):
                    yield event
        except httpx.HTTPError as exc:
            raise ServiceError(f"{url}: {exc.__class__.__name__} {exc}") from exc
