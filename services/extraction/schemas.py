from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import PROMPT_VERSION_DOC, Conversation, Engine, EngineChoice, FunctionCall, TokenUsage, TurnReading


class ExtractRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: Conversation = Field(description="The whole dialog; later turns override earlier ones")
    engine: EngineChoice = "auto"


class ExtractResponse(BaseModel):
    call: FunctionCall | None = Field(description="null when the dialog carries nothing to search for")
    turn: TurnReading | None = Field(
        None,
        description="What the last user message alone adds, read by the local engine in the dialog's context (also "
        "when the call is null: \"cheaper\" reads as browsing alone): the delta a caller keeping the dialog state "
        "merges",
    )
    engine: Engine
    usage: TokenUsage | None = Field(None, description="Tokens the LLM read and wrote; null when no model ran")
    prompt_version: str | None = Field(None, description=PROMPT_VERSION_DOC)
