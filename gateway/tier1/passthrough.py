"""Routed requests as pure ASGI: the gateway's hot path.

The same steps and answers as the documented catch-all route (``app.py``'s ``routed``, kept for the OpenAPI):
the key (``authenticate``), the route (``route_for``), the rate limits (``admission``), the body checks
(``read_body``), the cache and the upstream (``dispatch``), the reservation settled once the answer is out.
What it leaves out is FastAPI's routing, dependency solving and response handling, about half the gateway's
CPU per proxied request when profiled at concurrency 32. Bodies and answers pass as bytes, never parsed into
models or re-encoded.

On a cached route the body is read before the rate limit, so that the stored answer is read in the limit's
own round trip (one round trip to Redis for a hit); on an uncached route whose key's window has room
(``RateLimiter.room_for``) it is read first too, and the request sent upstream while its admission is in
flight (``send_ahead``). A refused body is answered after the limit all the same, as ``gate`` orders the
refusals. Other requests read it once admitted, so a refused request's body is not read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.tier1.dispatch import abandon, cache_key, dispatch, send_ahead
from gateway.tier1.gate import admission, authenticate, read_body, route_for
from gateway.tier1.state import GatewayState
from gateway.tier1.upstream import UpstreamResponse
from shared.bodies import BodyRefused
from shared.service import STATE_KEY, error_response


class Passthrough:
    """Serves every ``/v1/`` request but the app's own routes (``own``); hands the rest to the app."""

    def __init__(self, app: ASGIApp, own: Collection[str]) -> None:
        self.app = app
        self.own = frozenset(own)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state", {}).get(STATE_KEY) if scope["type"] == "http" else None
        path: str = scope.get("path", "")
        if not isinstance(state, GatewayState) or not path.startswith("/v1/") or path in self.own:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        ahead: asyncio.Task[UpstreamResponse] | None = None
        try:
            principal = await authenticate(request, state)
            found = route_for(request, principal, state)
            route, limit = found.route, principal.tenant.limit_for(found.route)
            # A cached route's body comes first, and an uncached one's that may go ahead (a refusal kept for
            # after the limit); any other is read only once the request is admitted.
            early: bytes | HTTPException | BodyRefused | None = None
            if route.cache is not None or state.limiter.room_for(principal, route, limit):
                try:
                    early = await read_body(request, state)
                except (HTTPException, BodyRefused) as exc:
                    early = exc
            key = cache_key(request, state, found, early) if isinstance(early, bytes) else None
            peek = state.response_cache.stored(key) if key else None
            if route.cache is None and isinstance(early, bytes) and state.limiter.room_for(principal, route, limit):
                ahead = send_ahead(request, state, found, principal, early)
            async with admission(principal, found, state, peek) as admitted:
                if isinstance(early, Exception):
                    raise early
                body = early if isinstance(early, bytes) else await read_body(request, state)
                scope["route"] = admitted.route  # its path template labels the request's metrics
                taken, ahead = ahead, None
                response = await dispatch(request, state, admitted, body, key, taken)
                await response(scope, receive, send)
        except (HTTPException, BodyRefused) as exc:  # refused before any byte of the answer went out
            if ahead is not None:
                await abandon(ahead, route, "refused")
                ahead = None
            await error_response(exc)(scope, receive, send)
        finally:
            if ahead is not None:  # the client left, or admission failed unexpectedly
                await abandon(ahead, route, "abandoned")
