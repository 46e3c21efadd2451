"""OpenAI-compatible chat over the guide: ``POST /v1/chat/completions`` with model ``shopping-guide``
(streamed or not) and ``GET /v1/models``, so the openai SDKs and OpenAI-style chat UIs can use it.

A facade over the router's ``POST /v1/chat`` (the route-table entry for ``/v1/chat/completions`` names it, with
its timeout and limits), that keeps its word: every parameter it accepts is honoured, and what the guide cannot
do is refused with a 400 in OpenAI's shape naming the parameter, as OpenAI refuses what a model does not support
(``SG_OPENAI_DROP_PARAMS`` drops those instead, as LiteLLM's ``drop_params`` does). Which parameter is which:
``PARAMETERS`` below and the README.

- ``max_tokens``/``max_completion_tokens`` (the smaller), ``temperature``, ``top_p``, ``stop``, ``seed`` and
  ``user`` go to the router as ``generation``, from there to the dialog service and its LLM call; the local
  engine keeps its reply within max_tokens (``finish_reason: length`` when cut) and ends it at a stop sequence.
- System (and ``developer``) messages are the operator's instructions to the guide, at most
  ``SG_OPENAI_MAX_INSTRUCTIONS_CHARS`` long: a section of the LLM's system prompt, apart from the user's words.
- The last user message is the question. The session follows ``user`` when given (one session per tenant and
  user); otherwise the earlier messages name it: after each answer the gateway remembers which session the
  conversation so far belongs to, so a client that resends the history with a new question continues that
  session. The earlier messages also go to the router as ``history``: a session that has none (a history the
  gateway has not seen, or an expired one) is rebuilt from them, so intent and extraction read the whole dialog.
- ``usage`` is what the turn's models (intent, extraction, dialog) reported reading and writing, summed; where
  no model ran (the local engines) it is counted with the serving model's tokenizer (``shared.llm.tokens``) over
  the texts the guide read and wrote, and flagged ``"estimated": true``.
- A turn the guide cannot answer (the dialog service down) is a 503 ``service_unavailable``; once a stream has
  sent text, a failure is an OpenAI error chunk that ends it without ``[DONE]``.

The session id is sent back as ``X-Session-ID`` (and ``session_id`` in a JSON answer). ``session_saved`` (in a
JSON answer, and in the stream's last chunk) is false when the turn was answered but not kept: the router's
session store failed, or the conversation could not be remembered for a resend to find. Parameters that had no
effect (unknown ones, bookkeeping ones, dropped ones) are named in ``X-SG-Ignored-Params``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.responses import JSONResponse, Response

from gateway.tier1.gate import Admitted
from gateway.tier1.proxy import is_event_stream, open_upstream
from gateway.tier1.state import GatewayState
from gateway.tier1.upstream import UpstreamError, UpstreamResponse
from shared.drain import SHUTDOWN, SHUTDOWN_MESSAGE
from shared.events import StreamEvent
from shared.llm.tokens import TokenCounter
from shared.service import error_body
from shared.sessions import ConversationIndex
from shared.sse import ClosingStreamingResponse, WireEvent, read_events
from shared.text import is_blank

log = logging.getLogger(__name__)

MODEL_ID = "shopping-guide"
SESSION_HEADER = "X-Session-ID"
IGNORED_HEADER = "X-SG-Ignored-Params"

Treatment = Literal["honoured", "refused", "no effect"]
# OpenAI's chat-completion parameters and what the facade does with each. "refused": a 400 naming it when given
# with a value the guide cannot honour (its default values are accepted), or dropped with SG_OPENAI_DROP_PARAMS.
# "no effect": bookkeeping that does not change the answer, accepted and named in X-SG-Ignored-Params. Any other
# parameter is not OpenAI's: ignored, and named there too.
PARAMETERS: dict[str, Treatment] = {
    "model": "honoured",
    "messages": "honoured",
    "stream": "honoured",
    "stream_options": "honoured",
    "max_tokens": "honoured",
    "max_completion_tokens": "honoured",
    "temperature": "honoured",
    "top_p": "honoured",
    "stop": "honoured",
    "seed": "honoured",
    "user": "honoured",
    "n": "refused",
    "tools": "refused",
    "tool_choice": "refused",
    "functions": "refused",
    "function_call": "refused",
    "logprobs": "refused",
    "top_logprobs": "refused",
    "response_format": "refused",
    "audio": "refused",
    "modalities": "refused",
    "prediction": "refused",
    "presence_penalty": "refused",
    "frequency_penalty": "refused",
    "logit_bias": "refused",
    "reasoning_effort": "refused",
    "verbosity": "refused",
    "web_search_options": "refused",
    "parallel_tool_calls": "no effect",
    "metadata": "no effect",
    "store": "no effect",
    "service_tier": "no effect",
    "prompt_cache_key": "no effect",
    "safety_identifier": "no effect",
}
_NO_TOOLS = "the shopping guide calls no tools or functions"


def _refusal(param: str, value: Any) -> str | None:
    """Why the guide cannot honour ``param`` with ``value``; None when it can (or the value is the default)."""
    if value is None:
        return None
    if param == "n":
        return None if value == 1 else "the shopping guide gives one answer per request: n must be 1"
    if param in ("tools", "functions"):
        return _NO_TOOLS if value else None
    if param in ("tool_choice", "function_call"):
        return None if value == "none" else _NO_TOOLS
    if param == "logprobs":
        return "the shopping guide reports no log probabilities" if value else None
    if param == "top_logprobs":
        return "the shopping guide reports no log probabilities"
    if param == "response_format":
        if isinstance(value, dict) and value.get("type") == "text":
            return None
        return (
            "the shopping guide answers in prose: response_format json_object and json_schema are not supported, "
            'only {"type": "text"} (structured output, e.g. LangChain\'s with_structured_output, needs a model '
            "that writes JSON)"
        )
    if param == "modalities":
        return None if value == ["text"] else "the shopping guide answers in text only"
    if param == "audio":
        return "the shopping guide answers in text only"
    if param in ("presence_penalty", "frequency_penalty"):
        return None if value == 0 else "the shopping guide's sampling has no penalties to set"
    if param == "logit_bias":
        return "the shopping guide's sampling has no logit bias to set" if value else None
    if param == "prediction":
        return "the shopping guide takes no predicted output"
    return f"the shopping guide does not support {param}"


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
    """The parameters the guide honours; the others are sorted out before (``_sort``)."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[InMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(None, max_length=256)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), lt=2**63)

    @field_validator("stop")
    @classmethod
    def _stop_sequences(cls, value: str | list[str] | None) -> list[str] | None:
        stops = [value] if isinstance(value, str) else value
        if stops is None:
            return None
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences")
        if not all(0 < len(stop) <= 200 for stop in stops):
            raise ValueError("a stop sequence is 1 to 200 characters")
        return stops or None

    def generation(self) -> dict[str, Any]:
        """The router's ``generation``: the parameters given."""
        limits = [n for n in (self.max_tokens, self.max_completion_tokens) if n is not None]
        given = {
            "max_tokens": min(limits) if limits else None,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": self.stop,
            "seed": self.seed,
            "user": self.user,
        }
        return {name: value for name, value in given.items() if value is not None}


