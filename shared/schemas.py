"""Request and response pieces shared by several services: messages, the function call, skuInfo, knowledge."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypedDict, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.settings import get_settings
from shared.text import is_blank

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


# A product id (skuId) a client may name: the catalog's (SKU-smartphone-0003) and an outside recommender's
# (letters, digits, _ . : -). Ids end up in URL paths and keys, so nothing that could climb, query or split one.
SKU_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
SkuId = Annotated[str, StringConstraints(pattern=SKU_ID_PATTERN)]
# A dialog session id: the router's sessions, the OpenAI facade's derived ids.
SESSION_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
SessionId = Annotated[str, StringConstraints(pattern=SESSION_ID_PATTERN)]


def _within_configured_size(text: str) -> str:
    limit = get_settings().max_message_chars
    if len(text) > limit:
        raise ValueError(f"content is {len(text)} characters; the limit is {limit} (SG_MAX_MESSAGE_CHARS)")
    return text


def _visible(text: str) -> str:
    if is_blank(text):
        raise ValueError("the text is empty: it has only spaces or invisible characters")
    return text


# Text that must say something: surrounding whitespace stripped, not only zero-width characters.
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(_visible),
    AfterValidator(_within_configured_size),
]


# An operator's instructions to the guide (an API client's system message): a bounded text of its own.
Instructions = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8000)]

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


class PriceRange(BaseModel):
    """A price range in the catalog's currency (converted from the user's), either bound open."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)
    currency: str = Field("CNY", min_length=3, max_length=3)


class BrandConstraint(BaseModel):
    """Brands in the catalog's spelling: only these (``include``), never these (``exclude``)."""

    model_config = ConfigDict(extra="forbid")

    include: list[str] = Field(default_factory=list, max_length=16)
    exclude: list[str] = Field(default_factory=list, max_length=16)


class AttributeConstraint(BaseModel):
    """A measured range (``min``/``max`` in ``unit``: "6 inch", "for 4 people") or a value the catalog writes
    ("winter"); a product fits when its value for the key overlaps the range, or names the value."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    unit: str | None = Field(None, max_length=16)
    value: str | None = Field(None, max_length=100)


class Constraints(BaseModel):
    """What the user stated as hard limits, read as values: the catalog filters on these, and says which it had
    to drop (``relaxed``: ``price``, ``brand``, ``brand_exclude``, ``attribute:<key>``) when nothing fits."""

    model_config = ConfigDict(extra="forbid")

    price: PriceRange | None = None
    brands: BrandConstraint | None = None
    attributes: dict[str, AttributeConstraint] = Field(default_factory=dict, max_length=32)

    def __bool__(self) -> bool:
        return bool(self.price or self.brands or self.attributes)


class FunctionCall(BaseModel):
    """The recommendation-API call (``the call``): ``get_recommds_by_sku`` with category-specific attributes in
    the user's words (what an outside recommender reads) and, beside them, the same needs read as values."""

    name: Literal["get_recommds_by_sku"] = RECOMMEND_FUNCTION
    arguments: dict[str, str] = Field(default_factory=dict, max_length=32)
    constraints: Constraints | None = None


class Relative(BaseModel):
    """A move from what was last shown: "cheaper" is ``price``/``less``, "bigger screen" ``screen size``/``more``."""

    key: str
    direction: Literal["less", "more"]


class TurnReading(BaseModel):
    """What one user message says about the need, read in the context of the dialog before it: the delta the
    router merges into the dialog state."""

    category: str | None = Field(None, description="The kind of product this message is about, if any")
    named: bool = Field(False, description="The message names that kind itself (else it is inferred)")
    arguments: dict[str, str] = Field(default_factory=dict, description="Wishes in the user's words, per key")
    constraints: Constraints = Field(default_factory=Constraints)
    relative: list[Relative] = Field(default_factory=list)
    ordinal: int | None = Field(None, description="The shown product it refers to: 1 the first, -1 the last")

    def __bool__(self) -> bool:
        """Whether the message says anything about the need."""
        return bool(self.category or self.arguments or self.constraints or self.relative or self.ordinal)


class DialogState(BaseModel):
    """The state of a shopping conversation: the call it adds up to, and the shown product it last referred to."""

    call: FunctionCall | None = None
    focus: str | None = Field(None, description="skuId of the shown product the last message referred to")


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
# Every language service's answer names the prompt its LLM answered with (prompts are live configuration).
PROMPT_VERSION_DOC = (
    "The prompt the LLM answered with: <name>@<first 12 hex digits of its text's sha256>, as GET /v1/prompts lists "
    "it; null when the local engine answered"
)


class Generation(BaseModel):
    """What a client asks of the reply's generation (the OpenAI parameters of the same names); each left out
    is the route's setting. The LLM gets them all (max_tokens at most the route's); the local engine keeps
    the reply within max_tokens and cuts it at the first stop sequence."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(None, ge=1, le=1_000_000, description="The most tokens the reply may take")
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        None, max_length=4, description="The reply ends before the first of these"
    )
    seed: int | None = Field(None, ge=-(2**63), lt=2**63)
    user: str | None = Field(None, max_length=256, description="The end user, passed to the model's server")

    def options(self) -> dict[str, Any]:
        """As ``LLMClient`` options: only those given."""
        return self.model_dump(exclude_none=True)


class TokenUsage(BaseModel):
    """The tokens a request's models read (prompt) and wrote (completion), as their servers reported them;
    ``estimated`` when some were counted here instead (a server that reported none)."""

    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)
    estimated: bool = False

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            estimated=self.estimated or other.estimated,
        )

    @classmethod
    def of(cls, usage: Any) -> TokenUsage | None:
        """From the LLM layer's ``Usage`` (None: no model ran)."""
        return None if usage is None else cls.model_validate(usage, from_attributes=True)


class FieldError(BaseModel):
    field: str = Field(description="Where in the request: a body field (messages.0.content), a path or query name")
    message: str


class ErrorDetail(BaseModel):
    type: str = Field(description="validation_error, http_error, upstream_error, internal_error, ...")
    message: str = Field(description="What went wrong, for a person; never an internal address")
    request_id: str | None = Field(description="Quote it when asking about this request: the logs carry the detail")
    errors: list[FieldError] | None = Field(None, description="Each invalid field (validation_error only)")


class ErrorResponse(BaseModel):
    """The body of every error answer (4xx and 5xx) of every app."""

    error: ErrorDetail


def require_messages(value: Any) -> Any:
    if isinstance(value, list) and not value:
        raise ValueError("the conversation is empty: send at least one {\"role\": \"user\", \"content\": ...} message")
    return value

