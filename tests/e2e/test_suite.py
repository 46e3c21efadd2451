"""The whole suite as `make run` starts it: separate processes, real HTTP, gateway -> router -> services."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from shared.suite import APPS
from tests.conftest import free_port


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    urls = {name: f"http://127.0.0.1:{free_port()}" for name in APPS}
    env = {
        **os.environ,
        **{f"SG_SERVICES__{name.upper()}": url for name, url in urls.items()},
        "SG_API_KEYS": '["e2e-key"]',
    }
    log_path = tmp_path_factory.mktemp("suite") / "suite.log"
    log_file = log_path.open("wb")  # a file, not a pipe: eight chatty processes would fill a pipe and block
    proc = subprocess.Popen(
        [sys.executable, "-m", "shared.suite", "run"], env=env, stdout=log_file, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{urls['gateway']}/readyz", timeout=1).status_code == 200 and all(
                    httpx.get(f"{url}/healthz", timeout=1).status_code == 200 for url in urls.values()
                ):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail(f"the suite did not come up:\n{log_path.read_text()[-3000:]}")
        yield {**urls, "log": str(log_path)}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()


def _chat(suite: dict[str, str], body: dict, key: str = "e2e-key") -> httpx.Response:
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
        headers={"X-API-Key": "e2e-key", "X-Request-ID": "trace-e2e-42"},
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
