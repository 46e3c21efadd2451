from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import Conversation, Engine, EngineChoice, FunctionCall


class ExtractRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: Conversation = Field(description="The whole dialog; later turns override earlier ones")
    engine: EngineChoice = "auto"


class ExtractResponse(BaseModel):
    call: FunctionCall | None = Field(description="null when the dialog carries nothing to search for")
    engine: Engine
