"""A routed request after admission: from the cache when the route allows it, else from its upstream; or
its upstream exchange started ahead of admission (``send_ahead``), relayed once admitted or else abandoned."""

from __future__ import annotations

import asyncio

import anyio
from fastapi import Request
from prometheus_client import Counter
from starlette.responses import Response

from gateway.tier1.auth import Principal
from gateway.tier1.cache import CACHE_HEADER, CACHE_LOOKUPS, Entry, Flight
from gateway.tier1.gate import Admitted
from gateway.tier1.limits import generated_tokens
from gateway.tier1.proxy import Transcript, open_upstream, relay
from gateway.tier1.routes import Route, RouteMatch
from gateway.tier1.state import GatewayState
from gateway.tier1.upstream import UpstreamResponse

SENT_AHEAD = Counter(
    "sg_gateway_sent_ahead_total",
    "Requests sent upstream while their rate limit was checked (SG_GATEWAY_SEND_AHEAD), by what came of it: "
    "admitted, refused after all (their upstream exchange cancelled: another replica took the room), or "
    "abandoned (the client left first)",
    ["business", "route", "outcome"],
)


def cache_key(request: Request, state: GatewayState, found: RouteMatch, body: bytes) -> str | None:
    """The response-cache key of this request; None when its route or the request itself is not cached."""
    route = found.route
    if route.cache is None:
        return None
    target = f"{route.upstream}:{route.target(found.params)}?{request.url.query}"
    return state.response_cache.key(route, request.method, target, body)


async def _exchange(
    request: Request, state: GatewayState, found: RouteMatch, principal: Principal, body: bytes
) -> UpstreamResponse:
    return await open_upstream(
        state.upstreams,
        request.method,
        found.upstream_url(state.settings, request.url.query),
        body,
        request.headers.get("content-type"),
        found.route,
        principal.tenant.name,
    )


def send_ahead(
    request: Request, state: GatewayState, found: RouteMatch, principal: Principal, body: bytes
) -> asyncio.Task[UpstreamResponse]:
    """The upstream exchange of an uncached request not yet admitted (``RateLimiter.room_for``), under way:
    ``dispatch`` relays its answer once the request is admitted, else ``abandon`` stops it."""
    return asyncio.ensure_future(_exchange(request, state, found, principal, body))


async def abandon(ahead: asyncio.Task[UpstreamResponse], route: Route, outcome: str) -> None:
    """An exchange sent ahead whose request was refused, or whose client left (``outcome``): cancelled while it
    waits (its connection closed, so the upstream stops too), its answer closed unread if it had come."""
    SENT_AHEAD.labels(route.business, route.path, outcome).inc()
    if ahead.cancel() or ahead.cancelled() or ahead.exception() is not None:
        return
    with anyio.CancelScope(shield=True):
        await ahead.result().aclose()


async def dispatch(
    request: Request,
    state: GatewayState,
    admitted: Admitted,
    body: bytes,
    key: str | None,
    ahead: asyncio.Task[UpstreamResponse] | None = None,
) -> Response:
    """``key``: ``cache_key``'s; admission may have read its stored answer already. ``ahead``: the exchange
    ``send_ahead`` started (an uncached route)."""
    responses = state.response_cache
    route = admitted.route

    flight: Flight | None = None
    headers: dict[str, str] = {}
    if route.cache is not None:
        flight = await responses.begin(key, route.timeout_s, admitted.reservation.peeked) if key else None
        if flight is not None and flight.hit is not None:
            CACHE_LOOKUPS.labels(route.business, route.path, "hit").inc()
            return flight.hit.response()
        result = "miss" if flight is not None and flight.store else "bypass"
        CACHE_LOOKUPS.labels(route.business, route.path, result).inc()
        headers[CACHE_HEADER] = result

    async def on_end(transcript: Transcript) -> None:
        if route.llm:
            admitted.reservation.generated = await generated_tokens(transcript, state.counter(route))
        if flight is not None and route.cache is not None:
            await responses.finish(flight, Entry.of(transcript), route.cache.ttl_s)

    if ahead is not None:
        SENT_AHEAD.labels(route.business, route.path, "admitted").inc()
    try:
        if ahead is None:
            upstream = await _exchange(request, state, RouteMatch(route, admitted.params), admitted.principal, body)
        else:
            upstream = await ahead
    except BaseException:
        if flight is not None and route.cache is not None:
            with anyio.CancelScope(shield=True):  # waiters must not wait out the lock's TTL
                await responses.finish(flight, None, route.cache.ttl_s)
        raise
    return relay(upstream, on_end, headers, keep_body=route.llm or flight is not None)
