"""Agent router (:8001, tier 2): picks the agent for the operation and runs its sub-task tree."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Request
from starlette.responses import Response

from gateway.router.agents import ShoppingTurn, TurnFailed, TurnUnanswered
from gateway.router.clients import ServiceError, Services
from gateway.router.product_agents import CompareAgent, CopywritingAgent, SummaryAgent, stored_session
from gateway.router.schemas import (
    ChatRequest,
    ChatResponse,
    CompareRequest,
    CompareResponse,
    CopywritingAgentRequest,
    SummaryAgentRequest,
)
from shared.deps import CachedState, cache_client
from shared.http import create_http_client
from shared.recommender import create_recommender
from shared.schemas import SESSION_ID_PATTERN
from shared.service import ReadinessCheck, app_state, error_responses
from shared.service import create_app as create_service_app
from shared.sessions import Session, SessionStore, tenant_var
from shared.settings import Settings
from shared.sse import EventStreamResponse
from shared.vocabulary import OpenCatalog, Vocabulary, VocabularyFeed, sample_vocabulary


async def bind_tenant(x_sg_tenant: Annotated[str | None, Header(max_length=64)] = None) -> None:
    """Sessions are kept per tenant; direct callers (no gateway in front) share the tenant "-"."""
    if x_sg_tenant:
        tenant_var.set(x_sg_tenant)


async def _answers(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(f"{url}/healthz", timeout=1.0)).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass(frozen=True, kw_only=True)
class RouterState(CachedState):
    """The router's clients, sessions and agents. A turn rides out any of its services being down (the
    stage degrades), so a service that does not answer degrades the router; it never takes it out of service,
    which would take every router replica out at once over one service."""

    http: httpx.AsyncClient
    services: Services
    sessions: SessionStore
    shopping_turn: ShoppingTurn
    compare: CompareAgent
    copywriting: CopywritingAgent
    summary: SummaryAgent

    def degradable(self) -> dict[str, ReadinessCheck]:
        urls = self.settings.services
        upstreams = {
            "intent": urls.intent, "extraction": urls.extraction, "dialog": urls.dialog, "catalog": urls.catalog
        }
        answers = {name: functools.partial(_answers, self.http, url) for name, url in upstreams.items()}
        return {**super().degradable(), **answers}


def get_state(request: Request) -> RouterState:
    return app_state(request, RouterState)


RouterStateDep = Annotated[RouterState, Depends(get_state)]
router = APIRouter(prefix="/v1", tags=["agents"], dependencies=[Depends(bind_tenant)])
SessionIdPath = Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
_STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or with stream=true a text/event-stream of stage events, then done or error",
        "content": {"text/event-stream": {}},
    }
}


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={**_STREAM_DOC, **error_responses(502, 503)},
    summary="One dialog turn of the shopping guide",
    description="With `stream: true`, a text/event-stream of stage events (see shared/events.py). A service "
    "that does not answer costs its stage (see `engines`); 502 only when the reply breaks off mid-way; 503 when "
    "the dialog service cannot answer and `apology` is false.",
)
async def chat(body: ChatRequest, state: RouterStateDep) -> Response | ChatResponse:
    agent = state.shopping_turn
    ask: dict[str, Any] = {
        "history": body.history,
        "generation": body.generation,
        "instructions": body.instructions,
        "apology": body.apology,
    }
    if body.stream:
        return EventStreamResponse(agent.events(body.session_id, body.message, **ask))
    try:
        return await agent.run(body.session_id, body.message, **ask)
    except TurnUnanswered as exc:
        raise HTTPException(503, str(exc)) from exc
    except TurnFailed as exc:
        raise HTTPException(502, f"the reply broke off: {exc}") from exc


@router.get(
    "/sessions/{session_id}",
    response_model=Session,
    responses=error_responses(404, 503),
    summary="A session's history and needs profile",
)
async def session(session_id: SessionIdPath, state: RouterStateDep) -> Session:
    found = await stored_session(state.sessions, session_id)
    if found is None:
        raise HTTPException(404, f"no session {session_id!r} (expired or never created)")
    return found


@router.post(
    "/compare",
    response_model=CompareResponse,
    responses=error_responses(404, 502),
    summary="Two to five products side by side",
)
async def compare(body: CompareRequest, state: RouterStateDep) -> CompareResponse:
    return await state.compare.run(body)


@router.post(
    "/agents/copywriting",
    responses=error_responses(404, 502),
    summary="Copy for a product, tailored to the session's dialog",
    description="422 also when the copywriting service refuses the product (a blank name, an overlong intro).",
)
async def copywriting(body: CopywritingAgentRequest, state: RouterStateDep) -> Any:
    request = await state.copywriting.body(body)
    try:
        return await state.services.copywriting(request)
    except ServiceError as exc:
        # The copy service refusing the product (a blank name, an overlong intro) is the client's to fix.
        raise HTTPException(422 if exc.status == 422 else 502, str(exc)) from exc


@router.post(
    "/agents/summary", responses=error_responses(404, 502, 503), summary="Customer-service summary of a session"
)
async def summary(body: SummaryAgentRequest, state: RouterStateDep) -> Any:
    return await state.summary.run(body.session_id)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[RouterState]:
    async with create_http_client(settings, "router") as http, cache_client(settings) as cache:
        services = Services(http, settings.services, create_recommender(settings, http))
        sessions = SessionStore(cache, settings.session_history_turns)
        initial = sample_vocabulary()
        catalog = OpenCatalog.of(initial)
        shopping_turn = ShoppingTurn(
            services,
            sessions,
            catalog,
            settings.dialog_history_turns,
            knowledge_min_score=settings.knowledge_min_score,
            sequential=not settings.shopping_turn_concurrent,
        )
        compare = CompareAgent(services, sessions, catalog)

        async def adopt(vocabulary: Vocabulary) -> None:
            # Suggestions and comparisons are worded with the catalog's own kinds, brands and attribute names.
            shopping_turn.catalog = compare.catalog = OpenCatalog.of(vocabulary)

        feed = VocabularyFeed(http, settings.services.catalog, settings.vocabulary_refresh_s, adopt, initial)
        async with feed.running():
            yield RouterState(
                settings=settings,
                cache=cache,
                http=http,
                services=services,
                sessions=sessions,
                shopping_turn=shopping_turn,
                compare=compare,
                copywriting=CopywritingAgent(services, sessions),
                summary=SummaryAgent(services, sessions),
            )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("router", routers=[router], settings=settings, resources=resources)
