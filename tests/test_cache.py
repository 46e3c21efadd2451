"""The KV cache against the real Redis, and the in-process fallback."""

from __future__ import annotations

import asyncio

import pytest

from shared.cache import Cache, CacheError, Log, MemoryCache, Peeked, RedisCache, WindowLimits, open_cache
from shared.settings import Settings
from tests.conftest import RedisServer, count_round_trips


@pytest.fixture
async def redis_cache(redis_url: str, namespace: str):
    cache = RedisCache.from_url(redis_url, namespace)
    yield cache
    await cache.aclose()


async def _roundtrip(cache: Cache) -> None:
    assert await cache.get("missing") is None
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    await cache.set_json("j", {"用户问题": "没收到货", "n": 1})
    assert await cache.get_json("j") == {"用户问题": "没收到货", "n": 1}
    await cache.delete("k")
    assert await cache.get("k") is None
    assert await cache.incr("c", ttl_s=60) == 1
    assert await cache.incr("c", 4, ttl_s=60) == 5
    assert await cache.ping()


async def test_redis_roundtrip(redis_cache: RedisCache) -> None:
    await _roundtrip(redis_cache)


async def test_memory_roundtrip() -> None:
    await _roundtrip(MemoryCache("t"))


async def test_redis_ttl_expires(redis_cache: RedisCache) -> None:
    await redis_cache.set("short", b"x", ttl_s=1)
    assert await redis_cache.get("short") == b"x"
    await asyncio.sleep(1.2)
    assert await redis_cache.get("short") is None


async def test_redis_counter_ttl_set_once(redis_cache: RedisCache) -> None:
    await redis_cache.incr("window", ttl_s=100)
    await redis_cache.incr("window", ttl_s=5)
    assert 5 < await redis_cache.client.ttl(redis_cache.key("window")) <= 100


async def test_namespaces_do_not_collide(redis_url: str) -> None:
    a, b = RedisCache.from_url(redis_url, "a"), RedisCache.from_url(redis_url, "b")
    await a.set("k", b"from-a")
    assert await b.get("k") is None
    await a.aclose()
    await b.aclose()


async def test_memory_ttl_and_lru_bound() -> None:
    cache = MemoryCache("t", max_items=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    await cache.get("a")  # a is now the most recently used
    await cache.set("c", b"3")
    assert await cache.get("b") is None
    assert await cache.get("a") == b"1"
    await cache.set("ttl", b"x", ttl_s=1)
    await asyncio.sleep(1.05)
    assert await cache.get("ttl") is None


async def test_open_cache_uses_redis_when_it_answers(redis_url: str) -> None:
    cache = await open_cache(Settings(_env_file=None, redis_url=redis_url, cache_backend="auto"))
    assert cache.backend == "redis"
    await cache.aclose()


async def test_open_cache_falls_back_to_memory_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, redis_url="redis://127.0.0.1:1/0", cache_backend="auto")
    cache = await open_cache(settings)
    assert cache.backend == "memory"
    assert "in-process cache" in caplog.text


async def test_open_cache_strict_redis_fails_clearly() -> None:
    settings = Settings(_env_file=None, redis_url="redis://127.0.0.1:1/0", cache_backend="redis")
    with pytest.raises(CacheError, match="does not answer"):
        await open_cache(settings)


async def test_redis_errors_surface_as_cache_errors() -> None:
    cache = RedisCache.from_url("redis://127.0.0.1:1/0", "t")
    with pytest.raises(CacheError):
        await cache.get("k")
    await cache.aclose()


async def _sliding_window(cache: Cache) -> None:
    first = await cache.sliding_window_admit("w", "a", WindowLimits(60, 2))
    second = await cache.sliding_window_admit("w", "b", WindowLimits(60, 2))
    assert (first.admitted, first.count_left, first.weight_left) == (True, 1, None)  # the room each leaves
    assert (second.admitted, second.count_left) == (True, 0)
    refused = await cache.sliding_window_admit("w", "c", WindowLimits(60, 2))
    assert (refused.admitted, refused.over) == (False, "count") and 0 < refused.retry_after_s <= 60
    assert (await cache.sliding_window_admit("w", "d", WindowLimits(60, 3))).admitted  # the refusal left no trace
    # Weights: admitted while under the limit, so by one entry's weight over it at most.
    assert (await cache.sliding_window_admit("t", "a", WindowLimits(60, weight=10), 6)).admitted
    assert (await cache.sliding_window_admit("t", "b", WindowLimits(60, weight=10), 6)).admitted
    assert (await cache.sliding_window_admit("t", "c", WindowLimits(60, weight=10), 6)).over == "weight"
    await cache.sliding_window_settle({"t": {"b": 1, "never-admitted": 5}, "w": {}})  # 6 + 1
    assert (await cache.sliding_window_admit("t", "c", WindowLimits(60, weight=10), 6)).admitted
    assert not (await cache.sliding_window_admit("t", "d", WindowLimits(60, weight=10))).admitted  # 13 held


