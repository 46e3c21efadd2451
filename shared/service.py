"""The app factory every service, the router and the gateway are built with.

It adds what all of them share: ``/healthz``, ``/readyz``, ``/metrics`` (unless ``SG_METRICS_PORT`` puts them on a
port of their own), request ids, JSON errors, and how a request ends when its client or its process goes away: a
client that hangs up cancels its request's work (a JSON request's as well as a stream's), and a draining app
(``shared.drain``) refuses new requests.
Resources live in the lifespan state, one typed object per app (a ``ServiceState``), never in module globals.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.bodies import JSON_MEDIA_TYPE, BodyRefused, check_json_body
from shared.deadline import (
    ABANDONED,
    DEADLINE_EXCEEDED,
    DEADLINE_HEADER,
    lift,
    parse_budget,
    remaining_s,
    within,
)
from shared.drain import DRAIN_KEY, SHUTDOWN, SHUTDOWN_MESSAGE, Drain, drain_of
from shared.schemas import ErrorResponse
from shared.settings import Settings, get_settings
from shared.telemetry import REQUEST_ID_HEADER, RequestContextMiddleware, metrics_response, request_id_var
from shared.tracing import enabled as tracing_enabled
from shared.tracing import instrument_app

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, kw_only=True)
class ServiceState:
    """An app's lifespan resources: each app subclasses it with its clients and engines, which its routes
    get through ``Depends`` on ``app_state``. /readyz runs the checks the state names."""

    settings: Settings

    def readiness(self) -> dict[str, ReadinessCheck]:
        """Dependencies that must answer: one that does not takes the instance out of service (503)."""
        return {}

    def degradable(self) -> dict[str, ReadinessCheck]:
        """Dependencies whose failure the app rides out (an LLM with a local fallback, Redis with a memory
        fallback): reported under ``degraded``, never a reason to take the instance out of service."""
        return {}


StateT = TypeVar("StateT", bound=ServiceState)
# A service's resources: entered at start-up, closed at shutdown, its state meanwhile.
Resources = Callable[[Settings], AbstractAsyncContextManager[ServiceState]]
STATE_KEY = "service_state"  # where the lifespan state keeps the ServiceState


def app_state(request: Request, kind: type[StateT]) -> StateT:
    """The app's lifespan state as its own type: the one read of the untyped ``request.state``."""
    state = getattr(request.state, STATE_KEY)
    if not isinstance(state, kind):
        raise TypeError(f"{request.app.title}'s state is a {type(state).__name__}, not a {kind.__name__}")
    return state


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, "request_id": request_id_var.get(), **extra}}


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def _field_error(err: dict[str, Any]) -> dict[str, str]:
    if err.get("type") == "json_invalid":  # FastAPI's loc is ("body", offset): say what the body should be
        reason = err.get("ctx", {}).get("error", "")
        return {"field": "body", "message": f"not valid JSON ({reason}); send {JSON_MEDIA_TYPE}"}
    return {"field": _location(err.get("loc", ())), "message": str(err.get("msg", "")).removeprefix("Value error, ")}


def _refused(errors: list[dict[str, str]]) -> JSONResponse:
    message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(error_body("validation_error", message, errors=errors), status_code=422)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _refused([_field_error(err) for err in exc.errors()])


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc)


