from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import PROMPT_VERSION_DOC, Conversation, Engine, EngineChoice, IntentLabel, Scene, TokenUsage


class IntentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: Conversation = Field(description="The dialog so far; the last user message is classified")
    engine: EngineChoice = "auto"


class IntentResponse(BaseModel):
    intent: IntentLabel
    reason: str
    scene: Scene
    confidence: float = Field(ge=0, le=1)
    engine: Engine
    usage: TokenUsage | None = Field(None, description="Tokens the LLM read and wrote; null when no model ran")
    prompt_version: str | None = Field(None, description=PROMPT_VERSION_DOC)


class IntentAnswer(BaseModel):
    """The intent of the chat's last user message, and why (the JSON an LLM reply is constrained to)."""

    category: IntentLabel
    reason: str = Field(max_length=120, description="One sentence")
    aim: str = Field(max_length=40, description="How the user will use the product; empty when not said")
    scene: str = Field(max_length=40, description="Where or when; empty when not said")
