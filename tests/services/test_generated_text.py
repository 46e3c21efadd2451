"""Generated text is checked before it is used, against the LLM simulator scripted as a misbehaving model:
a dialog reply that loops or runs past the length bound is cut (its done event says why), a short reply is not
held back, a schema-valid summary or extraction the dialog contradicts is rejected; each verdict is counted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from services.dialog.engine import drop_guide_prefix
from shared.prompts import load_prompt
from shared.settings import PoolSettings, Settings, Task, TaskRoute
from shared.simulator import SimConfig, run_in_thread
from shared.simulator import create_app as create_simulator
from shared.suite import serve_in_threads
from tests.services.conftest import parse_sse

MAX_REPLY_CHARS = 300


@dataclass(frozen=True)
class Suite:
    sim: str
    services: dict[str, str]

    def script(self, **config: Any) -> None:
        httpx.post(f"{self.sim}/sim/reset").raise_for_status()
        httpx.post(f"{self.sim}/sim/config", json=config).raise_for_status()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(f"{self.sim}/sim/stats").json()
        return stats

    def post(self, service: str, path: str, body: dict[str, Any]) -> httpx.Response:
        response = httpx.post(f"{self.services[service]}{path}", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response


@pytest.fixture(scope="module")
def suite() -> Iterator[Suite]:
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(run_in_thread(create_simulator(SimConfig())))
        settings = Settings(
            _env_file=None,
            env="test",
            cache_backend="memory",
            log_json=False,
            llm_pools={"sim": PoolSettings(endpoints=[sim.url], health_interval_s=60, max_retries=0)},
            llm_tasks={task: TaskRoute(backend="openai", pool="sim") for task in Task},
            dialog_max_reply_chars=MAX_REPLY_CHARS,
        )
        names = ["extraction", "dialog", "summary"]
        started = stack.enter_context(serve_in_threads(settings, names))
        yield Suite(sim.url, {name: getattr(started.services, name) for name in names})


def verdict(task: str, name: str) -> float:
    return REGISTRY.get_sample_value("sg_llm_replies_total", {"service": task, "verdict": name}) or 0.0


def chat(suite: Suite, text: str, stream: bool = True) -> tuple[str, dict[str, Any]]:
    """The streamed tokens joined, and the done event's data (or the JSON answer)."""
    body = {"messages": [{"role": "user", "content": text}], "intent": "random chat", "engine": "llm", "stream": stream}
    response = suite.post("dialog", "/v1/dialog", body)
    if not stream:
        return "", response.json()
    events = parse_sse(response.text)
    assert events[-1][0] == "done", events[-1]
    return "".join(d["text"] for k, d in events if k == "token"), events[-1][1]


