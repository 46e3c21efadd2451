"""Chat completions from a pool of OpenAI-compatible servers (vLLM, llama.cpp, TGI, Ollama).

Retries with failover happen only while nothing has reached the caller: a stream that breaks
after its first delta raises ``LLMStreamCut`` instead of replaying text the caller already has. A read
timeout is retried only on another endpoint; how long all attempts together may take is the caller's
(``LLMClient``: the task's timeout, the request's deadline).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, Literal

import httpx

from shared.llm.base import (
    ChatRequest,
    ChatResponse,
    LLMBackend,
    LLMError,
    LLMStreamCut,
    LLMTimeout,
    LLMUnavailable,
    OutputSchema,
    Usage,
)
from shared.llm.metrics import RETRIES, record_usage
from shared.llm.pool import Endpoint, EndpointPool
from shared.settings import PoolSettings

CHAT_PATH = "/v1/chat/completions"


class _RetryableStatus(Exception):
    """A 5xx or 429: the endpoint (or this attempt) failed; another may succeed."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code


class _BadReply(Exception):
    """The endpoint answered 2xx with something that is not a chat completion."""


# Failures worth another attempt, as long as nothing has reached the caller yet.
_RETRYABLE = (httpx.TransportError, _RetryableStatus, _BadReply)


class OpenAICompatBackend(LLMBackend):
    name = "openai"

    def __init__(self, pool_name: str, settings: PoolSettings) -> None:
        self.label = f"openai:{pool_name}"
        self._settings = settings
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else None
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
            ),
        )
        self.pool = EndpointPool(pool_name, settings, self._client)

    @property
    def http(self) -> httpx.AsyncClient:
        """The pool's client (its auth and connection limits), for other requests to its servers."""
        return self._client

    async def complete(self, request: ChatRequest) -> ChatResponse:
        body = self._body(request, stream=False)
        tried: set[str] = set()
        last_error: Exception | None = None
        for attempt in range(self._settings.max_retries + 1):
            await self._backoff(attempt)
            with self.pool.acquire(request.session_id, exclude=tried) as endpoint:
                tried.add(endpoint.url)
                try:
                    response = await self._client.post(endpoint.url + CHAT_PATH, json=body, headers=_headers(request))
                    _check_status(response.status_code, response.text)
                    reply = _parse_completion(response)
                except _RETRYABLE as exc:
                    self._failed(endpoint, exc)
                    last_error = exc
                    if self._may_retry(exc, tried):
                        continue
                    break
                self.pool.mark_success(endpoint)
            record_usage(self.label, request.task, reply.usage)
            return reply
        raise self._exhausted(last_error, attempt + 1) from last_error

    async def stream(self, request: ChatRequest) -> AsyncGenerator[str, None]:
        body = self._body(request, stream=True)
        tried: set[str] = set()
        last_error: Exception | None = None
        delivered = False
        for attempt in range(self._settings.max_retries + 1):
            await self._backoff(attempt)
            with self.pool.acquire(request.session_id, exclude=tried) as endpoint:
                tried.add(endpoint.url)
                # aclosing: when our consumer closes us early, the upstream response is closed
                # right away, which is what tells the server to stop generating.
                async with aclosing(self._stream_once(endpoint.url, body, request)) as deltas:
                    try:
                        async for delta in deltas:
                            delivered = True
                            yield delta
                    except _RETRYABLE as exc:
                        self._failed(endpoint, exc)
                        if delivered:
                            raise LLMStreamCut(f"{self.label}: stream from {endpoint.url} broke: {exc!r}") from exc
                        last_error = exc
                        if self._may_retry(exc, tried):
                            continue
                        break
                self.pool.mark_success(endpoint)
                return
        raise self._exhausted(last_error, attempt + 1) from last_error

    async def _stream_once(self, url: str, body: dict[str, Any], request: ChatRequest) -> AsyncGenerator[str, None]:
        async with self._client.stream("POST", url + CHAT_PATH, json=body, headers=_headers(request)) as response:
            if response.status_code >= 400:
                await response.aread()
                _check_status(response.status_code, response.text)
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, comments, event names
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                try:
                    chunk = json.loads(payload)
                except ValueError as exc:
                    raise _BadReply(f"unparsable stream chunk: {payload[:200]!r}") from exc
                if not isinstance(chunk, dict):
                    raise _BadReply(f"unexpected stream chunk: {payload[:200]!r}")
                if usage := chunk.get("usage"):
                    record_usage(self.label, request.task, _usage(usage))
                    if request.meter is not None:
                        request.meter.add(_usage(usage))
                for choice in chunk.get("choices") or ():
                    if (reason := choice.get("finish_reason")) and request.meter is not None:
                        request.meter.finish_reason = str(reason)
                    if content := (choice.get("delta") or {}).get("content"):
                        yield content
        raise httpx.RemoteProtocolError("stream ended without [DONE]")

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [message.model_dump() for message in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "stream": stream,
        }
        if request.model:
            body["model"] = request.model
        if request.stop:
            body["stop"] = request.stop
        for name in ("top_p", "seed", "user"):
            if (value := getattr(request, name)) is not None:
                body[name] = value
        if stream:
            body["stream_options"] = {"include_usage": True}
        if request.schema is not None and (mode := self._settings.structured_output) != "none":
            body["response_format"] = response_format(request.schema, mode)
        return body

    async def _backoff(self, attempt: int) -> None:
        if attempt:
            RETRIES.labels(self.pool.name).inc()
            await asyncio.sleep(self._settings.backoff_s * 2 ** (attempt - 1))

    def _failed(self, endpoint: Endpoint, exc: Exception) -> None:
        # 429 means busy, not broken, and a pool timeout is our own connection limit: try
        # elsewhere but keep the endpoint in rotation.
        busy = isinstance(exc, _RetryableStatus) and exc.status_code == 429
        if not (busy or isinstance(exc, httpx.PoolTimeout)):
            self.pool.mark_failure(endpoint)

    def _may_retry(self, exc: Exception, tried: set[str]) -> bool:
        """A read timeout is retried on another endpoint only: the one that timed out may still be generating
        (its connection is closed, but a server may notice late), and a slow model is as slow the second time."""
        return not isinstance(exc, httpx.ReadTimeout) or self.pool.untried(tried)

    def _exhausted(self, last_error: Exception | None, attempts: int) -> LLMUnavailable:
        kind = LLMTimeout if isinstance(last_error, httpx.TimeoutException) else LLMUnavailable
        return kind(f"{self.label}: no endpoint answered in {attempts} attempt(s); last error: {last_error!r}")

    async def ready(self) -> bool:
        return self.pool.ready()

    async def start(self) -> None:
        self.pool.start()

    async def aclose(self) -> None:
        await self.pool.aclose()
        await self._client.aclose()


