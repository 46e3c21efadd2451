"""Rate limits per API key and route, in the shared cache so every gateway replica counts together.

Sliding windows, exact: a request is admitted while the last minute (``SG_GATEWAY_RATE_LIMIT_WINDOW_S``)
holds fewer than ``requests_per_minute`` admitted requests of its key on its route and, on llm routes,
fewer than ``tokens_per_minute`` tokens. Each admitted request is an entry in a log (``Cache.
sliding_window_admit``: a Lua script in Redis, one round trip, atomic across replicas; the same in process
with the memory cache); a refused request leaves no trace, so retrying does not push the window on. A
refusal is a 429 whose ``Retry-After`` is the time until the entry whose leaving admits a request leaves.

Tokens: an admitted request holds ``tokens_per_request`` tokens (default: the largest ``max_tokens`` of the
route's tasks) from admission until its answer has gone out; then the tokens the answer generated replace
them (when the two differ), counted at the request's admission time. Admission needs the window under the
limit, so concurrent requests overrun it by one request's tokens at most, as long as no answer generates
more than its reservation. A request that generated nothing (an error, a cached answer, a client gone)
gives its reservation back.

Settling costs no round trip of its own: the next request of the same key on the same route carries the
window's settlements in its admission script, and whatever none carried is written every
``SG_GATEWAY_SETTLE_DELAY_S`` (all windows in one round trip, by a task of the limiter's own) and when the
limiter closes. So this process admits against settled windows; other replicas may see a reservation held
for up to that delay longer, which only errs on the strict side while answers stay within their reservations.

Sending ahead (``SG_GATEWAY_SEND_AHEAD``, on by default): a request whose window had room for it at its
last admission, less the requests this process sent it since (``room_for``), goes to its upstream while its
admission is in flight, and is answered only once admitted; refused after all (another replica took the
room), its upstream exchange is cancelled and the client gets the 429. So the limits stay exact for clients,
the Redis round trip leaves the answer's critical path, and an upstream sees a request its limit refuses
only in that race (``sg_gateway_sent_ahead_total{outcome="refused"}``). Off, or with the in-process cache,
every request waits for its admission.

When the cache fails, the route's ``rate_limit_on_cache_failure`` decides: ``open`` lets the request
through, ``closed`` answers 503 with ``Retry-After``; both are logged and counted. With the in-process
cache (no Redis) every replica counts alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from fastapi import HTTPException
from prometheus_client import Counter

from gateway.tier1.auth import Principal
from gateway.tier1.proxy import Transcript
from gateway.tier1.routes import RateLimit, Route
from shared.cache import Cache, CacheError, Peeked, WindowLimits
from shared.events import StreamEvent
from shared.llm.tokens import TokenCounter
from shared.settings import Settings, Task

log = logging.getLogger(__name__)

# The JSON fields that hold generated text, in the answers of the router and the language services.
GENERATED_FIELDS = ("reply", "copy", "summary")
# How long a closed route asks clients to wait for its limit store: about a Redis failover.
STORE_RETRY_AFTER_S = 5

RATE_LIMITED = Counter("sg_gateway_rate_limited_total", "Requests refused with 429", ["business", "route", "limit"])
UNCHECKED = Counter(
    "sg_gateway_rate_limit_unchecked_total",
    "Requests whose rate limits the failing cache could not check: let through (open) or refused with 503 (closed)",
    ["business", "route", "outcome"],
)


def _left(room: int | None) -> float:
    return math.inf if room is None else room


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


async def generated_tokens(transcript: Transcript, tokens: TokenCounter) -> int:
    """The tokens an answer generated, as ``tokens`` counts them (the serving model's tokenizer where it can be
    reached): its ``token`` events, or the generated fields of its JSON."""
    if transcript.event_stream:
        texts = [str(data.get("text", "")) for name, data in transcript.events if name == StreamEvent.TOKEN]
        return await tokens.count("".join(texts)) if texts else 0
    if transcript.status != 200 or not transcript.body:
        return 0
    try:
        body = json.loads(transcript.body)
    except ValueError:
        return 0
    if not isinstance(body, dict):
        return 0
    return sum([await tokens.count(text) for name in GENERATED_FIELDS for text in _texts(body.get(name))])


@dataclass(slots=True)
class _Room:
    """A window as this process last saw it: the room its last admission left (``math.inf``: no such limit),
    trusted until ``until``; and what this process asked of it since (requests not yet answered by Redis)."""

    until: float = 0.0  # nothing known before the first admission
    count: float = 0
    weight: float = 0
    asking: int = 0
    asking_weight: int = 0


# Windows whose room a limiter remembers; past this it forgets those with nothing in flight.
MAX_ROOMS = 10_000


@dataclass(slots=True)
class Reservation:
    """An admitted request's entry in its window and the tokens it holds there; whoever reads the answer
    sets ``generated``, and ``RateLimiter.settle`` makes the entry hold that instead."""

    window: str
    entry: str
    held: int = 0  # 0: nothing to settle (no token limit here, or the cache did not answer)
    generated: int = 0
    peeked: Peeked | None = None  # what admission's round trip read under the key it was asked to peek at


class RateLimiter:
    """The limits of one gateway process; an async context manager (the app's lifespan) that runs the task
    writing settlements and writes the last of them when it closes."""

    def __init__(self, cache: Cache, settings: Settings) -> None:
        self.cache = cache
        self.window_s = settings.gateway_rate_limit_window_s
        self.settle_delay_s = settings.gateway_settle_delay_s
        self.llm_tasks = settings.llm_tasks
        # Entries unique across replicas without a random draw (a syscall) per request: this limiter's own
        # prefix, then a serial number.
        self._entries = (f"{uuid.uuid4().hex[:16]}{n:x}" for n in itertools.count())
        self._unsettled: dict[str, dict[str, int]] = {}  # window -> entry -> tokens generated, not yet written
        self._due = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self.send_ahead = settings.gateway_send_ahead and cache.backend != "memory"
        self._rooms: dict[str, _Room] = {}

    async def __aenter__(self) -> RateLimiter:
        self._writer = asyncio.create_task(self._write_when_due())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        await self.write_settled()

    def _held(self, route: Route, limit: RateLimit) -> int:
        """The tokens an admitted request holds until its answer is counted: none where no token limit applies."""
        if not route.llm or limit.tokens_per_minute is None:
            return 0
        if limit.tokens_per_request is not None:
            return limit.tokens_per_request
        return max(self.llm_tasks[task].max_tokens for task in route.tasks or Task)

    @staticmethod
    def _window(principal: Principal, route: Route) -> str:
        return f"rl:{principal.key_id}:{route.path}"

    def room_for(self, principal: Principal, route: Route, limit: RateLimit) -> bool:
        """Whether to send this request ahead of its admission (see the module docstring): its window had room
        for it when last admitted into, less what this process has asked of it since."""
        if not self.send_ahead:
            return False
        room = self._rooms.get(self._window(principal, route))
        if room is None or room.until < time.monotonic():
            return False
        held = self._held(route, limit)
        return room.count - room.asking >= 1 and room.weight - room.asking_weight >= held

    async def admit(
        self, principal: Principal, route: Route, limit: RateLimit, peek: str | None = None
    ) -> Reservation:
        """Count this request in its window; 429 with Retry-After when that would break a limit. When the
        window is in the cache, the value under ``peek`` comes back in the same round trip (``peeked``)."""
        reservation = Reservation(self._window(principal, route), next(self._entries))
        max_tokens = limit.tokens_per_minute if route.llm else None
        if limit.requests_per_minute is None and max_tokens is None:
            return reservation
        held = self._held(route, limit)
        limits = WindowLimits(self.window_s, limit.requests_per_minute, max_tokens)
        settle = self._unsettled.pop(reservation.window, None)
        room = self._room(reservation.window) if self.send_ahead else None
        if room is not None:
            room.asking += 1
            room.asking_weight += held
        try:
            verdict = await self.cache.sliding_window_admit(
                reservation.window, reservation.entry, limits, weight=held, settle=settle, peek=peek
            )
        except (CacheError, asyncio.CancelledError) as exc:
            if settle:  # unwritten, or written just before the cancel: the writer writes them (twice is harmless)
                self._keep({reservation.window: settle})
            if isinstance(exc, asyncio.CancelledError):
                raise
            if room is not None:  # nothing known while the store fails: every request waits for its verdict
                room.until = 0.0
            self._unchecked(route, exc)
            return reservation
        finally:
            if room is not None:
                room.asking -= 1
                room.asking_weight -= held
        if room is not None:  # a refusal leaves no room: the next request waits for its own verdict
            room.until = time.monotonic() + self.window_s
            room.count = _left(verdict.count_left) if verdict.admitted else 0
            room.weight = _left(verdict.weight_left) if verdict.admitted else 0
        reservation.peeked = verdict.peeked
        if not verdict.admitted:
            kind, most = ("requests", limit.requests_per_minute) if verdict.over == "count" else ("tokens", max_tokens)
            RATE_LIMITED.labels(route.business, route.path, kind).inc()
            retry_after = max(1, math.ceil(verdict.retry_after_s))
            raise HTTPException(
                429,
                f"rate limit: this API key may use {most} {kind} {self._per_window()} on {route.path}; "
                f"retry in {retry_after}s",
                headers={"Retry-After": str(retry_after)},
            )
        reservation.held = held
        return reservation

    def _room(self, window: str) -> _Room:
        room = self._rooms.get(window)
        if room is None:
            if len(self._rooms) >= MAX_ROOMS:
                self._rooms = {w: r for w, r in self._rooms.items() if r.asking}
            room = self._rooms[window] = _Room()
        return room

    def settle(self, reservation: Reservation) -> None:
        """Replace the tokens held with those generated (written later: see the module docstring); an answer
        that never came generated none."""
        if reservation.held == 0 or reservation.generated == reservation.held:
            return
        self._unsettled.setdefault(reservation.window, {})[reservation.entry] = reservation.generated
        self._due.set()

    async def write_settled(self) -> None:
        """Write every settlement not yet written, in one round trip."""
        settles, self._unsettled = self._unsettled, {}
        if not settles:
            return
        try:
            await self.cache.sliding_window_settle(settles)
        except CacheError as exc:
            count = sum(len(entries) for entries in settles.values())
            log.warning("%d reservations stay held, not the tokens their answers generated: %s", count, exc)
        except asyncio.CancelledError:  # the limiter closing: its last write takes them
            self._keep(settles)
            raise

    def _keep(self, settles: dict[str, dict[str, int]]) -> None:
        """Settlements that were not written, for the next write (an entry settles once: none is overwritten)."""
        for window, entries in settles.items():
            self._unsettled.setdefault(window, {}).update(entries)
        self._due.set()

    async def _write_when_due(self) -> None:
        while True:
            await self._due.wait()
            await asyncio.sleep(self.settle_delay_s)
            self._due.clear()
            await self.write_settled()

    def _per_window(self) -> str:
        return "a minute" if self.window_s == 60 else f"per {self.window_s:g}s"

    def _unchecked(self, route: Route, exc: CacheError) -> None:
        outcome = route.rate_limit_on_cache_failure
        UNCHECKED.labels(route.business, route.path, outcome).inc()
        if outcome == "open":
            log.warning("rate limits of %s not enforced, the cache failed: %s", route.path, exc)
            return
        log.warning("%s refused: its rate limits cannot be checked, the cache failed: %s", route.path, exc)
        raise HTTPException(
            503,
            f"the rate-limit store ({self.cache.backend}) does not answer and {route.path} does not run "
            f"without its limits; retry in {STORE_RETRY_AFTER_S}s",
            headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
        )
