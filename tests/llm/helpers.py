"""Shared test helpers for the LLM layer: a handle on a running simulator, settings, polling."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from shared.settings import PoolSettings
from shared.simulator import RunningServer


@dataclass(frozen=True)
class Sim:
    """A running simulator plus its control endpoints (sync: the server runs in another thread)."""

    server: RunningServer
    control: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    def configure(self, **changes: Any) -> None:
        self.control.post(f"{self.url}/sim/config", json=changes).raise_for_status()

    def reset(self) -> None:
        self.control.post(f"{self.url}/sim/reset").raise_for_status()

    def stats(self) -> dict[str, Any]:
        response = self.control.get(f"{self.url}/sim/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def last_request(self) -> dict[str, Any]:
        last: dict[str, Any] = self.stats()["last_requests"][-1]
        return last


def pool_settings(*endpoints: str, **overrides: Any) -> PoolSettings:
    """Fast-failing pool settings for tests; affinity off unless asked for."""
    values: dict[str, Any] = {
        "endpoints": list(endpoints),
        "connect_timeout_s": 0.5,
        "read_timeout_s": 2.0,
        "max_retries": 2,
        "backoff_s": 0.001,
        "health_interval_s": 0.05,
        "eject_s": 30.0,
        "session_affinity": False,
    }
    return PoolSettings(**(values | overrides))


def unused_url() -> str:
    """A URL where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def eventually(predicate: Callable[[], bool], timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(0.01)
