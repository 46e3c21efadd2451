"""Gateway fixtures: the fake upstream as a real server, a test route table, gateway settings and apps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager

from gateway.tier1.app import create_app
from shared.settings import ServiceUrls, Settings
from shared.simulator import run_in_thread

from .fakes import Upstream, create_upstream

KEY = "k1"
AUTH = {"Authorization": f"Bearer {KEY}"}

ROUTES: list[dict[str, Any]] = [
    {"path": "/v1/chat", "upstream": "router", "llm": True, "timeout_s": 5},
    {"path": "/v1/chat/completions", "upstream": "router", "upstream_path": "/v1/chat", "llm": True, "timeout_s": 5},
    {
        "path": "/v1/summary",
        "upstream": "summary",
        "llm": True,
        "tasks": ["summary"],
        "timeout_s": 5,
        "cache": {"ttl_s": 60, "ignore_fields": ["trace"]},
    },
    {
        "path": "/v1/copywriting",
        "upstream": "copywriting",
        "llm": True,
        "tasks": ["copywriting"],
        "timeout_s": 5,
        "cache": {"ttl_s": 60, "bypass_if": ["session_id"]},
    },
    {"path": "/v1/intent", "upstream": "intent", "rate_limit": {"requests_per_minute": 3}},
    {"path": "/v1/dialog", "upstream": "dialog", "llm": True, "rate_limit": {"tokens_per_minute": 5}},
    {"path": "/v1/products/{sku_id}", "methods": ["GET"], "upstream": "catalog"},
]


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[Upstream]:
    state = Upstream()
    with run_in_thread(create_upstream(state)) as server:
        state.url = server.url
        yield state


@pytest.fixture
def upstream(upstream_server: Upstream) -> Upstream:
    upstream_server.reset()
    return upstream_server


@pytest.fixture
def make_settings(tmp_path: Path, upstream: Upstream) -> Callable[..., Settings]:
    """Gateway settings over the fake upstream and the test route table; keyword arguments override."""

    def make(
        *, routes: list[dict[str, Any]] = ROUTES, tenants: dict[str, Any] | None = None, **overrides: Any
    ) -> Settings:
        url = upstream.url
        values: dict[str, Any] = {
            "cache_backend": "memory",
            "api_keys": [KEY],
            "max_body_bytes": 2048,
            "services": ServiceUrls(**{name: url for name in ServiceUrls.model_fields}),
            "gateway_routes_file": write_yaml(tmp_path / "routes.yaml", {"routes": routes}),
            "gateway_tenants_file": write_yaml(tmp_path / "tenants.yaml", tenants or {"tenants": []}),
            "gateway_reload_interval_s": 0,
            "gateway_static_dir": tmp_path / "static",
            "log_json": False,
            **overrides,
        }
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def redis_settings(make_settings: Callable[..., Settings], redis_url: str, namespace: str) -> Callable[..., Settings]:
    """As make_settings, over the real Redis (database SG_TEST_REDIS_DB, default 15, flushed per test)."""

    def make(**overrides: Any) -> Settings:
        return make_settings(cache_backend="redis", redis_url=redis_url, cache_namespace=namespace, **overrides)

    return make


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, LifespanManager]]:
    """An in-process gateway: a client wired to it, and the lifespan manager (its ``.app`` and state)."""
    async with LifespanManager(create_app(settings)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=AUTH) as client:
            yield client, manager


async def asgi_post(
    app: Any, path: str, body: dict[str, Any], on_send: Callable[[dict[str, Any]], None] | None = None
) -> tuple[int, dict[str, str], list[bytes]]:
    """POST straight to the ASGI app: status, headers and each body message as the app sent it (each also
    to ``on_send``, as it is sent)."""
    payload = json.dumps(body).encode()
    messages: list[dict[str, Any]] = []
    pending = [{"type": "http.request", "body": payload, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the client never hangs up
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)
        if on_send is not None:
            on_send(message)

    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"authorization", f"Bearer {KEY}".encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    chunks = [m["body"] for m in messages if m["type"] == "http.response.body" and m["body"]]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, chunks
