"""One chat turn through the gateway is one trace: gateway -> router -> intent, extraction, catalog and dialog
-> the LLM, every hop real HTTP on a free port (W3C traceparent carried by the instrumented clients), the model
calls as ``llm <task>`` spans with model, tokens and time to first token, the request id on every app's span.
Spans land in an in-memory exporter; the OTLP exporter is checked against a collector of the test's own."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.settings import PoolSettings, Settings, Task, TaskRoute
from shared.simulator import SimConfig, run_in_thread
from shared.simulator import create_app as create_simulator
from shared.suite import serve_in_threads
from shared.tracing import create_provider

NLU_REPLY = (
    '<response>{"category": "specific needs", "reason": "tracing", "aim": "", "scene": "",'
    ' "call": {"name": "get_recommds_by_sku", "arguments": {"category": "smartphone", "camera": "good camera"}}}'
    "</response>"
)
SERVICES = ["intent", "extraction", "catalog", "dialog"]


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """The process's tracer provider, exporting to memory: the apps keep a provider already installed."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        pytest.fail("another test installed a tracer provider first; this test needs its own")
    return exporter


@pytest.fixture(scope="module")
def gateway(exporter: InMemorySpanExporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        nlu = stack.enter_context(run_in_thread(create_simulator(SimConfig(reply=NLU_REPLY))))
        dialog = stack.enter_context(run_in_thread(create_simulator(SimConfig(reply="These phones take the best photos."))))
        settings = Settings(
            _env_file=None,
            cache_backend="memory",
            log_json=False,
            qdrant_path=tmp_path_factory.mktemp("tracing") / "qdrant",
            # Tracing on; spans go to the test's provider, installed first, so nothing is sent here.
            otel_endpoint="http://127.0.0.1:9",
            cascade_threshold=1.0,
            llm_pools={
                "nlu": PoolSettings(endpoints=[nlu.url], model="sim-nlu"),
                "dialog": PoolSettings(endpoints=[dialog.url], model="sim-guide"),
            },
            llm_tasks={
                Task.INTENT: TaskRoute(backend="openai", pool="nlu"),
                Task.EXTRACTION: TaskRoute(backend="openai", pool="nlu"),
                Task.DIALOG: TaskRoute(backend="openai", pool="dialog"),
            },
        )
        started = stack.enter_context(serve_in_threads(settings, [*SERVICES, "router", "gateway"]))
        yield started.services.gateway


def _service(span: ReadableSpan) -> str | None:
    value = (span.attributes or {}).get("sg.service")
    return value if isinstance(value, str) else None


def test_a_chat_turn_is_one_trace_across_the_hops(gateway: str, exporter: InMemorySpanExporter) -> None:
    exporter.clear()
    with httpx.stream(
        "POST",
        f"{gateway}/v1/chat",
        json={"message": "a phone with a good camera", "stream": True},
        headers={"Authorization": "Bearer dev-key"},
        timeout=60,
    ) as response:
        body = response.read().decode()
    assert response.status_code == 200, body
    assert "event: token" in body and "event: done" in body
    request_id = response.headers["x-request-id"]

    servers: dict[str, ReadableSpan] = {}
    deadline = time.monotonic() + 10  # the gateway's span ends just after the last frame went out
    while "gateway" not in servers and time.monotonic() < deadline:
        time.sleep(0.05)
        spans = exporter.get_finished_spans()
        servers = {name: s for s in spans if s.kind == SpanKind.SERVER and (name := _service(s))}
    assert set(servers) == {"gateway", "router", *SERVICES}, [s.name for s in spans]
    served = [s for s in spans if s.kind == SpanKind.SERVER and _service(s)]
    assert {(_service(s), s.name) for s in served} >= {
        ("router", "POST /v1/chat"),
        ("intent", "POST /v1/intent"),
        ("extraction", "POST /v1/extract"),
        ("catalog", "POST /v1/recommend"),
        ("dialog", "POST /v1/dialog"),
    }

    by_id = {s.context.span_id: s for s in spans}
    root = servers["gateway"]
    assert root.parent is None and root.name.startswith("POST /v1/")
    trace_id = root.context.trace_id
    llm = {s.name: s for s in spans if s.name.startswith("llm ")}
    assert set(llm) == {"llm intent", "llm extraction", "llm dialog"}
    assert {s.context.trace_id for s in [*served, *llm.values()]} == {trace_id}, "one trace across the hops"

    def caller(span: ReadableSpan) -> ReadableSpan:
        """The span this one was started under, found among those exported."""
        assert span.parent is not None, f"{span.name} has no parent"
        return by_id[span.parent.span_id]

    def server_of(span: ReadableSpan) -> str | None:
        """The app whose request the span belongs to."""
        while span.kind != SpanKind.SERVER:
            span = caller(span)
        return _service(span)

    # Each hop is the client span of the app that called it (its httpx request carried traceparent).
    called_by = {"router": "gateway", **dict.fromkeys(SERVICES, "router")}
    for server in served:
        if server is not root:
            client = caller(server)
            assert client.kind == SpanKind.CLIENT and server_of(client) == called_by[_service(server) or ""], server.name
    for name, span in llm.items():
        task = name.removeprefix("llm ")
        attributes = span.attributes or {}
        assert server_of(span) == ("dialog" if task == "dialog" else task)
        assert attributes["gen_ai.request.model"] == ("sim-guide" if task == "dialog" else "sim-nlu")
        assert attributes["sg.llm.outcome"] == "ok"
        assert isinstance(attributes["gen_ai.response.time_to_first_token_ms"], float)
        assert attributes["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]
        assert attributes["sg.request_id"] == request_id
        # The request to the model server is the LLM span's child.
        children = [s for s in spans if s.parent is not None and s.parent.span_id == span.context.span_id]
        assert [c.kind for c in children] == [SpanKind.CLIENT], name
    for span in served:
        assert (span.attributes or {})["sg.request_id"] == request_id, span.name


def test_spans_go_to_the_collector_over_otlp_http(tmp_path: Path) -> None:
    received: list[ExportTraceServiceRequest] = []
    arrived = threading.Event()
    collector = FastAPI()

    @collector.post("/v1/traces")
    async def traces(request: Request) -> dict[str, str]:
        assert request.headers["content-type"] == "application/x-protobuf"
        received.append(ExportTraceServiceRequest.FromString(await request.body()))
        arrived.set()
        return {}

    with run_in_thread(collector) as server:
        provider = create_provider(Settings(_env_file=None, otel_endpoint=server.url + "/"), "router")
        with provider.get_tracer("test").start_as_current_span("llm dialog"):
            pass
        provider.force_flush()
        assert arrived.wait(10)
        provider.shutdown()
    [resource_spans] = received[0].resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    assert service == "shopguide-router"
    assert [s.name for s in resource_spans.scope_spans[0].spans] == ["llm dialog"]
