"""Tier-1 gateway in-process: auth, route table, body limit, upstream failure as a clear 502."""

from __future__ import annotations

import pytest

from gateway.tier1.app import create_app
from gateway.tier1.routes import RouteTable
from shared.settings import ServiceUrls, Settings
from tests.conftest import app_client, free_port


@pytest.fixture
def gateway_settings() -> Settings:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    return Settings(
        _env_file=None,
        cache_backend="memory",
        api_keys=["k1", "k2"],
        max_body_bytes=2048,
        services=ServiceUrls(router=dead, intent=dead),
    )


async def test_health_needs_no_key(gateway_settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status", "fragment"),
    [
        ({}, 401, "missing API key"),
        ({"Authorization": "Bearer wrong"}, 401, "unknown API key"),
        ({"X-API-Key": "wrong"}, 401, "unknown API key"),
    ],
)
async def test_auth_refusals(gateway_settings, headers, status, fragment) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.post("/v1/chat", json={"message": "hi"}, headers=headers)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer k2"}, {"X-API-Key": "k1"}])
async def test_a_right_key_passes_and_a_dead_upstream_is_a_502(gateway_settings, headers) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.post("/v1/chat", json={"message": "hi"}, headers=headers)
    assert response.status_code == 502
    assert "unreachable" in response.json()["error"]["message"]


async def test_unknown_route_lists_known_ones(gateway_settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.post("/v1/nope", json={}, headers={"X-API-Key": "k1"})
    assert response.status_code == 404
    assert "/v1/chat" in response.json()["error"]["message"]


async def test_body_limit(gateway_settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.post("/v1/chat", content=b"x" * 4096, headers={"X-API-Key": "k1"})
    assert response.status_code == 413
    assert "2048-byte limit" in response.json()["error"]["message"]


def test_route_table_names_known_upstreams() -> None:
    table = RouteTable.load()
    assert {route.upstream for route in table.routes} <= set(ServiceUrls.model_fields)
    assert table.match("/v1/chat").upstream == "router"
