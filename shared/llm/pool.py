"""Endpoint selection for one pool of OpenAI-compatible replicas.

Routing only: which replica takes a request, and which replicas are in rotation. Sending is
``openai_compat``'s job, so this module can be reasoned about (and tested) without HTTP traffic
except for the health probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TypedDict

import httpx

from shared.llm.base import LLMUnavailable
from shared.llm.discovery import DnsDiscovery
from shared.llm.metrics import EJECTIONS, ENDPOINT_IN_FLIGHT, ENDPOINT_UP
from shared.settings import PoolSettings

log = logging.getLogger(__name__)

# Served by vLLM, llama.cpp, TGI and Ollama alike, unlike /health.
MODELS_PATH = "/v1/models"


@dataclass(slots=True, eq=False)
class Endpoint:
    url: str
    health_path: str
    outstanding: int = 0
    # The latest request or probe succeeded.
    healthy: bool = True
    # Monotonic time until which the endpoint is out of rotation.
    ejected_until: float = 0.0
    consecutive_failures: int = 0

    def ejected(self, now: float) -> bool:
        return now < self.ejected_until


class EndpointSnapshot(TypedDict):
    url: str
    healthy: bool
    ejected_for_s: float
    outstanding: int
    consecutive_failures: int


def _affinity(session_id: str, url: str) -> int:
    # Rendezvous hashing: each session ranks the endpoints by a stable score, so removing one
    # endpoint only moves the sessions that ranked it first.
    digest = hashlib.blake2b(f"{session_id}\x00{url}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class EndpointPool:
    def __init__(self, name: str, settings: PoolSettings, client: httpx.AsyncClient) -> None:
        self.name = name
        self._settings = settings
        self._client = client  # Shared with the backend: probes reuse its connections and auth.
        self._endpoints = [Endpoint(url, settings.health_path) for url in settings.endpoints]
        self._turn = itertools.count()
        self._health_task: asyncio.Task[None] | None = None
        for endpoint in self._endpoints:
            ENDPOINT_UP.labels(name, endpoint.url).set(1)
        self._discovery = (
            DnsDiscovery(settings.dns, settings.dns_interval_s, self.set_endpoints, pool=name) if settings.dns else None
        )

    @contextlib.contextmanager
    def acquire(self, session_id: str | None = None, *, exclude: Collection[str] = ()) -> Iterator[Endpoint]:
        """An endpoint for one request, counted as outstanding until the block exits.

        ``exclude`` holds URLs already tried for this request; they are avoided while another
        endpoint is in rotation.
        """
        endpoint = self._choose(session_id, exclude)
        in_flight = ENDPOINT_IN_FLIGHT.labels(self.name, endpoint.url)
        endpoint.outstanding += 1
        in_flight.inc()
        try:
            yield endpoint
        finally:
            endpoint.outstanding -= 1
            in_flight.dec()

    def _choose(self, session_id: str | None, exclude: Collection[str]) -> Endpoint:
        if not self._endpoints:
            raise LLMUnavailable(f"llm pool {self.name}: no endpoint yet ({self._settings.dns} not resolved)")
        now = time.monotonic()
        live = [endpoint for endpoint in self._endpoints if not endpoint.ejected(now)]
        if not live:
            # Failing outright is certain to fail; the endpoint back soonest may have recovered.
            return min(self._endpoints, key=lambda endpoint: endpoint.ejected_until)
        candidates = [endpoint for endpoint in live if endpoint.url not in exclude] or live
        if session_id is not None and self._settings.session_affinity:
            return max(candidates, key=lambda endpoint: _affinity(session_id, endpoint.url))
        # Least outstanding; rotating the start breaks ties round-robin (min keeps the first).
        start = next(self._turn) % len(candidates)
        rotated = candidates[start:] + candidates[:start]
        return min(rotated, key=lambda endpoint: endpoint.outstanding)

    def untried(self, tried: Collection[str]) -> bool:
        """Whether an endpoint in rotation is not among ``tried``."""
        now = time.monotonic()
        return any(not endpoint.ejected(now) and endpoint.url not in tried for endpoint in self._endpoints)

    def set_endpoints(self, urls: Collection[str]) -> None:
        """The endpoints DNS discovery found: those still there keep their state, new ones join in rotation
        (a headless Service lists only ready pods), the others leave it. A request already on a removed one
        holds its ``Endpoint`` and finishes there: a replica scaled down drains its streams first."""
        current = {endpoint.url: endpoint for endpoint in self._endpoints}
        for url in current.keys() - set(urls):
            for gauge in (ENDPOINT_UP, ENDPOINT_IN_FLIGHT):
                with contextlib.suppress(KeyError):  # a pod's address is not reused: no series left behind
                    gauge.remove(self.name, url)
        for url in set(urls) - current.keys():
            ENDPOINT_UP.labels(self.name, url).set(1)
        self._endpoints = [current.get(url) or Endpoint(url, self._settings.health_path) for url in urls]

    def mark_failure(self, endpoint: Endpoint) -> None:
        """Take the endpoint out of rotation for ``eject_s``."""
        now = time.monotonic()
        endpoint.consecutive_failures += 1
        endpoint.healthy = False
        self._report(endpoint, up=False)
        if not endpoint.ejected(now):
            EJECTIONS.labels(self.name, endpoint.url).inc()
            log.warning("llm pool %s: ejecting %s for %.1fs", self.name, endpoint.url, self._settings.eject_s)
        endpoint.ejected_until = now + self._settings.eject_s

    def mark_success(self, endpoint: Endpoint) -> None:
        """The endpoint answered: back in rotation at once."""
        if endpoint.ejected_until:
            log.info("llm pool %s: %s is back", self.name, endpoint.url)
        endpoint.consecutive_failures = 0
        endpoint.healthy = True
        endpoint.ejected_until = 0.0
        self._report(endpoint, up=True)

    def _report(self, endpoint: Endpoint, *, up: bool) -> None:
        # Not for an endpoint discovery removed while a request was on it: its series is gone for good.
        if endpoint in self._endpoints:
            ENDPOINT_UP.labels(self.name, endpoint.url).set(int(up))

    def ready(self) -> bool:
        now = time.monotonic()
        return any(endpoint.healthy and not endpoint.ejected(now) for endpoint in self._endpoints)

    def snapshot(self) -> list[EndpointSnapshot]:
        now = time.monotonic()
        return [
            EndpointSnapshot(
                url=endpoint.url,
                healthy=endpoint.healthy,
                ejected_for_s=round(max(0.0, endpoint.ejected_until - now), 3),
                outstanding=endpoint.outstanding,
                consecutive_failures=endpoint.consecutive_failures,
            )
            for endpoint in self._endpoints
        ]

    async def check_health(self) -> None:
        """Probe every endpoint once: answering ones return to rotation, silent ones are ejected."""
        endpoints = list(self._endpoints)  # discovery may replace the list meanwhile
        results = await asyncio.gather(*(self._answers(endpoint) for endpoint in endpoints))
        for endpoint, answers in zip(endpoints, results, strict=True):
            if answers:
                self.mark_success(endpoint)
            else:
                self.mark_failure(endpoint)

    async def _answers(self, endpoint: Endpoint) -> bool:
        # A probe slower than the probing interval counts as no answer.
        timeout = httpx.Timeout(self._settings.health_interval_s, connect=self._settings.connect_timeout_s)
        try:
            response = await self._client.get(endpoint.url + endpoint.health_path, timeout=timeout)
            if response.status_code == 404 and endpoint.health_path != MODELS_PATH:
                endpoint.health_path = MODELS_PATH
                response = await self._client.get(endpoint.url + MODELS_PATH, timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.is_success

    def start(self) -> None:
        if self._discovery is not None:
            self._discovery.start()
        if self._health_task is None:
            self._health_task = asyncio.create_task(self._health_loop(), name=f"llm-health-{self.name}")

    async def aclose(self) -> None:
        if self._discovery is not None:
            await self._discovery.aclose()
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            self._health_task = None

    async def _health_loop(self) -> None:
        while True:
            try:
                await self.check_health()
            except Exception:  # A bug in one round must not end health checking for good.
                log.exception("llm pool %s: health check failed", self.name)
            await asyncio.sleep(self._settings.health_interval_s)
