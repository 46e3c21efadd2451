"""Intent service (:8101): purchase intent and scene of the last user turn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request

from services.intent.engine import IntentRecogniser, LocalIntentEngine
from services.intent.schemas import IntentRequest, IntentResponse
from shared.deps import LanguageState, llm_client
from shared.engines.artefacts import load_intent, models_dir
from shared.live_prompts import live_prompts, prompts_router
from shared.service import app_state
from shared.service import create_app as create_service_app
from shared.settings import Settings

router = APIRouter(prefix="/v1", tags=["intent"])


@dataclass(frozen=True, kw_only=True)
class IntentState(LanguageState):
    recogniser: IntentRecogniser


def get_recogniser(request: Request) -> IntentRecogniser:
    return app_state(request, IntentState).recogniser


RecogniserDep = Annotated[IntentRecogniser, Depends(get_recogniser)]


@router.post("/intent", response_model=IntentResponse, summary="Classify the last user turn")
async def intent(body: IntentRequest, recogniser: RecogniserDep) -> IntentResponse:
    return await recogniser.recognise(body.messages, body.engine)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[IntentState]:
    # Loading the model takes seconds: off the event loop. Without ``make models`` first, start-up fails here.
    model = await asyncio.to_thread(load_intent, models_dir(settings))
    async with llm_client(settings) as llm, live_prompts(settings, "services.intent") as prompts:
        recogniser = IntentRecogniser(llm, LocalIntentEngine(model), settings.cascade_threshold, prompts.book("intent"))
        yield IntentState(settings=settings, llm=llm, prompts=prompts, recogniser=recogniser)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("intent", routers=[router, prompts_router], settings=settings, resources=resources)