def error_response(exc: StarletteHTTPException | BodyRefused) -> JSONResponse:
    """The answer the app's handlers give these, for pure ASGI code that runs outside them."""
    if isinstance(exc, BodyRefused):
        return _body_refusal(exc)
    return JSONResponse(
        error_body("http_error", str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unhandled_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error: %s", exc)
    # Starlette answers a 500 outside every middleware, so the request id header is set here.
    request_id = request_id_var.get()
    return JSONResponse(
        error_body("internal_error", "internal error; quote the request id"),
        status_code=500,
        headers={REQUEST_ID_HEADER: request_id} if request_id else None,
    )


async def _body_refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyRefused)
    return _body_refusal(exc)


def _body_refusal(exc: BodyRefused) -> JSONResponse:
    """The answer to a body ``check_json_body`` refused: 415, or 422 like any invalid field."""
    if exc.status == 415:
        return JSONResponse(error_body("unsupported_media_type", exc.message), status_code=415)
    return _refused([{"field": "body", "message": exc.message}])


class JsonBodyGuard:
    """Checks a request body before FastAPI parses it (``check_json_body``): its JSON parser and pydantic
    recurse, and a body nested thousands deep would end in a 500. Pure ASGI; the body, read whole here as
    FastAPI would read it anyway, is handed on unchanged."""

    def __init__(self, app: ASGIApp, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client hung up before sending it all
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            check_json_body(body, Headers(scope=scope).get("content-type"), self.max_depth)
        except BodyRefused as exc:
            await _body_refusal(exc)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the shared error body."""
    return {status: {"model": ErrorResponse, "description": _ERROR_DOCS[status]} for status in statuses}


_ERROR_DOCS = {
    400: "Not a valid request",
    401: "No API key, or an unknown one",
    403: "The tenant may not use this route",
    404: "Not found",
    405: "Method not allowed on this path",
    413: "The body is larger than SG_MAX_BODY_BYTES",
    415: "The body is not application/json",
    422: "A field is invalid, the body is not JSON, or it nests deeper than SG_MAX_JSON_DEPTH",
    429: "Over the rate limit: wait Retry-After seconds",
    500: "Internal error: quote the request id",
    502: "An upstream service did not answer usefully (the message names it, never its address)",
    503: "A dependency this request needs (e.g. the session store) does not answer now: retry later",
    504: "An upstream service did not answer in time, or the caller's deadline (X-Timeout-Ms) passed first",
}


def _document_errors(router: APIRouter) -> None:
    """Each operation documents the errors any app may send: 500; 422 with parameters or a body; 415 with a
    body. Route-specific ones (404, 502, ...) are in the routes' own ``responses``, which win."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        dependant = route.dependant
        statuses = [500]
        if route.body_field is not None:
            statuses += [415, 422]
        elif dependant.path_params or dependant.query_params or dependant.header_params:
            statuses.append(422)
        route.responses = {**error_responses(*statuses), **route.responses}


health_router = APIRouter(tags=["health"])
# Answered while the app drains, and never counted in flight: probes and scrapes must not hold a drain up.
HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# A hang-up's status, as nginx logs it: nobody reads the response, but logs and metrics show what happened.
CLIENT_CLOSED_REQUEST = 499


@health_router.get("/healthz", summary="Alive")
async def healthz(request: Request) -> dict[str, str]:
    return {"status": "ok", "service": request.app.title}


@health_router.get(
    "/readyz",
    summary="Can serve: not draining, and the dependencies it needs answer",
    responses={503: {"description": "Not ready: draining, or a dependency it needs does not answer"}},
)
async def readyz(request: Request) -> JSONResponse:
    drain = drain_of(request.scope)
    if drain is not None and drain.draining:
        return JSONResponse({"ready": False, "reason": "draining", "checks": {}, "degraded": []}, status_code=503)
    state = app_state(request, ServiceState)
    checks, degradable = state.readiness(), state.degradable()
    results = await asyncio.gather(*(_safe(check) for check in (*checks.values(), *degradable.values())))
    status = dict(zip(checks, results[: len(checks)], strict=True))
    ready = all(status.values())
    degraded = [name for name, ok in zip(degradable, results[len(checks) :], strict=True) if not ok]
    body: dict[str, Any] = {"ready": ready, "checks": status, "degraded": degraded}
    if not ready:
        body["reason"] = "unavailable: " + ", ".join(name for name, ok in status.items() if not ok)
    return JSONResponse(body, status_code=200 if ready else 503)


# On the app's own port only while no SG_METRICS_PORT is set (then shared.suite serves them there).
metrics_router = APIRouter(tags=["health"])


@metrics_router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Any:
    return metrics_response()


async def _safe(check: ReadinessCheck) -> bool:
    try:
        return bool(await asyncio.wait_for(check(), timeout=2.0))
    except Exception:  # noqa: BLE001 - a failing check means "not ready", never a 500
        return False


def _shutdown_response() -> JSONResponse:
    # Connection: close, so that a client's pool does not send its next request to this instance.
    headers = {"Retry-After": "1", "Connection": "close"}
    return JSONResponse(error_body(SHUTDOWN, SHUTDOWN_MESSAGE), status_code=503, headers=headers)


class RequestLifecycle:
    """Pure ASGI, around each request but the health paths: refused while the app drains, counted in flight
    meanwhile, and cancelled when its client hangs up, when its deadline passes (``X-Timeout-Ms``,
    ``shared.deadline``) before it has answered, or, before it has answered, when the drain stops it.

    The connection is watched once the request body is read, so a JSON request (a whole turn, say) stops its
    work too when the client leaves, not only a stream.
    """

    def __init__(self, app: ASGIApp, service: str = "") -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        drain = drain_of(scope)
        if scope["type"] != "http" or drain is None or scope["path"] in HEALTH_PATHS:
            await self.app(scope, receive, send)
            return
        if drain.draining:
            await _shutdown_response()(scope, receive, send)
            return
        header = Headers(scope=scope).get(DEADLINE_HEADER)
        try:
            budget_s = None if header is None else parse_budget(header)
        except ValueError as exc:
            await JSONResponse(error_body("invalid_header", str(exc)), status_code=400)(scope, receive, send)
            return
        if budget_s == 0:
            DEADLINE_EXCEEDED.labels(self.service, "arrival").inc()
            await _deadline_response(f"the caller's deadline ({DEADLINE_HEADER}: 0) had passed on arrival")(
                scope, receive, send
            )
            return
        with drain.request(), (nullcontext() if budget_s is None else within(budget_s)):
            await self._serve(drain, scope, receive, send, header)

    async def _serve(self, drain: Drain, scope: Scope, receive: Receive, send: Send, budget: str | None) -> None:
        started = answered = False
        gone = asyncio.Event()
        watcher: asyncio.Task[None] | None = None
        remaining = remaining_s()
        handling = anyio.CancelScope(deadline=anyio.current_time() + (math.inf if remaining is None else remaining))

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            if not answered:
                ABANDONED.labels(self.service).inc()
                handling.cancel()

        async def app_receive() -> Message:
            nonlocal watcher
            if watcher is not None or gone.is_set():
                await gone.wait()  # the watcher alone reads the connection now
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            elif not message.get("more_body", False):
                watcher = asyncio.create_task(watch())
            return message

        async def app_send(message: Message) -> None:
            nonlocal started, answered
            if message["type"] == "http.response.start":
                started = True
                handling.deadline = math.inf  # the answer has started: read timeouts between events take over
                lift()
            answered = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        def stop() -> None:
            if not started:  # a stream ends itself, with its shutdown event (shared.sse)
                handling.cancel()

        try:
            with handling, drain.stoppable(stop):
                await self.app(scope, app_receive, app_send)
        finally:
            if watcher is not None:
                watcher.cancel()
        if handling.cancel_called and not started:
            if gone.is_set():
                response: Response = Response(status_code=CLIENT_CLOSED_REQUEST)
            elif drain.stopped:
                response = _shutdown_response()
            else:
                DEADLINE_EXCEEDED.labels(self.service, "answering").inc()
                response = _deadline_response(
                    f"the caller's deadline ({DEADLINE_HEADER}: {budget}) passed before {self.service} answered"
                )
            await response(scope, receive, send)


def _deadline_response(message: str) -> JSONResponse:
    return JSONResponse(error_body("deadline_exceeded", message), status_code=504)


def create_app(
    name: str,
    *,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    resources: Resources,
    description: str = "",
    guard_bodies: bool = True,
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """``guard_bodies=False`` leaves bodies unchecked: for the gateway, which reads and checks its own after
    admission, within its size limit (``JsonBodyGuard`` reads whatever comes). ``middleware`` runs innermost,
    for requests already given an id and not refused by a drain."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with resources(settings) as state:
            yield {STATE_KEY: state, DRAIN_KEY: Drain()}

    app = FastAPI(title=name, description=description, version="0.1.0", lifespan=lifespan, middleware=middleware)
    if guard_bodies:  # inside the request context: a refusal carries the request id
        app.add_middleware(JsonBodyGuard, max_depth=settings.max_json_depth)
    app.add_middleware(RequestLifecycle, service=name)
    app.add_middleware(RequestContextMiddleware, service=name, traced=tracing_enabled(settings))
    if tracing_enabled(settings):  # outermost: the server span holds the whole request, its id set inside
        instrument_app(app, settings, name)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(BodyRefused, _body_refused)  # raised where an app reads a body itself
    app.add_exception_handler(Exception, _unhandled_error)
    public_metrics = [metrics_router] if settings.metrics_port is None else []
    for router in (health_router, *public_metrics, *routers):
        _document_errors(router)  # before including: the app's routes are built from these
        app.include_router(router)
    return app
