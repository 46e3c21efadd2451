from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import FunctionCall, KnowledgeHit, SkuInfo, Text


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call: FunctionCall
    top_k: int = Field(5, ge=1, le=50)


class Ad(BaseModel):
    skuInfo: SkuInfo


class RecommendResponse(BaseModel):
    adList: list[Ad]
    relaxed: list[str] = Field(
        default_factory=list, description="Filters dropped, in order, because the full set matched nothing"
    )


class KnowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Text
    top_k: int = Field(5, ge=1, le=50)
    category: str | None = None


class KnowledgeResponse(BaseModel):
    hits: list[KnowledgeHit]
