"""Forwarding a request to its upstream and streaming the answer back as it comes.

JSON and other bodies pass through byte for byte. Event streams are read event by event (``shared.sse``)
and re-framed, one frame per event, so the gateway sees each event (for the cache and token counts) and a
stream the upstream cuts off still ends with an ``error`` event instead of just stopping.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import anyio
from fastapi import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from gateway.tier1.routes import Route
from gateway.tier1.upstream import UpstreamClient, UpstreamError, UpstreamResponse, UpstreamTimeout
from shared.deadline import DEADLINE_EXCEEDED, DEADLINE_HEADER
from shared.events import StreamEvent
from shared.http import TENANT_HEADER
from shared.service import error_body
from shared.sse import ClosingStreamingResponse, WireEvent, error_event, read_events, shutdown_frame, sse_frame

log = logging.getLogger(__name__)

# Hop-by-hop, length and encoding headers are the proxy's own business (bodies are relayed decoded).
_DROP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "x-request-id"}
# JSON answers larger than this are relayed but not kept (for the cache or token counts).
MAX_KEPT_BYTES = 1_000_000


async def open_upstream(
    upstreams: UpstreamClient,
    method: str,
    url: str,
    body: bytes,
    content_type: str | None,
    route: Route,
    tenant: str,
) -> UpstreamResponse:
    """The upstream's response, headers read and body not yet; 504 when one of the route's deadlines (or the
    caller's, ``X-Timeout-Ms``) fires, 502 when unreachable. The client learns the upstream's name (``route.upstream``), the log its address."""
    headers = {TENANT_HEADER: tenant, **({"content-type": content_type} if content_type else {})}
    try:
        return await upstreams.send(method, url, body, headers, route.timeout_s)
    except UpstreamTimeout as exc:
        log.warning("%s %s timed out: %s", method, url, exc.stage)
        if exc.stage != "deadline":
            DEADLINE_EXCEEDED.labels("gateway", "upstream").inc()
        raise HTTPException(504, _timed_out(exc, route)) from exc
    except UpstreamError as exc:
        log.warning("%s %s failed: %s", method, url, exc)
        raise HTTPException(502, f"{route.upstream} unavailable: {exc.description}") from exc


# What the gateway was doing when each of its deadlines fired.
_STAGES = {
    "pool": "waiting for a free connection (the gateway's pool is full)",
    "connect": "connecting",
    "read": "waiting for the answer",
}


def _timed_out(exc: UpstreamTimeout, route: Route) -> str:
    """Which deadline fired on which hop, its configured limit, and the time really spent: a 504 under load
    can come from a short deadline (connect) long before the route's own."""
    if exc.stage == "deadline":
        return f"gateway -> {route.upstream}: not sent: the caller's deadline ({DEADLINE_HEADER}) had passed"
    source = "the gateway's connect timeout" if exc.stage == "connect" else f"the route's timeout_s ({route.path})"
    if exc.by_caller:
        source = f"the caller's deadline ({DEADLINE_HEADER})"
    return (
        f"gateway -> {route.upstream}: {_STAGES[exc.stage]} timed out: limit {exc.limit_s:g}s, "
        f"{source}; gave up after {exc.elapsed_s:.2f}s"
    )


def is_event_stream(response: UpstreamResponse) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


@dataclass
class Transcript:
    """What an upstream answer carried, recorded as it went by."""

    status: int
    content_type: str
    event_stream: bool
    events: list[WireEvent] = field(default_factory=list)
    body: bytearray | None = None  # a JSON answer, when asked to keep it, until past MAX_KEPT_BYTES
    finished: bool = False  # read to its end, not cut off or abandoned by the client

    def keep(self, chunk: bytes) -> None:
        if self.body is not None:
            self.body.extend(chunk)
            if len(self.body) > MAX_KEPT_BYTES:
                self.body = None

    @property
    def complete(self) -> bool:
        """A 200 answer read to its end; a stream also ended with ``done`` and carried no ``error``."""
        if self.status != 200 or not self.finished:
            return False
        if not self.event_stream:
            return self.body is not None
        names = {name for name, _ in self.events}
        return bool(self.events) and self.events[-1][0] == StreamEvent.DONE and StreamEvent.ERROR not in names


class WholeAnswer(Response):
    """An answer of known length, up to ``MAX_KEPT_BYTES`` and no event stream (a JSON body): read whole, then
    sent in one message with its length. A stream relayed would cost a task group, a generator and a chunked
    body per request, for an answer the client reads whole anyway; and an upstream that fails while it sends
    it still gets a 502 here, not a cut body."""

    def __init__(
        self,
        upstream: UpstreamResponse,
        transcript: Transcript,
        on_end: Callable[[Transcript], Awaitable[None]],
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(status_code=upstream.status_code, headers=headers)
        self.upstream = upstream
        self.transcript = transcript
        self.on_end = on_end
        self.kept = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            try:
                body = await self.upstream.aread()
            except UpstreamError as exc:
                log.warning("upstream %s cut its answer: %s", self.upstream.url, exc)
                failed = error_body("upstream_error", "the upstream stopped while it answered; try again")
                await JSONResponse(failed, status_code=502)(scope, receive, send)
                return
            self.transcript.keep(body)
            self.transcript.finished = True
            self.body = body
            self.init_headers(self.kept)  # its length, now known
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.upstream.aclose()
                await self.on_end(self.transcript)


def relay(
    upstream: UpstreamResponse,
    on_end: Callable[[Transcript], Awaitable[None]],
    headers: Mapping[str, str] | None = None,
    keep_body: bool = False,
) -> Response:
    """The upstream answer as the client's response; ``on_end`` gets the transcript once it is over."""
    transcript = Transcript(
        status=upstream.status_code,
        content_type=upstream.headers.get("content-type", ""),
        event_stream=is_event_stream(upstream),
        body=bytearray() if keep_body else None,
    )
    kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _DROP}
    length: str = upstream.headers.get("content-length", "")
    if not transcript.event_stream and length.isdigit() and int(length) <= MAX_KEPT_BYTES:
        return WholeAnswer(upstream, transcript, on_end, {**kept, **(headers or {})})
    url = upstream.url

    async def events() -> AsyncGenerator[str, None]:
        try:
            async for event in read_events(upstream.aiter_lines()):
                transcript.events.append(event)
                yield sse_frame(*event)
            transcript.finished = True
        except UpstreamError as exc:
            log.warning("upstream %s cut its event stream: %s", url, exc)
            yield sse_frame(*error_event("upstream_error", "the upstream stopped mid-stream; try again"))

    async def raw() -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in upstream.aiter_bytes():
                transcript.keep(chunk)
                yield chunk
            transcript.finished = True
        except UpstreamError as exc:
            # Headers are gone already: all a proxy can do is end the body early, and log why.
            log.warning("upstream %s cut its answer: %s", url, exc)

    async def close() -> None:
        await upstream.aclose()
        await on_end(transcript)

    return ClosingStreamingResponse(
        events() if transcript.event_stream else raw(),
        on_close=close,
        shutdown_frame=shutdown_frame() if transcript.event_stream else None,
        status_code=upstream.status_code,
        headers={**kept, **(headers or {})},
    )
