from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.schemas import (
    PROMPT_VERSION_DOC,
    Conversation,
    Engine,
    EngineChoice,
    SkuComment,
    SkuInfo,
    require_messages,
)
from shared.settings import get_settings
from shared.text import is_blank

Language = Literal["zh", "en"]
# Copy length: Chinese in characters, English in words.
DEFAULT_MAX_LENGTH: dict[str, int] = {"zh": 120, "en": 60}
MIN_LENGTH, MAX_LENGTH = 20, 400
MAX_COMMENTS = 50


class CopyProduct(SkuInfo):
    """The skuInfo to write about; ``skuId`` is optional here, a name is not."""

    skuId: str = ""
    skuName: str = Field("", validate_default=True, description="The product's name; required, the copy is about it")
    skuCommentList: list[SkuComment] = Field(default_factory=list, max_length=MAX_COMMENTS)

    @field_validator("skuName", mode="before")
    @classmethod
    def _named(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and is_blank(value)):
            raise ValueError("the product has no name: set product.skuName to the product's name")
        return value.strip() if isinstance(value, str) else value

    @field_validator("intro")
    @classmethod
    def _intro_size(cls, value: str) -> str:
        limit = get_settings().max_message_chars
        if len(value) > limit:
            raise ValueError(f"intro is {len(value)} characters; the limit is {limit}")
        return value

    @field_validator("skuCommentList")
    @classmethod
    def _comments_size(cls, value: list[SkuComment]) -> list[SkuComment]:
        limit = get_settings().max_message_chars
        total = sum(len(c.commentContent) for c in value)
        if total > 2 * limit:
            raise ValueError(f"the reviews total {total} characters; the limit is {2 * limit}: send the best few")
        return value


class CopyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: CopyProduct
    messages: Conversation | None = Field(
        None, description="The dialog so far: the copy stresses what the user said they care about"
    )
    language: Language | None = Field(
        None, description="zh or en; by default the user's language, else the product text's"
    )
    max_length: int | None = Field(
        None,
        ge=MIN_LENGTH,
        le=MAX_LENGTH,
        description="Upper bound: Chinese characters for zh (default 120), words for en (default 60)",
    )
    stream: bool = Field(False, description="Answer as text/event-stream: token events, then done (or error)")
    engine: EngineChoice = Field("auto", description="auto: the LLM when the copywriting task is routed to one")

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"zh", "en"}:
                return lowered
            raise ValueError(f"unknown language {value!r}: use 'zh' (Chinese) or 'en' (English), or leave it out")
        return value

    @field_validator("messages", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        return require_messages(value)


class CopyResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    copy_text: str = Field(alias="copy", serialization_alias="copy")
    engine: Engine
    prompt_version: str | None = Field(None, description=PROMPT_VERSION_DOC)
