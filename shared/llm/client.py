"""The one entry point services use: routes each task to its backend and records metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType

from botocore.client import BaseClient
from opentelemetry import trace

from shared.deadline import DEADLINE_HEADER, wait_s
from shared.llm.base import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    LLMBackend,
    LLMStreamCut,
    LLMTimeout,
    LLMUnavailable,
    OutputSchema,
    Usage,
    UsageMeter,
)
from shared.llm.bedrock import BedrockBackend
from shared.llm.local import LocalBackend
from shared.llm.metrics import LATENCY, REQUESTS, TIME_TO_FIRST_TOKEN
from shared.llm.openai_compat import OpenAICompatBackend
from shared.llm.pool import EndpointSnapshot
from shared.llm.tokens import TokenCounter, token_counter
from shared.settings import Settings, Task, TaskRoute
from shared.telemetry import request_id_var
from shared.tracing import TRACER_NAME, LLMCallSpan, instrument_client


@dataclass(frozen=True, slots=True)
class _Sampling:
    """What a caller asks of one reply beyond its route's settings."""

    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    top_p: float | None = None
    seed: int | None = None
    user: str | None = None
    schema: OutputSchema | None = None


class LLMConfigError(ValueError):
    """``llm_tasks`` routes a task somewhere ``llm_pools`` does not define."""


