"""The OpenAI-compatible facade, used through the real openai SDK against a real gateway server whose
router is the fake one (tests/gateway/fakes.py), streamed and not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from gateway.tier1.app import create_app
from shared.llm.chunking import split_chunks
from shared.simulator import run_in_thread

from .conftest import KEY
from .fakes import Upstream, chat_reply


@pytest.fixture
def sdk(make_settings) -> Iterator[openai.OpenAI]:
    with (
        run_in_thread(create_app(make_settings())) as server,
        openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0) as client,
    ):
        yield client


def _router_calls(upstream: Upstream) -> list[dict]:
    return [r["body"] for r in upstream.requests if r["path"] == "/v1/chat"]


def test_models_lists_the_guide(sdk) -> None:
    assert [m.id for m in sdk.models.list()] == ["shopping-guide"]


def test_a_completion(sdk, upstream) -> None:
    completion = sdk.chat.completions.create(
        model="shopping-guide",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "a phone with a good camera"}],
    )
    assert completion.choices[0].message.content == chat_reply("a phone with a good camera")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens > 3
    (sent,) = _router_calls(upstream)
    assert sent["message"] == "a phone with a good camera" and sent["stream"] is False


def test_a_streamed_completion_arrives_token_by_token(sdk, upstream) -> None:
    stream = sdk.chat.completions.create(
        model="shopping-guide",
        messages=[{"role": "user", "content": [{"type": "text", "text": "running shoes"}]}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == chat_reply("running shoes")
    assert len(deltas) > 3
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == len(deltas)
    assert _router_calls(upstream)[0]["stream"] is True


def test_the_session_follows_the_user_field(sdk, upstream) -> None:
    for text in ("hi", "more"):
        sdk.chat.completions.create(model="shopping-guide", messages=[{"role": "user", "content": text}], user="alice")
    sdk.chat.completions.create(model="shopping-guide", messages=[{"role": "user", "content": "hi"}], user="bob/x")
    alice, again, bob = (call["session_id"] for call in _router_calls(upstream))
    assert alice == again == "u-dev-alice"
    assert bob.startswith("u-") and bob != alice and len(bob) <= 64


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("message", "saved"), [("hi", True), ("unsaved", False)])
def test_the_answer_says_whether_the_turn_was_saved(sdk, stream, message, saved) -> None:
    ask = {"model": "shopping-guide", "messages": [{"role": "user", "content": message}]}
    if stream:
        last = [c for c in sdk.chat.completions.create(**ask, stream=True) if c.choices][-1]
    else:
        last = sdk.chat.completions.create(**ask)
    assert last.model_extra["session_saved"] is saved


@pytest.mark.parametrize("stream", [False, True])
def test_resending_the_history_continues_the_session(sdk, upstream, stream) -> None:
    def ask(messages: list[dict]) -> str:
        if stream:
            return "".join(
                c.choices[0].delta.content or ""
                for c in sdk.chat.completions.create(model="shopping-guide", messages=messages, stream=True)
                if c.choices
            )
        return sdk.chat.completions.create(model="shopping-guide", messages=messages).choices[0].message.content

    history = [{"role": "user", "content": "a phone"}]
    history.append({"role": "assistant", "content": ask(history)})
    history.append({"role": "user", "content": "cheaper"})
    history.append({"role": "assistant", "content": ask(history)})
    ask([*history, {"role": "user", "content": "in black"}])
    ask([{"role": "user", "content": "a phone"}])  # the same opening, a new conversation
    first, second, third, fresh = (call["session_id"] for call in _router_calls(upstream))
    assert first == second == third
    assert fresh != first
    assert [call["message"] for call in _router_calls(upstream)] == ["a phone", "cheaper", "in black", "a phone"]


def test_a_router_error_mid_stream_is_an_sdk_error(sdk) -> None:
    stream = sdk.chat.completions.create(
        model="shopping-guide", messages=[{"role": "user", "content": "fail"}], stream=True
    )
    with pytest.raises(openai.APIError, match="the dialog service failed"):
        list(stream)


def test_errors_in_openai_shape(sdk) -> None:
    with pytest.raises(openai.NotFoundError, match="use 'shopping-guide'") as not_found:
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert not_found.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError, match="no user message"):
        sdk.chat.completions.create(model="shopping-guide", messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError):
        sdk.with_options(api_key="wrong").models.list()


# --------------------------------------------------------------------------- a facade that keeps its word
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
SCHEMA = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}


def _ask(text: str = "a phone", **extra: Any) -> dict[str, Any]:
    return {"model": "shopping-guide", "messages": [{"role": "user", "content": text}], **extra}


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"tools": [TOOL]}, "tools"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"functions": [TOOL["function"]]}, "functions"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"response_format": SCHEMA}, "response_format"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"logit_bias": {"1234": 5}}, "logit_bias"),
        ({"reasoning_effort": "high"}, "reasoning_effort"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": "this"}, IMAGE]}]}, "messages[0].content[1]"),
        (
            {"messages": [{"role": "tool", "content": "42", "tool_call_id": "c1"}, {"role": "user", "content": "hi"}]},
            "messages[0].role",
        ),
    ],
)
def test_what_the_guide_cannot_do_is_refused_naming_the_parameter(sdk, upstream, extra, param) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(**_ask(**extra))
    assert (refused.value.param, refused.value.code) == (param, "unsupported_parameter")
    assert refused.value.body == {
        "type": "invalid_request_error",
        "message": refused.value.body["message"],  # type: ignore[index]
        "param": param,
        "code": "unsupported_parameter",
        "request_id": refused.value.request_id,
    }
    assert "not supported" in refused.value.message
    assert _router_calls(upstream) == []


def test_default_values_and_bookkeeping_are_accepted(sdk, upstream) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        **_ask(
            n=1, logprobs=False, response_format={"type": "text"}, tool_choice="none", presence_penalty=0,
            frequency_penalty=0.0, modalities=["text"], metadata={"order": "42"}, store=False,
            extra_body={"not_openai": 1},
        )
    )
    assert raw.parse().choices[0].message.content == chat_reply("a phone")
    assert raw.headers["x-sg-ignored-params"] == "metadata, store, not_openai"


def test_dropping_unsupported_parameters_is_a_setting(make_settings, upstream) -> None:
    with (
        run_in_thread(create_app(make_settings(openai_drop_params=True))) as server,
        openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0) as client,
    ):
        messages: Any = [
            {"role": "tool", "content": "42", "tool_call_id": "c1"},
            {"role": "user", "content": [{"type": "text", "text": "a phone"}, IMAGE]},
        ]
        raw = client.chat.completions.with_raw_response.create(
            **_ask(n=3, tools=[TOOL], response_format={"type": "json_object"}, messages=messages)
        )
    completion = raw.parse()
    assert [c.message.content for c in completion.choices] == [chat_reply("a phone")]
    assert raw.headers["x-sg-ignored-params"] == "n, tools, response_format, messages[0].role, messages[1].content[1]"
    (sent,) = _router_calls(upstream)
    assert (sent["message"], sent["history"]) == ("a phone", [])


def test_generation_parameters_system_messages_and_history_reach_the_router(sdk, upstream) -> None:
    sdk.chat.completions.create(
        model="shopping-guide",
        messages=[
            {"role": "system", "content": "You are the guide of Shop X."},
            {"role": "user", "content": "I need a new phone"},
            {"role": "assistant", "content": "What budget?"},
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "around 3000 yuan, good camera"},
        ],
        max_tokens=50,
        max_completion_tokens=20,
        temperature=0.4,
        top_p=0.9,
        stop="END",
        seed=11,
        user="carol",
    )
    (sent,) = _router_calls(upstream)
    assert sent["message"] == "around 3000 yuan, good camera"
    assert sent["generation"] == {
        "max_tokens": 20, "temperature": 0.4, "top_p": 0.9, "stop": ["END"], "seed": 11, "user": "carol"
    }
    assert sent["instructions"] == "You are the guide of Shop X.\n\nBe brief."
    assert sent["history"] == [
        {"role": "user", "content": "I need a new phone"}, {"role": "assistant", "content": "What budget?"}
    ]
    assert sent["apology"] is False


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"temperature": 3}, "temperature"), ({"stop": ["a", "b", "c", "d", "e"]}, "stop"), ({"max_tokens": 0}, "max_tokens")],
)
def test_invalid_values_are_refused_naming_the_parameter(sdk, extra, param) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(**_ask(**extra))
    assert (refused.value.param, refused.value.code) == (param, "invalid_value")


def test_a_system_message_longer_than_the_setting_is_refused(make_settings, upstream) -> None:
    with (
        run_in_thread(create_app(make_settings(openai_max_instructions_chars=20))) as server,
        openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0) as client,
    ):
        system: Any = {"role": "system", "content": "Speak like a pirate in every single answer."}
        with pytest.raises(openai.BadRequestError, match="SG_OPENAI_MAX_INSTRUCTIONS_CHARS") as refused:
            client.chat.completions.create(model="shopping-guide", messages=[system, {"role": "user", "content": "hi"}])
    assert refused.value.param == "messages"
    assert _router_calls(upstream) == []


@pytest.mark.parametrize("stream", [False, True])
def test_usage_is_what_the_models_reported(sdk, stream) -> None:
    ask = _ask("counted", max_tokens=2)
    if stream:
        chunks = list(sdk.chat.completions.create(**ask, stream=True, stream_options={"include_usage": True}))
        finish, usage = [c.choices[0].finish_reason for c in chunks if c.choices][-1], chunks[-1].usage
    else:
        completion = sdk.chat.completions.create(**ask)
        finish, usage = completion.choices[0].finish_reason, completion.usage
    assert finish == "length"
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (813, 57, 870)
    assert usage.model_extra == {"estimated": False}


def test_where_no_model_ran_usage_is_counted_and_flagged(sdk) -> None:
    completion = sdk.chat.completions.create(
        model="shopping-guide",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "a phone"},
            {"role": "assistant", "content": "which budget?"},
            {"role": "user", "content": "cheaper"},
        ],
    )
    usage = completion.usage
    # What the guide read: the instructions (2), the history (2 + 2) and the question (1); and its reply.
    assert (usage.prompt_tokens, usage.completion_tokens) == (7, len(chat_reply("cheaper").split()))
    assert usage.model_extra == {"estimated": True}


@pytest.mark.parametrize("stream", [False, True])
def test_a_turn_the_guide_cannot_answer_is_a_503(sdk, stream) -> None:
    with pytest.raises(openai.InternalServerError, match="cannot answer now") as failed:
        result = sdk.chat.completions.create(**_ask("down"), stream=stream)
        list(result) if stream else None
    assert failed.value.status_code == 503 and failed.value.body["type"] == "service_unavailable"  # type: ignore[index]


def test_langchain_plain_and_streamed_chat(sdk) -> None:
    from langchain_openai import ChatOpenAI

    options: dict[str, Any] = {"model": "shopping-guide", "base_url": str(sdk.base_url), "api_key": KEY}
    chat = ChatOpenAI(**options, max_retries=0, max_tokens=3)
    assert chat.invoke("a phone").content == "".join(split_chunks(chat_reply("a phone"))[:3])
    assert "".join(str(c.content) for c in chat.stream("a phone")) == "".join(split_chunks(chat_reply("a phone"))[:3])


@pytest.mark.parametrize(("method", "param"), [("json_schema", "response_format"), ("function_calling", "tools")])
def test_langchain_structured_output_is_refused_clearly(sdk, upstream, method, param) -> None:
    from langchain_openai import ChatOpenAI
    from pydantic import BaseModel

    class Phone(BaseModel):
        name: str

    options: dict[str, Any] = {"model": "shopping-guide", "base_url": str(sdk.base_url), "api_key": KEY}
    chat = ChatOpenAI(**options, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="not supported") as refused:
        chat.with_structured_output(Phone, method=method).invoke("a phone")
    assert refused.value.param == param and _router_calls(upstream) == []
