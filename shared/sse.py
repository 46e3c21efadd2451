"""Server-sent events without a dependency: ``event:``/``data:`` frames and a response that always closes
its generator, so a client that hangs up stops the upstream generation too.

Streams here carry ``token`` events (``{"text": ...}``), one final ``done`` event, or an ``error`` event;
a stream never just stops, not even when its server shuts down (``shared.drain``): it then ends with an
``error`` event of type ``shutdown``. Event names are ``shared.events.StreamEvent``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from shared.drain import SHUTDOWN, SHUTDOWN_MESSAGE, drain_of
from shared.events import StreamEvent
from shared.llm.chunking import split_chunks
from shared.telemetry import request_id_var

log = logging.getLogger(__name__)

# An event one of this platform's streams sends.
Event = tuple[StreamEvent, dict[str, Any]]
# An event read off a stream: any name, since an upstream may send others (and SSE's default is "message").
WireEvent = tuple[str, dict[str, Any]]


def sse_frame(event: str, data: Mapping[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def error_event(kind: str, message: str, **extra: Any) -> Event:
    return StreamEvent.ERROR, {"type": kind, "message": message, "request_id": request_id_var.get(), **extra}


def shutdown_frame() -> str:
    """The last frame of a stream its server ends because it is shutting down."""
    return sse_frame(*error_event(SHUTDOWN, SHUTDOWN_MESSAGE))


async def _frames(events: AsyncIterator[WireEvent]) -> AsyncGenerator[str, None]:
    try:
        async for event, data in events:
            yield sse_frame(event, data)
    except Exception:  # noqa: BLE001 - a failing producer still ends the stream with an error event
        log.exception("event stream failed")
        yield sse_frame(*error_event("internal_error", "the stream failed; quote the request id"))
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


class ClosingStreamingResponse(StreamingResponse):
    """A streamed response that always closes its iterator and then runs ``on_close``.

    Starlette leaves the iterator suspended (or never started) when the client hangs up; closing it here
    releases the upstream connection, and ``on_close`` (caching, token counts, locks) runs in every case.
    With a ``shutdown_frame``, the app's drain can stop the stream (``shared.drain``): it then ends with that
    frame instead of a cut connection. Without one (a JSON body relayed), it is left to finish.
    """

    def __init__(
        self,
        content: AsyncGenerator[bytes | str, None],
        *,
        on_close: Callable[[], Awaitable[None]] | None = None,
        shutdown_frame: str | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(content, status_code=status_code, headers=headers, media_type=media_type)
        self._generator = content  # body_iterator, typed as the generator it is: starlette's type has no aclose()
        self.on_close = on_close
        self.shutdown_frame = shutdown_frame

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = ended = False

        async def tracked(message: Message) -> None:
            nonlocal started, ended
            started = started or message["type"] == "http.response.start"
            ended = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        drain = drain_of(scope) if self.shutdown_frame is not None else None
        try:
            with anyio.CancelScope() as streaming:
                with drain.stoppable(streaming.cancel) if drain else contextlib.nullcontext():
                    await super().__call__(scope, receive, tracked)
            if streaming.cancel_called and started and not ended and self.shutdown_frame is not None:
                await send({"type": "http.response.body", "body": self.shutdown_frame.encode(), "more_body": False})
        finally:
            with anyio.CancelScope(shield=True):
                await self._generator.aclose()
                if self.on_close is not None:
                    await self.on_close()


class EventStreamResponse(ClosingStreamingResponse):
    """``text/event-stream`` of ``(event, data)`` pairs; closing the producer runs its ``finally`` blocks
    (closing the LLM stream) when the client hangs up."""

    def __init__(self, events: AsyncIterator[WireEvent], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(
            _frames(events),
            shutdown_frame=shutdown_frame(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
        )


async def text_events(text: str, field: str, engine: str = "local", **done: Any) -> AsyncIterator[Event]:
    """A whole answer as token events (the same small pieces a model would stream), then ``done`` (with ``done``'s
    fields too)."""
    for piece in split_chunks(text):
        yield StreamEvent.TOKEN, {"text": piece}
    yield StreamEvent.DONE, {field: text, "engine": engine, **done}



async def read_events(lines: AsyncIterator[str]) -> AsyncIterator[WireEvent]:
    """Parse an upstream ``text/event-stream`` (e.g. ``httpx.Response.aiter_lines()``) into events.

    A frame without ``event:`` is a ``message``; data that is not JSON is wrapped as ``{"text": ...}``.
    """
    name = "message"
    data: list[str] = []
    async for line in lines:
        if line == "":
            if data:
                yield name, _decode("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield name, _decode("\n".join(data))


def _decode(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"text": raw}
    return value if isinstance(value, dict) else {"value": value}