def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "shopguide"}]}


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(kind, message, **extra), status_code=status)


def _invalid(param: str, message: str, code: str = "invalid_value") -> JSONResponse:
    return _error(400, "invalid_request_error", message, param=param, code=code)


def _frame(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _upstream_error(status: int, raw: bytes) -> JSONResponse:
    try:
        message = json.loads(raw)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = raw.decode("utf-8", "replace")[:300] or f"HTTP {status}"
    if status == 503:
        return _error(503, "service_unavailable", message)
    if 400 <= status < 500:
        return _error(400, "invalid_request_error", message)
    return _error(502, "upstream_error", f"the guide did not answer: {message}")


@dataclass
class _Sorted:
    """A request's parameters sorted: what to refuse (param, why) and what had no effect."""

    refused: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _sort(body: dict[str, Any]) -> _Sorted:
    found = _Sorted()
    # In the table's order: the first refused is the one a client hears of (tools before tool_choice).
    params = [*(p for p in PARAMETERS if p in body), *(p for p in body if p not in PARAMETERS)]
    for param in params:
        value, treatment = body[param], PARAMETERS.get(param)
        if treatment == "refused":
            if (why := _refusal(param, value)) is not None:
                found.refused.append((param, why))
        elif treatment is None or (treatment == "no effect" and value is not None):
            found.ignored.append(param)
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict):
            continue
        if message.get("role") in ("tool", "function"):
            found.refused.append((f"messages[{i}].role", _NO_TOOLS))
        content = message.get("content")
        for j, part in enumerate(content if isinstance(content, list) else []):
            if isinstance(part, dict) and part.get("type") != "text":
                found.refused.append((f"messages[{i}].content[{j}]", "the shopping guide reads text only"))
    return found


