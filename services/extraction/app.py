"""Extraction service (:8102): the dialog as a ``get_recommds_by_sku`` call.

It reads dialogs with the vocabulary of the catalog that was ingested (``shared.vocabulary``): fetched from the
catalog at start and refreshed when its content version moves, so the lexicons and category prototypes are built
once per catalog version, never per request (the call still takes a few milliseconds).
"""

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
from shared.http import create_http_client
from shared.live_prompts import live_prompts, prompts_router
from shared.service import app_state
from shared.service import create_app as create_service_app
from shared.settings import Settings
from shared.vocabulary import Vocabulary, VocabularyFeed

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
    local = LocalExtractor(intent, model)

    async def adopt(vocabulary: Vocabulary) -> None:
        # Built off the loop (new categories' prototypes are a few encodings), then swapped in whole: a request
        # reads with the old vocabulary or the new one, never half of each.
        local.model = await asyncio.to_thread(model.for_vocabulary, vocabulary)
        local.intent = await asyncio.to_thread(intent.for_vocabulary, vocabulary)

    async with (
        llm_client(settings) as llm,
        create_http_client(settings, "extraction") as http,
        live_prompts(settings, "services.extraction") as prompts,
    ):
        feed = VocabularyFeed(http, settings.services.catalog, settings.vocabulary_refresh_s, adopt, model.vocabulary)
        async with feed.running():
            extractor = Extractor(llm, local, prompts.book("extraction"))
            yield ExtractionState(settings=settings, llm=llm, prompts=prompts, extractor=extractor)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("extraction", routers=[router, prompts_router], settings=settings, resources=resources)
