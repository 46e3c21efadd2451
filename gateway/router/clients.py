"""Typed calls from the router to the services, over real HTTP."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from shared.deadline import timed_out
from shared.http import describe_failure
from shared.recommender import Recommender, RecommenderError
from shared.schemas import FunctionCall, KnowledgeHit, Message, SkuInfo
from shared.settings import ServiceUrls
from shared.sse import WireEvent, read_events

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A service did not answer usefully; the agent degrades that stage. The message names the service and
    what went wrong, never where it answers: it may reach the client (the log has the address).
    ``status`` is the service's own HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _refusal(service: str, response: httpx.Response) -> ServiceError:
    """The service's error, with its own message (this platform's services never name addresses)."""
    try:
        message = str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        message = ""
    return ServiceError(
        f"{service} answered HTTP {response.status_code}" + (f": {message}" if message else ""), response.status_code
    )


class Services:
    def __init__(self, http: httpx.AsyncClient, urls: ServiceUrls, recommender: Recommender) -> None:
        self.http = http
        self.urls = urls
        self.recommender = recommender

    async def _send(
        self,
        service: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        expected: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        url = f"{getattr(self.urls, service)}{path}"
        try:
            response = await self.http.request(method, url, json=body)
        except httpx.HTTPError as exc:
            log.warning("%s %s failed: %s %s", method, url, exc.__class__.__name__, exc)
            timed_out("router", exc)
            raise ServiceError(f"{service} unavailable: {describe_failure(exc)}") from exc
        if response.status_code not in expected:
            log.warning("%s %s answered HTTP %s: %s", method, url, response.status_code, response.text[:300])
            raise _refusal(service, response)
        return response

    async def _post(self, service: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._send(service, "POST", path, body)
        try:
            data = response.json()
        except ValueError as exc:
            raise ServiceError(f"{service} answered something that is not JSON") from exc
        if not isinstance(data, dict):
            raise ServiceError(f"{service} answered JSON that is not an object")
        return data

    @staticmethod
    def _messages(messages: list[Message]) -> list[dict[str, str]]:
        return [m.model_dump() for m in messages]

    async def intent(self, messages: list[Message]) -> dict[str, Any]:
        return await self._post("intent", "/v1/intent", {"messages": self._messages(messages)})

    async def extract(self, messages: list[Message]) -> dict[str, Any]:
        return await self._post("extraction", "/v1/extract", {"messages": self._messages(messages)})

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
        data = await self._post("catalog", "/v1/knowledge/search", body)
        return [KnowledgeHit.model_validate(hit) for hit in data["hits"]]

    async def product(self, sku_id: str) -> SkuInfo | None:
        # Escaped although the request schemas allow only id characters: an id never becomes a path or query.
        response = await self._send("catalog", "GET", f"/v1/products/{quote(sku_id, safe='')}", expected=(200, 404))
        return SkuInfo.model_validate(response.json()) if response.status_code == 200 else None

    async def copywriting(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._post("copywriting", "/v1/copywriting", body)

    async def summary(self, messages: list[Message]) -> dict[str, Any]:
        return await self._post("summary", "/v1/summary", {"messages": self._messages(messages)})

    async def stream(self, service: str, path: str, body: dict[str, Any]) -> AsyncIterator[WireEvent]:
        """A service's event stream; closing this iterator closes the connection, which stops the service."""
        url = f"{getattr(self.urls, service)}{path}"
        try:
            async with self.http.stream("POST", url, json={**body, "stream": True}) as response:
                if response.status_code != 200:
                    await response.aread()
                    log.warning("POST %s answered HTTP %s: %s", url, response.status_code, response.text[:300])
                    raise _refusal(service, response)
                async for event in read_events(response.aiter_lines()):
                    yield event
        except httpx.HTTPError as exc:
            log.warning("POST %s failed: %s %s", url, exc.__class__.__name__, exc)
            timed_out("router", exc)
            raise ServiceError(f"{service} unavailable: {describe_failure(exc)}") from exc
