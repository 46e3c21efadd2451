"""An OpenAI-compatible chat server with scripted replies, latency and faults, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.jsonblock import json_blocks
from shared.llm.chunking import split_chunks
from shared.simulator.config import SimConfig

_LAST_REQUESTS = 20


@dataclass
class SimState:
    """Counters and runtime state of one simulator app."""

    initial: SimConfig
    config: SimConfig = field(init=False)
    rng: random.Random = field(init=False)
    script_position: int = field(init=False)
    requests: int = field(init=False)
    streams: int = field(init=False)
    in_flight: int = field(init=False)
    completed: int = field(init=False)
    cancelled: int = field(init=False)
    errors: int = field(init=False)
    hung: int = field(init=False)
    cut: int = field(init=False)
    tokenized: int = field(init=False)
    # Requests by the response_format they asked for (json_schema, json_object, text).
    response_formats: Counter[str] = field(init=False)
    last_requests: deque[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.config = self.initial
        self.rng = random.Random(self.initial.seed)
        self.script_position = 0
        self.requests = self.streams = self.in_flight = 0
        self.completed = self.cancelled = self.errors = self.hung = self.cut = self.tokenized = 0
        self.last_requests = deque(maxlen=_LAST_REQUESTS)
        self.response_formats = Counter()

    def update(self, changes: dict[str, Any]) -> None:
        self.config = SimConfig.model_validate({**self.config.model_dump(), **changes})
        if "script" in changes:
            self.script_position = 0
        if "seed" in changes:
            self.rng = random.Random(self.config.seed)

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "streams": self.streams,
            "in_flight": self.in_flight,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "errors": self.errors,
            "hung": self.hung,
            "cut": self.cut,
            "tokenized": self.tokenized,
            "response_formats": dict(self.response_formats),
            "config": self.config.model_dump(),
            "last_requests": list(self.last_requests),
        }

    def should_fail(self) -> bool:
        if self.config.fail_next:
            self.config = self.config.model_copy(update={"fail_next": self.config.fail_next - 1})
            return True
        return self.config.error_rate > 0 and self.rng.random() < self.config.error_rate

    def should_hang(self) -> bool:
        return self.config.hang_rate > 0 and self.rng.random() < self.config.hang_rate

    def reply_to(self, messages: list[dict[str, Any]]) -> str:
        last_user = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
        config = self.config
        if config.echo:
            return last_user
        if self.script_position < len(config.script):
            self.script_position += 1
            return config.script[self.script_position - 1]
        return next((reply for key, reply in config.replies.items() if key in last_user), config.reply)


class _StatsCollector(Collector):
    def __init__(self, state: SimState) -> None:
        self._state = state

    def collect(self) -> Iterable[Metric]:
        state = self._state
        counters = {
            "requests": (state.requests, "Chat completion requests received"),
            "completed": (state.completed, "Completions answered in full"),
            "cancelled": (state.cancelled, "Completions abandoned by the client"),
            "errors": (state.errors, "Requests answered with an error status"),
        }
        for name, (value, help_text) in counters.items():
            yield CounterMetricFamily(f"sim_{name}", help_text, value=value)
        yield GaugeMetricFamily("sim_in_flight", "Completions being answered now", value=state.in_flight)
        # As vLLM names them, so that what reads vLLM's (its scale-down drain, dashboards, alerts) reads these
        # under the compose sim profile. Every request is served at once here: none ever waits.
        model = state.config.model_name
        running = GaugeMetricFamily("vllm:num_requests_running", "Requests being answered", labels=["model_name"])
        running.add_metric([model], state.in_flight)
        waiting = GaugeMetricFamily("vllm:num_requests_waiting", "Requests queued (none here)", labels=["model_name"])
        waiting.add_metric([model], 0)
        yield from (running, waiting)


class _StreamCut(Exception):
    """Raised mid-stream to make the server drop the connection (``cut_after``)."""


class _DropConnectionOnCut:
    # Swallowing the exception after the response started makes uvicorn close the socket
    # instead of finishing the chunked body: the client sees an abrupt end, as with a crash.
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(_StreamCut):
            await self.app(scope, receive, send)


def create_app(config: SimConfig | None = None) -> FastAPI:
    state = SimState(config or SimConfig())
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_StatsCollector(state))
    app = FastAPI(title="LLM simulator")
    app.add_middleware(_DropConnectionOnCut)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        state.requests += 1
        # When each request started and ended (monotonic seconds, this process): tests read what overlapped.
        seen: dict[str, Any] = {
            "body": body, "headers": dict(request.headers), "started": time.monotonic(), "ended": None
        }
        state.last_requests.append(seen)

        def ended(response: Response) -> Response:
            seen["ended"] = time.monotonic()
            return response

        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            state.errors += 1
            return ended(_error(400, "'messages' must be a non-empty list of objects"))
        if state.should_fail():
            state.errors += 1
            return ended(_error(state.config.error_status, "simulated failure"))
        config = state.config  # This request keeps the settings it started with.
        if state.should_hang():
            return ended(await _hang(request, state))
        reply = state.reply_to(messages)
        if (kind := _response_format(body)) is not None:
            state.response_formats[kind] += 1
            if kind in ("json_object", "json_schema") and config.constrain_json:
                reply = next((block.raw for block in json_blocks(reply)), reply)
        tokens, finish = _generated(reply, body.get("max_tokens"), body.get("stop"))
        usage = {
            "prompt_tokens": sum(len(split_chunks(str(m.get("content", "")))) for m in messages),
            "completion_tokens": len(tokens),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if body.get("stream"):
            state.streams += 1
            include_usage = config.report_usage and bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _sse(state, config, tokens, usage if include_usage else None, seen, finish),
                media_type="text/event-stream",
            )
        return ended(await _whole(request, state, config, tokens, usage, finish))

    @app.post("/tokenize")
    async def tokenize(request: Request) -> Response:
        """As vLLM and llama.cpp count: the simulator's tokens are the pieces it streams."""
        state.tokenized += 1
        try:
            body = await request.json()
            text = body.get("content", body.get("prompt"))
        except (ValueError, AttributeError):
            text = None
        if not isinstance(text, str) or not state.config.tokenize:
            return _error(404 if not state.config.tokenize else 400, "no text to tokenize")
        pieces = split_chunks(text)
        return JSONResponse({"tokens": [_token_id(piece) for piece in pieces], "count": len(pieces)})

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": state.config.model_name, "object": "model", "owned_by": "simulator"}]}

    @app.get("/health")
    async def health() -> Response:
        if state.config.healthy:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "failing"}, status_code=503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/sim/stats")
    async def stats() -> dict[str, Any]:
        return state.stats()

    @app.post("/sim/config")
    async def configure(request: Request) -> Response:
        try:
            state.update(await request.json())
        except (ValueError, TypeError) as exc:  # ValidationError is a ValueError
            detail = exc.errors(include_url=False) if isinstance(exc, ValidationError) else str(exc)
            return JSONResponse({"detail": detail}, status_code=422)
        return JSONResponse(state.config.model_dump())

    @app.post("/sim/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return state.config.model_dump()

    return app


def _response_format(body: dict[str, Any]) -> str | None:
    """The ``type`` of the request's response_format, if it gave one."""
    asked = body.get("response_format")
    return str(asked.get("type")) if isinstance(asked, dict) else None


def _generated(reply: str, max_tokens: Any, stop: Any) -> tuple[list[str], str]:
    """The reply's tokens as a server would send them: up to the first stop sequence (not included), at most
    ``max_tokens`` of them (``finish_reason`` then ``length``)."""
    stops = [stop] if isinstance(stop, str) else [s for s in stop or () if isinstance(s, str) and s]
    cuts = [reply.find(s) for s in stops if s in reply]
    tokens = split_chunks(reply[: min(cuts)] if cuts else reply)
    if isinstance(max_tokens, int) and 0 < max_tokens < len(tokens):
        return tokens[:max_tokens], "length"
    return tokens, "stop"


def _token_id(piece: str) -> int:
    return int.from_bytes(piece.encode()[:3].ljust(3, b"\0"), "big")


def _error(status: int, message: str) -> JSONResponse:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


async def _client_left_within(request: Request, seconds: float) -> bool:
    """Wait ``seconds``; True as soon as the client disconnects instead."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await request.is_disconnected():
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(remaining, 0.02))
    return True


async def _hang(request: Request, state: SimState) -> Response:
    state.hung += 1
    state.in_flight += 1
    try:
        await _client_left_within(request, math.inf)
        state.cancelled += 1
    finally:
        state.in_flight -= 1
    return Response(status_code=499)  # Nobody reads it; ends the handler.


async def _whole(
    request: Request, state: SimState, config: SimConfig, tokens: list[str], usage: dict[str, int], finish: str
) -> Response:
    delay_s = (config.ttft_ms + config.itl_ms * max(len(tokens) - 1, 0)) / 1000
    state.in_flight += 1
    try:
        if await _client_left_within(request, delay_s):
            state.cancelled += 1
            return Response(status_code=499)
    finally:
        state.in_flight -= 1
    state.completed += 1
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": config.model_name,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "".join(tokens)}, "finish_reason": finish}
            ],
            **({"usage": usage} if config.report_usage else {}),
        }
    )


async def _sse(
    state: SimState,
    config: SimConfig,
    tokens: list[str],
    usage: dict[str, int] | None,
    seen: dict[str, Any],
    finish: str = "stop",
) -> AsyncIterator[str]:
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def event(choices: list[dict[str, Any]], **extra: Any) -> str:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": config.model_name,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    state.in_flight += 1
    ended = False  # Finished or cut on purpose; otherwise the client went away.
    try:
        await asyncio.sleep(config.ttft_ms / 1000)
        yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for position, token in enumerate(tokens):
            if position == config.cut_after:
                ended = True
                state.cut += 1
                raise _StreamCut
            if position:
                # Also an await point for cancellation when itl_ms is 0.
                await asyncio.sleep(config.itl_ms / 1000)
            yield event([{"index": 0, "delta": {"content": token}, "finish_reason": None}])
        yield event([{"index": 0, "delta": {}, "finish_reason": finish}])
        if usage is not None:
            yield event([], usage=usage)
        yield "data: [DONE]\n\n"
        ended = True
        state.completed += 1
    finally:
        state.in_flight -= 1
        seen["ended"] = time.monotonic()
        if not ended:
            state.cancelled += 1
