"""The router's agents over real HTTP: stage events in order, concurrency, cancellation, product agents."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import pytest

from gateway.router.tree import Node, TaskTree
from shared.prompts import load_prompt
from tests.router.conftest import CHAT_REPLY, NLU_REPLY, NLU_TTFT_MS, MiniSuite


def _events(suite: MiniSuite, body: dict) -> list[tuple[str, dict]]:
    """(event, data) for every event of a streamed turn."""
    out = []
    with httpx.stream("POST", f"{suite.router}/v1/chat", json={**body, "stream": True}, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = "message"  # SSE's default event name
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                out.append((name, json.loads(line[5:])))
    return out


async def test_tree_runs_independent_nodes_together() -> None:
    log: list[str] = []

    async def work(name: str) -> str:
        log.append(f"start {name}")
        await asyncio.sleep(0.01)
        log.append(f"end {name}")
        return name

    tree: TaskTree[None] = TaskTree([
        Node("c", lambda _: work("c"), after=("a", "b")),
        Node("a", lambda _: work("a")),
        Node("b", lambda _: work("b")),
    ])
    results = await tree.run(None)
    assert results == {"a": "a", "b": "b", "c": "c"}
    assert set(log[:2]) == {"start a", "start b"}, "a and b run together: both start before either ends"
    assert set(log[2:4]) == {"end a", "end b"} and log[4:] == ["start c", "end c"], "c waits for both"


def test_tree_rejects_cycles_and_unknown_dependencies() -> None:
    async def noop(_: object) -> None:
        return None

    with pytest.raises(ValueError, match="cycle"):
        TaskTree([Node("a", noop, after=("b",)), Node("b", noop, after=("a",))])
    with pytest.raises(ValueError, match="unknown node 'z'"):
        TaskTree([Node("a", noop, after=("z",))])


def test_shopping_turn_streams_stages_in_order_with_nlu_concurrent(mini_suite: MiniSuite) -> None:
    mini_suite.configure(mini_suite.nlu_sim, ttft_ms=NLU_TTFT_MS, reply=NLU_REPLY)
    mini_suite.configure(mini_suite.dialog_sim, reply="These three phones have the best cameras in your budget, see below.")
    events = _events(mini_suite, {"message": "I want a phone that takes great photos"})
    names = [name for name, _ in events]
    first_token = names.index("token")
    assert names[:4] == ["session", "intent", "scene", "call"]
    assert set(names[4:first_token]) == {"products", "knowledge"}
    assert names[-2:] == ["suggestions", "done"] and set(names[first_token:-2]) == {"token"}
    assert len(names[first_token:-2]) > 3, "the reply arrives in pieces"
    data = {name: payload for name, payload in events}
    assert all(hit["score"] >= 0.35 for hit in data["knowledge"]["hits"]), "loosely related guides are left out"
    assert data["intent"]["engine"] == "llm" and data["call"]["call"]["arguments"]["category"] == "smartphone"
    assert data["products"]["products"] and data["done"]["reply"] == "".join(
        payload["text"] for name, payload in events if name == "token"
    )
    # Each stage an LLM answered names the prompt it answered with.
    assert data["done"]["engines"] == {"intent": "llm", "extraction": "llm", "dialog": "llm"}
    assert data["done"]["prompt_versions"] == {
        "intent": load_prompt("services.intent", "intent").version,
        "extraction": load_prompt("services.extraction", "extraction").version,
        "dialog": load_prompt("services.dialog", "guide").version,
    }
    # Intent and extraction asked the LLM together: each request reached the simulator before the other ended
    # (each takes NLU_TTFT_MS there), where a pipeline would have sent the second only after the first.
    nlu = mini_suite.stats(mini_suite.nlu_sim)
    assert nlu["requests"] == 2
    first, second = sorted(nlu["last_requests"], key=lambda request: request["started"])
    assert second["started"] < first["ended"]


def test_chit_chat_skips_recommendation(mini_suite: MiniSuite) -> None:
    mini_suite.configure(mini_suite.nlu_sim, reply=CHAT_REPLY)
    names = [name for name, _ in _events(mini_suite, {"message": "hello there"})]
    assert names[:4] == ["session", "intent", "scene", "call"]
    assert "products" not in names and "knowledge" not in names
    assert names[-2:] == ["suggestions", "done"]


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "json"])
@pytest.mark.parametrize("entry", ["router", "gateway"])
async def test_client_disconnect_cancels_the_dialog_generation(mini_suite: MiniSuite, entry: str, stream: bool) -> None:
    mini_suite.configure(mini_suite.nlu_sim, reply=NLU_REPLY)
    mini_suite.configure(mini_suite.dialog_sim, itl_ms=50, reply="word " * 200)
    url = f"{getattr(mini_suite, entry)}/v1/chat"
    body = {"message": "a phone with a good camera", "stream": stream}
    async with httpx.AsyncClient(timeout=30, headers={"Authorization": "Bearer dev-key"}) as client:
        if stream:
            async with client.stream("POST", url, json=body) as response:
                assert response.status_code == 200
                tokens = 0
                async for line in response.aiter_lines():
                    tokens += line.startswith("event: token")
                    if tokens == 3:
                        break  # hang up mid-reply
        else:
            # A JSON turn answers only once the reply is whole: hang up while the dialog generation runs.
            waiting = asyncio.create_task(client.post(url, json=body))
            while not mini_suite.stats(mini_suite.dialog_sim)["in_flight"]:
                assert not waiting.done(), "the turn ended before its reply was generated"
                await asyncio.sleep(0.02)
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
    for _ in range(100):
        stats = mini_suite.stats(mini_suite.dialog_sim)
        if stats["cancelled"]:
            break
        await asyncio.sleep(0.05)
    assert stats["cancelled"] == 1 and stats["completed"] == 0


def test_sessions_carry_history_and_profile(mini_suite: MiniSuite) -> None:
    mini_suite.configure(mini_suite.nlu_sim, reply=NLU_REPLY)
    mini_suite.configure(mini_suite.dialog_sim, reply="Here are some phones.")
    first = httpx.post(f"{mini_suite.router}/v1/chat", json={"message": "a phone with a good camera"}, timeout=30)
    session_id = first.json()["session_id"]
    httpx.post(f"{mini_suite.router}/v1/chat", json={"message": "and?", "session_id": session_id}, timeout=30)
    session = httpx.get(f"{mini_suite.router}/v1/sessions/{session_id}").json()
    assert [m["role"] for m in session["history"]] == ["user", "assistant", "user", "assistant"]
    assert session["intents"] == ["specific needs", "specific needs"]
    assert session["preferences"]["category"] == "smartphone" and session["last_products"]
    assert httpx.get(f"{mini_suite.router}/v1/sessions/unknown-id").status_code == 404


def test_compare_copywriting_and_summary_agents(mini_suite: MiniSuite) -> None:
    mini_suite.configure(mini_suite.nlu_sim, reply=NLU_REPLY)
    turn = httpx.post(f"{mini_suite.router}/v1/chat", json={"message": "a phone with a good camera"}, timeout=30).json()
    skus = [p["skuId"] for p in turn["products"][:2]]
    compared = httpx.post(
        f"{mini_suite.router}/v1/compare", json={"sku_ids": skus, "session_id": turn["session_id"]}, timeout=30
    )
    assert compared.status_code == 200
    body = compared.json()
    assert [p["skuId"] for p in body["products"]] == skus
    assert body["rows"][0]["key"] == "price" and all(len(row["values"]) == 2 for row in body["rows"])
    assert body["recommendation"]["skuId"] in skus and body["recommendation"]["reason"]
    assert httpx.post(f"{mini_suite.router}/v1/compare", json={"sku_ids": [skus[0], "nope"]}).status_code == 404
    assert httpx.post(f"{mini_suite.router}/v1/compare", json={"sku_ids": [skus[0]]}).status_code == 422

    copy = httpx.post(
        f"{mini_suite.router}/v1/agents/copywriting",
        json={"sku_id": skus[0], "session_id": turn["session_id"]},
        timeout=30,
    )
    assert copy.status_code == 200 and copy.json()["copy"]
    both = httpx.post(f"{mini_suite.router}/v1/agents/copywriting", json={"sku_id": skus[0], "product": turn["products"][0]})
    assert both.status_code == 422 and "exactly one" in both.json()["error"]["message"]

    summary = httpx.post(
        f"{mini_suite.router}/v1/agents/summary", json={"session_id": turn["session_id"]}, timeout=30
    )
    assert summary.status_code == 200
    assert set(summary.json()["summary"]) == {"用户问题", "客服方案", "是否接受", "是否负面情绪"}


def test_sessions_are_kept_per_tenant(mini_suite: MiniSuite) -> None:
    mini_suite.configure(mini_suite.nlu_sim, reply=CHAT_REPLY)
    turn = httpx.post(
        f"{mini_suite.router}/v1/chat", json={"message": "hi"}, headers={"X-SG-Tenant": "shop-a"}, timeout=30
    ).json()
    url = f"{mini_suite.router}/v1/sessions/{turn['session_id']}"
    assert httpx.get(url, headers={"X-SG-Tenant": "shop-a"}).status_code == 200
    assert httpx.get(url, headers={"X-SG-Tenant": "shop-b"}).status_code == 404
    assert httpx.get(url).status_code == 404
