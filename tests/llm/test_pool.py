"""Endpoint selection and ejection; the health tests probe real simulators."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from shared.llm import EndpointPool

from .helpers import Sim, eventually, pool_settings

URLS = ("http://a:1", "http://b:1", "http://c:1")


@pytest.fixture
async def make_pool() -> AsyncIterator[Callable[..., EndpointPool]]:
    client = httpx.AsyncClient()
    pools: list[EndpointPool] = []

    def make(*urls: str, **overrides: Any) -> EndpointPool:
        pool = EndpointPool("test", pool_settings(*(urls or URLS), **overrides), client)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.aclose()
    await client.aclose()


def _pick(pool: EndpointPool, session_id: str | None = None, exclude: tuple[str, ...] = ()) -> str:
    with pool.acquire(session_id, exclude=exclude) as endpoint:
        return endpoint.url


def _state(pool: EndpointPool, url: str) -> dict[str, Any]:
    return dict(next(entry for entry in pool.snapshot() if entry["url"] == url))


def test_ties_are_broken_round_robin(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool()
    assert [_pick(pool) for _ in range(6)] == [*URLS, *URLS]


def test_least_outstanding_wins(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(*URLS[:2])
    with pool.acquire() as busy:
        assert _state(pool, busy.url)["outstanding"] == 1
        picks = {_pick(pool) for _ in range(4)}
        assert picks == {url for url in URLS[:2] if url != busy.url}
    assert [entry["outstanding"] for entry in pool.snapshot()] == [0, 0]


def test_session_affinity_is_sticky_and_spreads(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(session_affinity=True)
    home = _pick(pool, "session-1")
    assert {_pick(pool, "session-1") for _ in range(10)} == {home}
    spread = Counter(_pick(pool, f"session-{n}") for n in range(300))
    assert set(spread) == set(URLS)
    assert min(spread.values()) > 50  # about 100 each


def test_affinity_ignores_load(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(session_affinity=True)
    home = _pick(pool, "s")
    with pool.acquire("s"), pool.acquire("s"):
        assert _pick(pool, "s") == home


def test_affinity_off_uses_least_outstanding(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(session_affinity=False)
    assert len({_pick(pool, "same-session") for _ in range(3)}) == 3


def test_sessions_move_only_when_their_replica_is_ejected(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(session_affinity=True)
    sessions = [f"s{n}" for n in range(60)]
    before = {session: _pick(pool, session) for session in sessions}
    with pool.acquire(sessions[0]) as ejected:
        pool.mark_failure(ejected)
    after = {session: _pick(pool, session) for session in sessions}
    for session in sessions:
        if before[session] == ejected.url:
            assert after[session] != ejected.url
        else:
            assert after[session] == before[session]
    pool.mark_success(ejected)
    assert {session: _pick(pool, session) for session in sessions} == before


def test_exclude_avoids_tried_endpoints_while_others_remain(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(session_affinity=True)
    home = _pick(pool, "s")
    assert _pick(pool, "s", exclude=(home,)) != home
    assert _pick(pool, None, exclude=URLS[:2]) == URLS[2]
    assert _pick(pool, None, exclude=URLS) in URLS  # all tried: better another try than none


def test_failure_ejects_for_eject_s(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(*URLS[:2], eject_s=60)  # long enough that a loaded machine reads the state before it expires
    with pool.acquire() as endpoint:
        pool.mark_failure(endpoint)
    state = _state(pool, URLS[0])
    assert state["healthy"] is False and state["ejected_for_s"] > 0 and state["consecutive_failures"] == 1
    assert {_pick(pool) for _ in range(4)} == {URLS[1]}


async def test_ejection_expires(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(*URLS[:2], eject_s=0.05)
    with pool.acquire() as endpoint:
        pool.mark_failure(endpoint)
    await asyncio.sleep(0.07)
    assert {_pick(pool) for _ in range(4)} == set(URLS[:2])


def test_all_ejected_tries_the_one_back_soonest(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool()
    order = []
    for _ in URLS:
        with pool.acquire() as endpoint:
            pool.mark_failure(endpoint)
            order.append(endpoint.url)
    assert sorted(order) == sorted(URLS)
    assert not pool.ready()
    assert _pick(pool) == order[0]
    with pool.acquire() as endpoint:
        pool.mark_failure(endpoint)  # now the first one is out the longest
    assert _pick(pool) == order[1]


def test_success_restores_at_once(make_pool: Callable[..., EndpointPool]) -> None:
    pool = make_pool(*URLS[:1])
    with pool.acquire() as endpoint:
        pool.mark_failure(endpoint)
        pool.mark_failure(endpoint)
    assert _state(pool, URLS[0])["consecutive_failures"] == 2
    assert not pool.ready()
    with pool.acquire() as endpoint:
        pool.mark_success(endpoint)
    assert pool.ready()
    assert _state(pool, URLS[0]) == {
        "url": URLS[0],
        "healthy": True,
        "ejected_for_s": 0.0,
        "outstanding": 0,
        "consecutive_failures": 0,
    }


async def test_health_check_ejects_and_restores(
    make_pool: Callable[..., EndpointPool], sim_a: Sim, sim_b: Sim, dead_url: str
) -> None:
    pool = make_pool(sim_a.url, sim_b.url, dead_url)
    sim_a.configure(healthy=False)
    await pool.check_health()
    assert [entry["ejected_for_s"] > 0 for entry in pool.snapshot()] == [True, False, True]
    assert pool.ready()
    assert {_pick(pool) for _ in range(4)} == {sim_b.url}

    sim_a.configure(healthy=True)
    await pool.check_health()
    assert _state(pool, sim_a.url)["healthy"] is True
    assert _state(pool, sim_a.url)["ejected_for_s"] == 0
    assert _state(pool, dead_url)["ejected_for_s"] > 0


async def test_health_falls_back_to_models_when_health_path_404s(
    make_pool: Callable[..., EndpointPool], sim_a: Sim
) -> None:
    pool = make_pool(sim_a.url, health_path="/no-such-path")
    await pool.check_health()
    assert _state(pool, sim_a.url)["healthy"] is True
    assert _state(pool, sim_a.url)["ejected_for_s"] == 0


async def test_background_health_loop(make_pool: Callable[..., EndpointPool], sim_a: Sim) -> None:
    pool = make_pool(sim_a.url, health_interval_s=0.02)
    pool.start()
    sim_a.configure(healthy=False)
    await eventually(lambda: not pool.ready())
    sim_a.configure(healthy=True)
    await eventually(pool.ready)
    await pool.aclose()
    sim_a.configure(healthy=False)
    await asyncio.sleep(0.1)
    assert pool.ready()  # stopped: no more probes
