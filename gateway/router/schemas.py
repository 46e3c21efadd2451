from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.engines.compare import CompareRow, Highlight, Recommendation
from shared.schemas import FunctionCall, IntentLabel, KnowledgeHit, Scene, SessionId, SkuId, SkuInfo, Text


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: SessionId | None = None
    message: Text
    stream: bool = False


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
    session_saved: bool = Field(
        True,
        description="False when the session store failed: the turn was answered, but the session does not have it"
        " (engines.session is then 'unsaved')",
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
