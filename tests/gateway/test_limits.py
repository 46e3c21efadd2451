"""Rate limits per key in Redis: exact sliding windows shared by gateway processes, tokens reserved and
settled on llm routes, tenant overrides, and what a route does when Redis fails (open or closed)."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client import REGISTRY

from gateway.tier1.auth import Principal, Tenant, hash_key
from gateway.tier1.limits import RateLimiter, Reservation
from gateway.tier1.routes import RateLimit, Route
from shared.cache import MemoryCache
from shared.llm.chunking import count_tokens
from shared.settings import Settings
from tests.conftest import free_port

from .conftest import AUTH, KEY, ROUTES, gateway, write_yaml
from .fakes import chat_reply

DIALOG_TOKENS = 6  # the fake dialog service's reply: "one two three four five six"
StartGateways = Callable[..., list[str]]


def _routes(changes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The test route table, these routes' fields (path -> fields) replaced."""
    return [{**route, **changes.get(route["path"], {})} for route in ROUTES]


@pytest.fixture
def two_gateways(tmp_path: Path, upstream, redis_url: str, namespace: str) -> Iterator[StartGateways]:
    """Starts two gateway processes (`python -m shared.suite serve gateway`) over one Redis and the fake
    upstream, with a route table and a rate-limit window of the test's choosing. Sending ahead is off unless
    asked for: with it a replica may send upstream a request the other's admissions leave no room for (then
    cancelled, the client refused), and these tests count what reaches the upstream."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(routes: list[dict[str, Any]] = ROUTES, window_s: float = 60, send_ahead: bool = False) -> list[str]:
        urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
        env = {
            **os.environ,
            "SG_SERVICES__INTENT": upstream.url,
            "SG_SERVICES__DIALOG": upstream.url,
            "SG_REDIS_URL": redis_url,
            "SG_CACHE_BACKEND": "redis",
            "SG_CACHE_NAMESPACE": namespace,
            "SG_API_KEYS": '["k1"]',
            "SG_GATEWAY_ROUTES_FILE": str(write_yaml(tmp_path / "routes.yaml", {"routes": routes})),
            "SG_GATEWAY_TENANTS_FILE": "",
            "SG_GATEWAY_RATE_LIMIT_WINDOW_S": str(window_s),
            "SG_GATEWAY_SEND_AHEAD": str(send_ahead).lower(),
            "SG_LOG_LEVEL": "WARNING",
        }
        for url in urls:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "shared.suite", "serve", "gateway"],
                    env={**env, "SG_SERVICES__GATEWAY": url},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for url, proc in zip(urls, procs[-2:], strict=True):
            for _ in range(300):
                assert proc.poll() is None, "a gateway process exited during start-up"
                try:
                    if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            else:
                pytest.fail(f"the gateway at {url} did not start")
        return urls

    try:
        yield start
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _burst(urls: list[str], path: str, n: int, body: dict[str, Any] | None = None) -> list[httpx.Response]:
    """``n`` requests at once, spread over the gateways."""
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(headers=AUTH, limits=limits, timeout=30) as client:
        return list(
            await asyncio.gather(*(client.post(f"{urls[i % len(urls)]}{path}", json=body or {}) for i in range(n)))
        )


def _statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


async def test_two_gateway_processes_share_the_limit(two_gateways: StartGateways, upstream) -> None:
    urls = two_gateways()
    async with httpx.AsyncClient(headers=AUTH) as client:
        # /v1/intent allows 3 requests a minute per key: 2 + 1 spread over both processes, then both refuse.
        answers = [await client.post(f"{urls[i % 2]}/v1/intent", json={"messages": []}) for i in range(3)]
        refused = [await client.post(f"{url}/v1/intent", json={"messages": []}) for url in urls]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [r.status_code for r in refused] == [429, 429]
    for response in refused:
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert "3 requests a minute on /v1/intent" in response.json()["error"]["message"]
    assert upstream.calls["/v1/intent"] == 3


async def test_fifty_concurrent_requests_over_two_gateways_admit_exactly_the_limit(
    two_gateways: StartGateways, upstream
) -> None:
    urls = two_gateways(_routes({"/v1/intent": {"rate_limit": {"requests_per_minute": 20}}}))
    responses = await _burst(urls, "/v1/intent", 50)
    assert _statuses(responses) == [200] * 20 + [429] * 30
    assert upstream.calls["/v1/intent"] == 20
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in responses if r.status_code == 429)


def _sent_ahead(url: str, outcome: str) -> float:
    """A gateway process's ``sg_gateway_sent_ahead_total`` for ``outcome``, from its /metrics."""
    text = httpx.get(f"{url}/metrics").text
    samples = [line for line in text.splitlines() if line.startswith("sg_gateway_sent_ahead_total{")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in samples if f'outcome="{outcome}"' in line)


