"""Prompts as live configuration, through the running services (real HTTP, the real Redis, the LLM simulator):
an override from the folder or from Redis is sent to the model without a restart and named in the answer, a
broken one is refused and the previous one kept, and ``GET /v1/prompts`` tells an operator which is which.

The simulator records every request: the prompt the model received is read there."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client import REGISTRY

from shared.prompts import Prompt, load_prompt
from shared.settings import PoolSettings, Settings, Task, TaskRoute
from shared.simulator import SimConfig, run_in_thread
from shared.simulator import create_app as create_simulator
from shared.suite import serve_in_threads
from tests.conftest import REDIS_URL
from tests.services.conftest import parse_sse
from tests.services.test_copywriting import PHONE_ZH
from tests.services.test_summary import GOOD, PARCEL_DIALOG

SUMMARY = load_prompt("services.summary", "summary")
NAMES = ["intent", "extraction", "dialog", "copywriting", "summary"]


@dataclass(frozen=True)
class Suite:
    sim: str
    services: dict[str, str]
    folder: Path
    redis: redis.Redis
    key: str

    def answer_with(self, reply: str) -> None:
        httpx.post(f"{self.sim}/sim/reset").raise_for_status()
        httpx.post(f"{self.sim}/sim/config", json={"reply": reply}).raise_for_status()

    def sent(self) -> list[list[dict[str, str]]]:
        """The messages of each request the model received, oldest first."""
        return [r["body"]["messages"] for r in httpx.get(f"{self.sim}/sim/stats").json()["last_requests"]]

    def post(self, service: str, path: str, body: dict[str, Any]) -> httpx.Response:
        response = httpx.post(f"{self.services[service]}{path}", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response

    def prompts(self, service: str) -> dict[str, Any]:
        listed: dict[str, Any] = httpx.get(f"{self.services[service]}/v1/prompts").json()
        return listed

    def wait_for(self, service: str, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The service's prompt listing once ``ready`` holds for it (it reloads on its own interval)."""
        deadline = time.monotonic() + 30
        while not ready(listed := self.prompts(service)):
            assert time.monotonic() < deadline, f"the {service} service never reloaded: {listed}"
            time.sleep(0.05)
        return listed


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    folder = tmp_path_factory.mktemp("prompts")
    key = f"test-prompts-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL)
    with contextlib.ExitStack() as stack:
        stack.callback(client.close)
        stack.callback(client.delete, key)
        sim = stack.enter_context(run_in_thread(create_simulator(SimConfig())))
        settings = Settings(
            _env_file=None,
            env="test",
            cache_backend="memory",
            log_json=False,
            redis_url=REDIS_URL,
            llm_pools={"sim": PoolSettings(endpoints=[sim.url], health_interval_s=60, max_retries=0)},
            llm_tasks={task: TaskRoute(backend="openai", pool="sim") for task in Task},
            cascade_threshold=1.0,  # intent asks the LLM whatever its local answer
            prompts_dir=folder,
            prompts_redis=key,
            prompts_reload_interval_s=0.05,
        )
        started = stack.enter_context(serve_in_threads(settings, NAMES))
        yield Suite(sim.url, {name: getattr(started.services, name) for name in NAMES}, folder, client, key)


def live(listed: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in listed["prompts"] if p["name"] == name]
    return found


def refused(source: str) -> float:
    labels = {"service": "summary", "prompt": "summary", "source": source, "outcome": "refused"}
    return REGISTRY.get_sample_value("sg_prompt_overrides_total", labels) or 0.0


def summarise(suite: Suite) -> dict[str, Any]:
    suite.answer_with(GOOD)
    answer: dict[str, Any] = suite.post("summary", "/v1/summary", {"conversation": PARCEL_DIALOG, "engine": "llm"}).json()
    assert answer["engine"] == "llm"
    return answer