@dataclass
class _Turn:
    """One completion in progress: the question, and what the router has answered so far."""

    session_id: str
    message: str
    remember: bool  # no ``user``: the history names the session, so remember where it went
    tokens: TokenCounter
    read: list[str] = field(default_factory=list)  # what the guide read besides the question: for an estimate
    parts: list[str] = field(default_factory=list)
    done: bool = False
    saved: bool = True  # the router saved the turn to its session, and the conversation was remembered
    finish_reason: str = "stop"
    counted: dict[str, Any] | None = None  # the router's usage: what the turn's models reported

    @property
    def reply(self) -> str:
        return "".join(self.parts)

    def finish(self, answer: dict[str, Any]) -> None:
        """The router's last word: whether the turn was kept, how the reply ended, what the models used."""
        self.done, self.saved = True, answer.get("session_saved") is not False
        self.finish_reason = str(answer.get("finish_reason") or "stop")
        usage = answer.get("usage")
        self.counted = usage if isinstance(usage, dict) else None

    async def usage(self) -> dict[str, Any]:
        """What the models reported; counted here (``estimated``) where no model ran."""
        if self.counted is not None:
            prompt = int(self.counted.get("prompt_tokens") or 0)
            completion = int(self.counted.get("completion_tokens") or 0)
            estimated = bool(self.counted.get("estimated"))
        else:
            counts = await self.tokens.counts([*self.read, self.message, self.reply])
            prompt = sum(counts[text] for text in [*self.read, self.message])
            completion, estimated = counts[self.reply], True
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "estimated": estimated,
        }


