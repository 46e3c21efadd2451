"""The in-process engine: each task's CPU implementation registers a handler here."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

from shared.llm.base import ChatRequest, ChatResponse, LLMBackend, LLMUnavailable
from shared.llm.chunking import split_chunks
from shared.settings import Task

Handler = Callable[[ChatRequest], Awaitable[str]]


class LocalBackend(LLMBackend):
    """Dispatches each request to the handler its service registered for the task."""

    name = "local"

    def __init__(self) -> None:
        self._handlers: dict[Task, Handler] = {}

    def register(self, task: Task, handler: Handler) -> None:
        self._handlers[task] = handler

    async def complete(self, request: ChatRequest) -> ChatResponse:
        text = await self._handler(request.task)(request)
        return ChatResponse(text=text, backend=self.name, model=request.model or self.name)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[str, None]:
        text = await self._handler(request.task)(request)
        # Many small deltas, so streaming consumers behave the same as with a remote model.
        for chunk in split_chunks(text):
            yield chunk

    def _handler(self, task: Task) -> Handler:
        try:
            return self._handlers[task]
        except KeyError:
            raise LLMUnavailable(
                f"no local handler registered for task {task.value!r}; "
                "the service owning it must call LocalBackend.register() at startup"
            ) from None
