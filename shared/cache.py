"""The async KV cache: Redis in production and tests, an in-process store when no Redis answers."""

from __future__ import annotations

import json
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any, Literal, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError
from redis.typing import EncodableT, FieldT

from shared.settings import Settings

log = logging.getLogger(__name__)


class CacheError(Exception):
    """The cache backend failed; callers treat it as a miss and carry on."""


@dataclass(frozen=True, slots=True)
class WindowLimits:
    """What a sliding window admits: fewer than ``count`` entries and less than ``weight`` weight over its
    last ``seconds``; None is no limit."""

    seconds: float
    count: int | None = None
    weight: int | None = None


@dataclass(frozen=True, slots=True)
class Peeked:
    """A value read in the round trip of a sliding-window admission; None when the key holds none."""

    value: bytes | None


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    """A sliding-window admission: admitted, and the room it left under each limit (None: no such limit), or
    which limit refused and how long until it would admit; and the value it was asked to peek at (None when it
    was asked none)."""

    admitted: bool
    over: Literal["count", "weight"] | None = None
    retry_after_s: float = 0.0
    peeked: Peeked | None = None
    count_left: int | None = None
    weight_left: int | None = None

    @classmethod
    def admitting(cls, limits: WindowLimits, count: int, total: int, peeked: Peeked | None = None) -> WindowVerdict:
        """Admitted into a window that now holds ``count`` entries of ``total`` weight."""
        return cls(
            True,
            peeked=peeked,
            count_left=None if limits.count is None else limits.count - count,
            weight_left=None if limits.weight is None else limits.weight - total,
        )


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
    async def sliding_window_admit(
        self,
        key: str,
        entry: str,
        limits: WindowLimits,
        weight: int = 0,
        *,
        settle: Mapping[str, int] | None = None,
        peek: str | None = None,
    ) -> WindowVerdict:
        """Add ``entry`` (with ``weight``) to the window at ``key`` when it is under ``limits``; atomically.
        A refused entry leaves no trace. Retry-after: until the entry whose leaving brings the window under
        the limit leaves it. First, in the same step, ``settle`` (entry -> weight) is applied as
        ``sliding_window_settle`` would; and the value under ``peek`` is read in the same round trip (not
        atomically with the window)."""

    @abstractmethod
    async def sliding_window_settle(self, settles: Mapping[str, Mapping[str, int]]) -> None:
        """Replace admitted entries' weights (reservations made good), window key -> entry -> weight, all in one
        round trip; nothing for an entry once it has left its window."""

    @abstractmethod
    async def log_append(
        self,
        key: str,
        entry: bytes,
        *,
        keep: int,
        fields: Mapping[str, bytes] | None = None,
        ttl_s: int | None = None,
        earlier: Sequence[bytes] = (),
    ) -> int:
        """Append ``entry`` (after the ``earlier`` entries, if any) to the log under ``key`` and set ``fields``
        beside it, as one atomic step, keeping the newest ``keep`` entries; ``ttl_s`` restarts the log's expiry.
        Concurrent appends all land, in one order, and each field holds the value of the last append that set
        it. Returns the log's length once this entry landed, before trimming: its place in the order of
        arrival."""

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


# Settles the (entry, weight) pairs in ARGV from index `first` on, in the window at KEYS[1], KEYS[2]: an entry
# still in the log holds the new weight instead of its old one.
_SETTLE_PAIRS = """
local function settle(log, weights, first)
  local kept = false
  for i = first, #ARGV, 2 do
    local entry, new = ARGV[i], tonumber(ARGV[i + 1])
    if redis.call('ZSCORE', log, entry) then
      local old = tonumber(redis.call('HGET', weights, entry)) or 0
      if new > 0 then
        redis.call('HSET', weights, entry, new)
        kept = true
      else
        redis.call('HDEL', weights, entry)
      end
      if new ~= old then redis.call('HINCRBY', weights, 'total', new - old) end
    end
  end
  if kept then redis.call('PEXPIRE', weights, redis.call('PTTL', log)) end
end
"""
# A sliding window is a sorted set (entry -> admission time, Redis's clock, the same for every replica) and
# a hash (entry -> weight, and their "total"); entries are trimmed as they leave, so a request costs O(1)
# on average. KEYS: log, weights. ARGV: window_s, entry, weight, max_count, max_weight (0: no limit), then the
# pairs to settle first. Returns {1, entries, total weight} once admitted, {0, over, wait} when refused.
_ADMIT = _SETTLE_PAIRS + """
local log, weights = KEYS[1], KEYS[2]
local window, entry, weight = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local max_count, max_weight = tonumber(ARGV[4]), tonumber(ARGV[5])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1e6
local gone = redis.call('ZRANGEBYSCORE', log, '-inf', now - window)
if #gone > 0 then
  local freed = 0
  for _, old in ipairs(gone) do
    local w = redis.call('HGET', weights, old)
    if w then
      freed = freed + tonumber(w)
      redis.call('HDEL', weights, old)
    end
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  if freed > 0 then redis.call('HINCRBY', weights, 'total', -freed) end
end
settle(log, weights, 6)
local wait, over = 0, false
local count = redis.call('ZCARD', log)
if max_count > 0 and count >= max_count then
  local nth = redis.call('ZRANGE', log, count - max_count, count - max_count, 'WITHSCORES')
  wait, over = tonumber(nth[2]) + window - now, 'count'
end
local left = tonumber(redis.call('HGET', weights, 'total')) or 0
if max_weight > 0 and left >= max_weight then
  local oldest = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
  for i = 1, #oldest, 2 do
    left = left - (tonumber(redis.call('HGET', weights, oldest[i])) or 0)
    if left < max_weight then
      local until_free = tonumber(oldest[i + 1]) + window - now
      if until_free > wait then wait, over = until_free, 'weight' end
      break
    end
  end
end
if over then return {0, over, tostring(wait)} end
redis.call('ZADD', log, now, entry)
local ttl = math.ceil(window * 1000) + 1000
redis.call('PEXPIRE', log, ttl)
if weight > 0 then
  redis.call('HSET', weights, entry, weight)
  redis.call('HINCRBY', weights, 'total', weight)
  redis.call('PEXPIRE', weights, ttl)
end
return {1, count + 1, left + weight}
"""
# KEYS: log, weights. ARGV: the (entry, weight) pairs.
_SETTLE = _SETTLE_PAIRS + """
settle(KEYS[1], KEYS[2], 1)
return 1
"""