async def chat_completions(state: GatewayState, admitted: Admitted, body: bytes) -> Response:
    try:
        raw = json.loads(body)
    except ValueError:
        return _error(400, "invalid_request_error", "not a chat completion request: the body is not JSON")
    if not isinstance(raw, dict):
        return _error(400, "invalid_request_error", "not a chat completion request: the body is not a JSON object")
    sorted_ = _sort(raw)
    if sorted_.refused and not state.settings.openai_drop_params:
        param, why = sorted_.refused[0]
        return _invalid(param, f"{param} is not supported: {why}", code="unsupported_parameter")
    ignored = [*sorted_.ignored, *(param for param, _ in sorted_.refused)]
    try:
        ask = CompletionRequest.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        param = ".".join(str(part) for part in error["loc"][:1]) or "body"
        return _invalid(param, f"not a chat completion request: {param}: {error['msg']}")
    if ask.model != MODEL_ID:
        return _error(404, "invalid_request_error", f"no model {ask.model!r}; use {MODEL_ID!r}", code="model_not_found")
    # A tool's result is a message the guide cannot read: with the refused parameters dropped, it is left out.
    unread = {param for param, _ in sorted_.refused if param.endswith("].role")}
    messages = [m for i, m in enumerate(ask.messages) if f"messages[{i}].role" not in unread]
    last_user = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None)
    if last_user is None or is_blank(messages[last_user].text()):
        return _invalid("messages", "no user message to answer: the last 'user' message is empty")
    instructions = "\n\n".join(m.text() for m in messages if m.role in ("system", "developer") and m.text())
    limit = state.settings.openai_max_instructions_chars
    if len(instructions) > limit:
        return _invalid(
            "messages",
            f"the system message is {len(instructions)} characters; this guide takes at most {limit} "
            "(SG_OPENAI_MAX_INSTRUCTIONS_CHARS) as instructions",
            code="string_above_max_length",
        )

    conversations = ConversationIndex(state.cache, admitted.principal.tenant.name)
    earlier = [(m.role, m.text()) for m in messages[:last_user] if m.role in ("user", "assistant")]
    history = [{"role": role, "content": text} for role, text in earlier if not is_blank(text)]
    history = history[-state.settings.max_messages :]
    session_id = await conversations.resolve(ask.user, earlier)
    counter = state.counter(admitted.route)
    turn = _Turn(session_id, messages[last_user].text(), remember=ask.user is None, tokens=counter)
    turn.read = [text for text in (instructions, *(m["content"] for m in history)) if text]

    request: dict[str, Any] = {"session_id": session_id, "message": turn.message, "stream": ask.stream}
    request |= {"history": history, "apology": False}
    if generation := ask.generation():
        request["generation"] = generation
    if instructions:
        request["instructions"] = instructions
    upstream = await open_upstream(
        state.upstreams,
        "POST",
        admitted.upstream_url(state.settings),
        json.dumps(request, ensure_ascii=False).encode(),
        "application/json",
        admitted.route,
        admitted.principal.tenant.name,
    )
    headers = {SESSION_HEADER: session_id, **({IGNORED_HEADER: ", ".join(ignored)} if ignored else {})}

    async def remember() -> None:
        """Where the conversation went, so the client's next request (the history resent) continues it."""
        if turn.done and turn.remember:
            conversation = [*earlier, ("user", turn.message), ("assistant", turn.reply)]
            turn.saved = await conversations.remember(conversation, session_id) and turn.saved

    async def spend() -> None:
        admitted.reservation.generated = await counter.count(turn.reply)

    async def settle() -> None:
        await spend()
        await remember()

    if ask.stream and upstream.status_code == 200 and not is_event_stream(upstream):
        await upstream.aclose()
        return _error(502, "upstream_error", "the guide answered a stream request without a stream")
    if not ask.stream or upstream.status_code != 200:
        return await _completion(upstream, turn, settle, headers)

    # The first word decides the status: a turn the guide cannot answer is an HTTP error, not a stream of one.
    events = read_events(upstream.aiter_lines())
    try:
        first = await _first_answer(events)
    except UpstreamError as exc:
        await upstream.aclose()
        return _error(502, "upstream_error", f"the guide's answer broke off: {exc.description}")
    if first is None or first[0] == StreamEvent.ERROR:
        await upstream.aclose()
        data = first[1] if first else {}
        kind = str(data.get("type", "upstream_error"))
        message = str(data.get("message", "the guide stopped before answering; try again"))
        status = 503 if kind in ("service_unavailable", SHUTDOWN) else 502
        return _error(status, "service_unavailable" if status == 503 else kind, message)

    async def close() -> None:
        await upstream.aclose()
        await spend()

    include_usage = bool(ask.stream_options and ask.stream_options.include_usage)
    return ClosingStreamingResponse(
        _chunks(first, events, turn, include_usage, remember),
        on_close=close,
        shutdown_frame=_frame(error_body(SHUTDOWN, SHUTDOWN_MESSAGE)),
        media_type="text/event-stream",
        headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _first_answer(events: AsyncIterator[WireEvent]) -> WireEvent | None:
    """The router's first event that answers (a token, the end, an error), past the stage events before it."""
    async for name, data in events:
        if name in (StreamEvent.TOKEN, StreamEvent.DONE, StreamEvent.ERROR):
            return name, data
    return None


async def _completion(
    upstream: UpstreamResponse, turn: _Turn, settle: Callable[[], Awaitable[None]], headers: dict[str, str]
) -> Response:
    """The router's JSON answer as a ``chat.completion`` (or its error in OpenAI's shape)."""
    try:
        raw = await upstream.aread()
    except UpstreamError as exc:
        return _error(502, "upstream_error", f"the guide's answer broke off: {exc.description}")
    finally:
        await upstream.aclose()
    if upstream.status_code != 200:
        return _upstream_error(upstream.status_code, raw)
    try:
        answer = json.loads(raw)
        turn.parts.append(answer["reply"])
    except (ValueError, KeyError, TypeError):
        return _error(502, "upstream_error", "the guide answered without a reply")
    turn.finish(answer)
    await settle()
    choice = {"index": 0, "message": {"role": "assistant", "content": turn.reply}, "finish_reason": turn.finish_reason}
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [choice],
            "usage": await turn.usage(),
            "session_id": turn.session_id,
            "session_saved": turn.saved,
        },
        headers=headers,
    )


async def _chunks(
    first: WireEvent,
    events: AsyncIterator[WireEvent],
    turn: _Turn,
    include_usage: bool,
    remember: Callable[[], Awaitable[None]],
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

    async def answered() -> AsyncIterator[WireEvent]:
        yield first
        async for event in events:
            yield event

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for name, data in answered():
            if name == StreamEvent.TOKEN:
                turn.parts.append(str(data.get("text", "")))
                yield chunk({"content": turn.parts[-1]})
            elif name == StreamEvent.ERROR:
                yield _frame(error_body(str(data.get("type", "upstream_error")), str(data.get("message", "failed"))))
                return
            elif name == StreamEvent.DONE:
                turn.finish(data)
                await remember()  # before [DONE]: a client may send its next turn the moment it reads it
                yield chunk({}, finish=turn.finish_reason, session_saved=turn.saved)
                if include_usage:
                    yield frame([], usage=await turn.usage())
                yield "data: [DONE]\n\n"
                return
    except UpstreamError as exc:
        log.warning("the router's stream broke off: %s", exc.__class__.__name__)
    yield _frame(error_body("upstream_error", "the guide stopped mid-answer; try again"))
