"""Agent router in-process: validation, sessions, and a turn that degrades when services are down."""

from __future__ import annotations

import pytest

from gateway.router.app import create_app
from shared.cache import RedisCache
from shared.sessions import SessionStore
from shared.settings import ServiceUrls, Settings
from tests.conftest import app_client, free_port


@pytest.fixture
def router_settings(redis_url: str) -> Settings:
    dead = f"http://127.0.0.1:{free_port()}"
    return Settings(
        _env_file=None,
        redis_url=redis_url,
        cache_backend="redis",
        services=ServiceUrls(intent=dead, extraction=dead, dialog=dead, catalog=dead),
        service_timeout_s=2,
    )


async def test_services_down_degrade_the_router_without_taking_it_out_of_service(router_settings) -> None:
    # A turn still answers without them (below): taking the router out would take out every replica at once.
    async with app_client(create_app(router_settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert sorted(ready.json()["degraded"]) == ["catalog", "dialog", "extraction", "intent"]  # Redis answers


async def test_a_turn_degrades_instead_of_failing_and_the_session_is_kept(router_settings) -> None:
    async with app_client(create_app(router_settings)) as client:
        first = await client.post("/v1/chat", json={"message": "I want a laptop"})
        assert first.status_code == 200
        body = first.json()
        assert body["engines"] == {"intent": "unavailable", "extraction": "unavailable", "dialog": "unavailable"}
        assert body["intent"] == "random chat" and body["reply"].startswith("Sorry")
        second = await client.post("/v1/chat", json={"message": "还在吗", "session_id": body["session_id"]})
        assert second.json()["reply"].startswith("抱歉")
    # The session lives in the real Redis, so any router replica can continue it.
    cache = RedisCache.from_url(router_settings.redis_url, router_settings.cache_namespace)
    session = await SessionStore(cache, router_settings.session_history_turns).load(body["session_id"])
    await cache.aclose()
    assert [m.content for m in session.history] == ["I want a laptop", body["reply"], "还在吗", second.json()["reply"]]
    assert session.intents == ["random chat", "random chat"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"message": ""}, "message"),
        ({"message": "hi", "session_id": "bad id with spaces"}, "session_id"),
        ({"message": "hi", "extra": 1}, "extra"),
    ],
)
async def test_bad_input(router_settings, body, fragment) -> None:
    async with app_client(create_app(router_settings)) as client:
        response = await client.post("/v1/chat", json=body)
    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]