class LLMClient:
    def __init__(self, settings: Settings, *, bedrock_client: BaseClient | None = None) -> None:
        _check_routes(settings)
        self._settings = settings
        self._local = LocalBackend()
        self._pools = {name: OpenAICompatBackend(name, pool) for name, pool in settings.llm_pools.items()}
        for backend in self._pools.values():  # traceparent to the model servers (vLLM joins the trace)
            instrument_client(backend.http, settings)
        self._tracer = trace.get_tracer(TRACER_NAME) if settings.otel_endpoint else None
        self._counters: dict[Task, TokenCounter] = {}
        self._bedrock = (
            BedrockBackend(settings, client=bedrock_client)
            if any(route.backend == "bedrock" for route in settings.llm_tasks.values())
            else None
        )

    @property
    def local(self) -> LocalBackend:
        """Where services register their CPU handlers."""
        return self._local

    def route(self, task: Task) -> TaskRoute:
        return self._settings.llm_tasks[task]

    def uses_local(self, task: Task) -> bool:
        return self.route(task).backend == "local"

    async def complete(
        self,
        task: Task,
        messages: Sequence[ChatMessage],
        *,
        session_id: str | None = None,
        request_id: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        user: str | None = None,
        meter: UsageMeter | None = None,
        schema: OutputSchema | None = None,
    ) -> ChatResponse:
        """The whole reply. ``max_tokens`` is at most the route's; ``meter`` gets the reply's usage; ``schema`` is
        the JSON the reply must be, where the backend can constrain it (settings: ``structured_output``)."""
        sampling = _Sampling(temperature, max_tokens, stop, top_p, seed, user, schema)
        label, backend, request = self._prepare(task, messages, session_id, request_id, sampling)
        span = self._span(label, request)
        started = time.perf_counter()
        outcome = "ok"
        usage: Usage | None = None
        try:
            try:
                async with asyncio.timeout(request.timeout_s):
                    with span.current():
                        reply = await backend.complete(request)
            except TimeoutError as exc:
                raise _timeout(label, request) from exc
            TIME_TO_FIRST_TOKEN.labels(label, task, "complete").observe(time.perf_counter() - started)
            span.first_token()
            usage = reply.usage
            if meter is not None and backend is not self._local:
                if usage.prompt_tokens == usage.completion_tokens == 0:  # the server did not say
                    usage = await self._estimate(task, request.messages, reply.text)
                meter.add(usage, reply.finish_reason)
            return reply
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            REQUESTS.labels(label, task, outcome).inc()
            LATENCY.labels(label, task).observe(time.perf_counter() - started)
            span.end(outcome, usage)

    async def stream(
        self,
        task: Task,
        messages: Sequence[ChatMessage],
        *,
        session_id: str | None = None,
        request_id: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        user: str | None = None,
        meter: UsageMeter | None = None,
        schema: OutputSchema | None = None,
    ) -> AsyncGenerator[str, None]:
        """Deltas as generated; closing this iterator closes the backend's, cancelling upstream. ``meter`` gets
        the usage the server sends at the end (counted here when it sends none) once the stream is complete."""
        sampling = _Sampling(temperature, max_tokens, stop, top_p, seed, user, schema)
        label, backend, request = self._prepare(task, messages, session_id, request_id, sampling, meter)
        span = self._span(label, request)
        started = time.perf_counter()
        outcome = "ok"
        deltas = backend.stream(request)
        calls_before = meter.calls if meter is not None else 0
        tokens_before = (meter.prompt_tokens, meter.completion_tokens) if meter is not None else (0, 0)
        sent: list[str] = []
        try:
            async with aclosing(deltas), aclosing(_first_within(deltas, label, request)) as timed:
                while True:
                    with span.current():  # step by step: see LLMCallSpan
                        delta = await anext(timed, None)
                    if delta is None:
                        break
                    if not sent:
                        TIME_TO_FIRST_TOKEN.labels(label, task, "stream").observe(time.perf_counter() - started)
                        span.first_token()
                    sent.append(delta)
                    yield delta
            if meter is not None and backend is not self._local and meter.calls == calls_before:
                meter.add(await self._estimate(task, request.messages, "".join(sent)))
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            REQUESTS.labels(label, task, outcome).inc()
            LATENCY.labels(label, task).observe(time.perf_counter() - started)
            span.end(outcome, _usage_since(meter, calls_before, tokens_before), chunks=len(sent))

    def _prepare(
        self,
        task: Task,
        messages: Sequence[ChatMessage],
        session_id: str | None,
        request_id: str | None,
        sampling: _Sampling,
        meter: UsageMeter | None = None,
    ) -> tuple[str, LLMBackend, ChatRequest]:
        route = self.route(task)
        backend: LLMBackend
        if route.backend == "openai":
            assert route.pool is not None, "checked at construction"
            pool = self._pools[route.pool]
            backend, label, model = pool, pool.label, route.model or self._settings.llm_pools[route.pool].model
        elif route.backend == "bedrock":
            assert self._bedrock is not None, "created whenever a task routes to Bedrock"
            backend, label, model = self._bedrock, BedrockBackend.label, route.model or self._settings.bedrock_model_id
        else:
            backend, label, model = self._local, LocalBackend.name, route.model
        margin_s = self._settings.deadline_margin_s
        timeout_s = None if backend is self._local else _budget(label, task, route.timeout_s, margin_s)
        request = ChatRequest(
            task=task,
            messages=list(messages),
            model=model,
            temperature=route.temperature if sampling.temperature is None else sampling.temperature,
            # The route's max_tokens is what the operator lets a reply cost: a caller may ask for less, never more.
            max_tokens=route.max_tokens if sampling.max_tokens is None else min(sampling.max_tokens, route.max_tokens),
            stop=sampling.stop,
            session_id=session_id,
            request_id=request_id,
            top_p=sampling.top_p,
            seed=sampling.seed,
            user=sampling.user,
            meter=meter,
            timeout_s=timeout_s,
            schema=sampling.schema,
        )
        return label, backend, request

    def _span(self, label: str, request: ChatRequest) -> LLMCallSpan:
        return LLMCallSpan(
            self._tracer, request.task.value, label, request.model, request.request_id or request_id_var.get()
        )

    def tokens(self, task: Task) -> TokenCounter:
        """Counts tokens as the model serving ``task`` does (``shared.llm.tokens``)."""
        if task not in self._counters:
            route = self.route(task)
            pool = self._pools.get(route.pool or "") if route.backend == "openai" else None
            self._counters[task] = token_counter(self._settings, task, pool.http if pool else None)
        return self._counters[task]

    async def _estimate(self, task: Task, messages: Sequence[ChatMessage], reply: str) -> Usage:
        """The usage of a call whose server reported none, counted here."""
        counter = self.tokens(task)
        counts = await counter.counts([m.content for m in messages] + [reply])
        prompt = sum(counts[m.content] for m in messages)
        return Usage(prompt, counts[reply] if reply else 0, estimated=True)

    async def ready(self) -> dict[str, bool]:
        """Per backend some task routes to (``local``, ``openai:<pool>``, ``bedrock``): can it answer now.

        A pool no task uses is left out, so it cannot make a service unready.
        """
        status = {LocalBackend.name: await self._local.ready()}
        routed = {route.pool for route in self._settings.llm_tasks.values() if route.backend == "openai"}
        for name, backend in self._pools.items():
            if name in routed:
                status[backend.label] = await backend.ready()
        if self._bedrock is not None:
            status[BedrockBackend.label] = await self._bedrock.ready()
        return status

    def snapshot(self) -> dict[str, list[EndpointSnapshot]]:
        """Endpoint state per pool, for /readyz."""
        return {name: backend.pool.snapshot() for name, backend in self._pools.items()}

    async def start(self) -> None:
        for backend in self._backends():
            await backend.start()

    async def aclose(self) -> None:
        await asyncio.gather(*(backend.aclose() for backend in self._backends()))

    def _backends(self) -> list[LLMBackend]:
        return [self._local, *self._pools.values(), *([self._bedrock] if self._bedrock else [])]

    async def __aenter__(self) -> LLMClient:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _check_routes(settings: Settings) -> None:
    for task, route in settings.llm_tasks.items():
        if route.backend != "openai":
            continue
        pools = ", ".join(sorted(settings.llm_pools)) or "none are configured"
        if route.pool is None:
            raise LLMConfigError(f"task {task.value!r} routes to backend 'openai' but names no pool (pools: {pools})")
        if route.pool not in settings.llm_pools:
            raise LLMConfigError(f"task {task.value!r} routes to unknown pool {route.pool!r} (pools: {pools})")


