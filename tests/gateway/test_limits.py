"""Rate limits per key in Redis: shared by gateway processes, tokens on llm routes, tenant overrides, and
open when Redis fails."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from gateway.tier1.auth import hash_key
from shared.service import STATE_KEY
from tests.conftest import free_port

from .conftest import AUTH, ROUTES, fresh_window, gateway, write_yaml


@pytest.fixture
def two_gateways(tmp_path: Path, upstream, redis_url: str, namespace: str) -> Iterator[list[str]]:
    """Two gateway processes (`python -m shared.suite serve gateway`) over one Redis and the fake upstream."""
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    env = {
        **os.environ,
        "SG_SERVICES__INTENT": upstream.url,
        "SG_REDIS_URL": redis_url,
        "SG_CACHE_BACKEND": "redis",
        "SG_CACHE_NAMESPACE": namespace,
        "SG_API_KEYS": '["k1"]',
        "SG_GATEWAY_ROUTES_FILE": str(write_yaml(tmp_path / "routes.yaml", {"routes": ROUTES})),
        "SG_GATEWAY_TENANTS_FILE": "",
        "SG_LOG_LEVEL": "WARNING",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "shared.suite", "serve", "gateway"],
            env={**env, "SG_SERVICES__GATEWAY": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for url in urls
    ]
    try:
        for url, proc in zip(urls, procs, strict=True):
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
        yield urls
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def test_two_gateway_processes_share_the_limit(two_gateways, upstream) -> None:
    await fresh_window()
    async with httpx.AsyncClient(headers=AUTH) as client:
        # /v1/intent allows 3 requests a minute per key: 2 + 1 spread over both processes, then both refuse.
        answers = [await client.post(f"{two_gateways[i % 2]}/v1/intent", json={"messages": []}) for i in range(3)]
        refused = [await client.post(f"{url}/v1/intent", json={"messages": []}) for url in two_gateways]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [r.status_code for r in refused] == [429, 429]
    for response in refused:
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert "3 requests a minute on /v1/intent" in response.json()["error"]["message"]
    assert upstream.calls["/v1/intent"] == 3


async def test_tokens_per_minute_on_llm_routes(make_settings, upstream) -> None:
    await fresh_window()
    async with gateway(make_settings()) as (client, _):
        first = await client.post("/v1/dialog", json={})  # the reply has 6 tokens; the route allows 5 a minute
        second = await client.post("/v1/dialog", json={})
    assert first.status_code == 200
    assert second.status_code == 429
    assert "5 tokens a minute" in second.json()["error"]["message"]
    assert int(second.headers["retry-after"]) >= 1
    assert upstream.calls["/v1/dialog"] == 1


async def test_a_tenant_override_applies_to_its_keys_only(make_settings, upstream) -> None:
    tenant = {
        "name": "tight",
        "key_sha256": [hash_key("tight-key")],
        "rate_limits": {"/v1/int*": {"requests_per_minute": 1}},
    }
    await fresh_window()
    async with gateway(make_settings(tenants={"tenants": [tenant]})) as (client, _):
        tight = [
            (await client.post("/v1/intent", json={}, headers={"Authorization": "Bearer tight-key"})).status_code
            for _ in range(2)
        ]
        dev = [(await client.post("/v1/intent", json={})).status_code for _ in range(3)]
    assert tight == [200, 429]
    assert dev == [200, 200, 200]


async def test_a_failing_redis_lets_requests_through(redis_settings, upstream) -> None:
    await fresh_window()
    async with gateway(redis_settings()) as (client, manager):
        cache = manager._state[STATE_KEY].cache
        working, cache.client = cache.client, aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
        await working.aclose()
        limited = [(await client.post("/v1/intent", json={})).status_code for _ in range(5)]
        cached = [await client.post("/v1/summary", json={"conversation": "用户：你好"}) for _ in range(2)]
    assert limited == [200] * 5  # 3 a minute when Redis answers
    assert [r.status_code for r in cached] == [200, 200]
    assert [r.headers["x-cache"] for r in cached] == ["bypass", "bypass"]
    assert upstream.calls["/v1/summary"] == 2
