from __future__ import annotations

from typing import Any, Literal, Union, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.schemas import (
    PROMPT_VERSION_DOC,
    RECOMMEND_FUNCTION,
    Conversation,
    Engine,
    EngineChoice,
    FunctionCall,
    TokenUsage,
    TurnReading,
)
from shared.taxonomy import Taxonomy

VALUE_CHARS = 40  # an argument is a few words of the customer's; the bound also stops a model that loops


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


def extraction_answer(taxonomy: Taxonomy) -> type[BaseModel]:
    """The JSON an LLM's extraction is constrained to: ``{"call": null}``, or the call with the arguments of one
    of the catalog's categories (its id, a brand, its own and the common attribute keys; null where the dialog
    says nothing), so an unknown category or a key outside the category's schema cannot be written."""
    common = [a.key for a in taxonomy.common_attributes]
    variants = [_arguments(category.id, [*category.attribute_keys, *common]) for category in taxonomy.categories.values()]
    call = create_model(
        "Call",
        name=(cast(Any, Literal)[RECOMMEND_FUNCTION], ...),
        arguments=(cast(Any, Union)[tuple(variants)], ...),
    )
    return create_model("ExtractionAnswer", call=(call | None, Field(description="null: nothing to search for yet")))


def _arguments(category: str, keys: list[str]) -> type[BaseModel]:
    values: dict[str, Any] = {
        f"value_{i}": (str | None, Field(alias=key, max_length=VALUE_CHARS))
        for i, key in enumerate(dict.fromkeys(k for k in keys if k not in ("category", "brand")))
    }
    return create_model(
        f"Arguments_{category}",
        category=(cast(Any, Literal)[category], ...),
        brand=(str | None, Field(max_length=VALUE_CHARS, description="Only brands the customer named")),
        **values,
    )
