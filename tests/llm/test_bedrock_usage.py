"""Bedrock and what a caller asks beyond its route: top_p reaches the Converse call, and a stream reports its
usage and stop reason to the request's meter (a whole reply carries them itself)."""

from __future__ import annotations

from contextlib import aclosing

from botocore.client import BaseClient
from botocore.stub import Stubber

from shared.llm import BedrockBackend, ChatMessage, ChatRequest, UsageMeter
from shared.settings import Task

from .test_bedrock import MODEL, RawStream, add_stream, backend, client, conversation, event, stubber  # noqa: F401


async def test_a_stream_reports_usage_and_stop_reason_to_the_meter(
    backend: BedrockBackend,  # noqa: F811
    stubber: Stubber,  # noqa: F811
    client: BaseClient,  # noqa: F811
) -> None:
    messages = conversation("Great ", "shoes.")
    messages[-2] = event("messageStop", {"stopReason": "max_tokens"})
    expected = {
        "modelId": MODEL,
        "messages": [{"role": "user", "content": [{"text": "shoes"}]}],
        "inferenceConfig": {"temperature": 0.0, "maxTokens": 2, "topP": 0.5},
    }
    add_stream(stubber, client, RawStream(messages), expected)
    meter = UsageMeter()
    request = ChatRequest(
        task=Task.COPYWRITING, messages=[ChatMessage(role="user", content="shoes")], max_tokens=2, top_p=0.5, meter=meter
    )
    async with aclosing(backend.stream(request)) as deltas:
        assert [d async for d in deltas] == ["Great ", "shoes."]
    assert meter.usage is not None and (meter.usage.prompt_tokens, meter.usage.completion_tokens) == (5, 2)
    assert meter.finish_reason == "length"
