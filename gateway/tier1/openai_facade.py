"""OpenAI-compatible chat over the guide: ``POST /v1/chat/completions`` with model ``shopping-guide``
(streamed or not) and ``GET /v1/models``, so the openai SDKs and OpenAI-style chat UIs can use it.

A facade over the router's ``POST /v1/chat`` (the route-table entry for ``/v1/chat/completions`` names
it, with its timeout and limits): only the last user message goes to the router, which keeps the history
itself. The session follows ``user`` when given (one session per tenant and user); otherwise the earlier
messages name it: after each answer the gateway remembers which session the whole conversation so far
belongs to, so a client that resends the history with a new question continues that session. A first
message starts a new one. The session id is sent back as ``X-Session-ID`` (and ``session_id`` in a JSON
answer). ``session_saved`` (in a JSON answer, and in the stream's last chunk) is false when the turn was
answered but not kept: the router's session store failed, or the conversation could not be remembered for a
resend to find. A stream maps the router's ``token`` events to ``chat.completion.chunk`` deltas, then
``finish_reason: stop`` and ``[DONE]``; the router's ``error`` event (or a cut stream) becomes an OpenAI
error chunk that ends the stream without ``[DONE]``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import JSONResponse, Response

from gateway.tier1.gate import Admitted
from gateway.tier1.proxy import is_event_stream, open_upstream
from gateway.tier1.state import GatewayState
from shared.drain import SHUTDOWN, SHUTDOWN_MESSAGE
from shared.events import StreamEvent
from shared.http import describe_failure
from shared.llm.chunking import count_tokens
from shared.service import error_body
from shared.sessions import ConversationIndex
from shared.sse import ClosingStreamingResponse, read_events
from shared.text import is_blank

log = logging.getLogger(__name__)

MODEL_ID = "shopping-guide"
SESSION_HEADER = "X-Session-ID"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class InMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text").strip()
        return (self.content or "").strip()


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class CompletionRequest(BaseModel):
    # SDKs and UIs send temperature, n, tools, ...: accepted and ignored, the guide decides.
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[InMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None


def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "shopguide"}]}


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(kind, message, **extra), status_code=status)


def _frame(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _upstream_error(status: int, raw: bytes) -> JSONResponse:
    try:
        message = json.loads(raw)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = raw.decode("utf-8", "replace")[:300] or f"HTTP {status}"
    if 400 <= status < 500:
        return _error(400, "invalid_request_error", message)
    return _error(502, "upstream_error", f"the guide did not answer: {message}")


@dataclass
class _Turn:
    """One completion in progress: the question, and what the router has answered so far."""

    session_id: str
    message: str
    remember: bool  # no ``user``: the history names the session, so remember where it went
    parts: list[str] = field(default_factory=list)
    done: bool = False
    saved: bool = True  # the router saved the turn to its session, and the conversation was remembered

    @property
    def reply(self) -> str:
        return "".join(self.parts)

    def usage(self) -> dict[str, int]:
        prompt, completion = count_tokens(self.message), count_tokens(self.reply)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def chat_completions(state: GatewayState, admitted: Admitted, body: bytes) -> Response:
    try:
        ask = CompletionRequest.model_validate_json(body)
    except ValidationError as exc:
        return _error(400, "invalid_request_error", f"not a chat completion request: {exc.errors()[0]['msg']}")
    if ask.model != MODEL_ID:
        return _error(404, "invalid_request_error", f"no model {ask.model!r}; use {MODEL_ID!r}", code="model_not_found")
    last_user = next((i for i in range(len(ask.messages) - 1, -1, -1) if ask.messages[i].role == "user"), None)
    if last_user is None or is_blank(ask.messages[last_user].text()):
        return _error(400, "invalid_request_error", "no user message to answer: the last 'user' message is empty")

    conversations = ConversationIndex(state.cache, admitted.principal.tenant.name)
    earlier = [(m.role, m.text()) for m in ask.messages[:last_user] if m.role in ("user", "assistant")]
    session_id = await conversations.resolve(ask.user, earlier)
    turn = _Turn(session_id, ask.messages[last_user].text(), remember=ask.user is None)

    payload = json.dumps({"session_id": session_id, "message": turn.message, "stream": ask.stream}).encode()
    upstream = await open_upstream(
        state.http,
        "POST",
        admitted.upstream_url(state.settings),
        payload,
        "application/json",
        admitted.route,
        admitted.principal.tenant.name,
    )

    async def remember() -> None:
        """Where the conversation went, so the client's next request (the history resent) continues it."""
        if turn.done and turn.remember:
            conversation = [*earlier, ("user", turn.message), ("assistant", turn.reply)]
            turn.saved = await conversations.remember(conversation, session_id) and turn.saved

    def spend() -> None:
        admitted.reservation.generated = count_tokens(turn.reply)

    async def settle() -> None:
        spend()
        await remember()

    if ask.stream and upstream.status_code == 200 and not is_event_stream(upstream):
        await upstream.aclose()
        return _error(502, "upstream_error", "the guide answered a stream request without a stream")
    if not ask.stream or upstream.status_code != 200:
        return await _completion(upstream, turn, settle)

    async def close() -> None:
        await upstream.aclose()
        spend()

    include_usage = bool(ask.stream_options and ask.stream_options.include_usage)
    return ClosingStreamingResponse(
        _chunks(upstream, turn, include_usage, remember),
        on_close=close,
        shutdown_frame=_frame(error_body(SHUTDOWN, SHUTDOWN_MESSAGE)),
        media_type="text/event-stream",
        headers={SESSION_HEADER: session_id, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _completion(upstream: httpx.Response, turn: _Turn, settle: Callable[[], Awaitable[None]]) -> Response:
    """The router's JSON answer as a ``chat.completion`` (or its error in OpenAI's shape)."""
    try:
        raw = await upstream.aread()
    except httpx.HTTPError as exc:
        return _error(502, "upstream_error", f"the guide's answer broke off: {describe_failure(exc)}")
    finally:
        await upstream.aclose()
    if upstream.status_code != 200:
        return _upstream_error(upstream.status_code, raw)
    try:
        answer = json.loads(raw)
        turn.parts.append(answer["reply"])
    except (ValueError, KeyError, TypeError):
        return _error(502, "upstream_error", "the guide answered without a reply")
    turn.done, turn.saved = True, answer.get("session_saved") is not False
    await settle()
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": turn.reply}, "finish_reason": "stop"}],
            "usage": turn.usage(),
            "session_id": turn.session_id,
            "session_saved": turn.saved,
        },
        headers={SESSION_HEADER: turn.session_id},
    )


