"""The OpenAI-compatible facade, used through the real openai SDK against a real gateway server whose
router is the fake one (tests/gateway/fakes.py), streamed and not."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from gateway.tier1.app import create_app
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
