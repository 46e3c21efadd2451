"""The upstream connection pool, kept by the connection a request takes rather than by all of them.

httpcore's pool reassigns its connections every time a request starts or ends, and each time asks every
idle connection whether it has expired: a ``poll`` of its socket, through anyio's attribute lookups, for
each of them (and counts the idle ones once per idle connection). With the 30 to 200 connections the
gateway keeps to its upstreams under load, that was a fifth of its CPU per proxied request (py-spy at
concurrency 32). ``LeanPool`` asks only the connection it is about to hand out (a stale one is closed and
the next tried), and runs httpcore's whole sweep (expired, closed and surplus idle connections) at most
every ``SWEEP_S``. Requests, timeouts, errors and responses are httpcore's own.
"""

from __future__ import annotations

import logging
import time

import httpcore
import httpx
from httpcore._async.connection_pool import AsyncPoolRequest  # httpcore exports neither type
from httpcore._async.interfaces import AsyncConnectionInterface

log = logging.getLogger(__name__)

# How often the full sweep runs: connections that expired while idle are closed within this much.
SWEEP_S = 1.0


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


def use_lean_pool(client: httpx.AsyncClient) -> None:
    """Give ``client``'s transport a ``LeanPool`` in place of its httpcore pool, settings and connections as
    they are (the pool's class only), so the client's hooks and tracing stay as they were set up."""
    transport = client._transport  # httpx has no public way to reach its pool
    pool = getattr(transport, "_pool", None)
    if isinstance(transport, httpx.AsyncHTTPTransport) and type(pool) is httpcore.AsyncConnectionPool:
        pool.__class__ = LeanPool
    else:
        log.warning("upstream client kept its own pool: %r is not httpx's default transport", transport)