async def test_redis_sliding_window(redis_cache: RedisCache) -> None:
    await _sliding_window(redis_cache)


async def test_memory_sliding_window() -> None:
    await _sliding_window(MemoryCache("t"))


async def _admission_settles_and_peeks(cache: Cache) -> None:
    limits = WindowLimits(60, weight=10)
    assert (await cache.sliding_window_admit("t", "a", limits, 6)).admitted
    assert (await cache.sliding_window_admit("t", "b", limits, 6)).admitted
    assert not (await cache.sliding_window_admit("t", "c", limits, 6)).admitted  # 12 held
    # Settled in the admission's own step: a gives its 6 back, b keeps 1 of its 6, so c fits (1 + 6).
    assert (await cache.sliding_window_admit("t", "c", limits, 6, settle={"a": 0, "b": 1})).admitted
    fourth = await cache.sliding_window_admit("t", "d", limits, 3)  # 7 held: under the limit
    assert (fourth.admitted, fourth.count_left, fourth.weight_left) == (True, None, 0)  # 10 held now
    await cache.set("answer", b"stored")
    refused = await cache.sliding_window_admit("t", "e", limits, 1, peek="answer")  # 10 held
    found = await cache.sliding_window_admit("t", "e", limits, 1, settle={"d": 0}, peek="answer")
    missing = await cache.sliding_window_admit("u", "a", limits, peek="nothing-here")
    assert (found.admitted, found.peeked) == (True, Peeked(b"stored"))
    assert (refused.admitted, refused.peeked) == (False, Peeked(b"stored"))  # read whatever the verdict
    assert missing.peeked == Peeked(None)
    assert (await cache.sliding_window_admit("u", "b", limits)).peeked is None  # asked nothing


async def test_redis_admission_settles_and_peeks(redis_cache: RedisCache) -> None:
    await _admission_settles_and_peeks(redis_cache)


async def test_memory_admission_settles_and_peeks() -> None:
    await _admission_settles_and_peeks(MemoryCache("t"))


async def test_redis_settles_many_windows_in_one_round_trip(redis_cache: RedisCache) -> None:
    round_trips = count_round_trips(redis_cache)
    for window in ("x", "y"):
        for entry in ("a", "b"):
            assert (await redis_cache.sliding_window_admit(window, entry, WindowLimits(60, weight=10), 5)).admitted
    before = len(round_trips)
    await redis_cache.sliding_window_settle({"x": {"a": 0, "b": 0}, "y": {"a": 2}})
    assert len(round_trips) == before + 1
    assert (await redis_cache.sliding_window_admit("x", "c", WindowLimits(60, weight=10), 9)).admitted  # 0 held
    assert (await redis_cache.sliding_window_admit("y", "c", WindowLimits(60, weight=10), 9)).admitted  # 7 held
    assert not (await redis_cache.sliding_window_admit("y", "d", WindowLimits(60, weight=10))).admitted


async def test_a_redis_without_the_scripts_is_given_them_in_a_pipelined_admission(own_redis: RedisServer) -> None:
    cache = RedisCache.from_url(own_redis.url, "t")  # a fresh server: it has loaded no script yet
    verdict = await cache.sliding_window_admit("w", "a", WindowLimits(60, 1), peek="k")
    assert (verdict.admitted, verdict.peeked) == (True, Peeked(None))
    await cache.sliding_window_settle({"w": {"a": 0}})
    assert not (await cache.sliding_window_admit("w", "b", WindowLimits(60, 1), peek="k")).admitted
    await cache.aclose()