async def test_sending_ahead_over_two_gateways_admits_exactly_the_limit(two_gateways: StartGateways, upstream) -> None:
    urls = two_gateways(_routes({"/v1/intent": {"rate_limit": {"requests_per_minute": 20}}}), send_ahead=True)
    async with httpx.AsyncClient(headers=AUTH) as client:  # each gateway learns its window's room
        for url in urls:
            assert (await client.post(f"{url}/v1/intent", json={})).status_code == 200
    responses = await _burst(urls, "/v1/intent", 48)
    assert _statuses(responses) == [200] * 18 + [429] * 30
    refused_after_all = sum(_sent_ahead(url, "refused") for url in urls)
    assert sum(_sent_ahead(url, "admitted") for url in urls) >= 1  # the burst's first ones at least
    # What reached the upstream beyond the limit was sent ahead and refused (cancelled there).
    assert 20 <= upstream.calls["/v1/intent"] <= 20 + refused_after_all


async def test_a_burst_across_a_window_boundary_stays_within_the_limit(two_gateways: StartGateways, upstream) -> None:
    # Fixed 3 s windows would admit 20 before the boundary and 20 after it; a sliding window admits 20.
    window_s = 3.0
    urls = two_gateways(_routes({"/v1/intent": {"rate_limit": {"requests_per_minute": 20}}}), window_s=window_s)
    boundary = math.ceil((time.time() + 0.5) / window_s) * window_s  # where a fixed window would turn
    await asyncio.sleep(max(0.0, boundary - 0.1 - time.time()))
    before = await _burst(urls, "/v1/intent", 25)
    await asyncio.sleep(max(0.0, boundary - time.time()))
    after = await _burst(urls, "/v1/intent", 25)
    assert _statuses(before + after) == [200] * 20 + [429] * 30
    assert upstream.calls["/v1/intent"] == 20
    # A window, not a lock-out: once the first admitted request has left it, a request is admitted again.
    retry_after = min(int(r.headers["retry-after"]) for r in after if r.status_code == 429)
    await asyncio.sleep(retry_after)
    assert (await _burst(urls, "/v1/intent", 1))[0].status_code == 200


async def test_concurrent_requests_overrun_a_token_limit_by_one_request_at_most(
    two_gateways: StartGateways, upstream
) -> None:
    # 20 tokens a minute, each request holding the 6 its answer generates: admitted at 0, 6, 12 and 18 held.
    limit = {"tokens_per_minute": 20, "tokens_per_request": DIALOG_TOKENS}
    urls = two_gateways(_routes({"/v1/dialog": {"rate_limit": limit}}))
    responses = await _burst(urls, "/v1/dialog", 50)
    admitted = [r for r in responses if r.status_code == 200]
    generated = sum(count_tokens(r.json()["reply"]) for r in admitted)
    assert len(admitted) == 4 and upstream.calls["/v1/dialog"] == 4
    assert 20 <= generated <= 20 + DIALOG_TOKENS
    assert all(
        "20 tokens a minute on /v1/dialog" in r.json()["error"]["message"] for r in responses if r not in admitted
    )


@pytest.fixture(params=["memory", "redis"])
def backend_settings(request, make_settings, redis_settings) -> Callable[..., Settings]:
    """Gateway settings over the in-process cache or the real Redis: the limits must behave the same."""
    return make_settings if request.param == "memory" else redis_settings


