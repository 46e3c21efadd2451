"""What a client may ask of a router turn besides its message: a history that rebuilds a session without one,
and an error (503) instead of an apology when the dialog service cannot answer. In process, every service
down (each stage degrades), sessions in the real Redis."""

from __future__ import annotations

import pytest

from gateway.router.app import create_app
from shared.cache import RedisCache
from shared.sessions import Session, SessionStore
from shared.settings import ServiceUrls, Settings
from shared.sse import read_events
from tests.conftest import app_client, free_port

HISTORY = [
    {"role": "assistant", "content": "Hi! What are you looking for?"},  # before any question: not an exchange
    {"role": "user", "content": "I need a new phone"},
    {"role": "assistant", "content": "Sure, what budget do you have in mind?"},
    {"role": "user", "content": "and it should be light"},
]


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


async def stored(settings: Settings, session_id: str) -> Session | None:
    cache = RedisCache.from_url(settings.redis_url, settings.cache_namespace)
    try:
        return await SessionStore(cache, settings.session_history_turns).get(session_id)
    finally:
        await cache.aclose()


async def test_a_history_rebuilds_a_session_that_has_none(router_settings: Settings) -> None:
    async with app_client(create_app(router_settings)) as client:
        first = await client.post(
            "/v1/chat", json={"session_id": "rebuilt", "message": "around 3000 yuan", "history": HISTORY}
        )
        assert first.status_code == 200, first.text
        # The session has a history now: a history sent again is not added again.
        second = await client.post(
            "/v1/chat", json={"session_id": "rebuilt", "message": "in black", "history": [HISTORY[1]]}
        )
        assert second.status_code == 200
    session = await stored(router_settings, "rebuilt")
    assert session is not None
    assert [(m.role, m.content) for m in session.history] == [
        ("user", "I need a new phone"),
        ("assistant", "Sure, what budget do you have in mind?"),
        ("user", "around 3000 yuan"),  # the unanswered "and it should be light" is read, not kept
        ("assistant", first.json()["reply"]),
        ("user", "in black"),
        ("assistant", second.json()["reply"]),
    ]
    assert session.intents == ["", "random chat", "random chat"]  # the rebuilt exchange was never classified


async def test_a_history_beyond_the_message_limit_is_refused(router_settings: Settings) -> None:
    history = [{"role": "user", "content": "hi"}] * (router_settings.max_messages + 1)
    async with app_client(create_app(router_settings)) as client:
        response = await client.post("/v1/chat", json={"message": "hi", "history": history})
    assert response.status_code == 422 and "SG_MAX_MESSAGES" in response.json()["error"]["message"]


async def test_without_an_apology_an_unanswerable_turn_is_a_503(router_settings: Settings) -> None:
    body = {"session_id": "strict", "message": "I want a laptop", "apology": False}
    async with app_client(create_app(router_settings)) as client:
        answered = await client.post("/v1/chat", json={**body, "apology": True})
        refused = await client.post("/v1/chat", json=body)
        async with client.stream("POST", "/v1/chat", json={**body, "stream": True}) as response:
            assert response.status_code == 200
            events = [event async for event in read_events(response.aiter_lines())]
    assert answered.status_code == 200 and answered.json()["reply"].startswith("Sorry")
    assert refused.status_code == 503 and "try again" in refused.json()["error"]["message"]
    name, data = events[-1]
    assert (name, data["type"]) == ("error", "service_unavailable")
    assert "token" not in [name for name, _ in events] and "done" not in [name for name, _ in events]
    session = await stored(router_settings, "strict")
    assert session is not None and len(session.history) == 2  # only the turn that was answered


async def test_generation_and_instructions_are_checked(router_settings: Settings) -> None:
    async with app_client(create_app(router_settings)) as client:
        bad = await client.post("/v1/chat", json={"message": "hi", "generation": {"temperature": 3}})
        too_many = await client.post("/v1/chat", json={"message": "hi", "generation": {"stop": ["a"] * 5}})
        ok = await client.post(
            "/v1/chat",
            json={"message": "hi", "generation": {"max_tokens": 5, "stop": ["x"]}, "instructions": "Be brief."},
        )
    assert bad.status_code == 422 and "generation.temperature" in bad.json()["error"]["message"]
    assert too_many.status_code == 422 and "generation.stop" in too_many.json()["error"]["message"]
    assert ok.status_code == 200 and ok.json()["usage"] is None and ok.json()["finish_reason"] == "stop"
