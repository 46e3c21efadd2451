"""Tenants (hashed keys, allowed routes, 403) and the route table and tenants file reloaded without restart."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from gateway.tier1.auth import hash_key

from .conftest import ROUTES, gateway, write_yaml

SHOP = {"name": "shop", "key_sha256": [hash_key("shop-key")], "routes": ["/v1/chat", "/v1/products/*"]}
SHOP_AUTH = {"Authorization": "Bearer shop-key"}


async def test_a_tenant_uses_its_routes_and_gets_403_elsewhere(make_settings, upstream) -> None:
    async with gateway(make_settings(tenants={"tenants": [SHOP]})) as (client, _):
        chat = await client.post("/v1/chat", json={"message": "hi"}, headers=SHOP_AUTH)
        product = await client.get("/v1/products/p1", headers={"Authorization": "", "X-API-Key": "shop-key"})
        forbidden = await client.post("/v1/summary", json={"conversation": "用户：你好"}, headers=SHOP_AUTH)
        dev = await client.post("/v1/summary", json={"conversation": "用户：你好"})  # the dev key: every route
    assert chat.status_code == 200 and product.status_code == 200
    assert forbidden.status_code == 403
    assert "tenant 'shop' may not use /v1/summary" in forbidden.json()["error"]["message"]
    assert dev.status_code == 200
    assert upstream.calls["/v1/summary"] == 1  # the refused request never left the gateway


async def test_a_tenants_file_must_hold_hashes_not_keys(make_settings) -> None:
    with pytest.raises(ValidationError, match="not sha256 hex digests"):
        async with gateway(make_settings(tenants={"tenants": [{**SHOP, "key_sha256": ["shop-key"]}]})):
            pass


async def test_route_table_reloads_and_a_broken_version_keeps_the_last(make_settings, upstream, caplog) -> None:
    settings = make_settings()
    path = settings.gateway_routes_file
    async with gateway(settings) as (client, _):
        assert (await client.post("/v1/dialog", json={})).status_code == 200
        assert (await client.post("/v1/echo", json={})).status_code == 404

        echo = {"path": "/v1/echo", "upstream": "dialog", "upstream_path": "/v1/dialog"}
        write_yaml(path, {"routes": [*ROUTES, echo]})
        echoed = await client.post("/v1/echo", json={})
        assert echoed.status_code == 200
        assert echoed.json()["reply"] == "one two three four five six"

        path.write_text("routes: [{path: /v1/echo, upstream: nowhere}]")
        with caplog.at_level(logging.ERROR, logger="shared.watch"):
            assert (await client.post("/v1/echo", json={})).status_code == 200
        assert "does not load" in caplog.text

        write_yaml(path, {"routes": ROUTES})
        assert (await client.post("/v1/echo", json={})).status_code == 404


async def test_tenants_file_reloads(make_settings, upstream) -> None:
    settings = make_settings()
    async with gateway(settings) as (client, _):
        assert (await client.post("/v1/chat", json={"message": "hi"}, headers=SHOP_AUTH)).status_code == 401
        write_yaml(settings.gateway_tenants_file, {"tenants": [SHOP]})
        assert (await client.post("/v1/chat", json={"message": "hi"}, headers=SHOP_AUTH)).status_code == 200
        write_yaml(settings.gateway_tenants_file, {"tenants": []})
        assert (await client.post("/v1/chat", json={"message": "hi"}, headers=SHOP_AUTH)).status_code == 401