async def test_tokens_per_minute_on_llm_routes(backend_settings, upstream) -> None:
    async with gateway(backend_settings()) as (client, _):
        first = await client.post("/v1/dialog", json={})  # the reply has 6 tokens; the route allows 5 a minute
        second = await client.post("/v1/dialog", json={})
    assert first.status_code == 200
    assert second.status_code == 429
    assert "5 tokens a minute" in second.json()["error"]["message"]
    assert int(second.headers["retry-after"]) >= 1
    assert upstream.calls["/v1/dialog"] == 1


async def test_a_reservation_is_settled_to_what_the_answer_generated(backend_settings, upstream) -> None:
    # Each request holds 15 of 20 tokens until its answer (6) is counted: held alone, the second would not fit.
    routes = _routes({"/v1/dialog": {"rate_limit": {"tokens_per_minute": 20, "tokens_per_request": 15}}})
    async with gateway(backend_settings(routes=routes)) as (client, _):
        statuses = [(await client.post("/v1/dialog", json={})).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # 6, 12, 18 counted before the 2nd, 3rd and 4th; 24 then
    assert upstream.calls["/v1/dialog"] == 4


async def test_the_facade_settles_its_reply_tokens_streamed_or_not(backend_settings, upstream) -> None:
    reply = count_tokens(chat_reply("a phone"))
    limit = {"tokens_per_minute": 2 * reply, "tokens_per_request": 100}
    routes = _routes({"/v1/chat/completions": {"rate_limit": limit}})
    ask = {"model": "shopping-guide", "messages": [{"role": "user", "content": "a phone"}], "user": "u1"}
    async with gateway(backend_settings(routes=routes)) as (client, _):
        plain = await client.post("/v1/chat/completions", json=ask)
        streamed = await client.post("/v1/chat/completions", json={**ask, "stream": True})
        refused = await client.post("/v1/chat/completions", json=ask)
    assert plain.status_code == 200 and plain.json()["usage"]["completion_tokens"] == reply
    assert streamed.status_code == 200 and "[DONE]" in streamed.text
    assert refused.status_code == 429  # 2 replies counted, not the 100 each held
    assert upstream.calls["/v1/chat"] == 2


async def test_a_request_that_generated_nothing_gives_its_reservation_back(backend_settings, upstream) -> None:
    routes = _routes({"/v1/dialog": {"rate_limit": {"tokens_per_minute": 20, "tokens_per_request": 20}}})
    async with gateway(backend_settings(routes=routes)) as (client, _):
        too_big = await client.post("/v1/dialog", content=b"x" * 4096, headers={"content-type": "application/json"})
        answered = await client.post("/v1/dialog", json={})
    assert (too_big.status_code, answered.status_code) == (413, 200)


def _tokens_held(redis_url: str, namespace: str, route: str) -> int:
    """The tokens the test key's window on ``route`` holds in Redis (``RedisCache``'s layout)."""
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.hget(f"{namespace}:{{rl:{hash_key(KEY)[:16]}:{route}}}:weights", "total") or 0)
    finally:
        client.close()


async def test_settlements_ride_on_the_next_admission_and_are_all_written_on_close(
    redis_settings, upstream, redis_url: str, namespace: str
) -> None:
    routes = _routes({"/v1/dialog": {"rate_limit": {"tokens_per_minute": 1000, "tokens_per_request": 15}}})
    async with gateway(redis_settings(routes=routes, gateway_settle_delay_s=60)) as (client, _):
        for _ in range(3):
            assert (await client.post("/v1/dialog", json={})).status_code == 200
        # Each admission settled the one before it; the last still holds its 15.
        after_three = _tokens_held(redis_url, namespace, "/v1/dialog")
        burst = await asyncio.gather(*(client.post("/v1/dialog", json={}) for _ in range(5)))
    assert after_three == 2 * DIALOG_TOKENS + 15
    assert [r.status_code for r in burst] == [200] * 5
    assert _tokens_held(redis_url, namespace, "/v1/dialog") == 8 * DIALOG_TOKENS  # the rest written on close


