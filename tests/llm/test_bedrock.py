"""Bedrock through botocore's Stubber: no network, no credentials.

Stubber validates a stubbed response against the service model, where an event stream can
only be written as a dict, so stream stubs are added with an empty dict and then given a real
``botocore.eventstream.EventStream`` over bytes encoded here in the AWS event stream format.
"""

from __future__ import annotations

import json
import struct
import threading
from binascii import crc32
from collections.abc import Iterator
from typing import Any, Literal

import boto3
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser
from botocore.stub import Stubber
from pydantic import BaseModel

from shared.llm import BedrockBackend, ChatMessage, ChatRequest, LLMError, LLMStreamCut, LLMUnavailable, OutputSchema
from shared.llm.base import Role
from shared.settings import Settings, Task

MODEL = "anthropic.test-model-v1:0"


def _message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack("!H", len(value)) + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack("!II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    head = prelude + struct.pack("!I", crc32(prelude))
    body = head + encoded + payload
    return body + struct.pack("!I", crc32(body))


def event(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = {":message-type": "event", ":event-type": event_type, ":content-type": "application/json"}
    return _message(headers, json.dumps(payload).encode())


def exception(exception_type: str, message: str) -> bytes:
    headers = {":message-type": "exception", ":exception-type": exception_type, ":content-type": "application/json"}
    return _message(headers, json.dumps({"message": message}).encode())


def delta(text: str) -> bytes:
    return event("contentBlockDelta", {"delta": {"text": text}, "contentBlockIndex": 0})


def conversation(*texts: str) -> list[bytes]:
    return [
        event("messageStart", {"role": "assistant"}),
        *(delta(text) for text in texts),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": "end_turn"}),
        event(
            "metadata",
            {
                "usage": {"inputTokens": 5, "outputTokens": len(texts), "totalTokens": 5 + len(texts)},
                "metrics": {"latencyMs": 10},
            },
        ),
    ]


class RawStream:
    """The HTTP body under an EventStream; optionally stalls after some messages, like a slow model."""

    def __init__(self, messages: list[bytes], stall_after: int | None = None) -> None:
        self._messages = messages
        self._stall_after = stall_after
        self.closed = threading.Event()
        self.finished = threading.Event()

    def stream(self) -> Iterator[bytes]:
        try:
            for position, message in enumerate(self._messages):
                if position == self._stall_after:
                    self.closed.wait(5)
                if self.closed.is_set():
                    return  # a closed socket yields nothing more
                yield message
        finally:
            self.finished.set()

    def close(self) -> None:
        self.closed.set()


def add_stream(stubber: Stubber, client: BaseClient, raw: RawStream, expected: dict[str, Any] | None = None) -> None:
    response: dict[str, Any] = {"stream": {}}
    stubber.add_response("converse_stream", response, expected)
    shape = client.meta.service_model.operation_model("ConverseStream").output_shape.members["stream"]
    response["stream"] = EventStream(raw, shape, EventStreamJSONParser(), "ConverseStream")


@pytest.fixture
def client() -> BaseClient:
    return boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")


@pytest.fixture
def stubber(client: BaseClient) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def backend(client: BaseClient) -> BedrockBackend:
    return BedrockBackend(Settings(_env_file=None, bedrock_model_id=MODEL), client=client)


def _request(*messages: tuple[Role, str], **fields: Any) -> ChatRequest:
    return ChatRequest(
        task=Task.COPYWRITING,
        messages=[ChatMessage(role=role, content=content) for role, content in messages],
        **fields,
    )


CONVERSE_REPLY = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Great "}, {"text": "shoes."}]}},
    "stopReason": "max_tokens",
    "usage": {"inputTokens": 12, "outputTokens": 3, "totalTokens": 15},
    "metrics": {"latencyMs": 42},
}


async def test_converse_maps_the_request_and_the_reply(backend: BedrockBackend, stubber: Stubber) -> None:
    expected = {
        "modelId": MODEL,
        "system": [{"text": "You write ads."}, {"text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"text": "Shoes."}, {"text": "Red ones."}]},
            {"role": "assistant", "content": [{"text": "Which size?"}]},
            {"role": "user", "content": [{"text": "42"}]},
        ],
        "inferenceConfig": {"temperature": 0.5, "maxTokens": 64, "stopSequences": ["END"]},
    }
    stubber.add_response("converse", CONVERSE_REPLY, expected)
    request = _request(
        ("system", "You write ads."),
        ("user", "Shoes."),
        ("system", "Be brief."),
        ("user", "Red ones."),
        ("assistant", "Which size?"),
        ("user", "42"),
        temperature=0.5,
        max_tokens=64,
        stop=["END"],
    )
    reply = await backend.complete(request)
    assert (reply.text, reply.backend, reply.model, reply.finish_reason) == ("Great shoes.", "bedrock", MODEL, "length")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (12, 3)


async def test_request_model_overrides_the_default(backend: BedrockBackend, stubber: Stubber) -> None:
    expected = {
        "modelId": "other-model",
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"temperature": 0.0, "maxTokens": 512},
    }
    stubber.add_response("converse", CONVERSE_REPLY, expected)
    assert (await backend.complete(_request(("user", "hi"), model="other-model"))).model == "other-model"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 429, LLMUnavailable),
        ("ServiceUnavailableException", 503, LLMUnavailable),
        ("ModelNotReadyException", 429, LLMUnavailable),
        ("SomethingNew", 500, LLMUnavailable),
        ("ValidationException", 400, LLMError),
        ("AccessDeniedException", 403, LLMError),
    ],
)
async def test_converse_errors_are_mapped(
    backend: BedrockBackend, stubber: Stubber, code: str, status: int, kind: type[LLMError]
) -> None:
    stubber.add_client_error("converse", code, "upstream says no", http_status_code=status)
    with pytest.raises(LLMError, match=f"{code}: upstream says no") as caught:
        await backend.complete(_request(("user", "hi")))
    assert type(caught.value) is kind


