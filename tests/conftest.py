"""Fixtures shared by the whole suite: test settings, in-process app clients, the real Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shared.cache import RedisCache
from shared.engines.artefacts import models_dir
from shared.engines.extraction import ExtractionModel
from shared.engines.intent import IntentModel
from shared.schemas import Message
from shared.settings import Settings
from training import build

# Two checkouts testing at once on one machine each take their own databases: SG_TEST_REDIS_DB and the one below.
REDIS_DB = int(os.environ.get("SG_TEST_REDIS_DB", "15"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


def count_round_trips(cache: RedisCache) -> list[None]:
    """One entry per connection the cache's client takes from its pool: a command, or a pipeline, each one
    round trip to Redis."""
    taken: list[None] = []
    pool = cache.client.connection_pool
    take = pool.get_connection

    async def counted(*args: object, **kwargs: object) -> object:
        taken.append(None)
        return await take(*args, **kwargs)

    pool.get_connection = counted  # type: ignore[method-assign]
    return taken


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings() -> Settings:
    """Settings isolated from the developer's .env: memory cache, a throwaway data dir."""
    return Settings(_env_file=None, env="test", cache_backend="memory", log_json=False)


@asynccontextmanager
async def app_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client wired to the app in-process, its lifespan (resources) entered."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
def client_for() -> Callable[[FastAPI], object]:
    return app_client


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis at 127.0.0.1:6379 (database SG_TEST_REDIS_DB, default 15), flushed per test; fails loudly when absent."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - CI starts one
        pytest.fail(f"these tests need Redis at 127.0.0.1:6379 ({exc}); .ci/run starts one")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


class RedisServer:
    """A redis-server of the test's own on a free port, its append-only file in ``directory``: a test that stops
    Redis stops this one, never the shared one, and starting it again on the same port and directory is a
    restart that keeps what was written."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "yes"]
        argv += ["--dir", str(self.directory)]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:  # refused, or still loading its append-only file
                if self.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server on port {self.port} did not start")
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        """SIGTERM, as a container stop sends: Redis flushes its append-only file and exits."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def chat(*turns: str) -> list[Message]:
    """Turns spoken in alternation, the user first."""
    return [Message(role="user" if i % 2 == 0 else "assistant", content=t) for i, t in enumerate(turns)]


@pytest.fixture(scope="module")
def intent() -> IntentModel:
    return build.intent(models_dir())


@pytest.fixture(scope="module")
def extraction() -> ExtractionModel:
    return build.extraction(models_dir())
