"""Through the gateway: gateway -> router -> services, each its own process."""

from __future__ import annotations

import json
import time

import httpx

from tests.e2e.conftest import E2E_KEY


def _chat(suite: dict[str, str], body: dict, key: str = E2E_KEY) -> httpx.Response:
    return httpx.post(
        f"{suite['gateway']}/v1/chat", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def test_chat_goes_gateway_router_services(suite) -> None:
    response = _chat(suite, {"message": "I want to buy a smartphone with a good camera, under 6000 yuan"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["session_id"] and body["reply"]
    assert body["intent"] != "random chat"
    assert body["call"]["arguments"]["category"] == "smartphone"
    assert body["products"] and all(p["category"] == "smartphone" for p in body["products"])
    assert body["engines"]["intent"] == "local" and body["engines"]["dialog"] == "local"
    assert response.headers["x-request-id"]


def test_session_carries_the_dialog(suite) -> None:
    first = _chat(suite, {"message": "我想买个笔记本电脑"}).json()
    second = _chat(suite, {"session_id": first["session_id"], "message": "要联想的，8000以内"}).json()
    assert second["session_id"] == first["session_id"]
    assert second["call"]["arguments"]["category"] == "laptop"
    assert second["call"]["arguments"]["brand"] == "Lenovo"


def test_greeting_is_chit_chat(suite) -> None:
    body = _chat(suite, {"message": "Hello!"}).json()
    assert body["intent"] == "random chat" and body["call"] is None and body["products"] == []


def test_wrong_key_and_bad_input_through_the_gateway(suite) -> None:
    assert _chat(suite, {"message": "hi"}, key="nope").status_code == 401
    bad = _chat(suite, {"message": ""})
    assert bad.status_code == 422 and "message" in bad.json()["error"]["message"]


def test_request_id_travels_every_hop(suite) -> None:
    response = httpx.post(
        f"{suite['gateway']}/v1/chat",
        json={"message": "I need running shoes for a marathon"},
        headers={"X-API-Key": E2E_KEY, "X-Request-ID": "trace-e2e-42"},
        timeout=30,
    )
    assert response.headers["x-request-id"] == "trace-e2e-42"
    time.sleep(0.5)  # let the access logs flush
    services = set()
    for line in open(suite["log"], encoding="utf-8", errors="replace"):
        if line.startswith("{") and "trace-e2e-42" in line:
            services.add(json.loads(line)["service"])
    assert {"gateway", "router", "intent", "extraction", "dialog"} <= services


def test_each_service_is_healthy_with_docs(suite) -> None:
    for name, url in suite.items():
        if name == "log":
            continue
        assert httpx.get(f"{url}/healthz").json()["service"] == name
        assert httpx.get(f"{url}/openapi.json").status_code == 200
