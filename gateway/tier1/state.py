"""The gateway's lifespan state and its dependency, in a module of their own: admission, dispatch and the
OpenAI facade read them, and the app that builds the state imports those."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Request

from gateway.tier1.auth import Keyring
from gateway.tier1.cache import ResponseCache
from gateway.tier1.limits import RateLimiter
from gateway.tier1.routes import Route, RouteTable
from gateway.tier1.shed import TurnSlots
from gateway.tier1.upstream import UpstreamClient
from shared.deps import CachedState
from shared.llm.tokens import TokenCounter
from shared.service import app_state
from shared.settings import Task
from shared.watch import WatchedFile


@dataclass(frozen=True, kw_only=True)
class GatewayState(CachedState):
    """The upstream clients (``upstreams`` for routed requests and the facade, ``http`` for the rest), the (re-read) route table and keyring, rate limits, the response cache, and the
    slots of the turns in flight."""

    http: httpx.AsyncClient
    upstreams: UpstreamClient
    routes: WatchedFile[RouteTable]
    keyring: Keyring
    limiter: RateLimiter
    response_cache: ResponseCache
    turns: TurnSlots
    tokens: dict[Task, TokenCounter]  # counting as the model serving each task does

    def counter(self, route: Route) -> TokenCounter:
        """The tokens of a route's answers, as the model that writes them counts: its first task's (a route that
        names none is the guide's, written by the dialog task)."""
        return self.tokens[route.tasks[0] if route.tasks else Task.DIALOG]


async def get_state(request: Request) -> GatewayState:  # async: FastAPI runs a plain def in its thread pool
    return app_state(request, GatewayState)


GatewayStateDep = Annotated[GatewayState, Depends(get_state)]
