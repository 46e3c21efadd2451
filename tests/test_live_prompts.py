"""Prompts as live configuration (shared.live_prompts): overrides from a folder and from the real Redis, what is
refused and what stays live then, and a source that stops answering."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from shared.live_prompts import PromptLibrary, check_override
from shared.prompts import Prompt, load_prompt
from shared.settings import Settings
from tests.conftest import RedisServer

INTENT = load_prompt("services.intent", "intent")
CHAT = load_prompt("services.dialog", "chat")  # one part, no "=== user ===" line
KEY = "test:prompts"


def refused(service: str, prompt: str, source: str) -> float:
    labels = {"service": service, "prompt": prompt, "source": source, "outcome": "refused"}
    return REGISTRY.get_sample_value("sg_prompt_overrides_total", labels) or 0.0


def edited(prompt: Prompt, line: str) -> str:
    """The prompt with a line added to its instruction."""
    return line + "\n" + prompt.text


# --------------------------------------------------------------------------- what an override must be
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (" \n\t", "the prompt is empty"),
        (INTENT.text + "x" * 20_000, "characters; the limit is 20000"),
        (edited(INTENT, "Costs 5$ at most."), "line 1: a '$' that starts no placeholder must be written '$$'"),
        (INTENT.text.replace("=== user ===", "=== data ==="), "no '=== user ===' line"),
        (edited(INTENT, "Reply in $language."), "unknown placeholder(s) $language in the instruction"),
        (INTENT.text.replace("$conversation", "the chat"), "missing placeholder(s) $conversation in the data"),
    ],
    ids=["empty", "too long", "stray dollar", "no user line", "unknown placeholder", "missing placeholder"],
)
def test_a_broken_override_is_named_for_what_is_wrong(text: str, problem: str) -> None:
    found = check_override(INTENT, text, 20_000)
    assert found is not None and problem in found


def test_a_fitting_override_passes() -> None:
    assert check_override(INTENT, edited(INTENT, "Be terse. Prices cost $$5."), 20_000) is None
    assert check_override(CHAT, CHAT.text + "\nNever mention competitors.", 20_000) is None
    assert "a '=== user ===' line the packaged prompt does not have" in (
        check_override(CHAT, CHAT.text + "\n=== user ===\nhi", 20_000) or ""
    )


# --------------------------------------------------------------------------- from a folder
async def test_a_folder_override_goes_live_a_broken_one_is_refused_and_removing_it_restores_the_package(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = PromptLibrary(["services.intent", "services.dialog"], folder=tmp_path)
    book = library.book("intent")
    (tmp_path / "intent").mkdir()
    path = tmp_path / "intent" / "intent.txt"
    good = edited(INTENT, "Be terse.")
    path.write_text(good)
    await library.refresh()
    assert book.get("intent") == Prompt("intent", good)
    (live,) = [p for p in library.view().prompts if p.name == "intent"]
    assert (live.source, live.location, live.version) == ("dir", str(path), Prompt("intent", good).version)
    assert library.book("dialog").get("guide") == load_prompt("services.dialog", "guide"), "no override: packaged"

    before = refused("intent", "intent", "dir")
    path.write_text(edited(INTENT, "Answer in $language."))
    with caplog.at_level(logging.ERROR, logger="shared.live_prompts"):
        await library.refresh()
        await library.refresh()  # the same broken text: reported once
    assert book.get("intent") == Prompt("intent", good), "the previous version stays live"
    (refusal,) = library.view().refused
    assert (refusal.name, refusal.source, refusal.location) == ("intent", "dir", str(path))
    assert "unknown placeholder(s) $language" in refusal.error
    assert refused("intent", "intent", "dir") == before + 1
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1

    path.unlink()
    await library.refresh()
    assert book.get("intent") == INTENT and library.view().refused == []


async def test_an_override_for_no_prompt_the_service_has_is_refused(tmp_path: Path) -> None:
    (tmp_path / "intent").mkdir()
    (tmp_path / "intent" / "intnet.txt").write_text("a typo in the name")
    (tmp_path / "intent" / "unreadable.txt").write_bytes(b"\xff\xfe not UTF-8")
    library = PromptLibrary(["services.intent"], folder=tmp_path)
    await library.refresh()
    errors = {r.name: r.error for r in library.view().refused}
    assert errors["intnet"].startswith("the intent service has no prompt 'intnet' (its prompts: intent)")
    assert errors["unreadable"].startswith("the intent service has no prompt")
    (tmp_path / "intent" / "intent.txt").write_bytes(b"\xff\xfe not UTF-8")
    await library.refresh()
    assert library.book("intent").get("intent") == INTENT
    assert {r.name: r.error for r in library.view().refused}["intent"].startswith("unreadable:")


# --------------------------------------------------------------------------- from Redis
async def test_a_redis_override_wins_over_the_folder_and_a_broken_one_keeps_the_previous(
    tmp_path: Path, redis_url: str
) -> None:
    (tmp_path / "dialog").mkdir()
    from_dir = CHAT.text + "\nFrom the folder."
    (tmp_path / "dialog" / "chat.txt").write_text(from_dir)
    sync = redis.Redis.from_url(redis_url)
    client = aioredis.Redis.from_url(redis_url)
    library = PromptLibrary(["services.dialog"], folder=tmp_path, redis=client, redis_key=KEY)
    book = library.book("dialog")
    try:
        await library.refresh()
        assert book.get("chat").text == from_dir
        from_redis = CHAT.text + "\r\nFrom Redis."  # CRLF read as LF
        sync.hset(KEY, mapping={"dialog/chat": from_redis.encode(), "intent/intent": b"another service's"})
        await library.refresh()
        assert book.get("chat").text == CHAT.text + "\nFrom Redis."
        (live,) = [p for p in library.view().prompts if p.name == "chat"]
        assert (live.source, live.location) == ("redis", f"{KEY} dialog/chat")

        sync.hset(KEY, "dialog/chat", "")  # empty: refused, the Redis text before it stays
        await library.refresh()
        assert book.get("chat").text == CHAT.text + "\nFrom Redis."
        assert [(r.source, r.error) for r in library.view().refused] == [("redis", "the prompt is empty")]

        sync.hdel(KEY, "dialog/chat")  # removed: the folder's is next
        await library.refresh()
        assert book.get("chat").text == from_dir and library.view().refused == []
    finally:
        await client.aclose()
        sync.close()


async def test_redis_down_keeps_what_it_held_and_says_so(own_redis: RedisServer) -> None:
    client = aioredis.Redis.from_url(own_redis.url, socket_connect_timeout=1.0, socket_timeout=2.0)
    library = PromptLibrary(["services.dialog"], redis=client, redis_key=KEY)
    held = CHAT.text + "\nHeld in Redis."
    try:
        redis.Redis.from_url(own_redis.url).hset(KEY, "dialog/chat", held)
        await library.refresh()
        assert library.book("dialog").get("chat").text == held
        own_redis.stop()
        await library.refresh()
        assert library.book("dialog").get("chat").text == held, "a source that does not answer takes nothing away"
        assert library.redis_error is not None and library.view().redis_error == library.redis_error
        own_redis.start()
        await library.refresh()
        assert library.redis_error is None
    finally:
        await client.aclose()


def test_the_settings_name_the_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SG_PROMPTS_DIR", "")
    monkeypatch.setenv("SG_PROMPTS_REDIS", "")
    settings = Settings(_env_file=None)
    assert settings.prompts_dir is None and settings.prompts_redis is None
    monkeypatch.setenv("SG_PROMPTS_DIR", "/etc/sg/prompts")
    monkeypatch.setenv("SG_PROMPTS_REDIS", "sg:prompts")
    settings = Settings(_env_file=None)
    assert settings.prompts_dir == Path("/etc/sg/prompts") and settings.prompts_redis == "sg:prompts"
