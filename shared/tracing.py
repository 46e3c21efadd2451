"""OpenTelemetry traces across the hops, on when ``SG_OTEL_ENDPOINT`` names an OTLP/HTTP collector.

Off (the default) nothing is installed: no middleware, no client hooks, no spans, and the SDK, exporter and
instrumentations are never imported. On: each app's server spans (FastAPI), a client span per outgoing call
(httpx) that carries W3C ``traceparent`` to the next hop, and an ``llm <task>`` span per model call with its
model, tokens and time to first token; the request id on each app's server span and on the model call. One
tracer provider per process, exported in batches over OTLP/HTTP (protobuf) to ``<endpoint>/v1/traces``. A
provider already installed (a test's, or the ``opentelemetry-instrument`` launcher's) is kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx
from fastapi import FastAPI
from opentelemetry import trace

from shared.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from shared.llm.base import Usage

# Probes and scrapes are not requests anyone follows across hops.
_UNTRACED_PATHS = "/healthz,/readyz,/metrics"
TRACER_NAME = "shopguide"


def enabled(settings: Settings) -> bool:
    return settings.otel_endpoint is not None


def create_provider(settings: Settings, service: str) -> TracerProvider:
    """A provider exporting over OTLP/HTTP to ``settings.otel_endpoint`` (a collector's base URL, :4318)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    assert settings.otel_endpoint is not None, "called only when tracing is on"
    exporter = OTLPSpanExporter(endpoint=f"{settings.otel_endpoint.rstrip('/')}/v1/traces")
    provider = TracerProvider(resource=Resource.create({"service.name": f"shopguide-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def instrument_app(app: FastAPI, settings: Settings, service: str) -> None:
    """Server spans for ``app``, after the process's provider is in place (the first app's service names it)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.trace import TracerProvider

    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(create_provider(settings, service))
    # No span per ASGI message: a stream would get one per token.
    FastAPIInstrumentor.instrument_app(app, excluded_urls=_UNTRACED_PATHS, exclude_spans=["receive", "send"])


def instrument_client(client: httpx.AsyncClient, settings: Settings) -> httpx.AsyncClient:
    """A client span per request, and ``traceparent`` on it, when tracing is on; the client as it is otherwise."""
    if enabled(settings):
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client)
    return client


@contextmanager
def client_span(on: bool, method: str, url: str, headers: dict[str, str]) -> Iterator[None]:
    """A client span around a call made without httpx (the gateway's pass-through), its ``traceparent`` put in
    ``headers``, ended once the answer's head is in; nothing when tracing is off (``on``)."""
    if not on:
        yield
        return
    from opentelemetry.propagate import inject

    attributes = {"http.request.method": method, "url.full": url}
    with trace.get_tracer(TRACER_NAME).start_as_current_span(method, kind=trace.SpanKind.CLIENT, attributes=attributes):
        inject(headers)
        yield


def annotate_request(service: str, request_id: str) -> None:
    """The app and request id on the server span of the request being served."""
    span = trace.get_current_span()
    span.set_attribute("sg.service", service)
    span.set_attribute("sg.request_id", request_id)


class LLMCallSpan:
    """One model call's span (``llm <task>``), or nothing when tracing is off (``tracer`` None): started with
    its route, made current around each step of the call (so the HTTP client span to the model server is its
    child), ended with tokens and outcome.

    Current only step by step, not across a stream's yields: a generator's caller may close it in another
    context, where detaching a context attached here would fail."""

    def __init__(
        self, tracer: trace.Tracer | None, task: str, backend: str, model: str | None, request_id: str | None
    ) -> None:
        self._span: trace.Span | None = None
        if tracer is None:
            return
        attributes: dict[str, str] = {"gen_ai.operation.name": "chat", "sg.llm.task": task, "sg.llm.backend": backend}
        if model:
            attributes["gen_ai.request.model"] = model
        if request_id:
            attributes["sg.request_id"] = request_id
        self._span = tracer.start_span(f"llm {task}", kind=trace.SpanKind.CLIENT, attributes=attributes)
        self._started = time.perf_counter()

    @contextmanager
    def current(self) -> Iterator[None]:
        if self._span is None:
            yield
            return
        with trace.use_span(self._span, record_exception=False, set_status_on_exception=False):
            yield

    def first_token(self) -> None:
        if self._span is not None:
            elapsed_ms = (time.perf_counter() - self._started) * 1000
            self._span.set_attribute("gen_ai.response.time_to_first_token_ms", round(elapsed_ms, 3))

    def end(self, outcome: str, usage: Usage | None, chunks: int | None = None) -> None:
        if self._span is None:
            return
        self._span.set_attribute("sg.llm.outcome", outcome)
        if usage is not None:
            self._span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
            self._span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
            self._span.set_attribute("sg.llm.usage_estimated", usage.estimated)
        if chunks is not None:
            self._span.set_attribute("sg.llm.chunks", chunks)
        if outcome != "ok":
            self._span.set_status(trace.StatusCode.ERROR, outcome)
        self._span.end()
