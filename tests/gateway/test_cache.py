"""The response cache over the real Redis: hit/miss, key normalisation, single-flight across replicas,
streams replayed event by event, and what is never stored."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.tier1.cache import Entry, ResponseCache
from gateway.tier1.routes import CachePolicy, Route
from gateway.tier1.state import GatewayState
from shared.cache import MemoryCache, RedisCache
from shared.live_prompts import PromptLibrary, prompt_packages
from shared.llm.chunking import split_chunks
from shared.prompts import Prompt, load_prompt
from shared.service import STATE_KEY
from shared.settings import Settings, Task, TaskRoute
from shared.sse import read_events
from tests.conftest import count_round_trips

from .conftest import ROUTES, asgi_post, gateway
from .fakes import COPY

SUMMARY = {"conversation": "用户：屏幕碎了\n客服：免费换屏", "engine": "auto"}


async def _events(chunks: list[bytes]) -> list[tuple[str, dict]]:
    async def lines() -> AsyncIterator[str]:
        for line in b"".join(chunks).decode().split("\n"):
            yield line

    return [event async for event in read_events(lines())]


async def test_hit_after_miss_with_a_normalised_key(redis_settings, upstream) -> None:
    async with gateway(redis_settings()) as (client, _):
        miss = await client.post("/v1/summary", json=SUMMARY)
        # Same request: keys reordered, whitespace around strings, a field the route ignores.
        same = {"engine": " auto ", "conversation": f"  {SUMMARY['conversation']}\n", "trace": "abc"}
        hit = await client.post(
            "/v1/summary", content=json.dumps(same, indent=2), headers={"content-type": "application/json"}
        )
        other = await client.post("/v1/summary", json={**SUMMARY, "engine": "local"})
    assert (miss.status_code, hit.status_code) == (200, 200)
    assert miss.headers["x-cache"] == "miss" and hit.headers["x-cache"] == "hit"
    assert hit.json() == miss.json()
    assert hit.headers["content-type"] == "application/json"
    assert other.headers["x-cache"] == "miss"
    assert upstream.calls["/v1/summary"] == 2


async def test_a_hit_on_a_limited_route_is_one_round_trip_to_redis_and_keeps_no_tokens(redis_settings, upstream) -> None:
    # The stored answer is read in the rate limit's round trip; the hit's reservation (all of the route's 40
    # tokens a minute) is given back with the next admission, in its round trip too.
    limit = {"requests_per_minute": 100, "tokens_per_minute": 40, "tokens_per_request": 40}
    routes = [{**r, "rate_limit": limit} if r["path"] == "/v1/summary" else r for r in ROUTES]
    async with gateway(redis_settings(routes=routes, gateway_settle_delay_s=60)) as (client, manager):
        state: GatewayState = manager._state[STATE_KEY]
        assert isinstance(state.cache, RedisCache)
        miss = await client.post("/v1/summary", json=SUMMARY)
        round_trips = count_round_trips(state.cache)
        hits = [await client.post("/v1/summary", json=SUMMARY) for _ in range(3)]
        counted = len(round_trips)
    assert miss.headers["x-cache"] == "miss"
    assert [(h.status_code, h.headers["x-cache"]) for h in hits] == [(200, "hit")] * 3
    assert counted == 3
    assert upstream.calls["/v1/summary"] == 1


async def test_copywriting_is_cached_only_at_temperature_zero_and_without_a_session(redis_settings, upstream) -> None:
    warm = {**Settings(_env_file=None).llm_tasks, Task.COPYWRITING: TaskRoute(backend="openai", temperature=0.7)}
    async with gateway(redis_settings(llm_tasks=warm)) as (client, _):
        varied = [await client.post("/v1/copywriting", json={"product": {"skuName": "X"}}) for _ in range(2)]
    async with gateway(redis_settings()) as (client, _):
        session = [
            await client.post("/v1/copywriting", json={"product": {"skuName": "X"}, "session_id": "s1"})
            for _ in range(2)
        ]
        plain = [await client.post("/v1/copywriting", json={"product": {"skuName": "X"}}) for _ in range(2)]
    assert [r.headers["x-cache"] for r in varied + session] == ["bypass"] * 4
    assert [r.headers["x-cache"] for r in plain] == ["miss", "hit"]
    assert upstream.calls["/v1/copywriting"] == 5


async def test_single_flight_across_two_replicas(redis_settings, upstream) -> None:
    upstream.delay_s = 0.3  # long enough for every request to arrive while the first is in flight
    async with gateway(redis_settings()) as (one, _), gateway(redis_settings()) as (two, _):
        answers = await asyncio.gather(*(client.post("/v1/summary", json=SUMMARY) for client in [one, two] * 4))
    assert upstream.calls["/v1/summary"] == 1
    assert sorted(a.headers["x-cache"] for a in answers) == ["hit"] * 7 + ["miss"]
    assert all(a.status_code == 200 and a.json() == answers[0].json() for a in answers)


async def test_a_stream_is_replayed_token_by_token(redis_settings, upstream) -> None:
    body = {"product": {"skuName": "X"}, "stream": True}
    async with gateway(redis_settings()) as (_, manager):
        status, headers, first = await asgi_post(manager.app, "/v1/copywriting", body)
        status_hit, headers_hit, replay = await asgi_post(manager.app, "/v1/copywriting", body)
    assert (status, headers["x-cache"]) == (200, "miss")
    assert (status_hit, headers_hit["x-cache"]) == (200, "hit")
    assert headers_hit["content-type"].startswith("text/event-stream")
    assert upstream.calls["/v1/copywriting"] == 1
    events = await _events(replay)
    assert events == await _events(first)
    tokens = [data["text"] for name, data in events if name == "token"]
    assert tokens == split_chunks(COPY) and len(tokens) > 3
    # Each event went out as its own body message: a client sees the tokens arrive one by one.
    assert len(replay) == len(events)
    assert all(chunk.count(b"event: ") == 1 for chunk in replay)


@pytest.mark.parametrize("ending", ["cut", "error"])
async def test_a_cut_or_errored_stream_is_never_stored(redis_settings, upstream, ending) -> None:
    body = {"product": {"skuName": "X"}, "stream": True, "ending": ending}
    async with gateway(redis_settings()) as (client, _):
        answers = [await client.post("/v1/copywriting", json=body) for _ in range(2)]
    assert upstream.calls["/v1/copywriting"] == 2
    assert [a.headers["x-cache"] for a in answers] == ["miss", "miss"]
    for answer in answers:
        events = [line for line in answer.text.splitlines() if line.startswith("event: ")]
        assert events[0] == "event: token" and events[-1] == "event: error"  # a cut stream still ends with error
        assert "event: done" not in answer.text


async def test_an_upstream_error_is_never_stored(redis_settings, upstream) -> None:
    async with gateway(redis_settings()) as (client, _):
        answers = [await client.post("/v1/summary", json={**SUMMARY, "fail": True}) for _ in range(2)]
    assert [a.status_code for a in answers] == [500, 500]
    assert upstream.calls["/v1/summary"] == 2


SERVICES = prompt_packages("services")
PACKAGED_SUMMARY = load_prompt("services.summary", "summary").text


def _key(settings: Settings, prompts: PromptLibrary | None = None, body: bytes = b'{"a": 1}') -> str | None:
    route = Route(path="/v1/summary", upstream="summary", tasks=[Task.SUMMARY], cache=CachePolicy(ttl_s=60))
    responses = ResponseCache(MemoryCache("t"), settings, prompts or PromptLibrary(SERVICES))
    return responses.key(route, "POST", "summary:/v1/summary?", body)


async def test_the_key_follows_the_live_prompts_and_the_models(tmp_path: Path) -> None:
    def make(**values: Any) -> Settings:
        return Settings(_env_file=None, **values)

    base = _key(make())
    assert base == _key(make())
    overridden = PromptLibrary(SERVICES, folder=tmp_path)
    await overridden.refresh()
    assert _key(make(), overridden) == base, "no override yet: the packaged prompts"
    (tmp_path / "summary").mkdir()
    (tmp_path / "summary" / "summary.txt").write_text(PACKAGED_SUMMARY + "\nBe brief.\n")
    await overridden.refresh()
    assert _key(make(), overridden) != base
    (tmp_path / "summary" / "summary.txt").unlink()
    await overridden.refresh()
    assert _key(make(), overridden) == base, "the override removed: the packaged prompt again"
    other_model = {Task.SUMMARY: TaskRoute(backend="bedrock", model="claude")}
    assert base != _key(make(llm_tasks=other_model))
    assert base == _key(make(llm_tasks={Task.DIALOG: TaskRoute(backend="bedrock")}))  # another task's model
    assert _key(make(), body=b"not json") is None


def test_the_fingerprint_covers_every_packaged_prompt_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "fakeservices"
    (package / "intent" / "prompts").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "intent" / "__init__.py").write_text("")
    prompt = package / "intent" / "prompts" / "intent.txt"
    prompt.write_text("classify $text")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert prompt_packages("fakeservices") == ["fakeservices.intent"]
    before = PromptLibrary(["fakeservices.intent"]).fingerprint()
    prompt.write_text("classify carefully $text")
    assert PromptLibrary(["fakeservices.intent"]).fingerprint() != before
    assert PromptLibrary(SERVICES).fingerprint() == PromptLibrary(SERVICES).fingerprint()


async def test_an_answer_written_with_a_prompt_that_is_not_live_is_not_stored() -> None:
    """A service that reloaded later than the gateway answers with the previous prompt: that answer must not
    be kept under the key of the new one."""
    cache, library = MemoryCache("t"), PromptLibrary(SERVICES)
    responses = ResponseCache(cache, Settings(_env_file=None), library)
    live = library.book("summary").get("summary").version
    stale = Prompt("summary", "an earlier text").version
    json_answer = {"summary": {"用户问题": "x"}, "engine": "llm"}
    answers = {
        "stale json": (Entry("application/json", body=json.dumps({**json_answer, "prompt_version": stale})), False),
        "live json": (Entry("application/json", body=json.dumps({**json_answer, "prompt_version": live})), True),
        "local json": (Entry("application/json", body=json.dumps({**json_answer, "prompt_version": None})), True),
        "stale stream": (Entry("text/event-stream", events=(("token", {"text": "x"}), ("done", {"copy": "x", "prompt_version": stale}))), False),
        "live stream": (Entry("text/event-stream", events=(("token", {"text": "x"}), ("done", {"copy": "x", "prompt_version": live}))), True),
    }
    for key, (entry, kept) in answers.items():
        await responses.finish(await responses.begin(key, 1.0), entry, 60)
        assert (await cache.get(f"resp:{key}") is not None) == kept, key


async def test_a_prompt_edited_while_the_gateway_runs_moves_the_key(redis_settings, upstream, tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    (folder / "summary").mkdir(parents=True)
    async with gateway(redis_settings(prompts_dir=folder, prompts_reload_interval_s=0.05)) as (client, _):
        before = [(await client.post("/v1/summary", json=SUMMARY)).headers["x-cache"] for _ in range(2)]
        (folder / "summary" / "summary.txt").write_text(PACKAGED_SUMMARY + "\nAnswer briefly.\n")
        deadline = time.monotonic() + 30
        while (edited := await client.post("/v1/summary", json=SUMMARY)).headers["x-cache"] == "hit":
            assert time.monotonic() < deadline, "the gateway never took the edited prompt"
            await asyncio.sleep(0.05)
        again = await client.post("/v1/summary", json=SUMMARY)
    assert before == ["miss", "hit"]
    assert (edited.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
    assert upstream.calls["/v1/summary"] == 2