async def _chunks(
    upstream: httpx.Response, turn: _Turn, include_usage: bool, remember: Callable[[], Awaitable[None]]
) -> AsyncGenerator[str, None]:
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def frame(choices: list[dict[str, Any]], **extra: Any) -> str:
        return _frame(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_ID,
                "choices": choices,
                **extra,
            }
        )

    def chunk(delta: dict[str, str], finish: str | None = None, **extra: Any) -> str:
        return frame([{"index": 0, "delta": delta, "finish_reason": finish}], **extra)

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for name, data in read_events(upstream.aiter_lines()):
            if name == StreamEvent.TOKEN:
                turn.parts.append(str(data.get("text", "")))
                yield chunk({"content": turn.parts[-1]})
            elif name == StreamEvent.ERROR:
                yield _frame(error_body(str(data.get("type", "upstream_error")), str(data.get("message", "failed"))))
                return
            elif name == StreamEvent.DONE:
                turn.done, turn.saved = True, data.get("session_saved") is not False
                await remember()  # before [DONE]: a client may send its next turn the moment it reads it
                yield chunk({}, finish="stop", session_saved=turn.saved)
                if include_usage:
                    yield frame([], usage=turn.usage())
                yield "data: [DONE]\n\n"
                return
    except httpx.HTTPError as exc:
        log.warning("the router's stream broke off: %s", exc.__class__.__name__)
    yield _frame(error_body("upstream_error", "the guide stopped mid-answer; try again"))
