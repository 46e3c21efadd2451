"""Request and response pieces shared by several services: messages, the function call, skuInfo, knowledge."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypedDict, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.settings import get_settings

RECOMMEND_FUNCTION: Final = "get_recommds_by_sku"  # Final: typed as the literal FunctionCall.name wants

IntentLabel = Literal[
    "random chat",
    "random shopping",
    "intended shopping",
    "specific scenarios",
    "specific needs",
    "specific brand",
]
INTENT_LABELS: tuple[IntentLabel, ...] = get_args(IntentLabel)
# The two labels on which a turn skips extraction and recommendation and just chats.
NON_SHOPPING_INTENTS: frozenset[str] = frozenset({"random chat", "random shopping"})


def intent_label(text: str) -> IntentLabel:
    """``text`` as one of the six labels; ValueError when it is none of them."""
    for label in INTENT_LABELS:
        if label == text:
            return label
    raise ValueError(f"not an intent label: {text!r}")


def _within_configured_size(text: str) -> str:
    limit = get_settings().max_message_chars
    if len(text) > limit:
        raise ValueError(f"content is {len(text)} characters; the limit is {limit} (SG_MAX_MESSAGE_CHARS)")
    return text


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(_within_configured_size),
]


Role = Literal["user", "assistant"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: Text


class MessageDict(TypedDict):
    """A message as JSON: the labelled data's and a request body's."""

    role: Role
    content: str


def _has_user_message(messages: list[Message]) -> list[Message]:
    if not any(m.role == "user" for m in messages):
        raise ValueError("at least one message with role 'user' is required")
    limit = get_settings().max_messages
    if len(messages) > limit:
        raise ValueError(f"{len(messages)} messages; the limit is {limit} (SG_MAX_MESSAGES)")
    return messages


Conversation = Annotated[list[Message], Field(min_length=1), AfterValidator(_has_user_message)]


def last_user_message(messages: list[Message]) -> str:
    return next(m.content for m in reversed(messages) if m.role == "user")


class FunctionCall(BaseModel):
    """The recommendation-API call (``the call``): ``get_recommds_by_sku`` with category-specific attributes."""

    name: Literal["get_recommds_by_sku"] = RECOMMEND_FUNCTION
    arguments: dict[str, str] = Field(default_factory=dict, max_length=32)


class Scene(BaseModel):
    aim: str = ""
    scene: str = ""


class SkuComment(BaseModel):
    commentContent: str
    score: float | None = None


class SkuInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    skuId: str
    skuName: str = Field(min_length=1)
    brand: str = ""
    category: str = ""
    price: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    intro: str = ""
    skuCommentList: list[SkuComment] = Field(default_factory=list)


class KnowledgeHit(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    source: str = ""
    score: float | None = None


Engine = Literal["local", "llm"]
EngineChoice = Literal["auto", "local", "llm"]


def render_transcript(messages: list[Message], user: str = "user", assistant: str = "bot") -> str:
    """The dialog as ``user: ...`` / ``bot: ...`` lines, the form the LLM prompts read."""
    return "\n".join(f"{user if m.role == 'user' else assistant}: {m.content}" for m in messages)


def require_messages(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise ValueError("the conversation is empty: send at least one {\"role\": \"user\", \"content\": ...} message")
    return value

