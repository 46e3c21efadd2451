"""A routed request after admission: from the cache when the route allows it, else from its upstream."""

from __future__ import annotations

import anyio
from fastapi import Request
from starlette.responses import Response

from gateway.tier1.cache import CACHE_HEADER, CACHE_LOOKUPS, Entry, Flight
from gateway.tier1.gate import Admitted
from gateway.tier1.limits import generated_tokens
from gateway.tier1.proxy import Transcript, open_upstream, relay
from gateway.tier1.routes import RouteMatch
from gateway.tier1.state import GatewayState


def cache_key(request: Request, state: GatewayState, found: RouteMatch, body: bytes) -> str | None:
    """The response-cache key of this request; None when its route or the request itself is not cached."""
    route = found.route
    if route.cache is None:
        return None
    target = f"{route.upstream}:{route.target(found.params)}?{request.url.query}"
    return state.response_cache.key(route, request.method, target, body)


async def dispatch(request: Request, state: GatewayState, admitted: Admitted, body: bytes, key: str | None) -> Response:
    """``key``: ``cache_key``'s; admission may have read its stored answer already."""
    responses = state.response_cache
    route = admitted.route
    url = admitted.upstream_url(state.settings, request.url.query)

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

    try:
        upstream = await open_upstream(
            state.http,
            request.method,
            url,
            body,
            request.headers.get("content-type"),
            route,
            admitted.principal.tenant.name,
        )
    except BaseException:
        if flight is not None and route.cache is not None:
            with anyio.CancelScope(shield=True):  # waiters must not wait out the lock's TTL
                await responses.finish(flight, None, route.cache.ttl_s)
        raise
    return relay(upstream, on_end, headers, keep_body=route.llm or flight is not None)
