"""LLMClient: per-task routing, model resolution, configuration errors and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from prometheus_client import REGISTRY

from shared.llm import ChatMessage, ChatRequest, LLMClient, LLMConfigError, LLMUnavailable
from shared.settings import Settings, Task, TaskRoute

from .helpers import Sim, eventually, pool_settings

MESSAGES = [ChatMessage(role="user", content="hello")]


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., LLMClient]]:
    clients: list[LLMClient] = []

    def make(settings: Settings, **kwargs: Any) -> LLMClient:
        client = LLMClient(settings, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def _requests(backend: str, task: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value("llm_requests_total", {"backend": backend, "task": task, "outcome": outcome}) or 0.0
    )


async def test_every_task_is_local_by_default(make_client: Callable[..., LLMClient], dead_url: str) -> None:
    client = make_client(_settings(llm_pools={"unused": pool_settings(dead_url)}))
    assert all(client.uses_local(task) for task in Task)
    assert client.route(Task.INTENT) == TaskRoute()
    await client.start()
    await eventually(lambda: client.snapshot()["unused"][0]["healthy"] is False)
    assert await client.ready() == {"local": True}  # a pool no task uses does not count


async def test_local_handlers(make_client: Callable[..., LLMClient]) -> None:
    client = make_client(_settings())
    seen: list[ChatRequest] = []

    async def intent(request: ChatRequest) -> str:
        seen.append(request)
        return "search shoes"

    client.local.register(Task.INTENT, intent)
    reply = await client.complete(Task.INTENT, MESSAGES, session_id="s", request_id="r", max_tokens=9)
    assert (reply.text, reply.backend) == ("search shoes", "local")
    assert [delta async for delta in client.stream(Task.INTENT, MESSAGES)] == ["search ", "shoes"]
    request = seen[0]
    assert (request.task, request.session_id, request.request_id, request.max_tokens, request.temperature) == (
        Task.INTENT,
        "s",
        "r",
        9,
        0.0,
    )
    with pytest.raises(LLMUnavailable, match="summary"):
        await client.complete(Task.SUMMARY, MESSAGES)


async def test_task_routed_to_a_pool_goes_over_http(make_client: Callable[..., LLMClient], sim_a: Sim) -> None:
    settings = _settings(
        llm_pools={"sim": pool_settings(sim_a.url, model="pool-model", api_key="key")},
        llm_tasks={
            Task.DIALOG: TaskRoute(backend="openai", pool="sim", model="route-model", temperature=0.7, max_tokens=64),
            Task.SUMMARY: TaskRoute(backend="openai", pool="sim"),
        },
    )
    client = make_client(settings)
    assert not client.uses_local(Task.DIALOG) and client.uses_local(Task.INTENT)

    before = _requests("openai:sim", "dialog", "ok")
    reply = await client.complete(Task.DIALOG, MESSAGES, session_id="s-1", request_id="req-1")
    assert (reply.text, reply.backend) == ("alpha", "openai")
    assert _requests("openai:sim", "dialog", "ok") == before + 1
    sent = sim_a.last_request()
    assert (sent["body"]["model"], sent["body"]["temperature"], sent["body"]["max_tokens"]) == ("route-model", 0.7, 64)
    assert (sent["headers"]["authorization"], sent["headers"]["x-request-id"]) == ("Bearer key", "req-1")

    assert [d async for d in client.stream(Task.SUMMARY, MESSAGES, temperature=1.5, max_tokens=5)] == ["alpha"]
    sent = sim_a.last_request()
    assert (sent["body"]["model"], sent["body"]["temperature"], sent["body"]["max_tokens"]) == ("pool-model", 1.5, 5)
    assert sim_a.stats()["requests"] == 2
    assert await client.ready() == {"local": True, "openai:sim": True}
    assert [entry["url"] for entry in client.snapshot()["sim"]] == [sim_a.url]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        (TaskRoute(backend="openai", pool="nope"), "unknown pool 'nope'"),
        (TaskRoute(backend="openai"), "names no pool"),
    ],
)
def test_bad_pool_is_a_configuration_error(route: TaskRoute, message: str) -> None:
    settings = _settings(llm_pools={"vllm": pool_settings("http://x:1")}, llm_tasks={Task.SCENE: route})
    with pytest.raises(LLMConfigError, match=message) as caught:
        LLMClient(settings)
    assert "'scene'" in str(caught.value) and "vllm" in str(caught.value)


async def test_routes_to_bedrock(make_client: Callable[..., LLMClient]) -> None:
    bedrock = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    settings = _settings(
        bedrock_model_id="default-model",
        llm_tasks={
            Task.COPYWRITING: TaskRoute(backend="bedrock"),
            Task.SUMMARY: TaskRoute(backend="bedrock", model="summary-model"),
        },
    )
    client = make_client(settings, bedrock_client=bedrock)
    reply = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Buy now."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
        "metrics": {"latencyMs": 1},
    }
    with Stubber(bedrock) as stubber:
        for model in ("default-model", "summary-model"):
            expected = {
                "modelId": model,
                "messages": [{"role": "user", "content": [{"text": "hello"}]}],
                "inferenceConfig": {"temperature": 0.0, "maxTokens": 512},
            }
            stubber.add_response("converse", reply, expected)
        assert (await client.complete(Task.COPYWRITING, MESSAGES)).model == "default-model"
        assert (await client.complete(Task.SUMMARY, MESSAGES)).model == "summary-model"
        stubber.assert_no_pending_responses()
    assert "bedrock" in await client.ready()


async def test_stream_metrics_and_early_close(make_client: Callable[..., LLMClient], sim_a: Sim) -> None:
    settings = _settings(
        llm_pools={"metrics": pool_settings(sim_a.url)},
        llm_tasks={Task.DIALOG: TaskRoute(backend="openai", pool="metrics")},
    )
    client = make_client(settings)
    ttft = {"backend": "openai:metrics", "task": "dialog", "mode": "stream"}
    ttft_before = REGISTRY.get_sample_value("llm_time_to_first_token_seconds_count", ttft) or 0.0
    cancelled_before = _requests("openai:metrics", "dialog", "cancelled")

    sim_a.configure(reply="word " * 100, itl_ms=10)
    stream = client.stream(Task.DIALOG, MESSAGES)
    assert await anext(stream) == "word "
    await stream.aclose()
    await eventually(lambda: sim_a.stats()["cancelled"] == 1)
    assert REGISTRY.get_sample_value("llm_time_to_first_token_seconds_count", ttft) == ttft_before + 1
    assert _requests("openai:metrics", "dialog", "cancelled") == cancelled_before + 1


async def test_time_to_first_token_is_recorded_for_a_whole_completion_too(
    make_client: Callable[..., LLMClient], sim_a: Sim
) -> None:
    settings = _settings(
        llm_pools={"ttft": pool_settings(sim_a.url)},
        llm_tasks={Task.INTENT: TaskRoute(backend="openai", pool="ttft")},
    )
    client = make_client(settings)
    labels = {"backend": "openai:ttft", "task": "intent", "mode": "complete"}
    before = REGISTRY.get_sample_value("llm_time_to_first_token_seconds_count", labels) or 0.0
    assert (await client.complete(Task.INTENT, MESSAGES)).text == "alpha"
    assert REGISTRY.get_sample_value("llm_time_to_first_token_seconds_count", labels) == before + 1


async def test_unavailable_outcome_is_counted(make_client: Callable[..., LLMClient], dead_url: str) -> None:
    settings = _settings(
        llm_pools={"down": pool_settings(dead_url, max_retries=0)},
        llm_tasks={Task.INTENT: TaskRoute(backend="openai", pool="down")},
    )
    client = make_client(settings)
    before = _requests("openai:down", "intent", "unavailable")
    with pytest.raises(LLMUnavailable):
        await client.complete(Task.INTENT, MESSAGES)
    assert _requests("openai:down", "intent", "unavailable") == before + 1


async def test_context_manager_runs_health_checks(sim_a: Sim) -> None:
    settings = _settings(
        llm_pools={"sim": pool_settings(sim_a.url, health_interval_s=0.02)},
        llm_tasks={Task.DIALOG: TaskRoute(backend="openai", pool="sim")},
    )
    async with LLMClient(settings) as client:
        sim_a.configure(healthy=False)
        await eventually(lambda: client.snapshot()["sim"][0]["healthy"] is False)
        assert await client.ready() == {"local": True, "openai:sim": False}
    sim_a.configure(healthy=True)
    await asyncio.sleep(0.05)
    assert client.snapshot()["sim"][0]["healthy"] is False  # closed: no more probes
