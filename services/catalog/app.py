"""Catalog service (:8106): the built-in recommendation API and knowledge search, on the knowledge base.

At start it opens the KV cache and the vector store, checking that the store was built with the configured
embedder; then, in the background, it loads the embedding model and ingests the sample data when the store is
empty (``SG_CATALOG_SEED_SAMPLE``), which is what makes a first ``make run`` work with no extra step. The embedded store (Qdrant Edge under
``SG_DATA_DIR/qdrant``) is opened by one process at a time; replicas share a Qdrant server (``SG_QDRANT_URL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi import Path as PathParam

from services.catalog.engine import Catalog
from services.catalog.ingest import seed_if_empty
from services.catalog.knowledge import KnowledgeBase, StoreLocked, open_knowledge_base
from services.catalog.schemas import (
    KnowledgeRequest,
    KnowledgeResponse,
    RecommendRequest,
    RecommendResponse,
)
from shared.cache import Cache
from shared.deps import CachedState, cache_client
from shared.engines.constraints import Currencies
from shared.schemas import SKU_ID_PATTERN, SkuInfo
from shared.service import ReadinessCheck, app_state, error_responses
from shared.service import create_app as create_service_app
from shared.settings import Settings
from shared.vocabulary import Vocabulary

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["catalog"])


@dataclass(frozen=True, kw_only=True)
class CatalogState(CachedState):
    catalog: Catalog

    def readiness(self) -> dict[str, ReadinessCheck]:
        return {"catalog": self.catalog.ready}


def get_catalog(request: Request) -> Catalog:
    return app_state(request, CatalogState).catalog


CatalogDep = Annotated[Catalog, Depends(get_catalog)]


@router.post("/recommend", response_model=RecommendResponse, summary="Products for a get_recommds_by_sku call")
async def recommend(body: RecommendRequest, catalog: CatalogDep) -> RecommendResponse:
    return await catalog.recommend(body.call, body.top_k)


@router.get(
    "/catalog/vocabulary",
    response_model=Vocabulary,
    summary="What the ingested catalog carries: categories, attribute keys and values, brands with aliases",
)
async def vocabulary(catalog: CatalogDep) -> Vocabulary:
    return await catalog.vocabulary()


@router.post("/knowledge/search", response_model=KnowledgeResponse, summary="Buying guides and FAQs")
async def knowledge_search(body: KnowledgeRequest, catalog: CatalogDep) -> KnowledgeResponse:
    return KnowledgeResponse(hits=await catalog.search_knowledge(body.query, body.top_k, body.category))


@router.get("/products/{sku_id}", response_model=SkuInfo, responses=error_responses(404), summary="One product")
async def product(sku_id: Annotated[str, PathParam(pattern=SKU_ID_PATTERN)], catalog: CatalogDep) -> SkuInfo:
    found = await catalog.product(sku_id)
    if found is None:
        raise HTTPException(404, f"no product with skuId {sku_id!r}")
    return found


async def _open_knowledge_base(settings: Settings, cache: Cache, stack: AsyncExitStack) -> KnowledgeBase:
    """The configured store. When another process holds the embedded one (``make run`` beside a test suite),
    a private temporary store with the sample data instead, loudly, as the cache falls back to memory."""
    try:
        return await stack.enter_async_context(open_knowledge_base(settings, cache))
    except StoreLocked as exc:
        if not settings.catalog_seed_sample:
            raise
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="sg-catalog-"))
        log.warning("%s Using a private store with the sample data in %s: not shared, gone at exit.", exc, folder)
        private = settings.model_copy(update={"qdrant_path": Path(folder)})
        return await stack.enter_async_context(open_knowledge_base(private, cache))


async def _prepare(kb: KnowledgeBase, settings: Settings) -> None:
    try:
        await kb.embedder.warm()
        if settings.catalog_seed_sample:
            await seed_if_empty(kb, settings)
    except Exception:
        log.exception("the catalog could not prepare its knowledge base; it will answer 500 until restarted")
        raise


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[CatalogState]:
    async with cache_client(settings) as cache, AsyncExitStack() as stack:
        kb = await _open_knowledge_base(settings, cache, stack)
        # The store is open and checked against the embedder (a mismatch stops the start); loading the model
        # and seeding take seconds, so they run after start-up: /readyz says when they are done, and calls
        # that come earlier wait for them.
        preparing = asyncio.create_task(_prepare(kb, settings), name="catalog-prepare")
        catalog = Catalog(kb, Currencies.of(settings), preparing)
        try:
            yield CatalogState(settings=settings, cache=cache, catalog=catalog)
        finally:
            preparing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await preparing


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("catalog", routers=[router], settings=settings, resources=resources)