def test_an_override_is_used_without_a_restart_and_a_broken_one_is_refused(suite: Suite) -> None:
    answer = summarise(suite)
    assert answer["prompt_version"] == SUMMARY.version
    assert suite.sent()[-1][0]["content"] == SUMMARY.messages(conversation="")[0].content
    assert live(suite.prompts("summary"), "summary")["source"] == "packaged"

    # From the folder: the next request sends the new instruction and says so.
    from_dir = "Summarise for the quality team (folder).\n" + SUMMARY.text
    (suite.folder / "summary").mkdir(exist_ok=True)
    (suite.folder / "summary" / "summary.txt").write_text(from_dir)
    listed = suite.wait_for("summary", lambda v: live(v, "summary")["version"] == Prompt("summary", from_dir).version)
    assert live(listed, "summary")["source"] == "dir"
    answer = summarise(suite)
    assert answer["prompt_version"] == Prompt("summary", from_dir).version
    assert suite.sent()[-1][0]["content"].startswith("Summarise for the quality team (folder).")

    # From Redis: it wins over the folder.
    from_redis = "Summarise for the quality team (Redis).\n" + SUMMARY.text
    suite.redis.hset(suite.key, "summary/summary", from_redis)
    suite.wait_for("summary", lambda v: live(v, "summary")["source"] == "redis")
    answer = summarise(suite)
    assert answer["prompt_version"] == Prompt("summary", from_redis).version
    assert suite.sent()[-1][0]["content"].startswith("Summarise for the quality team (Redis).")

    # Broken (a placeholder the service does not fill): refused, the Redis version before it kept.
    before = refused("redis")
    broken = from_redis.replace("=== user ===\n", "=== user ===\nFor $customer:\n")
    suite.redis.hset(suite.key, "summary/summary", broken)
    listed = suite.wait_for("summary", lambda v: bool(v["refused"]))
    (refusal,) = listed["refused"]
    assert refusal == {
        "service": "summary",
        "name": "summary",
        "source": "redis",
        "location": f"{suite.key} summary/summary",
        "version": Prompt("summary", broken).version,
        "error": "unknown placeholder(s) $customer in the data",
    }
    assert live(listed, "summary")["version"] == Prompt("summary", from_redis).version
    assert refused("redis") == before + 1
    answer = summarise(suite)
    assert answer["prompt_version"] == Prompt("summary", from_redis).version
    assert suite.sent()[-1][0]["content"].startswith("Summarise for the quality team (Redis).")

    # Removed from Redis: the folder's again; removed from the folder: the packaged one.
    suite.redis.hdel(suite.key, "summary/summary")
    suite.wait_for("summary", lambda v: live(v, "summary")["source"] == "dir" and not v["refused"])
    (suite.folder / "summary" / "summary.txt").unlink()
    suite.wait_for("summary", lambda v: live(v, "summary")["source"] == "packaged")
    assert summarise(suite)["prompt_version"] == SUMMARY.version


ASKS: dict[str, tuple[str, dict[str, Any], str, str]] = {  # path, body, a reply the service accepts, its prompt
    "intent": (
        "/v1/intent",
        {"messages": [{"role": "user", "content": "I want a phone that takes great photos"}]},
        '<response>{"category": "specific needs", "reason": "a camera phone", "aim": "photos", "scene": ""}</response>',
        "intent",
    ),
    "extraction": (
        "/v1/extract",
        {"messages": [{"role": "user", "content": "I want a phone with a good camera"}]},
        '<response>{"call": {"name": "get_recommds_by_sku", "arguments": {"category": "smartphone", '
        '"camera": "good camera"}}}</response>',
        "extraction",
    ),
    "dialog": (
        "/v1/dialog",
        {"messages": [{"role": "user", "content": "hello there"}], "intent": "random chat"},
        "Hello! What are you shopping for today?",
        "chat",
    ),
    "copywriting": (
        "/v1/copywriting",
        {"product": PHONE_ZH},
        "华为Mate 60 Pro：5000毫安时大电池，出差一天一充就够，售价6499元。",
        "copywriting",
    ),
    "summary": ("/v1/summary", {"conversation": PARCEL_DIALOG}, GOOD, "summary"),
}


@pytest.mark.parametrize("service", NAMES)
def test_every_answer_names_its_prompt_version(suite: Suite, service: str) -> None:
    path, body, reply, name = ASKS[service]
    version = live(suite.prompts(service), name)["version"]
    assert version == load_prompt(f"services.{service}", name).version
    suite.answer_with(reply)
    answer = suite.post(service, path, {**body, "engine": "llm"}).json()
    assert (answer["engine"], answer["prompt_version"]) == ("llm", version)
    local = suite.post(service, path, {**body, "engine": "local"}).json()
    assert (local["engine"], local["prompt_version"]) == ("local", None), "no prompt wrote a local answer"
    if service in ("dialog", "copywriting"):  # streamed too: the done event names it
        events = parse_sse(suite.post(service, path, {**body, "engine": "llm", "stream": True}).text)
        assert events[-1][0] == "done" and events[-1][1]["prompt_version"] == version


def test_the_listing_covers_every_prompt_of_the_service(suite: Suite) -> None:
    listed = suite.prompts("dialog")
    assert {p["name"]: p["source"] for p in listed["prompts"]} == {"chat": "packaged", "guide": "packaged"}
    assert (listed["dir"], listed["redis"], listed["redis_error"]) == (str(suite.folder), suite.key, None)
    assert listed["checked_at"] is not None
