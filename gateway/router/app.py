"""Agent router (:8001, tier 2): picks the agent for the operation and runs its sub-task tree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request

from shared.deps import cache_resources, http_resources, merge_states
from shared.service import create_app as create_service_app
from shared.settings import Settings

from gateway.router.agents import ShoppingTurn
from gateway.router.clients import Services
from gateway.router.schemas import ChatRequest, ChatResponse
from gateway.router.sessions import SessionStore

router = APIRouter(prefix="/v1", tags=["agents"])


def get_shopping_turn(request: Request) -> ShoppingTurn:
    return request.state.shopping_turn


def get_sessions(request: Request) -> SessionStore:
    return request.state.sessions


@router.post("/chat", response_model=ChatResponse, summary="One dialog turn of the shopping guide")
async def chat(
    body: ChatRequest,
    agent: Annotated[ShoppingTurn, Depends(get_shopping_turn)],
    sessions: Annotated[SessionStore, Depends(get_sessions)],
) -> ChatResponse:
    session = await sessions.load(body.session_id)
    response = await agent.run(session, body.message)
    await sessions.save(session)
    return response


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
        readiness = {
            name: (lambda url=url: _answers(http, url))
            for name, url in {"intent": urls.intent, "extraction": urls.extraction, "dialog": urls.dialog,
                              "catalog": urls.catalog}.items()
        }
        yield merge_states(
            http_state,
            cache_state,
            {
                "shopping_turn": ShoppingTurn(Services(http, urls), settings.dialog_history_turns),
                "sessions": SessionStore(cache_state["cache"]),
                "readiness": readiness,
            },
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app("router", routers=[router], settings=settings, resources=resources)
