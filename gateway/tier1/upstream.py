"""The gateway's client for its upstreams: aiohttp, whose C HTTP parser and plain asyncio streams cost a
fraction of httpx's layers (client, httpcore, h11, anyio) per request.

Measured on the bench's simulator at concurrency 1 (2 cores): a FastAPI hop relaying with aiohttp added
1.3 ms and spent 1.4 ms of CPU per request, the same hop with httpx 2.7 ms and 3.4 ms. The gateway's other
clients (token counting, readiness, the router's calls) stay on httpx (``shared.http``); this one carries
what ``shared.http``'s hooks add there: the request id, the caller's deadline (``X-Timeout-Ms``, the call
bounded by it), a client span with ``traceparent`` when tracing is on, and no cookies (one client serves
every tenant). Redirects are the client's business, not followed here.
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Literal

import aiohttp

from shared.deadline import DEADLINE_EXCEEDED, DEADLINE_HEADER, format_budget, wait_s
from shared.settings import Settings
from shared.telemetry import REQUEST_ID_HEADER, request_id_var
from shared.tracing import client_span
from shared.tracing import enabled as tracing_enabled

# A reachable upstream accepts a connection at once; more than this and it is down or swamped.
CONNECT_TIMEOUT_S = 2.0
# Every connection a burst opened stays open for the next request (as shared.http's pool).
MAX_CONNECTIONS = 200

Stage = Literal["pool", "connect", "read", "deadline"]


class UpstreamError(Exception):
    """An upstream exchange failed; ``description`` says how in words for a client (no address)."""

    def __init__(self, description: str, detail: str = "") -> None:
        super().__init__(detail or description)
        self.description = description


class UpstreamTimeout(UpstreamError):
    """A deadline fired: ``stage`` (pool: waiting for a free connection, connect, read, or ``deadline``: the
    caller's had passed before sending), after ``limit_s`` (the route's, or the caller's when shorter: ``by_caller``)."""

    def __init__(self, stage: Stage, limit_s: float, by_caller: bool, elapsed_s: float = 0.0) -> None:
        super().__init__("not asked: the caller's deadline had passed" if stage == "deadline" else "timed out")
        self.stage = stage
        self.limit_s = limit_s
        self.by_caller = by_caller
        self.elapsed_s = elapsed_s


def _failure(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "could not connect"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "connection closed"
    return "connection failed"


class UpstreamResponse:
    """An upstream's answer, its head read and its body not yet: read it whole or as it comes, then close
    it; a body left unread closes its connection (so the upstream sees the client leave), a read one is
    reused."""

    def __init__(self, raw: aiohttp.ClientResponse, read_timeout_s: float, by_caller: bool) -> None:
        self.raw = raw
        self.status_code = raw.status
        self.headers: Mapping[str, str] = raw.headers
        self.url = str(raw.url)
        self._read_timeout_s = read_timeout_s
        self._by_caller = by_caller

    async def aread(self) -> bytes:
        try:
            return await self.raw.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._broken(exc) from exc

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.raw.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._broken(exc) from exc

    async def aiter_lines(self) -> AsyncIterator[str]:
        """Its lines, without their endings, however long (an event stream's ``data:`` lines can be)."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        async for chunk in self.aiter_bytes():
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                yield line.removesuffix("\r")
        if pending := pending + decoder.decode(b"", final=True):
            yield pending.removesuffix("\r")

    async def aclose(self) -> None:
        if self.raw.content.is_eof():
            self.raw.release()
        else:
            self.raw.close()

    def _broken(self, exc: BaseException) -> UpstreamError:
        if isinstance(exc, asyncio.TimeoutError):
            return UpstreamTimeout("read", self._read_timeout_s, self._by_caller)
        assert isinstance(exc, aiohttp.ClientError)
        return UpstreamError(_failure(exc), f"{exc.__class__.__name__}: {exc}")


class UpstreamClient:
    """One pool of connections to the upstreams for the gateway process; an async context manager (the
    app's lifespan) that closes them."""

    def __init__(self, settings: Settings, service: str = "gateway") -> None:
        self.service = service
        self.margin_s = settings.deadline_margin_s
        self.traced = tracing_enabled(settings)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> UpstreamClient:
        connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=0)
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=None)
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(
        self, method: str, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> UpstreamResponse:
        """The upstream's answer to this request, its head read; ``timeout_s`` bounds each wait for bytes,
        and the caller's deadline (less ``deadline_margin_s``) bounds that. Raises ``UpstreamError``."""
        assert self._session is not None, "used within its lifespan"
        wait = wait_s(timeout_s, self.margin_s)
        limit = timeout_s if wait is None else wait
        by_caller = limit < timeout_s
        if limit <= 0:
            DEADLINE_EXCEEDED.labels(self.service, "not_sent").inc()
            raise UpstreamTimeout("deadline", 0.0, by_caller=True)
        sent = {**headers, DEADLINE_HEADER: format_budget(limit)}
        if (request_id := request_id_var.get()) and REQUEST_ID_HEADER not in sent:
            sent[REQUEST_ID_HEADER] = request_id
        connect = min(CONNECT_TIMEOUT_S, limit)
        # ``connect`` bounds the wait for a free connection too (all MAX_CONNECTIONS busy), as httpx's pool timeout did.
        timeout = aiohttp.ClientTimeout(total=None, connect=limit, sock_connect=connect, sock_read=limit)
        started = time.monotonic()
        try:
            with client_span(self.traced, method, url, sent):
                raw = await self._session.request(
                    method,
                    url,
                    data=body or None,
                    headers=sent,
                    timeout=timeout,
                    allow_redirects=False,
                    skip_auto_headers=() if "content-type" in headers else ("Content-Type",),
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            elapsed = time.monotonic() - started
            if isinstance(exc, aiohttp.ConnectionTimeoutError):
                if connect < limit <= elapsed:  # past the connect timeout: queued for a connection all along
                    raise UpstreamTimeout("pool", limit, by_caller, elapsed) from exc
                raise UpstreamTimeout("connect", connect, connect < CONNECT_TIMEOUT_S, elapsed) from exc
            if isinstance(exc, asyncio.TimeoutError):
                raise UpstreamTimeout("read", limit, by_caller, elapsed) from exc
            raise UpstreamError(_failure(exc), f"{exc.__class__.__name__}: {exc}") from exc
        return UpstreamResponse(raw, limit, by_caller)
