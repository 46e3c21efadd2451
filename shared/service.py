"""The app factory every service, the router and the gateway are built with.

It adds what all of them share: ``/healthz``, ``/readyz``, ``/metrics``, request ids, JSON errors.
Resources live in the lifespan state, one typed object per app (a ``ServiceState``), never in module globals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.settings import Settings, get_settings
from shared.telemetry import RequestContextMiddleware, metrics_response, request_id_var

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


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _location(err.get("loc", ())), "message": str(err.get("msg", "")).removeprefix("Value error, ")}
        for err in exc.errors()
    ]
    message = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(error_body("validation_error", message, errors=errors), status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        error_body("http_error", str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unhandled_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error: %s", exc)
    return JSONResponse(error_body("internal_error", "internal error; quote the request id"), status_code=500)


health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", summary="Alive")
async def healthz(request: Request) -> dict[str, str]:
    return {"status": "ok", "service": request.app.title}


@health_router.get("/readyz", summary="Dependencies answer")
async def readyz(request: Request) -> JSONResponse:
    state = app_state(request, ServiceState)
    checks, degradable = state.readiness(), state.degradable()
    results = await asyncio.gather(*(_safe(check) for check in (*checks.values(), *degradable.values())))
    status = dict(zip(checks, results[: len(checks)], strict=True))
    ready = all(status.values())
    degraded = [name for name, ok in zip(degradable, results[len(checks) :], strict=True) if not ok]
    body = {"ready": ready, "checks": status, "degraded": degraded}
    return JSONResponse(body, status_code=200 if ready else 503)


@health_router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Any:
    return metrics_response()


async def _safe(check: ReadinessCheck) -> bool:
    try:
        return bool(await asyncio.wait_for(check(), timeout=2.0))
    except Exception:  # noqa: BLE001 - a failing check means "not ready", never a 500
        return False


def create_app(
    name: str,
    *,
    routers: Sequence[APIRouter],
    settings: Settings | None = None,
    resources: Resources,
    description: str = "",
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, ServiceState]]:
        async with resources(settings) as state:
            yield {STATE_KEY: state}

    app = FastAPI(title=name, description=description, version="0.1.0", lifespan=lifespan)
    app.add_middleware(RequestContextMiddleware, service=name)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
    app.include_router(health_router)
    for router in routers:
        app.include_router(router)
    return app
