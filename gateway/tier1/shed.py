"""Shedding load: a gateway process serves a bounded number of turns at once and refuses the rest at once.

A turn (a request on an ``llm`` route) holds the router, the services and an LLM for seconds. Past
``SG_MAX_INFLIGHT_TURNS`` a new one gets 503 with ``Retry-After`` straight away, instead of queueing for a
connection until one of its deadlines fires: a 504 a minute later, its work wasted. A turn holds its slot
until its response's last byte, a stream included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from prometheus_client import Counter, Gauge
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.tier1.routes import Route
from shared.service import error_body

TURNS_IN_FLIGHT = Gauge("sg_gateway_turns_in_flight", "Turns (llm routes) the gateway is serving")
SHED = Counter("sg_gateway_shed_total", "Turns refused with 503: the process was serving its limit", ["business"])
# Turns last seconds and free slots all the time: a client may try again soon (another replica may have room).
RETRY_AFTER_S = 1


class TurnSlots:
    """The turns one gateway process serves at once; a lifespan resource, counted per process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        self.in_flight += 1
        TURNS_IN_FLIGHT.inc()
        try:
            yield
        finally:
            self.in_flight -= 1
            TURNS_IN_FLIGHT.dec()


# A request's turn: the process's slots and the request's route; None when it is no turn.
FindTurn = Callable[[Scope], tuple[TurnSlots, Route] | None]


class ShedTurns:
    """Pure ASGI: a turn past the limit is refused, others hold a slot while they are served."""

    def __init__(self, app: ASGIApp, find: FindTurn) -> None:
        self.app = app
        self.find = find

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        turn = self.find(scope) if scope["type"] == "http" else None
        if turn is None:
            await self.app(scope, receive, send)
            return
        slots, route = turn
        if slots.in_flight >= slots.limit:
            SHED.labels(route.business).inc()
            message = f"the gateway is serving its limit of {slots.limit} turns (SG_MAX_INFLIGHT_TURNS); retry shortly"
            headers = {"Retry-After": str(RETRY_AFTER_S)}
            await JSONResponse(error_body("overloaded", message), status_code=503, headers=headers)(scope, receive, send)
            return
        with slots.hold():
            await self.app(scope, receive, send)
