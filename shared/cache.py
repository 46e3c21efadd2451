"""The async KV cache: Redis in production and tests, an in-process store when no Redis answers."""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from shared.settings import Settings

log = logging.getLogger(__name__)


class CacheError(Exception):
    """The cache backend failed; callers treat it as a miss and carry on."""


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
        return cls(aioredis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0), namespace)

    async def get(self, key: str) -> bytes | None:
        try:
            # redis types the value bytes | str: str only from a client made with decode_responses=True, and
            # this one is made without (from_url).
            return cast(bytes | None, await self.client.get(self.key(key)))
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

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self.client.aclose()


class MemoryCache(Cache):
    """A bounded LRU with expiry, for one process: what ``make run`` uses when no Redis answers."""

    backend = "memory"

    def __init__(self, namespace: str, max_items: int = 10_000) -> None:
        super().__init__(namespace)
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()

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
