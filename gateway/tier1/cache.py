"""The response cache for deterministic routes, in the shared KV cache (Redis), with single-flight.

The key hashes the method, upstream and path, the body normalised (keys sorted, compact, strings stripped
as the services strip them, the route's ``ignore_fields`` dropped), the live prompts and the models of the
route's LLM tasks. The prompts are the services' as they are live now: the gateway reads the same packaged
files and the same overrides (``shared.live_prompts``, the same settings) on the same interval, so a prompt
edited in place, in the overrides folder or in Redis moves every key. The services reload on their own
clock, so for up to one interval an answer may come from the prompt the gateway does not hold yet: an
answer whose ``prompt_version`` is not live here is passed on but not stored. A route is cached only while
all its tasks run at temperature 0. Answers of the local engines carry no version of their own: after
retraining one, delete the ``<namespace>:resp:*`` keys.

Stored: a 200 JSON answer as its body; a 200 event stream as its events, only when it ended with ``done``
and carried no ``error``, replayed one frame per event. Identical concurrent misses make one upstream call:
the first takes a lock (``incr`` on a key with a TTL, atomic in Redis across replicas) and the others wait
for its answer (woken at once in this process, polling across processes); one that waits longer than the
route's timeout, or finds no answer when the lock is released, goes upstream itself. A failing cache
never fails a request: it is bypassed, and logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from starlette.responses import Response

from gateway.tier1.proxy import Transcript
from gateway.tier1.routes import Route
from shared.cache import Cache, CacheError, Peeked
from shared.events import StreamEvent
from shared.live_prompts import PromptLibrary
from shared.settings import Settings
from shared.sse import EventStreamResponse, WireEvent

log = logging.getLogger(__name__)

CACHE_HEADER = "X-Cache"
POLL_S = 0.05  # how often a waiter looks for an answer that another replica is producing

CACHE_LOOKUPS = Counter(
    "sg_gateway_cache_total", "Response cache outcomes on cacheable routes", ["business", "route", "result"]
)


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored answer: a JSON body, or the events of a completed stream."""

    content_type: str
    body: str | None = None
    events: tuple[WireEvent, ...] = ()

    def encode(self) -> bytes:
        raw = {"content_type": self.content_type, "body": self.body, "events": [list(e) for e in self.events]}
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        data = json.loads(raw)
        return cls(data["content_type"], data["body"], tuple((name, event) for name, event in data["events"]))

    @property
    def prompt_version(self) -> str | None:
        """The prompt the answer says it was written with (``prompt_version``), if it names one."""
        data: Any = None
        if self.body is not None:
            try:
                data = json.loads(self.body)
            except ValueError:
                return None
        elif self.events and self.events[-1][0] == StreamEvent.DONE:
            data = self.events[-1][1]
        version = data.get("prompt_version") if isinstance(data, dict) else None
        return version if isinstance(version, str) else None

    @classmethod
    def of(cls, transcript: Transcript) -> Entry | None:
        """The entry for a complete answer; None for anything else (cut, errored, not 200, not UTF-8)."""
        if not transcript.complete:
            return None
        if transcript.event_stream:
            return cls(transcript.content_type, events=tuple(transcript.events))
        try:
            return cls(transcript.content_type, body=bytes(transcript.body or b"").decode("utf-8"))
        except UnicodeDecodeError:
            return None

    def response(self) -> Response:
        headers = {CACHE_HEADER: "hit"}
        if self.body is not None:
            return Response(self.body, media_type=self.content_type, headers=headers)
        return EventStreamResponse(self._replay(), headers=headers)

    async def _replay(self) -> AsyncIterator[WireEvent]:
        for event in self.events:
            yield event


@dataclass(slots=True)
class Flight:
    """One request's part in the cache: the stored answer, or the duty to fetch (and perhaps store) it."""

    key: str
    hit: Entry | None = None
    leader: bool = False  # holds the lock: others wait for this request's answer
    store: bool = True  # False when the cache failed: go upstream, keep nothing


class ResponseCache:
    def __init__(self, cache: Cache, settings: Settings, prompts: PromptLibrary) -> None:
        self.cache = cache
        self.prompts = prompts
        self.tasks = settings.llm_tasks
        pools = settings.llm_pools
        self._models = {  # a task's backend, model, sampling, and its pool's default model
            task: json.dumps([route.model_dump(), pools[route.pool].model if route.pool in pools else None])
            for task, route in settings.llm_tasks.items()
        }
        self._landed: dict[str, asyncio.Event] = {}  # keys this process is fetching, set when stored

    def deterministic(self, route: Route) -> bool:
        return all(self.tasks[task].temperature == 0 for task in route.tasks)

    def key(self, route: Route, method: str, target: str, body: bytes) -> str | None:
        """The cache key of this request (``target``: upstream name, path and query), or None when it
        cannot be cached (see the module docstring)."""
        assert route.cache is not None
        if not self.deterministic(route):
            return None
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return None  # the upstream will refuse it; nothing to cache
        if isinstance(payload, dict):
            if any(payload.get(name) is not None for name in route.cache.bypass_if):
                return None
            payload = {k: v for k, v in payload.items() if k not in route.cache.ignore_fields}
        material = [
            method,
            target,
            json.dumps(_normalise(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False),
            self.prompts.fingerprint(),
            *(self._models[task] for task in sorted(route.tasks)),
        ]
        return hashlib.sha256("\n".join(material).encode()).hexdigest()

    @staticmethod
    def stored(key: str) -> str:
        """Where the answer of ``key`` is kept in the cache."""
        return f"resp:{key}"

    async def begin(self, key: str, wait_s: float, peeked: Peeked | None = None) -> Flight:
        """The stored answer, or the lead on fetching it, or (after ``wait_s``) leave to fetch it too.
        ``peeked``: what is stored under ``stored(key)``, read already (by the rate limit's round trip)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            try:
                raw = peeked.value if peeked is not None else await self.cache.get(self.stored(key))
                peeked = None  # a waiter looks again
                if raw is not None:
                    try:
                        return Flight(key, hit=Entry.decode(raw))
                    except (ValueError, KeyError, TypeError):  # written by another version: fetch afresh
                        log.warning("unreadable response cache entry %s; fetching it again", key)
                if await self.cache.incr(f"lock:{key}", 1, ttl_s=math.ceil(wait_s)) == 1:
                    self._landed[key] = asyncio.Event()
                    return Flight(key, leader=True)
            except CacheError as exc:
                log.warning("response cache bypassed, the cache failed: %s", exc)
                return Flight(key, store=False)
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.info("an identical request has been in flight for %.1fs; going upstream too", wait_s)
                return Flight(key)
            landed = self._landed.get(key)
            try:
                if landed is None:
                    await asyncio.sleep(min(POLL_S, remaining))
                else:
                    await asyncio.wait_for(landed.wait(), remaining)
            except TimeoutError:
                pass

    async def finish(self, flight: Flight, entry: Entry | None, ttl_s: int) -> None:
        """Store the answer (if any) and let the waiters go."""
        if entry is not None and (version := entry.prompt_version) and version not in self.prompts.versions():
            log.info("answer not cached: written with prompt %s, which is not live here", version)
            entry = None
        try:
            if entry is not None and flight.store:
                await self.cache.set(self.stored(flight.key), entry.encode(), ttl_s)
            if flight.leader:
                await self.cache.delete(f"lock:{flight.key}")
        except CacheError as exc:
            log.warning("response not cached, the cache failed: %s", exc)
        finally:
            landed = self._landed.pop(flight.key, None) if flight.leader else None
            if landed is not None:
                landed.set()
