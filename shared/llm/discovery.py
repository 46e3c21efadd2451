"""A pool's endpoints found in DNS rather than listed: ``PoolSettings.dns``.

A Kubernetes headless Service resolves to one address per ready pod, so resolving its name on an interval
follows the pool as the autoscaler adds and removes replicas: no list of pod names to keep in step with
``maxReplicas``. The event loop's ``getaddrinfo`` does the lookup (the system resolver, search domains
included), off the loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)


def endpoint_url(address: str, port: int) -> str:
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"http://{host}:{port}"


class DnsDiscovery:
    """Resolves ``host:port`` every ``interval_s`` and hands the endpoint URLs, sorted, to ``update``
    whenever they change. A failed lookup keeps the last known set: a DNS hiccup must not empty the pool,
    and replicas that are really gone fail their health checks and leave rotation anyway."""

    def __init__(self, target: str, interval_s: float, update: Callable[[list[str]], None], *, pool: str) -> None:
        host, port = target.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.interval_s = interval_s
        self._update = update
        self._pool = pool
        self._known: list[str] | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> bool:
        """One lookup; True when it answered (whether or not the endpoints changed)."""
        loop = asyncio.get_running_loop()
        try:
            answers = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except OSError as exc:  # socket.gaierror: no such name (no ready pod), or no resolver
            log.warning("llm pool %s: resolving %s failed (%s); keeping %s", self._pool, self.host, exc, self._known)
            return False
        urls = sorted({endpoint_url(str(sockaddr[0]), self.port) for *_, sockaddr in answers})
        if urls != self._known:
            log.info("llm pool %s: %s resolves to %s", self._pool, self.host, urls)
            self._known = urls
            self._update(urls)
        return True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"llm-dns-{self._pool}")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # A bug in one round must not end discovery for good.
                log.exception("llm pool %s: discovery failed", self._pool)
            await asyncio.sleep(self.interval_s)
