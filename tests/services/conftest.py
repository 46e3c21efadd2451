"""What the service tests share: a scripted stand-in for the LLM client, SSE parsing, message helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

import pytest

from shared.llm.base import ChatResponse, Usage, UsageMeter
from shared.llm.tokens import TokenCounter
from shared.schemas import MessageDict
from shared.settings import Task


def user(text: str) -> MessageDict:
    return {"role": "user", "content": text}



def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events



class FakeLLM:
    """Stands in for LLMClient: scripted replies (text or exception) and scripted stream pieces."""

    def __init__(self, replies: list[Any] | None = None, pieces: list[Any] | None = None, endless: bool = False):
        self.replies = list(replies or [])
        self.pieces = list(pieces or [])
        self.endless = endless
        self.calls: list[list[Any]] = []
        self.options: list[dict[str, Any]] = []
        self.closed = False
        self.generators: list[AsyncGenerator[str, None]] = []

    def uses_local(self, task: Task) -> bool:
        return False

    def tokens(self, task: Task) -> TokenCounter:
        return TokenCounter()

    async def complete(self, task: Task, messages: list[Any], **options: Any) -> ChatResponse:
        """The next scripted reply; as LLMClient does, its usage (one prompt token a message, a completion token
        a word) goes to the ``meter`` option."""
        self.calls.append(list(messages))
        self.options.append(options)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if (meter := options.get("meter")) is not None:
            meter.add(Usage(len(messages), len(reply.split())), "stop")
        return ChatResponse(text=reply, backend="fake", model="fake")

    def stream(self, task: Task, messages: list[Any], **options: Any) -> AsyncGenerator[str, None]:
        self.calls.append(list(messages))
        self.options.append(options)
        generator = self._stream(len(messages), options.get("meter"))
        self.generators.append(generator)  # held, so only an explicit aclose() (not GC) can close it
        return generator

    async def _stream(self, prompt_tokens: int, meter: UsageMeter | None) -> AsyncGenerator[str, None]:
        try:
            for piece in self.pieces:
                if isinstance(piece, Exception):
                    raise piece
                yield piece
            while self.endless:
                await asyncio.sleep(0.001)
                yield "la "
            if meter is not None:
                meter.add(Usage(prompt_tokens, len(self.pieces)))
                meter.finish_reason = "stop"
        finally:
            self.closed = True



@pytest.fixture
def install_fake_llm(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeLLM]:
    """``install_fake_llm(app_module, replies=..., pieces=...)``: that service's LLM client becomes a FakeLLM."""

    def install(app_module: ModuleType, *replies: Any, **script: Any) -> FakeLLM:
        llm = FakeLLM(*replies, **script)

        @asynccontextmanager
        async def client(_settings: Any) -> AsyncIterator[FakeLLM]:
            yield llm

        monkeypatch.setattr(app_module, "llm_client", client)
        return llm

    return install
