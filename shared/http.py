"""The internal HTTP client: pooled keep-alive connections, request id carried to the next hop."""

from __future__ import annotations

import httpx

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


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.service_timeout_s, connect=2.0),
        # Every connection a burst opened stays open for the next request: past 50 concurrent requests,
        # closing and reopening connections cost more CPU than idle sockets do.
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        event_hooks={"request": [_propagate_request_id]},
    )
    return instrument_client(client, settings)


def describe_failure(exc: httpx.HTTPError) -> str:
    """What went wrong on a connection, in words for a client: they name no address (the log does)."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed"
    return "connection failed"