async def test_unreachable_endpoint_is_unavailable(dead_url: str) -> None:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=dead_url,
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    backend = BedrockBackend(Settings(_env_file=None), client=client)
    with pytest.raises(LLMUnavailable, match="unreachable"):
        await backend.complete(_request(("user", "hi")))
    with pytest.raises(LLMUnavailable, match="unreachable"):
        async for _ in backend.stream(_request(("user", "hi"))):
            pass


async def test_converse_stream(backend: BedrockBackend, stubber: Stubber, client: BaseClient) -> None:
    raw = RawStream(conversation("Light ", "and ", "airy."))
    expected = {
        "modelId": MODEL,
        "system": [{"text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"text": "Describe"}]}],
        "inferenceConfig": {"temperature": 0.0, "maxTokens": 512},
    }
    add_stream(stubber, client, raw, expected)
    deltas = [text async for text in backend.stream(_request(("system", "Be brief."), ("user", "Describe")))]
    assert deltas == ["Light ", "and ", "airy."]
    assert raw.finished.is_set()


async def test_stream_error_before_the_first_delta(backend: BedrockBackend, stubber: Stubber) -> None:
    stubber.add_client_error("converse_stream", "ThrottlingException", "slow down", http_status_code=429)
    with pytest.raises(LLMUnavailable, match="slow down"):
        async for _ in backend.stream(_request(("user", "hi"))):
            pass


async def test_stream_exception_event_before_the_first_delta(
    backend: BedrockBackend, stubber: Stubber, client: BaseClient
) -> None:
    add_stream(
        stubber,
        client,
        RawStream([event("messageStart", {"role": "assistant"}), exception("throttlingException", "busy")]),
    )
    with pytest.raises(LLMUnavailable, match="busy"):
        async for _ in backend.stream(_request(("user", "hi"))):
            pass


async def test_stream_broken_after_a_delta_is_cut(
    backend: BedrockBackend, stubber: Stubber, client: BaseClient
) -> None:
    add_stream(stubber, client, RawStream([delta("Hello "), exception("modelStreamErrorException", "model crashed")]))
    received: list[str] = []
    with pytest.raises(LLMStreamCut, match="model crashed"):
        async for text in backend.stream(_request(("user", "hi"))):
            received.append(text)
    assert received == ["Hello "]


async def test_closing_the_stream_stops_the_pump(backend: BedrockBackend, stubber: Stubber, client: BaseClient) -> None:
    raw = RawStream(conversation(*(f"word{n} " for n in range(50))), stall_after=3)
    add_stream(stubber, client, raw)
    stream = backend.stream(_request(("user", "hi")))
    assert await anext(stream) == "word0 "
    await stream.aclose()
    assert raw.closed.wait(2), "the HTTP stream was not closed"
    assert raw.finished.wait(2), "the pump thread kept reading"


async def test_a_structured_request_forces_a_tool_and_reads_its_input(
    backend: BedrockBackend, stubber: Stubber
) -> None:
    """Bedrock's structured output: the task's schema as the input of a tool the model must call; the answer is
    the tool call's input, as JSON."""
    schema = OutputSchema.of(_Verdict, "verdict")
    expected = {
        "modelId": MODEL,
        "messages": [{"role": "user", "content": [{"text": "Good?"}]}],
        "inferenceConfig": {"temperature": 0.0, "maxTokens": 512},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "verdict",
                        "description": "Give the verdict answer.",
                        "inputSchema": {"json": schema.schema},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": "verdict"}},
        },
    }
    answer = {"verdict": "是", "why": "好"}
    reply = {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t1", "name": "verdict", "input": answer}}],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13},
        "metrics": {"latencyMs": 5},
    }
    stubber.add_response("converse", reply, expected)
    got = await backend.complete(_request(("user", "Good?"), schema=schema))
    assert _Verdict.model_validate_json(got.text) == _Verdict.model_validate(answer)


async def test_a_structured_stream_yields_the_tools_input(
    backend: BedrockBackend, stubber: Stubber, client: BaseClient
) -> None:
    pieces = ['{"verdict": ', '"否", "why": "贵"}']
    tool_deltas = [
        event("contentBlockDelta", {"delta": {"toolUse": {"input": p}}, "contentBlockIndex": 0}) for p in pieces
    ]
    raw = RawStream([event("messageStart", {"role": "assistant"}), *tool_deltas, *conversation()[2:]])
    add_stream(stubber, client, raw)
    deltas = [
        text async for text in backend.stream(_request(("user", "Good?"), schema=OutputSchema.of(_Verdict, "verdict")))
    ]
    assert deltas == pieces


async def test_tool_output_off_sends_the_prompt_alone(client: BaseClient, stubber: Stubber) -> None:
    backend = BedrockBackend(
        Settings(_env_file=None, bedrock_model_id=MODEL, bedrock_structured_output="none"), client=client
    )
    expected = {
        "modelId": MODEL,
        "messages": [{"role": "user", "content": [{"text": "Good?"}]}],
        "inferenceConfig": {"temperature": 0.0, "maxTokens": 512},
    }
    stubber.add_response("converse", CONVERSE_REPLY, expected)
    await backend.complete(_request(("user", "Good?"), schema=OutputSchema.of(_Verdict, "verdict")))


class _Verdict(BaseModel):
    verdict: Literal["是", "否"]
    why: str
