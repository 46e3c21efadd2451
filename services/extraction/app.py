"""Extraction service (:8102): the dialog as a ``get_recommds_by_sku`` call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request

from services.extraction.engine import Extractor, LocalExtractor
from services.extraction.schemas import ExtractRequest, ExtractResponse
from shared.deps import LanguageState, llm_client
from shared.engines.artefacts import load_extraction, load_intent, models_dir
from shared.live_prompts import live_prompts, prompts_router
from shared.service import app_state
from shared.service import create_app as create_service_app
from shared.settings import Settings

router = APIRouter(prefix="/v1", tags=["extraction"])


@dataclass(frozen=True, kw_only=True)
class ExtractionState(LanguageState):
    extractor: Extractor


def get_extractor(request: Request) -> Extractor:
    return app_state(request, ExtractionState).extractor


ExtractorDep = Annotated[Extractor, Depends(get_extractor)]


@router.post("/extract", response_model=ExtractResponse, summary="Extract the recommendation-API call")
async def extract(body: ExtractRequest, extractor: ExtractorDep) -> ExtractResponse:
    return await extractor.extract(body.messages, body.engine)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[ExtractionState]:
    # The intent model gates the call (no call for chit-chat or browsing); both load off the event loop.
    directory = models_dir(settings)
    intent = await asyncio.to_thread(load_intent, directory)
    model = await asyncio.to_thread(load_extraction, directory)
    async with llm_client(settings) as llm, live_prompts(settings, "services.extraction") as prompts:
        extractor = Extractor(llm, LocalExtractor(intent, model), prompts.book("extraction"))
        yield ExtractionState(settings=settings, llm=llm, prompts=prompts, extractor=extractor)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("extraction", routers=[router, prompts_router], settings=settings, resources=resources)
