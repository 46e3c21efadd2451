"""The gateway's upstream client (``gateway/tier1/upstream.py``, aiohttp) against a real server: connections
kept and reused, a body left unread closing its connection, no cookies kept, redirects passed on, long event
lines read whole, and what ``shared.http``'s hooks add on httpx (request id, deadline) added here too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.tier1 import upstream
from gateway.tier1.dispatch import abandon
from gateway.tier1.routes import Route as RouteEntry
from gateway.tier1.upstream import UpstreamClient, UpstreamError, UpstreamTimeout
from shared.deadline import DEADLINE_HEADER, within
from shared.settings import Settings
from shared.simulator import run_in_thread
from shared.telemetry import REQUEST_ID_HEADER, request_id_var

LONG = "x" * 200_000  # past aiohttp's default line limit (64 KiB)


@dataclass
class Seen:
    ports: list[int] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    gone: asyncio.Event | None = None
    hung_up: int = 0


def _server(seen: Seen) -> Starlette:
    async def echo(request: Request) -> Response:
        assert request.client is not None
        seen.ports.append(request.client.port)
        seen.headers.append(dict(request.headers))
        response = JSONResponse({"body": (await request.body()).decode()})
        response.set_cookie("tenant-secret", "s3")
        return response

    async def long_events(_: Request) -> Response:
        async def events() -> AsyncIterator[str]:
            yield f"event: token\r\ndata: {LONG}\r\n\r\n"
            yield "event: done\ndata: {}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def endless(request: Request) -> Response:
        async def events() -> AsyncIterator[str]:
            try:
                while True:
                    yield "data: more\n\n"
                    await asyncio.sleep(0.01)
            finally:
                seen.hung_up += 1

        return StreamingResponse(events(), media_type="text/event-stream")

    async def slow(_: Request) -> Response:
        await asyncio.sleep(2)
        return JSONResponse({})

    async def moved(_: Request) -> Response:
        return RedirectResponse("/echo", status_code=307)

    return Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/long", long_events),
            Route("/endless", endless),
            Route("/slow", slow),
            Route("/moved", moved, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Seen]]:
    seen = Seen()
    with run_in_thread(_server(seen)) as running:
        yield running.url, seen


def _settings() -> Settings:
    return Settings(_env_file=None, deadline_margin_s=0.1)


async def test_connections_are_reused_and_keep_no_cookies(server: tuple[str, Seen]) -> None:
    url, seen = server
    seen.ports.clear()
    seen.headers.clear()
    async with UpstreamClient(_settings()) as client:
        for n in range(3):
            answer = await client.send("POST", f"{url}/echo", f"{n}".encode(), {"content-type": "text/plain"}, 5)
            assert (answer.status_code, await answer.aread()) == (200, f'{{"body":"{n}"}}'.encode())
            assert answer.headers["set-cookie"].startswith("tenant-secret=")
            await answer.aclose()
    assert len(set(seen.ports)) == 1, seen.ports  # one connection, kept alive
    assert all("cookie" not in headers for headers in seen.headers)


async def test_the_request_id_and_the_deadline_go_to_the_upstream(server: tuple[str, Seen]) -> None:
    url, seen = server
    seen.headers.clear()
    token = request_id_var.set("req-42")
    try:
        async with UpstreamClient(_settings()) as client:
            with within(1.0):
                answer = await client.send("POST", f"{url}/echo", b"{}", {}, 30)
                await answer.aclose()
            answer = await client.send("POST", f"{url}/echo", b"{}", {}, 30)
            await answer.aclose()
    finally:
        request_id_var.reset(token)
    first, second = seen.headers
    assert first[REQUEST_ID_HEADER.lower()] == "req-42"
    assert 0 < int(first[DEADLINE_HEADER.lower()]) <= 900  # the caller's second, less the margin
    assert int(second[DEADLINE_HEADER.lower()]) == 30_000  # the route's own limit
    assert "content-type" not in first  # none asked for, none made up


async def test_a_passed_deadline_is_not_sent_and_a_slow_answer_times_out(server: tuple[str, Seen]) -> None:
    url, _ = server
    async with UpstreamClient(_settings()) as client:
        with within(0.05), pytest.raises(UpstreamTimeout) as not_sent:
            await client.send("POST", f"{url}/echo", b"{}", {}, 30)
        with pytest.raises(UpstreamTimeout) as slow:
            await client.send("GET", f"{url}/slow", b"", {}, 0.2)
    assert (not_sent.value.stage, not_sent.value.description) == ("deadline", "not asked: the caller's deadline had passed")
    assert (slow.value.stage, slow.value.limit_s, slow.value.by_caller) == ("read", 0.2, False)


async def test_a_full_pool_times_out_waiting_for_a_connection(
    server: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = server
    monkeypatch.setattr(upstream, "MAX_CONNECTIONS", 1)
    monkeypatch.setattr(upstream, "CONNECT_TIMEOUT_S", 0.1)
    async with UpstreamClient(_settings()) as client:
        busy = await client.send("GET", f"{url}/endless", b"", {}, 5)  # holds the one connection
        with pytest.raises(UpstreamTimeout) as queued:
            await client.send("POST", f"{url}/echo", b"{}", {}, 0.3)
        await busy.aclose()
    assert (queued.value.stage, queued.value.limit_s) == ("pool", 0.3)


async def test_redirects_are_passed_on_not_followed(server: tuple[str, Seen]) -> None:
    url, _ = server
    async with UpstreamClient(_settings()) as client:
        answer = await client.send("POST", f"{url}/moved", b"{}", {}, 5)
        await answer.aclose()
    assert (answer.status_code, answer.headers["location"]) == (307, "/echo")


async def test_long_event_lines_are_read_whole(server: tuple[str, Seen]) -> None:
    url, _ = server
    async with UpstreamClient(_settings()) as client:
        answer = await client.send("GET", f"{url}/long", b"", {}, 5)
        lines = [line async for line in answer.aiter_lines()]
        await answer.aclose()
    assert lines == ["event: token", f"data: {LONG}", "", "event: done", "data: {}", ""]


async def test_an_answer_left_unread_closes_its_connection(server: tuple[str, Seen]) -> None:
    url, seen = server
    before = seen.hung_up
    async with UpstreamClient(_settings()) as client:
        answer = await client.send("GET", f"{url}/endless", b"", {}, 5)
        chunks = answer.aiter_bytes()
        assert (await anext(chunks)).startswith(b"data: more")
        await answer.aclose()
        for _ in range(200):  # the server notices the hang-up on its next write
            if seen.hung_up > before:
                break
            await asyncio.sleep(0.01)
    assert seen.hung_up == before + 1


async def test_abandoning_an_exchange_sent_ahead_stops_it_or_closes_its_answer(server: tuple[str, Seen]) -> None:
    url, seen = server
    before = seen.hung_up
    route = RouteEntry(path="/v1/x", upstream="intent")
    async with UpstreamClient(_settings()) as client:
        waiting = asyncio.ensure_future(client.send("GET", f"{url}/slow", b"", {}, 5))
        await asyncio.sleep(0.05)
        await abandon(waiting, route, "abandoned")  # still waiting for its answer: cancelled
        answered = asyncio.ensure_future(client.send("GET", f"{url}/endless", b"", {}, 5))
        await asyncio.wait([answered])
        await abandon(answered, route, "refused")  # its head in: its answer closed unread
        for _ in range(200):
            if seen.hung_up > before:
                break
            await asyncio.sleep(0.01)
    assert waiting.cancelled()
    assert seen.hung_up == before + 1


async def test_an_unreachable_upstream_is_an_upstream_error() -> None:
    async with UpstreamClient(_settings()) as client:
        with pytest.raises(UpstreamError) as failed:
            await client.send("GET", "http://127.0.0.1:9/", b"", {}, 5)
    assert failed.value.description == "could not connect"

