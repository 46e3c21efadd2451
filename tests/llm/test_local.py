from __future__ import annotations

import pytest

from shared.llm import ChatMessage, ChatRequest, LLMUnavailable, LocalBackend
from shared.llm.chunking import split_chunks
from shared.settings import Task


def _request(task: Task, text: str = "hi") -> ChatRequest:
    return ChatRequest(task=task, messages=[ChatMessage(role="user", content=text)])


async def test_complete_dispatches_on_task() -> None:
    backend = LocalBackend()

    async def intent(request: ChatRequest) -> str:
        return f"intent:{request.messages[-1].content}"

    async def summary(request: ChatRequest) -> str:
        return "summary"

    backend.register(Task.INTENT, intent)
    backend.register(Task.SUMMARY, summary)

    reply = await backend.complete(_request(Task.INTENT, "buy shoes"))
    assert (reply.text, reply.backend, reply.model) == ("intent:buy shoes", "local", "local")
    assert (await backend.complete(_request(Task.SUMMARY))).text == "summary"


async def test_unregistered_task_is_unavailable_with_a_clear_message() -> None:
    backend = LocalBackend()
    with pytest.raises(LLMUnavailable, match="no local handler registered for task 'dialog'"):
        await backend.complete(_request(Task.DIALOG))
    with pytest.raises(LLMUnavailable):
        async for _ in backend.stream(_request(Task.DIALOG)):
            pass


async def test_stream_yields_many_small_deltas() -> None:
    backend = LocalBackend()
    text = "These running shoes 适合夏天跑步，透气轻便。"

    async def dialog(request: ChatRequest) -> str:
        return text

    backend.register(Task.DIALOG, dialog)
    deltas = [delta async for delta in backend.stream(_request(Task.DIALOG))]
    assert "".join(deltas) == text
    assert deltas[:3] == ["These ", "running ", "shoes "]
    assert all(len(delta) <= 2 for delta in deltas[3:])  # Chinese in pairs of characters
    assert len(deltas) == 9


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one",
        "  leading and trailing  ",
        "Hello, world!\nNext line.",
        "你好，世界",
        "iPhone 15 手机壳 cheap",
        "한국어 텍스트",
    ],
)
def test_chunks_reassemble_exactly(text: str) -> None:
    assert "".join(split_chunks(text)) == text


def test_english_is_split_by_words_keeping_spaces() -> None:
    assert split_chunks("red shoes, size 42") == ["red ", "shoes, ", "size ", "42"]
