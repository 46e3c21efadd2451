"""Routed requests as pure ASGI: the gateway's hot path.

The same steps and answers as the documented catch-all route (``app.py``'s ``routed``, kept for the OpenAPI):
the key (``authenticate``), admission and the rate limits (``admit``), the body checks (``read_body``), the
cache and the upstream (``dispatch``), the reservation settled once the answer is out. What it leaves out is
FastAPI's routing, dependency solving and response handling, about half the gateway's CPU per proxied request
when profiled at concurrency 32. Bodies and answers pass as bytes, never parsed into models or re-encoded.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import asynccontextmanager

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.tier1.dispatch import dispatch
from gateway.tier1.gate import admit, authenticate, read_body
from gateway.tier1.state import GatewayState
from shared.bodies import BodyRefused
from shared.service import STATE_KEY, error_response

_admission = asynccontextmanager(admit)


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
        try:
            principal = await authenticate(request, state)
            async with _admission(request, principal, state) as admitted:
                scope["route"] = admitted.route  # its path template labels the request's metrics
                response = await dispatch(request, state, admitted, await read_body(request, state))
                await response(scope, receive, send)
        except (HTTPException, BodyRefused) as exc:  # refused before any byte of the answer went out
            await error_response(exc)(scope, receive, send)
