"""Every app of the suite has the shared surface: /healthz, /metrics, OpenAPI docs, request ids, JSON errors."""

from __future__ import annotations

import importlib

import pytest

from shared.suite import APPS
from tests.conftest import app_client


@pytest.mark.parametrize("name", sorted(APPS))
async def test_shared_surface(name: str, settings) -> None:
    app = importlib.import_module(APPS[name]).create_app(settings)
    async with app_client(app) as client:
        health = await client.get("/healthz", headers={"X-Request-ID": f"probe-{name}"})
        assert health.json() == {"status": "ok", "service": name}
        assert health.headers["x-request-id"] == f"probe-{name}"
        assert "sg_http_requests_total" in (await client.get("/metrics")).text
        spec = (await client.get("/openapi.json")).json()
        assert spec["info"]["title"] == name and any(path.startswith("/v1/") for path in spec["paths"])
        missing = await client.get("/no/such/path")
        assert missing.status_code == 404 and missing.json()["error"]["request_id"]
