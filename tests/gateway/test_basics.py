"""Tier-1 gateway in-process: keys, routing, body limit, CORS, request ids, upstream failures, the demo page."""

from __future__ import annotations

import re

import pytest
import yaml

from gateway.tier1 import keys
from gateway.tier1.auth import TenantsFile, hash_key
from gateway.tier1.routes import RouteTable
from shared.settings import PROJECT_ROOT, ServiceUrls

from .conftest import ROUTES, gateway
from .fakes import chat_reply


async def test_health_and_metrics_need_no_key(make_settings) -> None:
    async with gateway(make_settings()) as (client, _):
        assert (await client.get("/healthz", headers={"Authorization": ""})).status_code == 200
        metrics = await client.get("/metrics", headers={"Authorization": ""})
    assert metrics.status_code == 200
    assert "sg_gateway_cache_total" in metrics.text and "sg_gateway_rate_limited_total" in metrics.text


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"Authorization": ""}, "missing API key"),
        ({"Authorization": "Bearer wrong"}, "unknown API key"),
        ({"Authorization": "", "X-API-Key": "wrong"}, "unknown API key"),
    ],
)
async def test_auth_refusals_are_401(make_settings, upstream, headers, fragment) -> None:
    async with gateway(make_settings()) as (client, _):
        response = await client.post("/v1/chat", json={"message": "hi"}, headers=headers)
    assert response.status_code == 401
    assert fragment in response.json()["error"]["message"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert upstream.calls["/v1/chat"] == 0


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer k1"}, {"Authorization": "", "X-API-Key": "k1"}])
async def test_a_right_key_reaches_the_upstream(make_settings, upstream, headers) -> None:
    async with gateway(make_settings()) as (client, _):
        response = await client.post("/v1/chat", json={"message": "hi"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["reply"] == chat_reply("hi")
    assert upstream.calls["/v1/chat"] == 1
    assert "x-cache" not in response.headers  # an uncached route says nothing about the cache


async def test_a_dead_upstream_is_a_502_and_a_slow_one_a_504(make_settings, upstream) -> None:
    dead = ServiceUrls(router="http://127.0.0.1:9")  # discard port: nothing answers
    slow = [{**r, "timeout_s": 0.2} if r["path"] == "/v1/summary" else r for r in ROUTES]
    upstream.delay_s = 1.0
    async with gateway(make_settings(routes=slow, services=dead.model_copy(update={"summary": upstream.url}))) as (
        client,
        _,
    ):
        unreachable = await client.post("/v1/chat", json={"message": "hi"})
        timed_out = await client.post("/v1/summary", json={"conversation": "用户：你好"})
    assert unreachable.status_code == 502
    assert unreachable.json()["error"]["message"] == "router unavailable: could not connect"  # no address
    assert timed_out.status_code == 504
    # Which hop and deadline fired, its limit, and the time really spent.
    message = timed_out.json()["error"]["message"]
    assert message.startswith("gateway -> summary: waiting for the answer timed out: limit 0.2s")
    assert re.search(r"the route's timeout_s \(/v1/summary\); gave up after \d+\.\d\ds$", message)


async def test_a_json_answer_cut_mid_body_is_a_502_and_never_cached(make_settings, upstream) -> None:
    async with gateway(make_settings()) as (client, _):
        answers = [await client.post("/v1/summary", json={"conversation": "用户：你好", "cut": True}) for _ in range(2)]
    assert [a.status_code for a in answers] == [502, 502]
    assert answers[0].json()["error"]["type"] == "upstream_error"
    assert upstream.calls["/v1/summary"] == 2  # the cut answer was not stored


async def test_the_clients_deadline_bounds_the_upstream_wait_and_travels_on(make_settings, upstream) -> None:
    """A client may say how long it waits (X-Timeout-Ms): the gateway waits for its upstream no longer, less the
    margin it keeps to answer, tells the upstream that budget, and its 504 names the deadline that fired."""
    upstream.delay_s = 1.0
    async with gateway(make_settings()) as (client, _):
        response = await client.post("/v1/summary", json={"conversation": "用户：你好"}, headers={"X-Timeout-Ms": "500"})
    assert response.status_code == 504
    message = response.json()["error"]["message"]
    assert message.startswith("gateway -> summary: waiting for the answer timed out: limit 0.")
    assert "the caller's deadline (X-Timeout-Ms)" in message
    assert 0 < int(upstream.requests[-1]["headers"]["x-timeout-ms"]) <= 300


async def test_unknown_route_404_and_wrong_method_405(make_settings) -> None:
    async with gateway(make_settings()) as (client, _):
        unknown = await client.post("/v1/nope", json={})
        wrong_method = await client.get("/v1/chat")
    assert unknown.status_code == 404
    assert "/v1/chat" in unknown.json()["error"]["message"]
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"


async def test_path_parameters_and_query_reach_the_upstream(make_settings, upstream) -> None:
    async with gateway(make_settings()) as (client, _):
        found = await client.get("/v1/products/sku-42?fields=price")
        climbing = await client.get("/v1/products/%2E%2E")
    assert found.status_code == 200
    assert found.json() == {"skuId": "sku-42", "query": "fields=price"}
    assert climbing.status_code == 404


async def test_body_limit(make_settings, upstream) -> None:
    async with gateway(make_settings()) as (client, _):
        response = await client.post("/v1/chat", content=b"x" * 4096)
    assert response.status_code == 413
    assert "2048-byte limit" in response.json()["error"]["message"]
    assert upstream.calls["/v1/chat"] == 0


async def test_cors_preflight_allows_configured_origins_only(make_settings) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    async with gateway(make_settings(cors_origins=["https://shop.example"])) as (client, _):
        allowed = await client.options("/v1/chat", headers={**preflight, "Origin": "https://shop.example"})
        refused = await client.options("/v1/chat", headers={**preflight, "Origin": "https://evil.example"})
        simple = await client.post("/v1/chat", json={"message": "hi"}, headers={"Origin": "https://shop.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert refused.status_code == 400
    assert "x-cache" in simple.headers["access-control-expose-headers"].lower()


async def test_request_id_in_out_and_on_to_the_upstream(make_settings, upstream) -> None:
    async with gateway(make_settings()) as (client, _):
        given = await client.post("/v1/chat", json={"message": "hi"}, headers={"X-Request-ID": "req-123"})
        made = await client.post("/v1/chat", json={"message": "hi"})
    assert given.headers["x-request-id"] == "req-123"
    assert upstream.requests[0]["headers"]["x-request-id"] == "req-123"
    assert len(made.headers["x-request-id"]) == 32
    assert upstream.requests[1]["headers"]["x-request-id"] == made.headers["x-request-id"]


async def test_the_upstream_learns_the_tenant_from_the_gateway_only(make_settings, upstream) -> None:
    async with gateway(make_settings()) as (client, _):
        await client.post("/v1/chat", json={"message": "hi"}, headers={"X-SG-Tenant": "someone-else"})
    assert upstream.requests[0]["headers"]["x-sg-tenant"] == "dev"


async def test_demo_page_and_assets_need_no_key(make_settings, tmp_path) -> None:
    settings = make_settings()
    async with gateway(settings) as (client, _):
        missing = await client.get("/", headers={"Authorization": ""})
        settings.gateway_static_dir.mkdir()
        (settings.gateway_static_dir / "index.html").write_text("<h1>guide</h1>")
        (settings.gateway_static_dir / "app.js").write_text("console.log(1)")
        page = await client.get("/", headers={"Authorization": ""})
        asset = await client.get("/static/app.js", headers={"Authorization": ""})
        absent = await client.get("/static/nope.js", headers={"Authorization": ""})
    assert missing.status_code == 404
    assert "no demo page" in missing.json()["error"]["message"]
    assert page.status_code == 200 and page.text == "<h1>guide</h1>"
    assert page.headers["content-type"].startswith("text/html")
    assert asset.status_code == 200 and asset.text == "console.log(1)"
    assert absent.status_code == 404


def test_shipped_route_table_and_tenants_file_load() -> None:
    table = RouteTable.model_validate(yaml.safe_load((PROJECT_ROOT / "gateway/tier1/routes.yaml").read_text()))
    served = {(method, route.path) for route in table.routes for method in route.methods}
    for path in (
        "/v1/chat",
        "/v1/chat/completions",
        "/v1/compare",
        "/v1/agents/copywriting",
        "/v1/agents/summary",
        "/v1/intent",
        "/v1/extract",
        "/v1/dialog",
        "/v1/copywriting",
        "/v1/summary",
        "/v1/recommend",
        "/v1/knowledge/search",
    ):
        assert ("POST", path) in served
    assert ("GET", "/v1/sessions/{session_id}") in served and ("GET", "/v1/products/{sku_id}") in served
    assert table.resolve("POST", "/v1/chat/completions").route.target({}) == "/v1/chat"
    cached = {route.path for route in table.routes if route.cache}
    assert {"/v1/intent", "/v1/extract", "/v1/copywriting", "/v1/summary", "/v1/recommend"} <= cached
    assert "/v1/chat" not in cached and "/v1/agents/summary" not in cached
    TenantsFile.parse(yaml.safe_load((PROJECT_ROOT / "gateway/tier1/tenants.yaml").read_text()))


def test_keys_cli_prints_the_hash(capsys) -> None:
    keys.main(["hash", "secret"])
    assert capsys.readouterr().out.strip() == hash_key("secret")
    keys.main(["new"])
    printed = dict(line.split(":", 1) for line in capsys.readouterr().out.strip().splitlines())
    assert hash_key(printed["key"].strip()) == printed["key_sha256"].strip()
