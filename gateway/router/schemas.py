from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import FunctionCall, IntentLabel, KnowledgeHit, Scene, SkuInfo, Text


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    message: Text
    stream: bool = False


class ChatResponse(BaseModel):
    session_id: str
    reply: str
    intent: IntentLabel
    scene: Scene
    call: FunctionCall | None
    products: list[SkuInfo]
    knowledge: list[KnowledgeHit] = []
    suggestions: list[str] = []
    engines: dict[str, Any] = Field(default_factory=dict, description="Which engine answered each stage")
