"""Rate limits per API key and route, in the shared cache so every gateway replica counts together.

Fixed one-minute windows (``incr`` with a TTL): one round trip per request, at the price of up to twice
the limit across a window boundary. Requests are counted when admitted. Tokens (llm routes) are checked
before the call and added after it, from the generated text the answer carried, so one long answer may
overshoot the limit; the next request then waits for the window to turn. With the in-process cache (no
Redis) every replica counts alone. A failing cache lets requests through (logged): limits degrade open.
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

from fastapi import HTTPException
from prometheus_client import Counter

from gateway.tier1.auth import Principal
from gateway.tier1.proxy import Transcript
from gateway.tier1.routes import RateLimit, Route
from shared.cache import Cache, CacheError
from shared.events import StreamEvent
from shared.llm.chunking import count_tokens

log = logging.getLogger(__name__)

WINDOW_S = 60
# The JSON fields that hold generated text, in the answers of the router and the language services.
GENERATED_FIELDS = ("reply", "copy", "summary")

RATE_LIMITED = Counter("sg_gateway_rate_limited_total", "Requests refused with 429", ["business", "route", "limit"])


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def generated_tokens(transcript: Transcript) -> int:
    """The tokens an answer generated: its ``token`` events, or the generated fields of its JSON."""
    if transcript.event_stream:
        return sum(count_tokens(str(data.get("text", ""))) for name, data in transcript.events if name == StreamEvent.TOKEN)
    if transcript.status != 200 or not transcript.body:
        return 0
    try:
        body = json.loads(transcript.body)
    except ValueError:
        return 0
    if not isinstance(body, dict):
        return 0
    return sum(count_tokens(text) for name in GENERATED_FIELDS for text in _texts(body.get(name)))


class RateLimiter:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    @staticmethod
    def _window() -> tuple[int, int]:
        """The current window's number and the seconds until the next one (for Retry-After)."""
        now = time.time()
        window = int(now // WINDOW_S)
        return window, max(1, math.ceil((window + 1) * WINDOW_S - now))

    @staticmethod
    def _key(kind: str, principal: Principal, route: Route, window: int) -> str:
        return f"rl:{kind}:{principal.key_id}:{route.path}:{window}"

    async def admit(self, principal: Principal, route: Route, limit: RateLimit) -> None:
        """Count this request; 429 with Retry-After when the key is over a limit this minute."""
        window, retry_after = self._window()
        try:
            if limit.requests_per_minute is not None:
                count = await self.cache.incr(self._key("req", principal, route, window), 1, ttl_s=WINDOW_S + 5)
                if count > limit.requests_per_minute:
                    self._refuse(route, "requests", f"{limit.requests_per_minute} requests", retry_after)
            if route.llm and limit.tokens_per_minute is not None:
                used = int(await self.cache.get(self._key("tok", principal, route, window)) or 0)
                if used >= limit.tokens_per_minute:
                    self._refuse(route, "tokens", f"{limit.tokens_per_minute} tokens", retry_after)
        except CacheError as exc:
            log.warning("rate limits not enforced, the cache failed: %s", exc)

    async def spend(self, principal: Principal, route: Route, limit: RateLimit, tokens: int) -> None:
        if not (route.llm and limit.tokens_per_minute is not None and tokens > 0):
            return
        window, _ = self._window()
        try:
            await self.cache.incr(self._key("tok", principal, route, window), tokens, ttl_s=WINDOW_S + 5)
        except CacheError as exc:
            log.warning("%d tokens not counted, the cache failed: %s", tokens, exc)

    @staticmethod
    def _refuse(route: Route, kind: str, what: str, retry_after: int) -> None:
        RATE_LIMITED.labels(route.business, route.path, kind).inc()
        raise HTTPException(
            429,
            f"rate limit: this API key may use {what} a minute on {route.path}; retry in {retry_after}s",
            headers={"Retry-After": str(retry_after)},
        )
