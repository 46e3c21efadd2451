"""Agent router (:8001, tier 2): picks the agent for the operation and runs its sub-task tree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Request
from starlette.responses import Response

from gateway.router.agents import ShoppingTurn, TurnFailed
from gateway.router.clients import ServiceError, Services
from gateway.router.product_agents import CompareAgent, CopywritingAgent, SummaryAgent
from gateway.router.schemas import (
    ChatRequest,
    ChatResponse,
    CompareRequest,
    CompareResponse,
    CopywritingAgentRequest,
    SummaryAgentRequest,
)
from gateway.router.sessions import Session, SessionStore, tenant_var
from shared.deps import cache_resources, http_resources, merge_states
from shared.recommender import create_recommender
from shared.service import create_app as create_service_app
from shared.settings import Settings
from shared.sse import EventStreamResponse
from shared.taxonomy import load_taxonomy


async def bind_tenant(x_sg_tenant: Annotated[str | None, Header(max_length=64)] = None) -> None:
    """Sessions are kept per tenant; direct callers (no gateway in front) share the tenant "-"."""
    if x_sg_tenant:
        tenant_var.set(x_sg_tenant)


router = APIRouter(prefix="/v1", tags=["agents"], dependencies=[Depends(bind_tenant)])
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _state(name: str) -> Any:
    def dependency(request: Request) -> Any:
        return getattr(request.state, name)

    return Depends(dependency)


@router.post(
    "/chat",
    response_model=ChatResponse,
    summary="One dialog turn of the shopping guide",
    description="With `stream: true`, a text/event-stream of stage events (see shared/events.py).",
)
async def chat(body: ChatRequest, agent: Annotated[ShoppingTurn, _state("shopping_turn")]) -> Response | ChatResponse:
    if body.stream:
        return EventStreamResponse(agent.events(body.session_id, body.message))
    try:
        return await agent.run(body.session_id, body.message)
    except TurnFailed as exc:
        raise HTTPException(502, f"the reply broke off: {exc}") from exc


@router.get("/sessions/{session_id}", response_model=Session, summary="A session's history and needs profile")
async def session(session_id: SessionId, sessions: Annotated[SessionStore, _state("sessions")]) -> Session:
    found = await sessions.get(session_id)
    if found is None:
        raise HTTPException(404, f"no session {session_id!r} (expired or never created)")
    return found


@router.post("/compare", response_model=CompareResponse, summary="Two to five products side by side")
async def compare(body: CompareRequest, agent: Annotated[CompareAgent, _state("compare")]) -> CompareResponse:
    return await agent.run(body)


@router.post("/agents/copywriting", summary="Copy for a product, tailored to the session's dialog")
async def copywriting(
    body: CopywritingAgentRequest,
    agent: Annotated[CopywritingAgent, _state("copywriting")],
    services: Annotated[Services, _state("services")],
) -> Any:
    request = await agent.body(body)
    try:
        return await services.copywriting(request)
    except ServiceError as exc:
        raise HTTPException(502, f"the copywriting service did not answer: {exc}") from exc


@router.post("/agents/summary", summary="Customer-service summary of a session")
async def summary(body: SummaryAgentRequest, agent: Annotated[SummaryAgent, _state("summary")]) -> Any:
    return await agent.run(body.session_id)


async def _answers(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(f"{url}/healthz", timeout=1.0)).status_code == 200
    except httpx.HTTPError:
        return False


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    async with http_resources(settings) as http_state, cache_resources(settings) as cache_state:
        http: httpx.AsyncClient = http_state["http"]
        urls = settings.services
        services = Services(http, urls, create_recommender(settings, http))
        sessions = SessionStore(cache_state["cache"])
        taxonomy = load_taxonomy()
        readiness = {
            name: (lambda url=url: _answers(http, url))
            for name, url in {"intent": urls.intent, "extraction": urls.extraction, "dialog": urls.dialog,
                              "catalog": urls.catalog}.items()
        }
        yield merge_states(
            http_state,
            cache_state,
            {
                "services": services,
                "sessions": sessions,
                "shopping_turn": ShoppingTurn(
                    services,
                    sessions,
                    taxonomy,
                    settings.dialog_history_turns,
                    knowledge_min_score=settings.knowledge_min_score,
                    sequential=not settings.shopping_turn_concurrent,
                ),
                "compare": CompareAgent(services, sessions, taxonomy),
                "copywriting": CopywritingAgent(services, sessions),
                "summary": SummaryAgent(services, sessions),
                "readiness": readiness,
            },
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("router", routers=[router], settings=settings, resources=resources)