async def test_settlements_no_admission_carried_are_written_after_the_delay(
    redis_settings, upstream, redis_url: str, namespace: str
) -> None:
    routes = _routes({"/v1/dialog": {"rate_limit": {"tokens_per_minute": 1000, "tokens_per_request": 15}}})
    async with gateway(redis_settings(routes=routes, gateway_settle_delay_s=0.05)) as (client, _):
        assert (await client.post("/v1/dialog", json={})).status_code == 200
        for _ in range(200):  # the gateway stays open: its writer, not its closing, settles
            if _tokens_held(redis_url, namespace, "/v1/dialog") != 15:
                break
            await asyncio.sleep(0.05)
        held = _tokens_held(redis_url, namespace, "/v1/dialog")
    assert held == DIALOG_TOKENS


class StallingCache(MemoryCache):
    """Admissions hang (a Redis that stopped answering) until cancelled; settlements are recorded."""

    def __init__(self) -> None:
        super().__init__("t")
        self.settled: list[dict[str, dict[str, int]]] = []

    async def sliding_window_admit(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.Event().wait()

    async def sliding_window_settle(self, settles: Any) -> None:
        self.settled.append(settles)


async def test_settlements_a_cancelled_admission_carried_are_written_all_the_same() -> None:
    cache = StallingCache()
    route = Route(path="/v1/dialog", upstream="dialog", llm=True)
    principal = Principal(Tenant(name="t"), "key")
    async with RateLimiter(cache, Settings(_env_file=None, gateway_settle_delay_s=60)) as limiter:
        limiter.settle(Reservation("rl:key:/v1/dialog", "earlier", held=10, generated=4))
        admission = asyncio.create_task(limiter.admit(principal, route, RateLimit(tokens_per_minute=100)))
        await asyncio.sleep(0)  # it takes the window's settlement along, then waits on the cache
        admission.cancel()  # its client hung up
        with pytest.raises(asyncio.CancelledError):
            await admission
    assert cache.settled == [{"rl:key:/v1/dialog": {"earlier": 4}}]


async def test_refused_requests_do_not_count(backend_settings, upstream) -> None:
    # 3 requests per 2 s window. The first refusal says when the first admitted request leaves the window;
    # by then 10 more refusals have come and would still fill it, if refusals counted.
    async with gateway(backend_settings(gateway_rate_limit_window_s=2)) as (client, _):
        admitted = [(await client.post("/v1/intent", json={})).status_code for _ in range(3)]
        first_refusal, refused_at = await client.post("/v1/intent", json={}), time.monotonic()
        await asyncio.sleep(1)
        refused = [(await client.post("/v1/intent", json={})).status_code for _ in range(10)]
        await asyncio.sleep(int(first_refusal.headers["retry-after"]) - (time.monotonic() - refused_at))
        again = await client.post("/v1/intent", json={})
    assert admitted == [200, 200, 200]
    assert first_refusal.status_code == 429 and refused == [429] * 10
    assert "3 requests per 2s on /v1/intent" in first_refusal.json()["error"]["message"]
    assert again.status_code == 200
    assert upstream.calls["/v1/intent"] == 4


async def test_a_tenant_override_applies_to_its_keys_only(make_settings, upstream) -> None:
    tenant = {
        "name": "tight",
        "key_sha256": [hash_key("tight-key")],
        "rate_limits": {"/v1/int*": {"requests_per_minute": 1}},
    }
    async with gateway(make_settings(tenants={"tenants": [tenant]})) as (client, _):
        tight = [
            (await client.post("/v1/intent", json={}, headers={"Authorization": "Bearer tight-key"})).status_code
            for _ in range(2)
        ]
        dev = [(await client.post("/v1/intent", json={})).status_code for _ in range(3)]
    assert tight == [200, 429]
    assert dev == [200, 200, 200]


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis of this test's own on a free port, which the test may stop (never the shared one)."""
    if shutil.which("redis-server") is None:
        pytest.fail("these tests start a Redis of their own: install redis-server (.ci/run does)")
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        client.close()
        proc.kill()
        proc.wait()


def _ahead(route: str, outcome: str) -> float:
    labels = {"business": "default", "route": route, "outcome": outcome}
    return REGISTRY.get_sample_value("sg_gateway_sent_ahead_total", labels) or 0.0


async def test_a_gateway_sends_ahead_only_what_its_window_has_room_for(redis_settings, upstream) -> None:
    before = _ahead("/v1/intent", "admitted"), _ahead("/v1/intent", "refused")
    async with gateway(redis_settings()) as (client, _):  # 3 a minute on /v1/intent
        statuses = [(await client.post("/v1/intent", json={})).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    # The first waits for its verdict (nothing known yet), the next two go ahead; no refused one leaves.
    assert (_ahead("/v1/intent", "admitted"), _ahead("/v1/intent", "refused")) == (before[0] + 2, before[1])
    assert upstream.calls["/v1/intent"] == 3


async def test_a_request_sent_ahead_and_refused_after_all_gets_its_429(redis_settings, upstream) -> None:
    before = _ahead("/v1/chat", "refused")
    routes = _routes({"/v1/chat": {"rate_limit": {"requests_per_minute": 2}}})
    settings = redis_settings(routes=routes)
    async with gateway(settings) as (first, _), gateway(settings) as (second, _):
        assert (await first.post("/v1/chat", json={"message": "hi"})).status_code == 200  # room for 1 more
        assert (await second.post("/v1/chat", json={"message": "hi"})).status_code == 200  # ... taken here
        # The first gateway sends this one ahead; the upstream would hold it until its client hangs up.
        refused = await first.post("/v1/chat", json={"message": "hold"})
    assert refused.status_code == 429
    assert "2 requests a minute on /v1/chat" in refused.json()["error"]["message"]
    assert _ahead("/v1/chat", "refused") == before + 1


async def test_a_store_that_fails_stops_sending_ahead(make_settings, own_redis, upstream) -> None:
    url, server = own_redis
    routes = _routes({"/v1/intent": {"rate_limit": {"requests_per_minute": 100}, "rate_limit_on_cache_failure": "closed"}})
    before = _ahead("/v1/intent", "refused")
    async with gateway(make_settings(routes=routes, cache_backend="redis", redis_url=url)) as (client, _):
        assert [(await client.post("/v1/intent", json={})).status_code for _ in range(2)] == [200, 200]
        server.kill()
        server.wait()
        closed = [(await client.post("/v1/intent", json={})).status_code for _ in range(3)]
    assert closed == [503, 503, 503]
    # The first was sent ahead on the room known before, and cancelled; the others waited for their verdicts.
    assert _ahead("/v1/intent", "refused") == before + 1
    assert upstream.calls["/v1/intent"] <= 3


def _unchecked(route: str, outcome: str) -> float:
    labels = {"business": "default", "route": route, "outcome": outcome}
    return REGISTRY.get_sample_value("sg_gateway_rate_limit_unchecked_total", labels) or 0.0


async def test_a_failing_redis_lets_requests_through_on_open_routes(make_settings, own_redis, upstream) -> None:
    url, server = own_redis
    before = _unchecked("/v1/intent", "open")
    async with gateway(make_settings(cache_backend="redis", redis_url=url)) as (client, _):
        server.kill()
        server.wait()
        limited = [(await client.post("/v1/intent", json={})).status_code for _ in range(5)]
        cached = [await client.post("/v1/summary", json={"conversation": "用户：你好"}) for _ in range(2)]
    assert limited == [200] * 5  # 3 a minute when Redis answers
    assert _unchecked("/v1/intent", "open") == before + 5
    assert [r.status_code for r in cached] == [200, 200]
    assert [r.headers["x-cache"] for r in cached] == ["bypass", "bypass"]
    assert upstream.calls["/v1/summary"] == 2


async def test_a_failing_redis_closes_closed_routes_with_503(make_settings, own_redis, upstream) -> None:
    url, server = own_redis
    routes = _routes({"/v1/dialog": {"rate_limit_on_cache_failure": "closed"}})
    before = _unchecked("/v1/dialog", "closed")
    async with gateway(make_settings(routes=routes, cache_backend="redis", redis_url=url)) as (client, _):
        assert (await client.post("/v1/dialog", json={})).status_code == 200
        server.kill()
        server.wait()
        closed = await client.post("/v1/dialog", json={})
        still_open = await client.post("/v1/intent", json={})
    assert closed.status_code == 503
    assert int(closed.headers["retry-after"]) >= 1
    assert "rate-limit store (redis) does not answer" in closed.json()["error"]["message"]
    assert _unchecked("/v1/dialog", "closed") == before + 1
    assert still_open.status_code == 200
    assert upstream.calls["/v1/dialog"] == 1
