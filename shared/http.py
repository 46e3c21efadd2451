"""The internal HTTP client: pooled keep-alive connections, request id carried to the next hop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from shared.deadline import DEADLINE_EXCEEDED, DEADLINE_HEADER, DeadlineExceeded, format_budget, wait_s
from shared.settings import Settings
from shared.telemetry import REQUEST_ID_HEADER, request_id_var
from shared.tracing import instrument_client

# Set by the gateway on every request it forwards (a client's own is never passed on): the tenant whose key
# was accepted. The router keeps each tenant's sessions apart by it.
TENANT_HEADER = "X-SG-Tenant"


async def _propagate_request_id(request: httpx.Request) -> None:
    request_id = request_id_var.get()
    if request_id and REQUEST_ID_HEADER not in request.headers:
        request.headers[REQUEST_ID_HEADER] = request_id


def _propagate_deadline(service: str, margin_s: float) -> Callable[[httpx.Request], Awaitable[None]]:
    """Bounds each request by the current request's deadline (``shared.deadline``) and sends its wait on as the
    next hop's budget; a request that carries a budget already is left as its sender made it."""

    async def hook(request: httpx.Request) -> None:
        if DEADLINE_HEADER in request.headers:
            return
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        wait = wait_s(timeouts.get("read"), margin_s)
        if wait is None:
            return
        if wait <= 0:
            DEADLINE_EXCEEDED.labels(service, "not_sent").inc()
            raise DeadlineExceeded("the caller's deadline has passed: the request was not sent", request=request)
        request.extensions["timeout"] = {k: wait if v is None else min(v, wait) for k, v in timeouts.items()}
        request.headers[DEADLINE_HEADER] = format_budget(wait)

    return hook


def create_http_client(settings: Settings, service: str = "") -> httpx.AsyncClient:
    """``service`` names this app in the metrics of the deadlines its calls ran out of."""
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.service_timeout_s, connect=2.0),
        # Every connection a burst opened stays open for the next request: past 50 concurrent requests,
        # closing and reopening connections cost more CPU than idle sockets do.
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        event_hooks={"request": [_propagate_request_id, _propagate_deadline(service, settings.deadline_margin_s)]},
        # One client serves every caller: a cookie one upstream answer set must not ride on another tenant's calls.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )
    return instrument_client(client, settings)


def describe_failure(exc: httpx.HTTPError) -> str:
    """What went wrong on a connection, in words for a client: they name no address (the log does)."""
    if isinstance(exc, DeadlineExceeded):
        return "not asked: the caller's deadline had passed"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed"
    return "connection failed"
