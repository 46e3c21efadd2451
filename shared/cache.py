"""The async KV cache: Redis in production and tests, an in-process store when no Redis answers."""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from shared.settings import Settings

log = logging.getLogger(__name__)


class CacheError(Exception):
    """The cache backend failed; callers treat it as a miss and carry on."""


@dataclass(frozen=True)
class Log:
    """What ``Cache.log_read`` finds under a key: the kept entries, oldest first, and the fields set beside them."""

    entries: list[bytes]
    fields: dict[str, bytes]


class Cache(ABC):
    """Byte values under namespaced keys, with TTLs. Subclasses must not raise anything but ``CacheError``."""

    backend: str

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    @abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def set(self, key: str, value: bytes, ttl_s: int | None = None) -> None: ...

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    async def incr(self, key: str, amount: int = 1, ttl_s: int | None = None) -> int:
        """Add to a counter; the TTL is set when the counter is created (fixed windows)."""

    @abstractmethod
    async def log_append(
        self, key: str, entry: bytes, *, keep: int, fields: Mapping[str, bytes] | None = None, ttl_s: int | None = None
    ) -> int:
        """Append ``entry`` to the log under ``key`` and set ``fields`` beside it, as one atomic step, keeping the
        newest ``keep`` entries; ``ttl_s`` restarts the log's expiry. Concurrent appends all land, in one order,
        and each field holds the value of the last append that set it. Returns the log's length once this entry
        landed, before trimming: its place in the order of arrival."""

    @abstractmethod
    async def log_read(self, key: str) -> Log:
        """The log under ``key`` as one consistent snapshot; empty when there is none."""

    @abstractmethod
    async def ping(self) -> bool: ...

    async def aclose(self) -> None:
        return None

    async def get_json(self, key: str) -> Any | None:
        raw = await self.get(key)
        return None if raw is None else json.loads(raw)

    async def set_json(self, key: str, value: Any, ttl_s: int | None = None) -> None:
        await self.set(key, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), ttl_s)


class RedisCache(Cache):
    backend = "redis"

    def __init__(self, client: aioredis.Redis, namespace: str) -> None:
        super().__init__(namespace)
        self.client = client

    @classmethod
    def from_url(cls, url: str, namespace: str) -> RedisCache:
        # One quick retry, on a new connection: after a Redis restart every pooled connection is dead, and without
        # it the first command on each would fail (a client built from a URL does not retry by default). Only one,
        # so that while Redis is down a command fails at once instead of holding up the request.
        retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=1)
        return cls(aioredis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0, retry=retry), namespace)

    async def get(self, key: str) -> bytes | None:
        try:
            return await self.client.get(self.key(key))
        except RedisError as exc:
            raise CacheError(str(exc)) from exc

    async def set(self, key: str, value: bytes, ttl_s: int | None = None) -> None:
        try:
            await self.client.set(self.key(key), value, ex=ttl_s)
        except RedisError as exc:
            raise CacheError(str(exc)) from exc

    async def delete(self, key: str) -> None:
        try:
            await self.client.delete(self.key(key))
        except RedisError as exc:
            raise CacheError(str(exc)) from exc

    async def incr(self, key: str, amount: int = 1, ttl_s: int | None = None) -> int:
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incrby(self.key(key), amount)
                if ttl_s:
                    pipe.expire(self.key(key), ttl_s, nx=True)
                value, *_ = await pipe.execute()
            return int(value)
        except RedisError as exc:
            raise CacheError(str(exc)) from exc

    async def log_append(
        self, key: str, entry: bytes, *, keep: int, fields: Mapping[str, bytes] | None = None, ttl_s: int | None = None
    ) -> int:
        entries, head = self.key(f"{key}:entries"), self.key(f"{key}:fields")
        try:
            # MULTI/EXEC: no other client's command runs in between, so the fields always go with the last entry.
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.rpush(entries, entry)
                pipe.ltrim(entries, -keep, -1)
                if fields:
                    mapping: dict[FieldT, EncodableT] = {name: value for name, value in fields.items()}
                    pipe.hset(head, mapping=mapping)
                if ttl_s:
                    pipe.expire(entries, ttl_s)
                    pipe.expire(head, ttl_s)
                length, *_ = await pipe.execute()
            return int(length)
        except RedisError as exc:
            raise CacheError(str(exc)) from exc

    async def log_read(self, key: str) -> Log:
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.lrange(self.key(f"{key}:entries"), 0, -1)
                pipe.hgetall(self.key(f"{key}:fields"))
                entries, fields = await pipe.execute()
        except RedisError as exc:
            raise CacheError(str(exc)) from exc
        return Log(list(entries), {name.decode(): value for name, value in fields.items()})

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass
class _MemoryLog:
    entries: deque[bytes] = field(default_factory=deque)
    fields: dict[str, bytes] = field(default_factory=dict)
    expires: float | None = None


