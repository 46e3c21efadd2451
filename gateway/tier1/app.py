"""Gateway (:8000, tier 1): API keys per tenant, the business route table (hot-reloaded), rate limits and
the response cache in Redis, the OpenAI-compatible facade, and the demo page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.middleware import Middleware
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.tier1 import openai_facade
from gateway.tier1.auth import Keyring, Principal, TenantsFile
from gateway.tier1.cache import CACHE_HEADER, ResponseCache
from gateway.tier1.dispatch import cache_key, dispatch
from gateway.tier1.gate import Admitted, admit, authenticate, read_body
from gateway.tier1.limits import RateLimiter
from gateway.tier1.passthrough import Passthrough
from gateway.tier1.routes import Route, RouteMatch, RouteTable
from gateway.tier1.shed import ShedTurns, TurnSlots
from gateway.tier1.state import GatewayState, GatewayStateDep
from gateway.tier1.upstream import UpstreamClient
from shared.deps import cache_client
from shared.http import create_http_client
from shared.live_prompts import live_prompts, prompt_packages
from shared.llm.tokens import token_counter
from shared.service import STATE_KEY, error_responses
from shared.service import create_app as create_service_app
from shared.settings import Settings, Task, get_settings
from shared.watch import WatchedFile

log = logging.getLogger(__name__)

router = APIRouter(tags=["gateway"])


@router.get("/", include_in_schema=False)
async def demo_page(state: GatewayStateDep) -> FileResponse:
    index = state.settings.gateway_static_dir / "index.html"
    if not index.is_file():
        raise HTTPException(404, f"no demo page here ({index} is missing); the API is under /v1/")
    return FileResponse(index)


# What admission may refuse (gate.py), and what the gateway answers for an upstream it cannot reach.
_ADMISSION = error_responses(401, 403, 404, 405, 413, 415, 422, 429)
_UPSTREAM = error_responses(502, 504)


@router.get("/v1/models", responses=error_responses(401), summary="The models of the OpenAI-compatible API")
async def models(_: Annotated[Principal, Depends(authenticate)]) -> dict[str, Any]:
    return openai_facade.models()


@router.post(
    "/v1/chat/completions",
    responses={
        200: {
            "description": "A chat.completion, or with stream=true a text/event-stream of chat.completion.chunk",
            "content": {"text/event-stream": {}},
        },
        **_ADMISSION,
        **error_responses(400),
        **_UPSTREAM,
        **error_responses(503),
    },
    summary="OpenAI-compatible chat with the shopping guide",
    description="Errors in OpenAI's shape, `{\"error\": {\"type\", \"message\", \"param\", \"code\"}}`: 400 for "
    "a request that is not a chat completion or asks for what the guide cannot do (n>1, tools, logprobs, "
    "response_format json...: `code: unsupported_parameter`, `param` names it), 404 for an unknown model, 503 "
    "when the guide cannot answer now (the dialog service down).",
)
async def chat_completions(
    state: GatewayStateDep,
    admitted: Annotated[Admitted, Depends(admit)],
    body: Annotated[bytes, Depends(read_body)],
) -> Response:
    return await openai_facade.chat_completions(state, admitted, body)


async def routed(
    request: Request,
    state: GatewayStateDep,
    admitted: Annotated[Admitted, Depends(admit)],
    body: Annotated[bytes, Depends(read_body)],
) -> Response:
    found = RouteMatch(admitted.route, admitted.params)
    return await dispatch(request, state, admitted, body, cache_key(request, state, found, body))


for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):  # one operation each, so OpenAPI ids stay unique
    router.add_api_route(
        "/v1/{operation:path}",
        routed,
        methods=[_method],
        summary="Routed (see the route table)",
        description="The upstream's answer as it is: its own status codes and bodies (see its API), besides "
        "the gateway's refusals and 502/504 for an upstream it cannot reach.",
        operation_id=f"routed_{_method.lower()}",
        responses={**_ADMISSION, **_UPSTREAM},
    )


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[GatewayState]:
    interval = settings.gateway_reload_interval_s
    routes = WatchedFile(settings.gateway_routes_file, RouteTable.model_validate, interval)
    tenants_file = settings.gateway_tenants_file
    tenants = WatchedFile(tenants_file, TenantsFile.parse, interval) if tenants_file else None
    # The services' prompts as they run them (the same files and overrides): the response cache keys follow them.
    prompts = live_prompts(settings, *prompt_packages("services"))
    async with (
        create_http_client(settings, "gateway") as http,
        UpstreamClient(settings) as upstreams,
        cache_client(settings) as cache,
        prompts as live,
        RateLimiter(cache, settings) as limiter,  # closed before the cache: it writes its last settlements
    ):
        if cache.backend == "memory":
            log.warning("no shared cache: rate limits, the response cache and single-flight hold per gateway process")
        yield GatewayState(
            settings=settings,
            cache=cache,
            http=http,
            upstreams=upstreams,
            routes=routes,
            keyring=Keyring(settings.api_keys, tenants),
            limiter=limiter,
            response_cache=ResponseCache(cache, settings, live),
            turns=TurnSlots(settings.max_inflight_turns),
            tokens={task: token_counter(settings, task, http) for task in Task},
        )


def find_turn(scope: Scope) -> tuple[TurnSlots, Route] | None:
    """A request on an llm route: the process's turn slots and its route (see shed.py)."""
    state = scope.get("state", {}).get(STATE_KEY)
    if not isinstance(state, GatewayState):
        return None
    try:
        route = state.routes.get().resolve(scope["method"], scope["path"]).route
    except HTTPException:  # no such route: admission answers it
        return None
    return (state.turns, route) if route.llm else None


def _own_paths() -> list[str]:
    """The /v1/ paths this app answers itself; every other one is routed (``Passthrough``)."""
    return [route.path for route in router.routes if isinstance(route, APIRoute) and route.endpoint is not routed]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # No body guard: read_body checks bodies after admission, within max_body_bytes.
    app = create_service_app(
        "gateway",
        routers=[router],
        settings=settings,
        resources=resources,
        guard_bodies=False,
        middleware=[Middleware(ShedTurns, find=find_turn), Middleware(Passthrough, own=_own_paths())],
    )
    app.mount("/static", StaticFiles(directory=settings.gateway_static_dir, check_dir=False), name="static")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            "X-Request-ID", CACHE_HEADER, "Retry-After", openai_facade.SESSION_HEADER, openai_facade.IGNORED_HEADER
        ],
    )
    return app
