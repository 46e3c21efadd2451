"""Tokens counted as the serving model counts them (shared/llm/tokens.py), and the usage and sampling parameters
the LLM client carries: the tokenize endpoint (against the simulator), a local tokenizer.json built here, the
word estimate as the fallback, and which of them counted, in sg_tokens_counted_total."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from shared.llm import ChatMessage, LLMClient, TokenCounter, UsageMeter, token_counter
from shared.llm.chunking import count_tokens, split_chunks
from shared.settings import Settings, Task, TaskRoute

from .helpers import Sim, pool_settings

MESSAGES = [ChatMessage(role="system", content="be brief"), ChatMessage(role="user", content="a phone, please")]


def counted(method: str) -> float:
    return REGISTRY.get_sample_value("sg_tokens_counted_total", {"method": method}) or 0.0


def pooled(sim: Sim, **route: Any) -> Settings:
    """The dialog task served by the simulator's pool."""
    return Settings(
        _env_file=None,
        llm_pools={"sim": pool_settings(sim.url)},
        llm_tasks={Task.DIALOG: TaskRoute(backend="openai", pool="sim", **route)},
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def tokenizer_json(tmp_path: Path) -> Path:
    """A word-level tokenizer (whitespace and punctuation split), saved as a serving model's tokenizer.json is."""
    words = ["[UNK]", "a", "phone", "with", "good", "camera", ",", ".", "please", "the"]
    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    return path


async def test_the_tokenize_endpoint_counts_once_per_text(sim_a: Sim, http: httpx.AsyncClient) -> None:
    counter = token_counter(pooled(sim_a), Task.DIALOG, http)
    assert counter.method == "endpoint"
    text = "A light phone, with a camera that shines at night."
    before = counted("endpoint")
    assert await counter.count(text) == len(split_chunks(text))
    assert await counter.count(text) == len(split_chunks(text))
    assert sim_a.stats()["tokenized"] == 1  # the second count was kept
    assert counted("endpoint") == before + 2


async def test_a_server_without_the_endpoint_is_counted_locally(
    sim_a: Sim, http: httpx.AsyncClient, tokenizer_json: Path
) -> None:
    sim_a.configure(tokenize=False)
    counter = token_counter(pooled(sim_a).model_copy(update={"tokenizer_path": tokenizer_json}), Task.DIALOG, http)
    before = counted("local")
    assert await counter.count("a phone with good camera") == 5
    assert await counter.count("the camera") == 2
    assert sim_a.stats()["tokenized"] == 1  # asked once, then left alone
    assert counted("local") == before + 2


async def test_without_endpoint_or_tokenizer_the_estimate_counts(http: httpx.AsyncClient) -> None:
    counter = token_counter(Settings(_env_file=None), Task.DIALOG, http)  # the dialog task is local
    assert counter.method == "estimate"
    before = counted("estimate")
    assert await counter.count("两千元左右的手机 please") == count_tokens("两千元左右的手机 please")
    assert counted("estimate") == before + 1


async def test_a_local_tokenizer_counts_and_clips_between_tokens(tokenizer_json: Path) -> None:
    counter = token_counter(Settings(_env_file=None, tokenizer_path=tokenizer_json), Task.DIALOG)
    assert counter.method == "local"
    text = "a phone, with a good camera."
    assert await counter.count(text) == 8  # the comma and the full stop are tokens of their own here
    assert count_tokens(text) == 6  # the estimate counts words
    assert await counter.clip(text, 3) == "a phone,"
    assert await counter.clip(text, 8) == text


async def test_clipping_with_the_endpoint_stays_within_the_count(sim_a: Sim, http: httpx.AsyncClient) -> None:
    counter = token_counter(pooled(sim_a), Task.DIALOG, http)
    text = "word " * 50
    clipped = await counter.clip(text, 7)
    assert await counter.count(clipped) <= 7 and text.startswith(clipped) and len(split_chunks(clipped)) == 7


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[[Settings], LLMClient]]:
    clients: list[LLMClient] = []

    def make(settings: Settings) -> LLMClient:
        clients.append(LLMClient(settings))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


async def test_the_client_counts_with_its_pool(sim_a: Sim, make_client: Callable[[Settings], LLMClient]) -> None:
    client = make_client(pooled(sim_a))
    assert client.tokens(Task.DIALOG).method == "endpoint" and client.tokens(Task.INTENT).method == "estimate"
    assert await client.tokens(Task.DIALOG).count("hello there") == 2 and sim_a.stats()["tokenized"] == 1


async def test_sampling_reaches_the_server_and_max_tokens_stays_within_the_route(
    sim_a: Sim, make_client: Callable[[Settings], LLMClient]
) -> None:
    client = make_client(pooled(sim_a, max_tokens=64))
    sim_a.configure(reply="one two three four five six seven eight")
    meter = UsageMeter()
    reply = await client.complete(
        Task.DIALOG, MESSAGES, max_tokens=1000, top_p=0.5, seed=7, user="alice", stop=["seven"], meter=meter
    )
    sent = sim_a.last_request()["body"]
    assert (sent["max_tokens"], sent["top_p"], sent["seed"], sent["user"], sent["stop"]) == (64, 0.5, 7, "alice", ["seven"])
    assert reply.text == "one two three four five six "  # the server ended it at the stop sequence
    assert meter.usage is not None and not meter.usage.estimated
    assert (meter.usage.prompt_tokens, meter.usage.completion_tokens) == (5, 6) and meter.finish_reason == "stop"

    deltas = [d async for d in client.stream(Task.DIALOG, MESSAGES, max_tokens=3, meter=meter)]
    assert "".join(deltas) == "one two three " and meter.finish_reason == "length"
    assert meter.calls == 2 and meter.usage is not None
    assert (meter.usage.prompt_tokens, meter.usage.completion_tokens) == (10, 9)  # summed over both calls


async def test_usage_a_server_does_not_report_is_counted_and_flagged(
    sim_a: Sim, make_client: Callable[[Settings], LLMClient]
) -> None:
    client = make_client(pooled(sim_a))
    sim_a.configure(reply="one two three", report_usage=False)
    meter = UsageMeter()
    await client.complete(Task.DIALOG, MESSAGES, meter=meter)
    assert [d async for d in client.stream(Task.DIALOG, MESSAGES, meter=meter)] == ["one ", "two ", "three"]
    assert meter.usage is not None and meter.usage.estimated
    # Counted at the pool's tokenize endpoint, which counts as the simulator does.
    assert (meter.usage.prompt_tokens, meter.usage.completion_tokens) == (10, 6)


async def test_a_local_answer_reports_no_usage(make_client: Callable[[Settings], LLMClient]) -> None:
    client = make_client(Settings(_env_file=None))

    async def handler(_: Any) -> str:
        return "local words"

    client.local.register(Task.DIALOG, handler)
    meter = UsageMeter()
    await client.complete(Task.DIALOG, MESSAGES, meter=meter)
    assert [d async for d in client.stream(Task.DIALOG, MESSAGES, meter=meter)] == ["local ", "words"]
    assert meter.usage is None  # no model ran


def test_default_counter_is_the_estimate() -> None:
    assert TokenCounter().method == "estimate" and TokenCounter().count_here("a b c") == 3