def _usage_since(meter: UsageMeter | None, calls: int, tokens: tuple[int, int]) -> Usage | None:
    """What a meter gained since it held ``calls`` calls and ``tokens`` (prompt, completion): one call's usage."""
    if meter is None or meter.calls == calls:
        return None
    return Usage(meter.prompt_tokens - tokens[0], meter.completion_tokens - tokens[1], meter.estimated)


def _budget(label: str, task: Task, own_s: float, margin_s: float) -> float:
    """The call's timeout: the task's, or what the caller's deadline leaves of it; none left: not asked."""
    wait = wait_s(own_s, margin_s)
    assert wait is not None, "the task's own timeout bounds it"
    if wait <= 0:
        REQUESTS.labels(label, task, "timeout").inc()
        raise LLMTimeout(f"{task}: not asked: the caller's deadline ({DEADLINE_HEADER}) had passed")
    return wait


def _timeout(label: str, request: ChatRequest) -> LLMTimeout:
    return LLMTimeout(
        f"{label}: no answer to {request.task} within {request.timeout_s:.3g}s (the task's timeout_s or the "
        f"caller's deadline); the call was cancelled"
    )


async def _first_within(
    deltas: AsyncGenerator[str, None], label: str, request: ChatRequest
) -> AsyncGenerator[str, None]:
    """``deltas``, the first within the request's timeout; after it the pool's read timeout bounds each gap."""
    try:
        async with asyncio.timeout(request.timeout_s):
            first = await anext(deltas)
    except StopAsyncIteration:
        return
    except TimeoutError as exc:
        raise _timeout(label, request) from exc
    yield first
    async for delta in deltas:
        yield delta


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, LLMStreamCut):
        return "cut"
    if isinstance(exc, LLMTimeout):
        return "timeout"
    if isinstance(exc, LLMUnavailable):
        return "unavailable"
    if isinstance(exc, (asyncio.CancelledError, GeneratorExit)):
        return "cancelled"
    return "error"