class MemoryCache(Cache):
    """A bounded LRU with expiry, for one process: what ``make run`` uses when no Redis answers."""

    backend = "memory"

    def __init__(self, namespace: str, max_items: int = 10_000) -> None:
        super().__init__(namespace)
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._logs: OrderedDict[str, _MemoryLog] = OrderedDict()  # its own LRU, under the same bound

    def _live(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= time.monotonic():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def _put(self, key: str, value: bytes, ttl_s: int | None) -> None:
        self._items[key] = (value, time.monotonic() + ttl_s if ttl_s else None)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        return self._live(self.key(key))

    async def set(self, key: str, value: bytes, ttl_s: int | None = None) -> None:
        self._put(self.key(key), value, ttl_s)

    async def delete(self, key: str) -> None:
        self._items.pop(self.key(key), None)

    async def incr(self, key: str, amount: int = 1, ttl_s: int | None = None) -> int:
        full = self.key(key)
        current = self._live(full)
        if current is None:
            self._put(full, str(amount).encode(), ttl_s)
            return amount
        value = int(current) + amount
        expires = self._items[full][1]
        self._items[full] = (str(value).encode(), expires)
        return value

    def _log(self, key: str) -> _MemoryLog | None:
        log = self._logs.get(key)
        if log is not None and log.expires is not None and log.expires <= time.monotonic():
            del self._logs[key]
            return None
        if log is not None:
            self._logs.move_to_end(key)
        return log

    async def log_append(
        self, key: str, entry: bytes, *, keep: int, fields: Mapping[str, bytes] | None = None, ttl_s: int | None = None
    ) -> int:
        # Atomic as Redis's MULTI is: nothing here awaits, so no other coroutine runs until the append is done.
        full = self.key(key)
        log = self._log(full) or _MemoryLog()
        log.entries.append(entry)
        length = len(log.entries)
        while len(log.entries) > keep:
            log.entries.popleft()
        log.fields.update(fields or {})
        if ttl_s:
            log.expires = time.monotonic() + ttl_s
        self._logs[full] = log
        self._logs.move_to_end(full)
        while len(self._logs) > self.max_items:
            self._logs.popitem(last=False)
        return length

    async def log_read(self, key: str) -> Log:
        log = self._log(self.key(key))
        return Log(list(log.entries), dict(log.fields)) if log else Log([], {})

    async def ping(self) -> bool:
        return True


async def open_cache(settings: Settings) -> Cache:
    """The cache ``settings.cache_backend`` asks for; ``auto`` falls back to memory, loudly."""
    if settings.cache_backend == "memory":
        return MemoryCache(settings.cache_namespace)
    cache = RedisCache.from_url(settings.redis_url, settings.cache_namespace)
    if await cache.ping():
        return cache
    await cache.aclose()
    if settings.cache_backend == "redis":
        raise CacheError(f"Redis at {settings.redis_url} does not answer and SG_CACHE_BACKEND=redis")
    log.warning(
        "Redis at %s does not answer: using an in-process cache (not shared between processes, "
        "lost on restart). Start Redis or set SG_REDIS_URL for sessions and limits that hold across replicas.",
        settings.redis_url,
    )
    return MemoryCache(settings.cache_namespace)
