"""The local-or-LLM cascade every language task runs, written once: choosing the engine, retrying, falling
back and counting.

A task brings its local engine, its prompt and its parser. The cascade answers locally when asked to or when
the task is routed to the local backend, else asks the LLM (in ``auto`` too, unless the task judges its local
answer good enough), retries an unusable reply, and falls back to the local answer when the LLM fails or stays
unusable. Every answer is counted in ``sg_engine_answers_total`` by (task, engine, outcome), and every LLM
reply in ``sg_llm_replies_total`` by what became of it (accepted, truncated, rejected and why, timed out, failed).

A reply is taken only from what the model wrote: a parser that finds its answer copied from the input (an
injected answer the model repeated) says so with ``Unusable(kind="echoed")``, and that reply is not retried.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass
from functools import cache
from typing import Generic, Literal, Protocol, TypedDict, TypeVar, Unpack

import httpx

from shared.llm.base import ChatMessage, ChatResponse, LLMError, OutputSchema, UsageMeter
from shared.schemas import Engine, EngineChoice
from shared.settings import Task
from shared.telemetry import ENGINE_ANSWERS, LLM_REPLIES

log = logging.getLogger(__name__)

T = TypeVar("T")
Rejection = Literal["unusable", "inconsistent", "echoed"]


@dataclass(frozen=True, slots=True)
class Unusable:
    """Nothing usable came from the LLM (it failed, or the parser rejected its reply), and why.

    Parsers return it instead of an answer, so ``None`` stays free to be one (extraction's "no call").
    ``kind``: ``unusable`` (no answer could be read), ``inconsistent`` (one was, but the input contradicts it),
    ``echoed`` (it was copied from the input or the prompt: an injected answer, a template's example)."""

    reason: str
    kind: Rejection = "unusable"


class Rejected(Exception):  # noqa: N818 - a verdict, raised by a stream check, not a failure of the model
    """Raised by a stream check before anything was sent: the reply is not used, the local answer is."""

    def __init__(self, unusable: Unusable) -> None:
        super().__init__(unusable.reason)
        self.unusable = unusable


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A task's answer and the engine that gave it."""

    value: T
    engine: Engine
    # Why a streamed reply was cut short by its check ("repetition", "length"); None when it was not.
    truncated: str | None = None


@dataclass(frozen=True, slots=True)
class StreamCut:
    """The LLM stream failed after deltas went out: they cannot be taken back, so there is no fallback."""

    error: Exception
    partial: str


class LLMOptions(TypedDict, total=False):
    """Passed on to ``LLMClient.complete``/``stream`` only when a task gives them: the sampling a caller asked
    for (within the route's max_tokens), and a meter that sums the usage of every call the task makes."""

    request_id: str | None
    temperature: float | None
    max_tokens: int | None
    stop: list[str] | None
    top_p: float | None
    seed: int | None
    user: str | None
    meter: UsageMeter | None
    schema: OutputSchema | None  # the JSON a structured task's reply must be


class StreamCheck(Protocol):
    """Watches a streamed reply: relays the deltas it lets through, may stop early (``truncated`` then says
    why) or raise ``Rejected`` before letting anything through."""

    truncated: str | None

    def __call__(self, deltas: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]: ...


class TaskLLM(Protocol):
    """What a task asks of the LLM client: ``LLMClient``, or a test's stand-in."""

    def uses_local(self, task: Task) -> bool: ...

    async def complete(
        self, task: Task, messages: list[ChatMessage], **options: Unpack[LLMOptions]
    ) -> ChatResponse: ...

    def stream(
        self, task: Task, messages: list[ChatMessage], **options: Unpack[LLMOptions]
    ) -> AsyncGenerator[str, None]: ...


def _wants_llm(llm: TaskLLM, task: Task, mode: EngineChoice) -> bool:
    """``local`` never asks the LLM; ``llm`` and ``auto`` do when the task is routed to one."""
    return mode != "local" and not llm.uses_local(task)


async def run_cascade(
    llm: TaskLLM,
    task: Task,
    mode: EngineChoice,
    *,
    local: Callable[[], T],
    prompt: Callable[[], list[ChatMessage]],
    parse: Callable[[str], T | Unusable],
    confident: Callable[[T], bool] | None = None,
    repair: Callable[[Unusable], str] | None = None,
    retries: int = 1,
    **options: Unpack[LLMOptions],
) -> Answer[T]:
    """The task's answer from the local engine or the LLM.

    ``local`` and ``prompt`` are called only when needed. ``confident`` gates ``auto``: the local answer stands
    when it says so; a task without one asks the LLM in ``auto`` as in ``llm``. An unusable reply is retried
    ``retries`` times given ``repair``: with the prompt, the rejected reply and ``repair``'s words on what was
    wrong (a retry must change something; without ``repair`` there is none). LLM errors, timeouts included, are
    not retried (the client already retried what was worth it, within the deadline).
    A structured task passes its ``schema`` option: the backend constrains the reply to it where it can, and
    ``parse`` still reads it as tolerantly as from a backend that cannot (settings: ``structured_output``).
    """
    local = cache(local)  # the answer ``confident`` judged is the fallback too
    if not _wants_llm(llm, task, mode):
        return _counted(task, Answer(local(), "local"), "answered")
    if mode == "auto" and confident is not None and confident(local()):
        return _counted(task, Answer(local(), "local"), "answered")
    reply = await _ask(llm, task, prompt(), parse, repair, retries, options)
    if isinstance(reply, Unusable):
        return _counted(task, Answer(local(), "local"), "llm_fallback")
    return _counted(task, Answer(reply, "llm"), "answered")


async def _ask(
    llm: TaskLLM,
    task: Task,
    prompt: list[ChatMessage],
    parse: Callable[[str], T | Unusable],
    repair: Callable[[Unusable], str] | None,
    retries: int,
    options: LLMOptions,
) -> T | Unusable:
    messages = prompt
    for attempt in range(1, retries + 2):
        try:
            reply = await llm.complete(task, messages, **options)
        except LLMError as exc:
            log.warning("%s LLM failed, answering locally: %s", task, exc)
            LLM_REPLIES.labels(task.value, _failure(exc)).inc()
            return Unusable(f"the LLM failed: {exc}")
        answer = parse(reply.text)
        if not isinstance(answer, Unusable):
            LLM_REPLIES.labels(task.value, "accepted").inc()
            return answer
        LLM_REPLIES.labels(task.value, answer.kind).inc()
        log.warning(
            "%s LLM answer %s (attempt %d): %s; reply: %.200s", task, answer.kind, attempt, answer.reason, reply.text
        )
        if answer.kind == "echoed" or repair is None:
            # Echoed: the model repeats what it was given. No repair: the same prompt again (at temperature 0,
            # the same reply) only spends the caller's time. Either way asking again would get the same or worse.
            return answer
        messages = [
            *prompt,
            ChatMessage(role="assistant", content=reply.text),
            ChatMessage(role="user", content=repair(answer)),
        ]
    return answer


async def stream_cascade(
    llm: TaskLLM,
    task: Task,
    mode: EngineChoice,
    *,
    local: Callable[[], str],
    prompt: Callable[[], list[ChatMessage]],
    shape: Callable[[AsyncGenerator[str, None]], AsyncGenerator[str, None]] | None = None,
    check: StreamCheck | None = None,
    **options: Unpack[LLMOptions],
) -> AsyncGenerator[str | Answer[str] | StreamCut, None]:
    """The LLM's deltas as they come, then one ``Answer`` (the whole reply, or the local one) or a ``StreamCut``.

    Before the first delta any failure (or an empty reply) gives way to the local answer; after it, a failure
    ends in a ``StreamCut``. ``shape`` rewrites the deltas (holding back a prefix to drop, say): only what it
    lets through counts as sent. ``check`` then watches the shaped reply: it may end it early (the ``Answer``
    says why in ``truncated``) or reject it before anything went out (``Rejected``: the local answer stands).
    Closing this generator closes the LLM stream, cancelling it upstream.
    """
    if not _wants_llm(llm, task, mode):
        yield _counted(task, Answer(local(), "local"), "answered")
        return
    sent: list[str] = []
    try:
        async with AsyncExitStack() as stack:
            deltas = await stack.enter_async_context(aclosing(llm.stream(task, prompt(), **options)))
            if shape is not None:
                deltas = await stack.enter_async_context(aclosing(shape(deltas)))
            if check is not None:
                deltas = await stack.enter_async_context(aclosing(check(deltas)))
            async for delta in deltas:
                if delta:
                    sent.append(delta)
                    yield delta
    except Exception as exc:  # noqa: BLE001 - every failure ends in a fallback or a StreamCut
        if isinstance(exc, Rejected) and not sent:
            log.warning("%s LLM reply %s, answering locally: %s", task, exc.unusable.kind, exc.unusable.reason)
            LLM_REPLIES.labels(task.value, exc.unusable.kind).inc()
            yield _counted(task, Answer(local(), "local"), "llm_fallback")
            return
        LLM_REPLIES.labels(task.value, _failure(exc)).inc()
        if sent:
            log.warning("%s LLM stream cut after %d pieces: %s", task, len(sent), exc)
            ENGINE_ANSWERS.labels(task.value, "llm", "stream_cut").inc()
            yield StreamCut(exc, "".join(sent))
            return
        log.warning(
            "%s LLM failed before the first token, answering locally: %s", task, exc,
            exc_info=not isinstance(exc, LLMError),
        )
        yield _counted(task, Answer(local(), "local"), "llm_fallback")
        return
    if not sent:
        LLM_REPLIES.labels(task.value, "unusable").inc()  # an empty reply
        yield _counted(task, Answer(local(), "local"), "llm_fallback")
        return
    truncated = check.truncated if check is not None else None
    LLM_REPLIES.labels(task.value, f"truncated_{truncated}" if truncated else "accepted").inc()
    yield _counted(task, Answer("".join(sent), "llm", truncated), "answered")


def _failure(exc: BaseException) -> str:
    """``timeout`` when the model was too slow (somewhere in the chain of causes), else ``failed``."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, (TimeoutError, httpx.TimeoutException)) or "Timeout" in type(cause).__name__:
            return "timeout"
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return "failed"


def _counted(task: Task, answer: Answer[T], outcome: str) -> Answer[T]:
    ENGINE_ANSWERS.labels(task.value, answer.engine, outcome).inc()
    return answer
