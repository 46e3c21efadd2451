"""Request ids, JSON logs and Prometheus metrics shared by every app."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from contextvars import ContextVar

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.tracing import annotate_request

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

HTTP_REQUESTS = Counter(
    "sg_http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "sg_http_request_seconds",
    "Time to the response headers",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class _RequestIdFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        return True


def configure_logging(service: str, level: str = "INFO", json_logs: bool = True) -> None:
    """Route every logger (uvicorn's included) to one stdout handler carrying service and request id."""
    handler = logging.StreamHandler(sys.stdout)
    fmt = "%(asctime)s %(levelname)s %(name)s %(service)s %(request_id)s %(message)s"
    handler.setFormatter(JsonFormatter(fmt) if json_logs else logging.Formatter(fmt))
    handler.addFilter(_RequestIdFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Takes or makes ``X-Request-ID``, echoes it, and records count and latency per route.

    Pure ASGI so streamed responses pass through untouched.
    """

    def __init__(self, app: ASGIApp, service: str, traced: bool = False) -> None:
        self.app = app
        self.service = service
        self.traced = traced  # the id goes on the request's server span (shared.tracing)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode())
        request_id = incoming.decode("latin-1")[:128] if incoming else new_request_id()
        token = request_id_var.set(request_id)
        if self.traced:
            annotate_request(self.service, request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode("latin-1")))
                message["headers"] = headers
                route = _route_template(scope)
                HTTP_LATENCY.labels(self.service, scope["method"], route).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            HTTP_REQUESTS.labels(self.service, scope["method"], _route_template(scope), str(status)).inc()
        # Reset on a normal end only: when the app raised, Starlette's outermost layer writes the 500 after
        # this returns, and its body quotes the id (a server runs each request in a context of its own).
        request_id_var.reset(token)


def _route_template(scope: Scope) -> str:
    # The template (/v1/products/{sku_id}), not the raw path, keeps label cardinality bounded.
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

ENGINE_ANSWERS = Counter(
    "sg_engine_answers_total",
    "Answers by the engine that produced them (local CPU engine or LLM), and LLM fallbacks to local",
    ["service", "engine", "outcome"],
)

LLM_REPLIES = Counter(
    "sg_llm_replies_total",
    "LLM replies by what became of them: accepted; truncated_repetition, truncated_length (a streamed reply cut "
    "by its checks, what came before the cut used); rejected after parsing as unusable (no answer in it), "
    "inconsistent (an answer the input contradicts) or echoed (copied from the input or the prompt); "
    "timeout; failed",
    ["service", "verdict"],
)

SESSION_TURNS_UNSAVED = Counter(
    "sg_session_turns_unsaved_total",
    "Dialog turns answered but not saved to their session: the session store (Redis) failed",
)

PROMPT_OVERRIDES = Counter(
    "sg_prompt_overrides_total",
    "Prompt versions that went live (loaded: an override, or the packaged text again once its override is gone) "
    "and overrides refused (the version live before them kept), by source (packaged, dir, redis)",
    ["service", "prompt", "source", "outcome"],
)
