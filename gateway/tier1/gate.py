"""What a request passes before it goes upstream, in order: a known key (401), a route (404/405), the
tenant's permission for it (403), the key's rate limit (429), then the body: its size (413), a JSON media
type (415) and its nesting (422, ``max_json_depth``). On a cached route, and on one whose request goes
upstream while its limit is checked (``RateLimiter.room_for``), the pass-through path reads the body before
the rate limit and refuses it after, in this order all the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from gateway.tier1.auth import Principal
from gateway.tier1.limits import Reservation
from gateway.tier1.routes import RateLimit, Route, RouteMatch
from gateway.tier1.state import GatewayStateDep
from shared.bodies import check_json_body
from shared.settings import Settings


@dataclass(frozen=True, slots=True)
class Admitted:
    principal: Principal
    route: Route
    params: dict[str, str]
    limit: RateLimit
    reservation: Reservation

    def upstream_url(self, settings: Settings, query: str = "") -> str:
        return RouteMatch(self.route, self.params).upstream_url(settings, query)


async def authenticate(request: Request, state: GatewayStateDep) -> Principal:
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key", "").strip()
    if not key:
        raise HTTPException(
            401,
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = state.keyring.lookup(key)
    if principal is None:
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return principal


def route_for(request: Request, principal: Principal, state: GatewayStateDep) -> RouteMatch:
    found = state.routes.get().resolve(request.method, request.url.path)
    if not principal.tenant.allows(found.route):
        raise HTTPException(403, f"tenant {principal.tenant.name!r} may not use {found.route.path}")
    return found


@asynccontextmanager
async def admission(
    principal: Principal, found: RouteMatch, state: GatewayStateDep, peek: str | None = None
) -> AsyncIterator[Admitted]:
    """The key's rate limit on the route (``peek``: see ``RateLimiter.admit``), its tokens settled once the
    answer is out, or failed (413, upstream down): on every path, once."""
    limit = principal.tenant.limit_for(found.route)
    reservation = await state.limiter.admit(principal, found.route, limit, peek)
    try:
        yield Admitted(principal, found.route, found.params, limit, reservation)
    finally:
        state.limiter.settle(reservation)


async def admit(
    request: Request, principal: Annotated[Principal, Depends(authenticate)], state: GatewayStateDep
) -> AsyncIterator[Admitted]:
    async with admission(principal, route_for(request, principal, state), state) as admitted:
        yield admitted


async def read_body(request: Request, state: GatewayStateDep) -> bytes:
    """The request body, refused with 413 past ``max_body_bytes`` before it is read whole, then checked as
    every app checks its bodies (``check_json_body``): before the cache key and the facade parse it."""
    limit = state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes exceeds the {limit}-byte limit (SG_MAX_BODY_BYTES)")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPException(413, f"body exceeds the {limit}-byte limit (SG_MAX_BODY_BYTES)")
    check_json_body(bytes(body), request.headers.get("content-type"), state.settings.max_json_depth)
    return bytes(body)
