"""The gateway's upstream pool (``LeanPool``): connections reused, a stale one replaced, the limit kept; over
real sockets to a keep-alive HTTP/1.1 server that counts its connections and can drop the idle ones."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx
import pytest

from gateway.tier1.pool import HOLD_BYTES, LeanPool, LeanStream, use_lean_pool


class Upstream:
    """Answers every request ``ok`` on a kept-alive connection after ``delay_s``."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.connections = 0
        self.open: set[asyncio.StreamWriter] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open.add(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(self.delay_s)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open.discard(writer)
            writer.close()

    async def drop_idle(self) -> None:
        """Close every connection from the server's side, as a restarted upstream or its idle timeout does."""
        for writer in list(self.open):
            writer.close()
        await asyncio.sleep(0.05)


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    server = Upstream()
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield server, f"http://127.0.0.1:{port}/"
        listening.close()


def _client(max_connections: int = 10) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    client = httpx.AsyncClient(limits=limits, timeout=5)
    use_lean_pool(client)
    return client


async def test_the_client_gets_the_lean_pool() -> None:
    async with _client() as client:
        assert type(client._transport._pool) is LeanPool  # type: ignore[attr-defined]


async def test_sequential_requests_reuse_one_connection(upstream: tuple[Upstream, str]) -> None:
    server, url = upstream
    async with _client() as client:
        for _ in range(5):
            assert (await client.get(url)).text == "ok"
    assert server.connections == 1


async def test_concurrent_requests_open_connections_up_to_the_limit_then_reuse_them(
    upstream: tuple[Upstream, str],
) -> None:
    server, url = upstream
    server.delay_s = 0.05
    async with _client(max_connections=3) as client:
        for _ in range(2):
            answers = await asyncio.gather(*(client.get(url) for _ in range(6)))
            assert [a.text for a in answers] == ["ok"] * 6
    assert server.connections == 3


async def test_a_connection_the_server_closed_is_replaced_not_failed(upstream: tuple[Upstream, str]) -> None:
    server, url = upstream
    async with _client() as client:
        await asyncio.gather(*(client.get(url) for _ in range(3)))
        await server.drop_idle()
        answers = await asyncio.gather(*(client.get(url) for _ in range(3)))
    assert [a.status_code for a in answers] == [200] * 3
    assert server.connections >= 4  # fresh connections, none of the dropped ones reused


async def test_a_client_with_its_own_transport_is_left_as_it_is() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    async with httpx.AsyncClient(transport=transport) as client:
        use_lean_pool(client)
        assert client._transport is transport


class Recorded(httpcore.AsyncNetworkStream):
    """A connection that records what is sent on it and answers every read at once."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.sent: list[bytes] = []
        self.sock = sock

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sent.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return b"answer"

    def get_extra_info(self, info: str) -> Any:
        return self.sock if info == "socket" else None


async def test_a_request_head_and_body_leave_in_one_send_and_a_large_body_as_it_comes() -> None:
    inner = Recorded()
    stream = LeanStream(inner)
    await stream.write(b"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n")
    await stream.write(b"{}")
    assert inner.sent == []
    assert await stream.read(65_536) == b"answer"
    assert inner.sent == [b"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}"]
    await stream.write(b"x" * HOLD_BYTES)
    assert inner.sent[1:] == [b"x" * HOLD_BYTES]


async def test_a_connection_asks_its_own_socket_whether_the_server_spoke_or_closed() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        stream = LeanStream(Recorded(ours))
        assert stream.get_extra_info("is_readable") is False
        theirs.close()
        assert stream.get_extra_info("is_readable") is True
