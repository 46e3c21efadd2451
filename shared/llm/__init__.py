"""The LLM layer: one async interface over the local engine, OpenAI-compatible pools and Bedrock, and the
local-or-LLM cascade the language tasks run on it."""

from shared.llm.base import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    LLMBackend,
    LLMError,
    LLMStreamCut,
    LLMTimeout,
    LLMUnavailable,
    OutputSchema,
    Usage,
    UsageMeter,
    strict_schema,
)
from shared.llm.bedrock import BedrockBackend
from shared.llm.cascade import (
    Answer,
    Rejected,
    StreamCheck,
    StreamCut,
    TaskLLM,
    Unusable,
    run_cascade,
    stream_cascade,
)
from shared.llm.client import LLMClient, LLMConfigError
from shared.llm.local import Handler, LocalBackend
from shared.llm.openai_compat import OpenAICompatBackend
from shared.llm.pool import Endpoint, EndpointPool, EndpointSnapshot
from shared.llm.tokens import TokenCounter, token_counter

__all__ = [
    "Answer",
    "BedrockBackend",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "Endpoint",
    "EndpointPool",
    "EndpointSnapshot",
    "Handler",
    "LLMBackend",
    "LLMClient",
    "LLMConfigError",
    "LLMError",
    "LLMStreamCut",
    "LLMTimeout",
    "LLMUnavailable",
    "LocalBackend",
    "OpenAICompatBackend",
    "OutputSchema",
    "Rejected",
    "StreamCheck",
    "StreamCut",
    "TaskLLM",
    "TokenCounter",
    "Unusable",
    "Usage",
    "UsageMeter",
    "run_cascade",
    "stream_cascade",
    "strict_schema",
    "token_counter",
]
