"""The upstream connection pool, kept by the connection a request takes rather than by all of them.

httpcore's pool reassigns its connections every time a request starts or ends, and each time asks every
idle connection whether it has expired: a ``poll`` of its socket, through anyio's attribute lookups, for
each of them (and counts the idle ones once per idle connection). With the 30 to 200 connections the
gateway keeps to its upstreams under load, that was a fifth of its CPU per proxied request (py-spy at
concurrency 32). ``LeanPool`` asks only the connection it is about to hand out (a stale one is closed and
the next tried), and runs httpcore's whole sweep (expired, closed and surplus idle connections) at most
every ``SWEEP_S``. Requests, timeouts, errors and responses are httpcore's own.

Its connections (``LeanStream``) also hold back what httpcore writes until it reads: h11 writes a request's
head and its body apart, two sends (and two packets to the upstream) where one does; and they keep their
socket, which httpcore's check of an idle connection asks anyio for each time (building every attribute of
the connection, a ``getpeername`` included): a seventh of the gateway's CPU per request, these two, before.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from httpcore._async.connection_pool import AsyncPoolRequest  # httpcore exports neither type
from httpcore._async.interfaces import AsyncConnectionInterface
from httpcore._utils import is_socket_readable

log = logging.getLogger(__name__)

# How often the full sweep runs: connections that expired while idle are closed within this much.
SWEEP_S = 1.0
# Held back writes go out once they reach this much, read or not: a large body streams as it comes.
HOLD_BYTES = 65_536


class LeanPool(httpcore.AsyncConnectionPool):
    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_S
            return super()._assign_requests_to_connections()
        closing: list[AsyncConnectionInterface] = []
        self._connections = [c for c in self._connections if not c.is_closed()]
        for pool_request in [r for r in self._requests if r.is_queued()]:
            self._assign(pool_request, closing)
        return closing

    def _assign(self, pool_request: AsyncPoolRequest, closing: list[AsyncConnectionInterface]) -> None:
        """httpcore's three cases, in its order: a connection to reuse, a new one, or a new one in place of
        an idle one (another origin's)."""
        origin = pool_request.request.url.origin
        for connection in list(self._connections):
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            if connection.is_idle() and connection.has_expired():  # its keep-alive ran out, or the server closed it
                self._connections.remove(connection)
                closing.append(connection)
                continue
            pool_request.assign_to_connection(connection)
            return
        if len(self._connections) >= self._max_connections:
            idle = next((c for c in self._connections if c.is_idle()), None)
            if idle is None:
                return  # stays queued until a connection frees up (or its pool timeout)
            self._connections.remove(idle)
            closing.append(idle)
        connection = self.create_connection(origin)
        self._connections.append(connection)
        pool_request.assign_to_connection(connection)


class LeanStream(httpcore.AsyncNetworkStream):
    """A connection's stream whose writes wait for its next read (or for ``HOLD_BYTES``), and which knows its
    socket. Errors are the wrapped stream's: a write that fails surfaces at the read that sends it."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")
        self._held = bytearray()
        self._timeout: float | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._held += buffer
        self._timeout = timeout
        if len(self._held) >= HOLD_BYTES:
            await self._send()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self._send()
        return await self._stream.read(max_bytes, timeout)

    async def _send(self) -> None:
        if self._held:
            held, self._held = bytes(self._held), bytearray()
            await self._stream.write(held, self._timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        await self._send()
        return LeanStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        return self._stream.get_extra_info(info)


class LeanBackend(httpcore.AsyncNetworkBackend):
    """Connects as the wrapped backend does; each connection a ``LeanStream``."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return LeanStream(await self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return LeanStream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def use_lean_pool(client: httpx.AsyncClient) -> None:
    """Give ``client``'s transport a ``LeanPool`` in place of its httpcore pool, settings and connections as
    they are (the pool's class only, and ``LeanBackend`` for its new connections), so the client's hooks and
    tracing stay as they were set up."""
    transport = client._transport  # httpx has no public way to reach its pool
    pool = getattr(transport, "_pool", None)
    if isinstance(transport, httpx.AsyncHTTPTransport) and type(pool) is httpcore.AsyncConnectionPool:
        pool.__class__ = LeanPool
        pool._network_backend = LeanBackend(pool._network_backend)
    else:
        log.warning("upstream client kept its own pool: %r is not httpx's default transport", transport)
