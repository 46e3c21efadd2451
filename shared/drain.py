"""Draining an app on SIGTERM, so that a restart lets the requests in flight finish.

``shared.suite.DrainingServer`` starts the drain on the signal. While it drains, the app refuses new requests
(503, type ``shutdown``) and /readyz answers 503 with the reason ``draining``; requests in flight get up to
``SG_DRAIN_TIMEOUT_S`` to finish. Then the drain *stops* the rest: a stream still open ends with an ``error``
event of type ``shutdown`` (``shared.sse``), a request not yet answered gets a 503 of that type
(``shared.service``), and closing them cancels their LLM work. Only then does the server close its sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

from starlette.types import Scope

log = logging.getLogger(__name__)

DRAIN_KEY = "drain"  # where the lifespan state keeps the app's Drain
SHUTDOWN = "shutdown"  # the error type a client sees: this instance is going away, send the request again
SHUTDOWN_MESSAGE = "the server is restarting; send the request again"


class Drain:
    """One app's requests in flight and the state of its shutdown; one per lifespan (its state, ``DRAIN_KEY``)."""

    def __init__(self) -> None:
        self.draining = False  # refusing new requests, not ready
        self.stopped = False  # done waiting: what is still open is being ended
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stops: set[Callable[[], None]] = set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Count one request in flight, for its whole life (a streamed response to its last event)."""
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    @contextlib.contextmanager
    def stoppable(self, stop: Callable[[], None]) -> Iterator[None]:
        """Call ``stop`` (which must not block) when the drain stops waiting; at once if it already has."""
        if self.stopped:
            stop()
        self._stops.add(stop)
        try:
            yield
        finally:
            self._stops.discard(stop)

    def stop(self) -> None:
        """End what is still open now (the drain timeout, or a second signal)."""
        self.draining = self.stopped = True
        for stop in list(self._stops):
            stop()

    async def run(self, timeout_s: float, stop_grace_s: float) -> None:
        """Drain: wait up to ``timeout_s`` for the requests in flight, stop the rest, and give them
        ``stop_grace_s`` to send their last word."""
        self.draining = True
        log.info("draining: %d request(s) in flight, waiting up to %gs for them", self._in_flight, timeout_s)
        if not await self._wait_idle(timeout_s):
            log.warning("drain timeout: ending %d request(s) still in flight", self._in_flight)
        self.stop()
        if not await self._wait_idle(stop_grace_s):
            log.warning("%d request(s) did not end within %gs of being stopped", self._in_flight, stop_grace_s)

    async def _wait_idle(self, timeout_s: float) -> bool:
        if self._idle.is_set():
            return True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True


def drain_of(scope: Scope) -> Drain | None:
    """The app's Drain, from a request's scope; None outside an app made by ``shared.service.create_app``."""
    drain = scope.get("state", {}).get(DRAIN_KEY)
    return drain if isinstance(drain, Drain) else None
