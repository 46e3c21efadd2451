"""A fake upstream for the gateway: every service and the router in one small app that counts its calls.

It runs as a real server (``run_in_thread``), so the gateway talks to it over HTTP as in production.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from shared.events import StreamEvent
from shared.llm.chunking import split_chunks
from shared.sse import error_event, sse_frame

COPY = "A light phone with a camera that shines at night"
REPLY_PREFIX = "Here is what I found for"


def chat_reply(message: str) -> str:
    return f"{REPLY_PREFIX} {message}"


@dataclass
class Upstream:
    """What the fake was asked; tests reset it and read it."""

    url: str = ""
    calls: Counter[str] = field(default_factory=Counter)
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay_s: float = 0.0

    def reset(self) -> None:
        self.calls.clear()
        self.requests.clear()
        self.delay_s = 0.0

    async def record(self, request: Request) -> dict[str, Any]:
        body = await request.json() if request.method == "POST" else {}
        self.calls[request.url.path] += 1
        self.requests.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return body


async def _events(pieces: list[str], ending: str) -> AsyncIterator[str]:
    """Token events, then: ``done``, an ``error`` event, or a cut (the connection drops mid-stream)."""
    for piece in pieces:
        yield sse_frame(StreamEvent.TOKEN, {"text": piece})
        await asyncio.sleep(0.005)
    if ending == "cut":
        raise RuntimeError("the fake upstream drops the connection mid-stream")
    if ending == "error":
        yield sse_frame(*error_event("llm_error", "the model failed"))
        return
    yield sse_frame(StreamEvent.DONE, {"copy": "".join(pieces), "engine": "local"})


def create_upstream(state: Upstream) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/summary")
    async def summary(request: Request) -> Response:
        body = await state.record(request)
        if body.get("fail"):
            return JSONResponse({"error": {"message": "summary broke"}}, status_code=500)
        if body.get("cut"):  # promises more than it sends: the server drops the connection mid-body
            return Response(b'{"summary": {"', headers={"content-length": "200", "content-type": "application/json"})
        answer = {"用户问题": "屏幕碎了", "客服方案": "免费换屏", "是否接受": "是", "是否负面情绪": "否"}
        return JSONResponse({"summary": answer, "engine": "local", "call": state.calls["/v1/summary"]})

    @app.post("/v1/copywriting")
    async def copywriting(request: Request) -> Response:
        body = await state.record(request)
        if body.get("stream"):
            events = _events(split_chunks(COPY), body.get("ending", "done"))
            return StreamingResponse(events, media_type="text/event-stream")
        return JSONResponse({"copy": COPY, "engine": "local"})

    @app.post("/v1/intent")
    async def intent(request: Request) -> dict[str, Any]:
        await state.record(request)
        return {"intent": "specific product", "reason": "", "scene": {}, "confidence": 1.0, "engine": "local"}

    @app.post("/v1/dialog")
    async def dialog(request: Request) -> dict[str, Any]:
        await state.record(request)
        return {"reply": "one two three four five six", "engine": "local"}

    @app.get("/v1/products/{sku_id}")
    async def product(sku_id: str, request: Request) -> dict[str, Any]:
        await state.record(request)
        return {"skuId": sku_id, "query": request.url.query}

    @app.post("/v1/chat")
    async def chat(request: Request) -> Response:
        """The router's /v1/chat, with its documented events (shared/events.py). The reply keeps
        generation.max_tokens (in pieces); "counted" has a model's usage, "down" is a dialog service down."""
        body = await state.record(request)
        session_id = body.get("session_id") or "fresh-session"
        pieces = split_chunks(chat_reply(body["message"]))
        limit = (body.get("generation") or {}).get("max_tokens")
        finish = "length" if limit and limit < len(pieces) else "stop"
        pieces = pieces[:limit] if limit else pieces
        reply = "".join(pieces)
        usage = {"prompt_tokens": 813, "completion_tokens": 57, "estimated": False}
        ending = {"finish_reason": finish, "usage": usage if body["message"] == "counted" else None}
        saved = body["message"] != "unsaved"  # as if the session store had failed
        hold = body["message"] == "hold"  # answer nothing (more) until the client hangs up
        down = "the guide cannot answer now (dialog unavailable); try again"
        if not body.get("stream"):
            while hold and not await request.is_disconnected():
                await asyncio.sleep(0.01)
            if body["message"] == "down":
                return JSONResponse({"error": {"type": "http_error", "message": down}}, status_code=503)
            answer = {"session_id": session_id, "reply": reply, "products": [], "session_saved": saved}
            return JSONResponse({**answer, **ending})

        async def events() -> AsyncIterator[str]:
            yield sse_frame(StreamEvent.SESSION, {"session_id": session_id})
            yield sse_frame(StreamEvent.INTENT, {"intent": "specific product", "reason": "", "confidence": 1.0})
            if body["message"] == "down":
                yield sse_frame(*error_event("service_unavailable", down))
                return
            if hold:
                yield sse_frame(StreamEvent.TOKEN, {"text": pieces[0]})
                await asyncio.Event().wait()  # cancelled when the client hangs up
            if body["message"] == "fail":
                yield sse_frame(StreamEvent.TOKEN, {"text": pieces[0]})
                yield sse_frame(*error_event("dialog_error", "the dialog service failed"))
                return
            for piece in pieces:
                yield sse_frame(StreamEvent.TOKEN, {"text": piece})
            yield sse_frame(StreamEvent.SUGGESTIONS, {"suggestions": ["cheaper?"]})
            yield sse_frame(
                StreamEvent.DONE, {"session_id": session_id, "reply": reply, "session_saved": saved, **ending}
            )

        return StreamingResponse(events(), media_type="text/event-stream")

    return app