# --------------------------------------------------------------------------- the dialog stream
def what_was_said(answer: dict[str, Any]) -> dict[str, Any]:
    """The reply, its engine and why it was cut, less its finish reason and usage (tested with the facade)."""
    return {key: answer[key] for key in ("reply", "engine", "truncated") if key in answer}


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        ("好的，我来陪您聊聊。" + "我是一个美丽的鸟宝" * 80, "好的，我来陪您聊聊。我是一个美丽的鸟宝"),
        ("Sure, let's chat! " + "I am a beautiful bird. " * 40, "Sure, let's chat! I am a beautiful bird."),
    ],
    ids=["chinese", "english"],
)
def test_a_looping_reply_is_cut_where_the_loop_begins(suite: Suite, reply: str, kept: str) -> None:
    suite.script(replies={"bird": reply}, itl_ms=1)
    before = verdict("dialog", "truncated_repetition")
    tokens, done = chat(suite, "tell me about the bird")
    assert tokens == done["reply"] == kept
    assert what_was_said(done) == {"reply": kept, "engine": "llm", "truncated": "repetition"}
    assert verdict("dialog", "truncated_repetition") == before + 1
    deadline = time.monotonic() + 5
    while not suite.stats()["cancelled"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert suite.stats()["cancelled"] == 1 and suite.stats()["completed"] == 0, "the generation was stopped upstream"
    _, answer = chat(suite, "tell me about the bird", stream=False)
    assert what_was_said(answer) == {"reply": kept, "engine": "llm"}


def test_a_reply_past_the_length_bound_is_cut_there(suite: Suite) -> None:
    long = " ".join(f"Point {i} is about topic {i * 7}." for i in range(60))
    suite.script(reply=long)
    before = verdict("dialog", "truncated_length")
    tokens, done = chat(suite, "tell me everything")
    assert done["truncated"] == "length" and tokens == done["reply"]
    assert len(tokens) <= MAX_REPLY_CHARS and long.startswith(tokens) and long[len(tokens)] == " "
    assert verdict("dialog", "truncated_length") == before + 1


@pytest.mark.parametrize(
    ("reply", "kept"),
    [("Hi!", "Hi!"), ("Shopping Guide: Hi!", "Hi!"), ("导购：您好！", "您好！"), ("Guide", "Guide"), ("OK", "OK")],
)
def test_a_short_reply_arrives_whole_with_its_role_prefix_dropped(suite: Suite, reply: str, kept: str) -> None:
    suite.script(reply=reply)
    before = verdict("dialog", "accepted")
    tokens, done = chat(suite, "hello there")
    assert tokens == kept and what_was_said(done) == {"reply": kept, "engine": "llm"}
    assert verdict("dialog", "accepted") == before + 1


async def test_a_reply_that_cannot_be_a_role_prefix_flows_at_once() -> None:
    """Only a head that may still become "Shopping Guide:" / "导购：" is held back; anything else is sent as
    soon as it comes."""
    seen: list[str] = []

    async def model(pieces: list[str]) -> AsyncGenerator[str, None]:
        for piece in pieces:
            seen.append(f"model {piece}")
            yield piece
            await asyncio.sleep(0)

    async def relay(pieces: list[str]) -> list[str]:
        seen.clear()
        async for piece in drop_guide_prefix(model(pieces)):
            seen.append(f"sent {piece}")
        return seen

    assert await relay(["Hello", " there"]) == ["model Hello", "sent Hello", "model  there", "sent  there"]
    assert await relay(["导", "购", "：", "好"]) == ["model 导", "model 购", "model ：", "model 好", "sent 好"]
    assert await relay(["Sho", "w me"]) == ["model Sho", "model w me", "sent Show me"]
    assert await relay(["Hi"]) == ["model Hi", "sent Hi"]


# --------------------------------------------------------------------------- consistency
ANGRY = (
    "用户：我买的耳机才用了三天就坏了，左耳没声音。\n"
    "客服：非常抱歉，您可以申请售后维修。\n"
    "用户：太过分了！！什么破耳机，我要投诉你们，还要给差评！\n"
    "客服：理解您的心情，已为您登记。\n"
    "用户：我不接受维修，我要投诉。"
)


def summary(negative: str, accepted: str) -> str:
    return json.dumps(
        {"用户问题": "耳机三天就坏了，要求退货", "客服方案": "客服建议申请售后维修", "是否接受": accepted, "是否负面情绪": negative},
        ensure_ascii=False,
    )


def test_a_summary_the_dialog_contradicts_is_rejected(suite: Suite) -> None:
    before = verdict("summary", "inconsistent")
    suite.script(reply=summary("否", "否"))  # an angry customer, summarised as calm: twice
    answer = suite.post("summary", "/v1/summary", {"conversation": ANGRY, "engine": "llm"}).json()
    assert answer["engine"] == "local" and answer["summary"]["是否负面情绪"] == "是"
    requests = [r["body"]["messages"] for r in suite.stats()["last_requests"]]
    assert len(requests) == 2 and "是否负面情绪" in requests[1][-1]["content"], "the repair says what was wrong"
    suite.script(script=[summary("是", "是"), summary("是", "否")])  # "I don't accept" summarised as accepted
    answer = suite.post("summary", "/v1/summary", {"conversation": ANGRY, "engine": "llm"}).json()
    assert answer == {"summary": json.loads(summary("是", "否")), "engine": "llm", "prompt_version": load_prompt("services.summary", "summary").version}
    assert verdict("summary", "inconsistent") == before + 3


def test_a_summary_that_fills_in_the_template_is_rejected(suite: Suite) -> None:
    before = verdict("summary", "echoed")
    suite.script(reply='{"用户问题": "xxx", "客服方案": "xxx", "是否接受": "是", "是否负面情绪": "否"}')
    answer = suite.post("summary", "/v1/summary", {"conversation": ANGRY, "engine": "llm"}).json()
    assert answer["engine"] == "local" and "xxx" not in json.dumps(answer)
    assert len(suite.stats()["last_requests"]) == 1 and verdict("summary", "echoed") == before + 1


def call(category: str, **arguments: str) -> str:
    body = {"call": {"name": "get_recommds_by_sku", "arguments": {"category": category, **arguments}}}
    return f"<response>{json.dumps(body, ensure_ascii=False)}</response>"


PHONE_DIALOG = {"messages": [{"role": "user", "content": "我想买个手机，要三星的，拍照好一点"}], "engine": "llm"}


@pytest.mark.parametrize(
    ("replies", "expected", "verdicts"),
    [
        # a brand the customer never named, then the one they did (by its alias, 三星)
        ([call("smartphone", brand="Apple"), call("smartphone", brand="Samsung")], "llm", {"inconsistent": 1}),
        # a category nothing in the dialog is about, twice
        ([call("laptop", brand="Samsung"), call("laptop")], "local", {"inconsistent": 2}),
        # the brands of the prompt's old example, which the dialog does not name: copied, not asked again
        ([call("smartphone", brand="Samsung and Google Pixel")], "local", {"echoed": 1}),
        # a value of the prompt's form examples the customer never said
        ([call("smartphone", battery="long battery life")], "local", {"echoed": 1}),
        ([call("smartphone", brand="三星", camera="拍照好一点")], "llm", {"accepted": 1}),
    ],
    ids=["unnamed-brand", "unsupported-category", "example-brand", "example-value", "consistent"],
)
def test_an_extraction_the_dialog_does_not_support_is_rejected(
    suite: Suite, replies: list[str], expected: str, verdicts: dict[str, int]
) -> None:
    before = {name: verdict("extraction", name) for name in verdicts}
    suite.script(script=replies)
    answer = suite.post("extraction", "/v1/extract", PHONE_DIALOG).json()
    assert answer["engine"] == expected
    if expected == "llm":
        kept = {key: value for key, value in answer["call"].items() if key != "constraints"}  # read by the router
        assert kept == json.loads(replies[-1].removeprefix("<response>").removesuffix("</response>"))["call"]
    assert {name: verdict("extraction", name) - before[name] for name in verdicts} == verdicts
