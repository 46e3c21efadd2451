"""The one async chat-completion interface every service uses, whatever serves the model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from shared.settings import Task

Role = Literal["system", "user", "assistant"]


class ChatMessage(BaseModel):
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class OutputSchema:
    """The JSON a structured task's reply must be, as a backend constrains it: an OpenAI-compatible pool by
    ``response_format`` (vLLM's guided decoding, llama.cpp's grammars), Bedrock by a forced tool."""

    name: str  # [A-Za-z0-9_-]{1,64}, as both APIs require
    schema: dict[str, Any]

    @classmethod
    def of(cls, model: type[BaseModel], name: str) -> OutputSchema:
        """The model's JSON schema (by alias) in the strict form every constrained decoder takes."""
        return cls(name, strict_schema(model.model_json_schema(by_alias=True)))


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` for strict structured outputs: references inlined (some decoders and Bedrock's tools take no
    ``$defs``), every model's object closed (``additionalProperties: false``) with all its properties required
    (an optional one is nullable in the model), and no ``title``/``default`` (strict mode refuses them)."""
    definitions = schema.get("$defs", {})

    def strict(node: Any) -> Any:
        if isinstance(node, list):
            return [strict(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return strict(definitions[node["$ref"].rsplit("/", 1)[-1]])
        out = {key: strict(value) for key, value in node.items() if key not in ("$defs", "title", "default", "properties")}
        if "properties" in node:  # a model's object (a free-form dict's additionalProperties schema stays open)
            # Property names are names, not keywords: kept whatever they are.
            out["properties"] = {name: strict(value) for name, value in node["properties"].items()}
            out["additionalProperties"] = False
            out["required"] = list(node["properties"])
        return out

    result: dict[str, Any] = strict(schema)
    return result


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One completion request, already routed: ``model`` is what the backend sends upstream."""

    task: Task
    messages: list[ChatMessage]
    model: str | None = None
    temperature: float = 0.0
    max_tokens: int = 512
    stop: list[str] | None = None
    # Pins a conversation to one replica so the server's prefix cache is reused.
    session_id: str | None = None
    request_id: str | None = None
    top_p: float | None = None
    seed: int | None = None
    user: str | None = None  # the end user, for the upstream's abuse monitoring (OpenAI's ``user``)
    # Where a stream reports the usage and finish reason its server sent at the end (a whole reply has them).
    meter: UsageMeter | None = None
    # The whole call's budget (a stream's, to its first delta), retries included: the task's timeout or the
    # caller's deadline, whichever ends first (``shared.deadline``). None: the pool's read timeout alone.
    timeout_s: float | None = None
    # The JSON the reply must be, for a backend that can constrain it (None: free text).
    schema: OutputSchema | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False  # counted here, not reported by the server that ran the model


class UsageMeter:
    """The tokens one request's model calls read and wrote, summed over its calls as their servers report them,
    and how the last reply ended (``stop``, ``length``). ``usage`` is None while no model ran."""

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.calls = 0
        self.estimated = False
        self.finish_reason: str | None = None

    def add(self, usage: Usage, finish_reason: str | None = None) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.calls += 1
        self.estimated = self.estimated or usage.estimated
        self.finish_reason = finish_reason or self.finish_reason

    @property
    def usage(self) -> Usage | None:
        if not self.calls:
            return None
        return Usage(self.prompt_tokens, self.completion_tokens, self.estimated)


@dataclass(frozen=True, slots=True)
class ChatResponse:
    text: str
    backend: str
    model: str
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)


class LLMError(Exception):
    """A backend failed to answer; callers fall back to their local engine."""


class LLMUnavailable(LLMError):
    """No endpoint could take the request (all ejected, connect errors, 5xx after retries)."""


class LLMTimeout(LLMUnavailable):
    """No answer in time: the task's timeout or the caller's deadline passed (the call was then cancelled, which
    closes its connection and so aborts the generation), or an endpoint stopped sending."""


class LLMStreamCut(LLMError):
    """The stream broke after tokens were already delivered, so it cannot be retried transparently."""


class LLMBackend(ABC):
    """A source of chat completions. Implementations: local, openai (pools), bedrock."""

    name: str

    @abstractmethod
    async def complete(self, request: ChatRequest) -> ChatResponse:
        """The whole reply at once."""

    @abstractmethod
    def stream(self, request: ChatRequest) -> AsyncGenerator[str, None]:
        """Token deltas as they are generated; closing the iterator cancels the generation upstream."""

    async def start(self) -> None:
        """Begin background work (health checks); called from the app lifespan."""

    async def aclose(self) -> None:
        """Release connections and stop background work."""

    async def ready(self) -> bool:
        """Whether at least one path to the model answers now."""
        return True
