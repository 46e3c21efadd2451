from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared.schemas import (
    PROMPT_VERSION_DOC,
    Conversation,
    Engine,
    EngineChoice,
    FunctionCall,
    Generation,
    Instructions,
    IntentLabel,
    KnowledgeHit,
    SkuInfo,
    TokenUsage,
    require_messages,
)
from shared.settings import get_settings

MAX_PRODUCTS = 10
MAX_KNOWLEDGE = 10


def _knowledge_within_size(hits: list[KnowledgeHit]) -> list[KnowledgeHit]:
    limit = get_settings().max_message_chars
    for i, hit in enumerate(hits):
        if len(hit.text) > limit:
            raise ValueError(f"knowledge[{i}].text is {len(hit.text)} characters; the limit is {limit}")
    return hits


def _products_within_size(products: list[SkuInfo]) -> list[SkuInfo]:
    limit = get_settings().max_message_chars
    for i, product in enumerate(products):
        size = len(product.intro) + sum(len(c.commentContent) for c in product.skuCommentList)
        if size > 4 * limit:
            raise ValueError(
                f"products[{i}] carries {size} characters of intro and reviews; the limit is {4 * limit}: "
                "send the few best reviews only"
            )
    return products


Products = Annotated[list[SkuInfo], Field(max_length=MAX_PRODUCTS), AfterValidator(_products_within_size)]
Knowledge = Annotated[list[KnowledgeHit], Field(max_length=MAX_KNOWLEDGE), AfterValidator(_knowledge_within_size)]


class DialogRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: Conversation = Field(description="The dialog so far; the guide answers the last user message")
    intent: IntentLabel | None = Field(
        None, description="The intent service's label; 'random chat' and 'random shopping' get small talk"
    )
    call: FunctionCall | None = Field(None, description="The recommendation call extracted for this turn")
    products: Products = Field(
        default_factory=list, description="The recommended products; the only ones the guide may mention"
    )
    relaxed: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="The call's constraints the products do not meet (price, brand, brand_exclude, attribute:<key>, "
        "category): nothing met them, so the nearest are shown",
    )
    knowledge: Knowledge = Field(default_factory=list, description="Retrieved snippets the guide may quote")
    stream: bool = Field(False, description="Answer as text/event-stream: token events, then done (or error)")
    engine: EngineChoice = Field("auto", description="auto: the LLM when the dialog task is routed to one")
    generation: Generation | None = Field(
        None, description="max_tokens, temperature, top_p, stop, seed, user for the reply (the route's otherwise)"
    )
    instructions: Instructions | None = Field(
        None,
        description="The operator's instructions (an API client's system message): given to the LLM as a system "
        "message after the guide's own rules, never as user text; the local engine takes only a reply language "
        "from them ('answer in English', '用中文回答')",
    )

    @field_validator("messages", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        return require_messages(value)


class DialogResponse(BaseModel):
    reply: str
    engine: Engine
    finish_reason: str = Field(
        "stop", description="stop, or length when the reply was cut at max_tokens (as the model's server says)"
    )
    usage: TokenUsage | None = Field(None, description="Tokens the LLM read and wrote; null when no model ran")
    prompt_version: str | None = Field(None, description=PROMPT_VERSION_DOC)
