from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.engines.compare import CompareRow, Highlight, Recommendation
from shared.schemas import (
    FunctionCall,
    Generation,
    Instructions,
    IntentLabel,
    KnowledgeHit,
    Message,
    Scene,
    SessionId,
    SkuId,
    SkuInfo,
    Text,
    TokenUsage,
)
from shared.settings import get_settings


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: SessionId | None = None
    message: Text
    stream: bool = False
    history: list[Message] = Field(
        default_factory=list,
        description="The dialog before this message, as the client has it (the OpenAI facade sends the messages "
        "it was given): used only when the session has no history yet (new, or expired), which it then rebuilds "
        "from these turns, so intent and extraction read the whole dialog",
    )
    generation: Generation | None = Field(None, description="What the client asks of the reply's generation")
    instructions: Instructions | None = Field(None, description="The operator's instructions to the guide")
    apology: bool = Field(
        True,
        description="false: a turn the dialog service cannot answer fails (503; streamed, an error event of type "
        "service_unavailable) instead of being answered with an apology",
    )

    @field_validator("history")
    @classmethod
    def _history_within_limit(cls, value: list[Message]) -> list[Message]:
        limit = get_settings().max_messages
        if len(value) > limit:
            raise ValueError(f"{len(value)} messages; the limit is {limit} (SG_MAX_MESSAGES)")
        return value


class ChatResponse(BaseModel):
    session_id: str
    reply: str
    intent: IntentLabel
    scene: Scene
    call: FunctionCall | None
    products: list[SkuInfo]
    relaxed: list[str] = Field(
        default_factory=list, description="Constraints the products do not meet, dropped because nothing met them all"
    )
    knowledge: list[KnowledgeHit] = []
    suggestions: list[str] = []
    engines: dict[str, Any] = Field(default_factory=dict, description="Which engine answered each stage")
    prompt_versions: dict[str, str] = Field(
        default_factory=dict,
        description="The prompt (<name>@<hash>, as each service's GET /v1/prompts lists it) behind each stage an LLM "
        "answered: intent, extraction, dialog; a stage the local engine answered is absent",
    )
    session_saved: bool = Field(
        True,
        description="False when the session store failed: the turn was answered, but the session does not have it"
        " (engines.session is then 'unsaved')",
    )
    finish_reason: str = Field("stop", description="length when the reply was cut at generation.max_tokens")
    usage: TokenUsage | None = Field(
        None, description="Tokens the turn's models (intent, extraction, dialog) read and wrote; null when none ran"
    )


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_ids: list[SkuId] = Field(min_length=2, max_length=5, description="Two to five products, by skuId")
    session_id: SessionId | None = None
    language: Literal["zh", "en"] | None = None


class CompareResponse(BaseModel):
    products: list[SkuInfo]
    rows: list[CompareRow] = Field(description="Price, then each attribute, one value per product")
    highlights: list[Highlight]
    recommendation: Recommendation


class CopywritingAgentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: SkuId | None = None
    product: SkuInfo | None = None
    session_id: SessionId | None = None
    language: Literal["zh", "en"] | None = None
    max_length: int | None = Field(None, ge=20, le=400)

    @model_validator(mode="after")
    def _one_product(self) -> CopywritingAgentRequest:
        if (self.sku_id is None) == (self.product is None):
            raise ValueError("give exactly one of 'sku_id' or 'product'")
        return self


class SummaryAgentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: SessionId
