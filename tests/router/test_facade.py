"""The OpenAI facade end to end, with the openai SDK against the mini suite (gateway, router, services, and LLM
simulators for the NLU and dialog tasks): the parameters reach the dialog's LLM call, usage is what the
models reported, a history the gateway has not seen rebuilds its session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from shared.llm.chunking import split_chunks
from tests.router.conftest import NLU_REPLY, MiniSuite

KEY = "dev-key"
INSTRUCTIONS = "Answer in at most two sentences."


@pytest.fixture
def sdk(mini_suite: MiniSuite) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{mini_suite.gateway}/v1", api_key=KEY, max_retries=0, timeout=60) as client:
        yield client


def prompt_tokens(requests: list[dict[str, Any]]) -> int:
    """The prompt tokens the simulator reported for these completions: its tokens are the pieces it streams."""
    return sum(len(split_chunks(str(m["content"]))) for r in requests for m in r["body"]["messages"])


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_the_parameters_reach_the_model_and_usage_is_what_it_reported(
    mini_suite: MiniSuite, sdk: openai.OpenAI, stream: bool
) -> None:
    mini_suite.configure(mini_suite.nlu_sim, reply=NLU_REPLY)
    mini_suite.configure(mini_suite.dialog_sim, reply="word " * 30)
    ask: dict[str, Any] = {
        "model": "shopping-guide",
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": "a phone with a good camera"},
        ],
        "max_tokens": 4,
        "temperature": 0.2,
        "top_p": 0.5,
        "seed": 3,
        "stop": "zzz",
        "user": f"e2e-{stream}",
    }
    if stream:
        chunks = list(sdk.chat.completions.create(**ask, stream=True, stream_options={"include_usage": True}))
        reply = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
        usage = chunks[-1].usage
    else:
        completion = sdk.chat.completions.create(**ask)
        reply, finish, usage = completion.choices[0].message.content, completion.choices[0].finish_reason, completion.usage
    # Four tokens, as generated: the guide streams each piece at once, the last one's trailing space too.
    assert reply.rstrip() == "word word word word" and finish == "length"

    dialog = mini_suite.stats(mini_suite.dialog_sim)["last_requests"]
    assert len(dialog) == 1
    sent = dialog[0]["body"]
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"], sent["seed"], sent["stop"], sent["user"]) == (
        4, 0.2, 0.5, 3, ["zzz"], f"e2e-{stream}"
    )
    system, *chat = sent["messages"]
    assert system["role"] == "system" and f"<operator_instructions>\n{INSTRUCTIONS}\n" in system["content"]
    assert all(INSTRUCTIONS not in m["content"] for m in chat)

    nlu = mini_suite.stats(mini_suite.nlu_sim)["last_requests"]
    assert len(nlu) == 2  # intent and extraction
    prompt = prompt_tokens(nlu + dialog)
    generated = 2 * len(split_chunks(NLU_REPLY)) + 4  # the two NLU answers, and the reply cut at max_tokens
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (prompt, generated, prompt + generated)
    assert usage.model_extra == {"estimated": False}


def test_a_history_the_gateway_has_not_seen_rebuilds_the_session(mini_suite: MiniSuite, sdk: openai.OpenAI) -> None:
    mini_suite.configure(mini_suite.nlu_sim, reply=NLU_REPLY)
    mini_suite.configure(mini_suite.dialog_sim, reply="Here are three phones with great cameras.")
    messages: list[Any] = [
        {"role": "user", "content": "I need a new phone"},
        {"role": "assistant", "content": "Sure! What budget do you have in mind?"},
        {"role": "user", "content": "around 3000 yuan, good camera"},
    ]
    first = sdk.chat.completions.create(model="shopping-guide", messages=messages)
    session_id = (first.model_extra or {})["session_id"]
    # Intent and extraction read the whole dialog, not only its last message.
    for request in mini_suite.stats(mini_suite.nlu_sim)["last_requests"]:
        prompt = json.dumps(request["body"]["messages"], ensure_ascii=False)
        assert "I need a new phone" in prompt and "around 3000 yuan" in prompt

    messages += [{"role": "assistant", "content": first.choices[0].message.content}]
    messages += [{"role": "user", "content": "in black"}]
    second = sdk.chat.completions.create(model="shopping-guide", messages=messages)
    assert (second.model_extra or {})["session_id"] == session_id  # the resent history found its session

    url = f"{mini_suite.gateway}/v1/sessions/{session_id}"
    session = httpx.get(url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30).json()
    assert [m["content"] for m in session["history"]] == [
        *(m["content"] for m in messages),
        second.choices[0].message.content,
    ]
    assert session["intents"] == ["", "specific needs", "specific needs"]
    assert session["preferences"]["category"] == "smartphone"