def _pairs(settle: Mapping[str, int] | None) -> list[str | int]:
    return [part for entry, weight in (settle or {}).items() for part in (entry, weight)]


class RedisCache(Cache):
    backend = "redis"

    def __init__(self, client: aioredis.Redis, namespace: str) -> None:
        super().__init__(namespace)
        self.client = client
        # EVALSHA: one round trip (the script is loaded on the first NOSCRIPT, once per Redis).
        self._admit = client.register_script(_ADMIT)
        self._settle = client.register_script(_SETTLE)

    @classmethod
    def from_url(cls, url: str, namespace: str) -> RedisCache:
        # One quick retry, on a new connection: after a Redis restart every pooled connection is dead, and without
        # it the first command on each would fail (a client built from a URL does not retry by default). Only one,
        # so that while Redis is down a command fails at once instead of holding up the request.
        retry = Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=1)
        return cls(aioredis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0, retry=retry), namespace)

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

    def _window_keys(self, key: str) -> list[str]:
        # One hash tag: both keys in one slot, so the scripts also run on Redis Cluster.
        return [self.key(f"{{{key}}}:log"), self.key(f"{{{key}}}:weights")]

    async def sliding_window_admit(
        self,
        key: str,
        entry: str,
        limits: WindowLimits,
        weight: int = 0,
        *,
        settle: Mapping[str, int] | None = None,
        peek: str | None = None,
    ) -> WindowVerdict:
        args = [limits.seconds, entry, weight, limits.count or 0, limits.weight or 0, *_pairs(settle)]
        try:
            if peek is None:
                admitted, *rest = await self._admit(keys=self._window_keys(key), args=args)
                peeked = None
            else:
                (admitted, *rest), value = await self._pipelined(
                    [(self._admit, self._window_keys(key), args), ("GET", self.key(peek))]
                )
                peeked = Peeked(value)
        except RedisError as exc:
            raise CacheError(str(exc)) from exc
        if admitted:
            count, total = rest
            return WindowVerdict.admitting(limits, int(count), int(total), peeked)
        over, wait = (v.decode() for v in rest)
        return WindowVerdict(False, "count" if over == "count" else "weight", float(wait), peeked)

    async def sliding_window_settle(self, settles: Mapping[str, Mapping[str, int]]) -> None:
        try:
            await self._pipelined(
                [(self._settle, self._window_keys(key), _pairs(entries)) for key, entries in settles.items() if entries]
            )
        except RedisError as exc:
            raise CacheError(str(exc)) from exc

    async def _pipelined(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Commands sent together, one round trip, not a transaction (their keys may lie in different cluster
        slots): a script as (script, keys, args), run by its hash; the scripts Redis lacks (after a restart or
        a SCRIPT FLUSH) are loaded and the commands sent once more. redis-py's own pipelines ask whether the
        scripts exist first, every time: one more round trip."""
        for attempt in range(2):
            async with self.client.pipeline(transaction=False) as pipe:
                for command in commands:
                    if isinstance(command[0], AsyncScript):
                        script, keys, args = command
                        pipe.evalsha(script.sha, len(keys), *keys, *args)
                    else:
                        pipe.execute_command(*command)
                replies: list[Any] = await pipe.execute(raise_on_error=False)
            if attempt == 0 and any(isinstance(reply, NoScriptError) for reply in replies):
                for script in {command[0] for command in commands if isinstance(command[0], AsyncScript)}:
                    script.sha = await self.client.script_load(script.script)
                continue
            break
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def log_append(
        self,
        key: str,
        entry: bytes,
        *,
        keep: int,
        fields: Mapping[str, bytes] | None = None,
        ttl_s: int | None = None,
        earlier: Sequence[bytes] = (),
    ) -> int:
        entries, head = self.key(f"{key}:entries"), self.key(f"{key}:fields")
        try:
            # MULTI/EXEC: no other client's command runs in between, so the fields always go with the last entry.
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.rpush(entries, *earlier, entry)
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
class _Window:
    """The in-process sliding window, as the Redis script keeps it."""

    log: OrderedDict[str, float] = field(default_factory=OrderedDict)  # entry -> admitted at, oldest first
    weights: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def admit(self, now: float, entry: str, limits: WindowLimits, weight: int) -> WindowVerdict:
        span, max_count, max_weight = limits.seconds, limits.count, limits.weight
        while self.log and next(iter(self.log.values())) <= now - span:
            self.total -= self.weights.pop(self.log.popitem(last=False)[0], 0)
        wait = 0.0
        over: Literal["count", "weight"] | None = None
        if max_count is not None and len(self.log) >= max_count:
            nth = next(islice(self.log.values(), len(self.log) - max_count, None))
            wait, over = nth + span - now, "count"
        left = self.total
        if max_weight is not None and left >= max_weight:
            for old, at in self.log.items():
                left -= self.weights.get(old, 0)
                if left < max_weight:
                    if at + span - now > wait:
                        wait, over = at + span - now, "weight"
                    break
        if over is not None:
            return WindowVerdict(False, over, wait)
        self.log[entry] = now
        if weight > 0:
            self.weights[entry] = weight
            self.total += weight
        return WindowVerdict.admitting(limits, len(self.log), self.total)

    def settle(self, entry: str, weight: int) -> None:
        if entry in self.log:
            self.total += weight - self.weights.pop(entry, 0)
            if weight > 0:
                self.weights[entry] = weight


@dataclass
class _MemoryLog:
    entries: deque[bytes] = field(default_factory=deque)
    fields: dict[str, bytes] = field(default_factory=dict)
    expires: float | None = None


class MemoryCache(Cache):
    """A bounded LRU with expiry, for one process: what ``make run`` uses when no Redis answers."""

    backend = "memory"

    def __init__(self, namespace: str, max_items: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(namespace)
        self.max_items = max_items
        self.clock = clock
        self._items: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._logs: OrderedDict[str, _MemoryLog] = OrderedDict()  # its own LRU, under the same bound

    def _live(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= self.clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def _put(self, key: str, value: bytes, ttl_s: int | None) -> None:
        self._items[key] = (value, self.clock() + ttl_s if ttl_s else None)
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

    def _window(self, key: str) -> _Window:
        full = self.key(key)
        window = self._windows.setdefault(full, _Window())
        self._windows.move_to_end(full)
        while len(self._windows) > self.max_items:
            self._windows.popitem(last=False)
        return window

    async def sliding_window_admit(
        self,
        key: str,
        entry: str,
        limits: WindowLimits,
        weight: int = 0,
        *,
        settle: Mapping[str, int] | None = None,
        peek: str | None = None,
    ) -> WindowVerdict:
        window = self._window(key)
        for settled, settled_weight in (settle or {}).items():
            window.settle(settled, settled_weight)
        verdict = window.admit(self.clock(), entry, limits, weight)
        return verdict if peek is None else replace(verdict, peeked=Peeked(self._live(self.key(peek))))

    async def sliding_window_settle(self, settles: Mapping[str, Mapping[str, int]]) -> None:
        for key, entries in settles.items():
            if (window := self._windows.get(self.key(key))) is not None:
                for entry, weight in entries.items():
                    window.settle(entry, weight)

    def _log(self, key: str) -> _MemoryLog | None:
        log = self._logs.get(key)
        if log is not None and log.expires is not None and log.expires <= self.clock():
            del self._logs[key]
            return None
        if log is not None:
            self._logs.move_to_end(key)
        return log

    async def log_append(
        self,
        key: str,
        entry: bytes,
        *,
        keep: int,
        fields: Mapping[str, bytes] | None = None,
        ttl_s: int | None = None,
        earlier: Sequence[bytes] = (),
    ) -> int:
        # Atomic as Redis's MULTI is: nothing here awaits, so no other coroutine runs until the append is done.
        full = self.key(key)
        log = self._log(full) or _MemoryLog()
        log.entries.extend(earlier)
        log.entries.append(entry)
        length = len(log.entries)
        while len(log.entries) > keep:
            log.entries.popleft()
        log.fields.update(fields or {})
        if ttl_s:
            log.expires = self.clock() + ttl_s
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
