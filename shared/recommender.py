"""The recommender the router calls, behind one interface, and the wire shape every recommender shares.

``create_recommender(settings, http)`` gives the built-in catalog service (``POST {catalog}/v1/recommend``),
or, when ``recommender_url`` is set, an outside recommendation API with the same request and response
shape, bounded by ``recommender_timeout_s`` and falling back to the catalog when it fails.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod

import httpx
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.http import describe_failure
from shared.schemas import FunctionCall, SkuInfo
from shared.settings import Settings

log = logging.getLogger(__name__)

RECOMMENDER_CALLS = Counter("sg_recommender_calls_total", "Recommender calls by source and outcome", ["source", "outcome"])


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call: FunctionCall
    top_k: int = Field(5, ge=1, le=50)

    @field_validator("call")
    @classmethod
    def _has_something_to_go_on(cls, call: FunctionCall) -> FunctionCall:
        if not any(value.strip() for value in call.arguments.values()):
            raise ValueError("the call has no arguments: give a category, brand, price or a wish to recommend by")
        return call


class Ad(BaseModel):
    skuInfo: SkuInfo
    score: float | None = Field(None, description="Ranking score (the catalog: cosine on text plus praised reviews)")


class RecommendResponse(BaseModel):
    adList: list[Ad]
    relaxed: list[str] = Field(
        default_factory=list, description="Filters dropped, in order, because the full set matched nothing"
    )
    source: str = Field("", description="Which recommender answered (set by the adapter): catalog or external")


class RecommenderError(Exception):
    """A recommender failed, timed out or answered something that is not a recommendation."""


class Recommender(ABC):
    name: str

    @abstractmethod
    async def recommend(self, call: FunctionCall, top_k: int = 5) -> RecommendResponse: ...


class HttpRecommender(Recommender):
    """Any endpoint taking ``{"call", "top_k"}`` and answering ``{"adList": [{"skuInfo": ...}]}``."""

    def __init__(self, http: httpx.AsyncClient, url: str, timeout_s: float, name: str) -> None:
        self.http = http
        self.url = url
        self.timeout_s = timeout_s
        self.name = name

    async def recommend(self, call: FunctionCall, top_k: int = 5) -> RecommendResponse:
        # An error's message may reach a client: it names the recommender, the log has its address.
        try:
            body = RecommendRequest(call=call, top_k=top_k).model_dump()
            async with asyncio.timeout(self.timeout_s):  # one deadline for connect, send and read together
                response = await self.http.post(self.url, json=body, timeout=self.timeout_s)
            response.raise_for_status()
            result = RecommendResponse.model_validate_json(response.content)
        except TimeoutError as exc:
            RECOMMENDER_CALLS.labels(self.name, "timeout").inc()
            log.warning("%s recommender at %s: no answer in %ss", self.name, self.url, self.timeout_s)
            raise RecommenderError(f"{self.name} recommender: no answer in {self.timeout_s:g}s") from exc
        except (httpx.HTTPError, ValidationError) as exc:
            RECOMMENDER_CALLS.labels(self.name, "error").inc()
            log.warning("%s recommender at %s: %s %s", self.name, self.url, exc.__class__.__name__, exc)
            raise RecommenderError(f"{self.name} recommender: {_failure(exc)}") from exc
        RECOMMENDER_CALLS.labels(self.name, "ok").inc()
        return result.model_copy(update={"source": self.name})


def _failure(exc: httpx.HTTPError | ValidationError) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return describe_failure(exc)
    return "the answer is not a recommendation"


class FallbackRecommender(Recommender):
    """The outside recommender first; the built-in one when it fails or is too slow."""

    def __init__(self, primary: Recommender, fallback: Recommender) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name

    async def recommend(self, call: FunctionCall, top_k: int = 5) -> RecommendResponse:
        try:
            return await self.primary.recommend(call, top_k)
        except RecommenderError as exc:
            log.warning("falling back to the %s recommender: %s", self.fallback.name, exc)
            return await self.fallback.recommend(call, top_k)


def create_recommender(settings: Settings, http: httpx.AsyncClient) -> Recommender:
    catalog = HttpRecommender(http, f"{settings.services.catalog}/v1/recommend", settings.service_timeout_s, "catalog")
    if not settings.recommender_url:
        return catalog
    outside = HttpRecommender(http, settings.recommender_url, settings.recommender_timeout_s, "external")
    return FallbackRecommender(outside, catalog)
