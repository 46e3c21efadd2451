"""Chat completions from Amazon Bedrock's Converse API.

boto3 blocks, so calls run in worker threads; a stream is pumped from a thread into an asyncio
queue, and closing the iterator stops the pump and closes the HTTP stream.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Callable
from functools import partial
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from shared.llm.base import (
    ChatRequest,
    ChatResponse,
    LLMBackend,
    LLMError,
    LLMStreamCut,
    LLMUnavailable,
    OutputSchema,
    Usage,
)
from shared.llm.metrics import record_usage
from shared.settings import Settings

# Error codes that mean "try again later", as API errors (ThrottlingException) and as stream
# events (throttlingException): compared lower-cased.
_TRANSIENT_CODES = {
    "throttlingexception",
    "serviceunavailableexception",
    "internalserverexception",
    "modelnotreadyexception",
    "modeltimeoutexception",
    "modelstreamerrorexception",
}
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
_FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


class BedrockBackend(LLMBackend):
    name = "bedrock"
    label = "bedrock"

    def __init__(self, settings: Settings, *, client: BaseClient | None = None) -> None:
        self._model_id = settings.bedrock_model_id
        self._tools = settings.bedrock_structured_output == "tool"
        self._client = client or boto3.client(
            "bedrock-runtime",
            region_name=settings.bedrock_region,
            endpoint_url=settings.bedrock_endpoint_url,
            config=Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3}),
        )

    async def complete(self, request: ChatRequest) -> ChatResponse:
        args = self._converse_args(request)
        try:
            response = await asyncio.to_thread(self._client.converse, **args)
        except (ClientError, *_UNREACHABLE) as exc:
            raise _mapped(exc) from exc
        try:
            blocks = response["output"]["message"]["content"]
            usage = Usage(response["usage"]["inputTokens"], response["usage"]["outputTokens"])
        except (KeyError, TypeError) as exc:
            raise LLMError(f"malformed Bedrock response: {exc!r}") from exc
        record_usage(self.label, request.task, usage)
        reason = response.get("stopReason", "end_turn")
        return ChatResponse(
            text="".join(_block_text(block) for block in blocks),
            backend=self.name,
            model=args["modelId"],
            finish_reason=_FINISH_REASONS.get(reason, reason),
            usage=usage,
        )

    async def stream(self, request: ChatRequest) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        pump = _EventPump(partial(self._client.converse_stream, **self._converse_args(request)), loop)
        loop.run_in_executor(None, pump.run)
        delivered = False
        try:
            while (item := await pump.queue.get()) is not _END:
                if isinstance(item, Exception):
                    if delivered:
                        raise LLMStreamCut(f"Bedrock stream broke: {item!r}") from item
                    raise _mapped(item) from item
                delta = item.get("contentBlockDelta", {}).get("delta", {})
                # A forced tool's input streams as pieces of its JSON: the structured reply's text.
                if text := delta.get("text") or delta.get("toolUse", {}).get("input"):
                    delivered = True
                    yield text
                elif usage := item.get("metadata", {}).get("usage"):
                    counted = Usage(usage["inputTokens"], usage["outputTokens"])
                    record_usage(self.label, request.task, counted)
                    if request.meter is not None:
                        request.meter.add(counted)
                elif (reason := item.get("messageStop", {}).get("stopReason")) and request.meter is not None:
                    request.meter.finish_reason = _FINISH_REASONS.get(reason, reason)
        finally:
            pump.stop()

    def _converse_args(self, request: ChatRequest) -> dict[str, Any]:
        system = [{"text": message.content} for message in request.messages if message.role == "system"]
        messages: list[dict[str, Any]] = []
        for message in request.messages:
            if message.role == "system":
                continue
            if messages and messages[-1]["role"] == message.role:
                # Converse rejects two turns in a row from one role; one turn may hold several blocks.
                messages[-1]["content"].append({"text": message.content})
            else:
                messages.append({"role": message.role, "content": [{"text": message.content}]})
        inference: dict[str, Any] = {"temperature": request.temperature, "maxTokens": request.max_tokens}
        if request.stop:
            inference["stopSequences"] = request.stop
        if request.top_p is not None:
            inference["topP"] = request.top_p
        args: dict[str, Any] = {
            "modelId": request.model or self._model_id,
            "messages": messages,
            "inferenceConfig": inference,
        }
        if system:
            args["system"] = system
        if request.schema is not None and self._tools:
            args["toolConfig"] = tool_config(request.schema)
        return args


def tool_config(schema: OutputSchema) -> dict[str, Any]:
    """Converse's structured output: one tool whose input is the task's JSON, and the model made to call it."""
    spec = {"name": schema.name, "description": f"Give the {schema.name} answer.", "inputSchema": {"json": schema.schema}}
    return {"tools": [{"toolSpec": spec}], "toolChoice": {"tool": {"name": schema.name}}}


def _block_text(block: dict[str, Any]) -> str:
    """A reply block's text; a tool call's input (the structured answer) as JSON."""
    if "toolUse" in block:
        return json.dumps(block["toolUse"].get("input", {}), ensure_ascii=False)
    return str(block.get("text", ""))


_END = object()


class _EventPump:
    """Reads a blocking event stream in a worker thread and hands events to the event loop."""

    def __init__(self, open_stream: Callable[[], dict[str, Any]], loop: asyncio.AbstractEventLoop) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self._open_stream = open_stream
        self._loop = loop
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._events: Any = None

    def run(self) -> None:
        """Worker thread: every event, then an exception if one ended the stream, then ``_END``."""
        try:
            events = self._open_stream()["stream"]
            with self._lock:
                self._events = events
            if self._stopped.is_set():  # Closed before the stream opened: stop() found nothing to close.
                return
            for event in events:
                if self._stopped.is_set():
                    break
                self._put(event)
        except Exception as exc:  # Whatever ends the stream, the consumer decides what it means.
            self._put(exc)
        finally:
            self._put(_END)
            self.stop()

    def stop(self) -> None:
        """Either thread: stop reading and close the HTTP stream, waking a read blocked on it."""
        self._stopped.set()
        with self._lock:
            events, self._events = self._events, None
        if events is not None:
            events.close()

    def _put(self, item: Any) -> None:
        if self._stopped.is_set():
            return
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # The loop is closed: nobody is listening any more.
            self._stopped.set()


def _mapped(exc: Exception) -> LLMError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        kind = LLMUnavailable if code.lower() in _TRANSIENT_CODES or status >= 500 else LLMError
        return kind(f"Bedrock {code or 'error'}: {error.get('Message', exc)}")
    if isinstance(exc, _UNREACHABLE):
        return LLMUnavailable(f"Bedrock unreachable: {exc}")
    return LLMError(f"Bedrock stream failed: {exc!r}")