async def test_memory_sliding_window_slides_by_the_clock() -> None:
    now = 0.0
    cache = MemoryCache("t", clock=lambda: now)
    for now in (0.0, 10.0, 20.0):
        assert (await cache.sliding_window_admit("w", f"at-{now:g}", WindowLimits(60, 3, 20), 4)).admitted
    now = 59.0
    refused = await cache.sliding_window_admit("w", "x", WindowLimits(60, 3))
    assert (refused.over, refused.retry_after_s) == ("count", 1.0)  # the entry of 0.0 leaves at 60.0
    now = 60.0  # where a fixed minute would turn: one more, not three
    assert (await cache.sliding_window_admit("w", "y", WindowLimits(60, 3, 20), 4)).admitted
    assert (await cache.sliding_window_admit("w", "z", WindowLimits(60, 3))).retry_after_s == 10.0
    # 12 held, 5 allowed: the entries of 10.0 and 20.0 must both leave before one more fits.
    refused = await cache.sliding_window_admit("w", "z", WindowLimits(60, weight=5))
    assert (refused.over, refused.retry_after_s) == ("weight", 20.0)


async def test_redis_sliding_window_forgets_what_left_it(redis_cache: RedisCache) -> None:
    assert (await redis_cache.sliding_window_admit("w", "a", WindowLimits(1, 1, 5), 5)).admitted
    assert not (await redis_cache.sliding_window_admit("w", "b", WindowLimits(1, 1, 5), 3)).admitted
    await asyncio.sleep(1.1)
    assert (await redis_cache.sliding_window_admit("w", "b", WindowLimits(1, 1, 5), 3)).admitted
    log, weights = redis_cache._window_keys("w")
    assert await redis_cache.client.zrange(log, 0, -1) == [b"b"]
    assert await redis_cache.client.hgetall(weights) == {b"b": b"3", b"total": b"3"}
    assert 0 < await redis_cache.client.pttl(weights) <= 2000


@pytest.fixture(params=["redis", "memory"])
async def any_cache(request: pytest.FixtureRequest, redis_url: str, namespace: str):
    cache = RedisCache.from_url(redis_url, namespace) if request.param == "redis" else MemoryCache(namespace)
    yield cache
    await cache.aclose()


async def test_log_keeps_the_newest_entries_and_the_latest_fields(any_cache: Cache) -> None:
    assert await any_cache.log_read("log") == Log([], {})
    assert await any_cache.log_append("log", b"a", keep=2, fields={"profile": b"1"}, ttl_s=60) == 1
    assert await any_cache.log_append("log", b"b", keep=2, ttl_s=60) == 2
    assert await any_cache.log_append("log", b"c", keep=2, fields={"products": b"x"}, ttl_s=60) == 3
    assert await any_cache.log_read("log") == Log([b"b", b"c"], {"profile": b"1", "products": b"x"})


async def test_concurrent_log_appends_all_land_in_the_order_they_arrived(any_cache: Cache) -> None:
    async def append(n: int) -> tuple[int, bytes]:
        entry = str(n).encode()
        return await any_cache.log_append("log", entry, keep=100, fields={"last": entry}, ttl_s=60), entry

    arrived = await asyncio.gather(*(append(n) for n in range(50)))
    found = await any_cache.log_read("log")
    assert found.entries == [entry for _, entry in sorted(arrived)]
    assert found.fields == {"last": found.entries[-1]}, "the fields are those of the last append to land"


async def test_memory_log_expires() -> None:
    cache = MemoryCache("t")
    await cache.log_append("log", b"a", keep=5, ttl_s=1)
    await asyncio.sleep(1.05)
    assert await cache.log_read("log") == Log([], {})


async def test_redis_cache_reconnects_after_a_restart(own_redis: RedisServer) -> None:
    cache = RedisCache.from_url(own_redis.url, "t")
    await cache.set("k", b"kept")
    own_redis.stop()
    own_redis.start()  # nothing asked meanwhile: the pooled connection is a dead one
    assert await cache.get("k") == b"kept", "reconnected at the first command, and the append-only file kept it"
    own_redis.stop()
    with pytest.raises(CacheError):
        await cache.get("k")
    assert not await cache.ping()
    own_redis.start()
    assert await cache.ping() and await cache.get("k") == b"kept"
    await cache.aclose()
