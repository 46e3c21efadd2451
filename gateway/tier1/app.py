"""Gateway (:8000, tier 1): authentication, business routing to the agent router or a single service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.responses import StreamingResponse

from shared.deps import cache_resources, http_resources, merge_states
from shared.service import create_app as create_service_app
from shared.settings import Settings, get_settings

from gateway.tier1.auth import ApiKeys, require_api_key
from gateway.tier1.proxy import forward
from gateway.tier1.routes import RouteTable

router = APIRouter(tags=["gateway"])


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past ``max_body_bytes`` before it is read whole."""
    limit: int = request.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes exceeds the {limit}-byte limit (SG_MAX_BODY_BYTES)")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(413, f"body exceeds the {limit}-byte limit (SG_MAX_BODY_BYTES)")
    return bytes(body)


@router.post("/v1/{operation:path}", summary="Routed operation (see the route table)")
async def routed(
    operation: str,
    request: Request,
    _: Annotated[str, Depends(require_api_key)],
    body: Annotated[bytes, Depends(read_body)],
) -> StreamingResponse:
    table: RouteTable = request.state.routes
    route = table.match(f"/v1/{operation}")
    if route is None:
        raise HTTPException(404, f"no route for /v1/{operation}; known: {', '.join(r.path for r in table.routes)}")
    settings: Settings = request.state.settings
    base = getattr(settings.services, route.upstream)
    content_type = request.headers.get("content-type", "application/json")
    return await forward(request.state.http, f"{base}{route.path}", body, content_type, route.timeout_s)


@asynccontextmanager
async def resources(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    async with http_resources(settings) as http_state, cache_resources(settings) as cache_state:
        yield merge_states(
            http_state,
            cache_state,
            {"api_keys": ApiKeys(settings.api_keys), "routes": RouteTable.load()},
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app("gateway", routers=[router], settings=settings, resources=resources)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID", "X-Cache"],
    )
    return app
