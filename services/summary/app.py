"""Summary service (:8105): the customer-service dialog as 用户问题 / 客服方案 / 是否接受 / 是否负面情绪."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request

from services.summary.engine import LocalSummariser, Summariser
from services.summary.schemas import SummaryRequest, SummaryResponse
from shared.deps import LanguageState, llm_client
from shared.live_prompts import live_prompts, prompts_router
from shared.service import app_state
from shared.service import create_app as create_service_app
from shared.settings import Settings

router = APIRouter(prefix="/v1", tags=["summary"])


@dataclass(frozen=True, kw_only=True)
class SummaryState(LanguageState):
    summariser: Summariser


def get_summariser(request: Request) -> Summariser:
    return app_state(request, SummaryState).summariser


SummariserDep = Annotated[Summariser, Depends(get_summariser)]


@router.post("/summary", response_model=SummaryResponse, summary="Summarise a customer-service dialog")
async def summary(body: SummaryRequest, summariser: SummariserDep) -> SummaryResponse:
    return await summariser.summarise(body)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[SummaryState]:
    async with llm_client(settings) as llm, live_prompts(settings, "services.summary") as prompts:
        summariser = Summariser(llm, LocalSummariser(), prompts.book("summary"))
        yield SummaryState(settings=settings, llm=llm, prompts=prompts, summariser=summariser)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("summary", routers=[router, prompts_router], settings=settings, resources=resources)
