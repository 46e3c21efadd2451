"""Dialog service (:8103): the shopping guide's reply, grounded in the recommended products."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

from services.dialog.engine import DialogGuide, LocalDialogEngine
from services.dialog.schemas import DialogRequest, DialogResponse
from shared.deps import LanguageState, llm_client
from shared.engines.constraints import Currencies
from shared.live_prompts import live_prompts, prompts_router
from shared.service import app_state
from shared.service import create_app as create_service_app
from shared.settings import Settings, Task
from shared.sse import EventStreamResponse
from shared.taxonomy import load_taxonomy
from shared.taxonomy.index import TaxonomyIndex

router = APIRouter(prefix="/v1", tags=["dialog"])

_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with stream=true a text/event-stream of token events, then done or error",
        "content": {"text/event-stream": {}},
    }
}


@dataclass(frozen=True, kw_only=True)
class DialogState(LanguageState):
    guide: DialogGuide


def get_guide(request: Request) -> DialogGuide:
    return app_state(request, DialogState).guide


GuideDep = Annotated[DialogGuide, Depends(get_guide)]


@router.post("/dialog", response_model=DialogResponse, responses=_STREAM_DOC, summary="The guide's next reply")
async def dialog(body: DialogRequest, guide: GuideDep) -> Response | DialogResponse:
    if body.stream:
        return EventStreamResponse(guide.stream(body))
    return await guide.answer(body)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[DialogState]:
    async with llm_client(settings) as llm, live_prompts(settings, "services.dialog") as prompts:
        index = TaxonomyIndex(load_taxonomy())
        local = LocalDialogEngine(index, settings.dialog_history_turns, Currencies.of(settings))
        guide = DialogGuide(
            llm,
            local,
            settings.dialog_max_prompt_tokens,
            settings.dialog_max_reply_chars,
            llm.tokens(Task.DIALOG),
            prompts.book("dialog"),
        )
        yield DialogState(settings=settings, llm=llm, prompts=prompts, guide=guide)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("dialog", routers=[router, prompts_router], settings=settings, resources=resources)