def response_format(schema: OutputSchema, mode: Literal["json_schema", "json_object"]) -> dict[str, Any]:
    """OpenAI's ``response_format`` for a structured reply, as vLLM and llama.cpp's server take it too."""
    if mode == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": schema.name, "schema": schema.schema, "strict": True}}


def _headers(request: ChatRequest) -> dict[str, str]:
    return {"X-Request-ID": request.request_id} if request.request_id else {}


def _check_status(status_code: int, text: str) -> None:
    if status_code < 400:
        return
    message = _error_message(text)
    if status_code >= 500 or status_code == 429:
        raise _RetryableStatus(status_code, message)
    raise LLMError(f"upstream rejected the request (HTTP {status_code}): {message}")


def _error_message(text: str) -> str:
    # OpenAI-style {"error": {"message": ...}}; vLLM and others sometimes send {"message": ...} or plain text.
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        if isinstance(error, str):
            return error
        if "message" in data:
            return str(data["message"])
    return text[:500]


def _parse_completion(response: httpx.Response) -> ChatResponse:
    try:
        data = response.json()
        choice = data["choices"][0]
        return ChatResponse(
            text=choice["message"]["content"] or "",
            backend=OpenAICompatBackend.name,
            model=data.get("model", ""),
            finish_reason=choice.get("finish_reason") or "stop",
            usage=_usage(data.get("usage") or {}),
        )
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise _BadReply(f"malformed completion: {response.text[:200]!r}") from exc


def _usage(data: dict[str, Any]) -> Usage:
    return Usage(
        prompt_tokens=int(data.get("prompt_tokens") or 0), completion_tokens=int(data.get("completion_tokens") or 0)
    )
