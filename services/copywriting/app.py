"""Copywriting service (:8104): short persuasive product copy from attributes, intro and reviews."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

from services.copywriting.engine import Copywriter, LocalCopywriter
from services.copywriting.schemas import CopyRequest, CopyResponse
from shared.deps import LanguageState, llm_client
from shared.http import create_http_client
from shared.live_prompts import live_prompts, prompts_router
from shared.service import app_state
from shared.service import create_app as create_service_app
from shared.settings import Settings
from shared.sse import EventStreamResponse
from shared.vocabulary import OpenCatalog, Vocabulary, VocabularyFeed, sample_vocabulary

router = APIRouter(prefix="/v1", tags=["copywriting"])

_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with stream=true a text/event-stream of token events, then done or error",
        "content": {"text/event-stream": {}},
    }
}


@dataclass(frozen=True, kw_only=True)
class CopywritingState(LanguageState):
    copywriter: Copywriter


def get_copywriter(request: Request) -> Copywriter:
    return app_state(request, CopywritingState).copywriter


CopywriterDep = Annotated[Copywriter, Depends(get_copywriter)]


@router.post("/copywriting", response_model=CopyResponse, responses=_STREAM_DOC, summary="Recommendation copy")
async def copywriting(body: CopyRequest, writer: CopywriterDep) -> Response | CopyResponse:
    if body.stream:
        return EventStreamResponse(writer.stream(body))
    return await writer.write(body)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[CopywritingState]:
    async with (
        llm_client(settings) as llm,
        create_http_client(settings, "copywriting") as http,
        live_prompts(settings, "services.copywriting") as prompts,
    ):
        initial = sample_vocabulary()
        writer = Copywriter(llm, LocalCopywriter(OpenCatalog.of(initial).index), prompts.book("copywriting"))

        async def adopt(vocabulary: Vocabulary) -> None:
            # A product of the catalog's own kinds is named and labelled as the catalog names it.
            writer.local = LocalCopywriter(OpenCatalog.of(vocabulary).index)

        async with VocabularyFeed(http, settings.services.catalog, settings.vocabulary_refresh_s, adopt, initial).running():
            yield CopywritingState(settings=settings, llm=llm, prompts=prompts, copywriter=writer)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("copywriting", routers=[router, prompts_router], settings=settings, resources=resources)
