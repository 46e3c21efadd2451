"""Catalog service (:8106): the reference recommendation API and knowledge search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request

from shared.schemas import SkuInfo
from shared.service import create_app as create_service_app
from shared.settings import Settings

from services.catalog.engine import Catalog
from services.catalog.schemas import KnowledgeRequest, KnowledgeResponse, RecommendRequest, RecommendResponse

router = APIRouter(prefix="/v1", tags=["catalog"])


def get_catalog(request: Request) -> Catalog:
    return request.state.catalog


CatalogDep = Annotated[Catalog, Depends(get_catalog)]


@router.post("/recommend", response_model=RecommendResponse, summary="Products for a get_recommds_by_sku call")
async def recommend(body: RecommendRequest, catalog: CatalogDep) -> RecommendResponse:
    return catalog.recommend(body.call, body.top_k)


@router.post("/knowledge/search", response_model=KnowledgeResponse, summary="Buying guides and FAQs")
async def knowledge_search(body: KnowledgeRequest, catalog: CatalogDep) -> KnowledgeResponse:
    return KnowledgeResponse(hits=catalog.search_knowledge(body.query, body.top_k, body.category))


@router.get("/products/{sku_id}", response_model=SkuInfo, summary="One product")
async def product(sku_id: Annotated[str, Path(max_length=128)], catalog: CatalogDep) -> SkuInfo:
    found = catalog.product(sku_id)
    if found is None:
        raise HTTPException(404, f"no product with skuId {sku_id!r}")
    return found


@asynccontextmanager
async def resources(_: Settings) -> AsyncIterator[dict[str, Any]]:
    catalog = Catalog.from_sample_data()

    async def has_products() -> bool:
        return bool(catalog.products)

    yield {"catalog": catalog, "readiness": {"catalog": has_products}}


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("catalog", routers=[router], settings=settings, resources=resources)
