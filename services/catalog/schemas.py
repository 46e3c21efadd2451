from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.recommender import Ad, RecommendRequest, RecommendResponse
from shared.schemas import KnowledgeHit, Text

__all__ = ["Ad", "KnowledgeRequest", "KnowledgeResponse", "RecommendRequest", "RecommendResponse"]


class KnowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Text
    top_k: int = Field(5, ge=1, le=50)
    category: str | None = None


class KnowledgeResponse(BaseModel):
    hits: list[KnowledgeHit]
