"""The gateway's upstream pool (``LeanPool``): connections reused, a stale one replaced, the limit kept; over
real sockets to a keep-alive HTTP/1.1 server that counts its connections and can drop the idle ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.tier1.pool import LeanPool, use_lean_pool


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
