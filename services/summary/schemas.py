from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.schemas import PROMPT_VERSION_DOC, Conversation, Engine, EngineChoice, Message, require_messages
from shared.settings import get_settings
from shared.text import is_blank

YesNo = Literal["是", "否"]
Speaker = Literal["用户", "客服"]
USER: Final = "用户"
AGENT: Final = "客服"
# Hard bounds on an answer (the targets are 30 and 50 characters): longer is a retelling, not a summary.
MAX_PROBLEM_CHARS, MAX_SOLUTION_CHARS = 60, 80

# Speaker labels a pasted transcript may use; turns need not start on a new line ("…吗？客服：您好…").
_USER_LABELS = ("用户", "顾客", "客户", "买家", "消费者", "user", "customer")
_AGENT_LABELS = ("客服", "商家", "卖家", "店家", "agent", "service", "staff")
_SPEAKER = re.compile(
    rf"({'|'.join(label for label in _USER_LABELS + _AGENT_LABELS if not label.isascii())}|"
    rf"\b(?:{'|'.join(label for label in _USER_LABELS + _AGENT_LABELS if label.isascii())})\b)\s*[:：]",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Speaker
    text: str


def parse_transcript(text: str) -> list[Turn]:
    """``用户：…客服：…`` into turns; text before the first speaker label is ignored."""
    marks = list(_SPEAKER.finditer(text))
    turns: list[Turn] = []
    for mark, following in zip(marks, [*marks[1:], None], strict=False):
        body = text[mark.end() : following.start() if following else len(text)].strip()
        if not body:
            continue
        speaker: Speaker = USER if mark.group(1).lower() in _USER_LABELS else AGENT
        turns.append(Turn(speaker, body))
    return turns


def turns_from_messages(messages: list[Message]) -> list[Turn]:
    return [Turn(USER if m.role == "user" else AGENT, m.content) for m in messages]


class SummaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation: str | None = Field(
        None, description="The transcript, one turn per speaker label: '用户：…\\n客服：…'"
    )
    messages: Conversation | None = Field(None, description="Or the dialog as messages: user = 用户, assistant = 客服")
    engine: EngineChoice = Field("auto", description="auto: the LLM when the summary task is routed to one")

    @field_validator("conversation")
    @classmethod
    def _transcript(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if is_blank(value):
            raise ValueError("the conversation is empty: send the transcript as '用户：…\\n客服：…'")
        settings = get_settings()
        limit = settings.max_message_chars * 4
        if len(value) > limit:
            raise ValueError(f"the conversation is {len(value)} characters; the limit is {limit}")
        turns = parse_transcript(value)
        if not any(t.speaker == USER for t in turns):
            raise ValueError(
                "no customer turn found: prefix the customer's lines with '用户：' and the agent's with '客服：'"
            )
        if len(turns) > settings.max_messages:
            raise ValueError(f"{len(turns)} turns; the limit is {settings.max_messages} (SG_MAX_MESSAGES)")
        return value

    @field_validator("messages", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        return require_messages(value)

    @model_validator(mode="after")
    def _one_source(self) -> SummaryRequest:
        if self.conversation is None and self.messages is None:
            raise ValueError("nothing to summarise: send 'conversation' (a '用户：…客服：…' transcript) or 'messages'")
        if self.conversation is not None and self.messages is not None:
            raise ValueError("send either 'conversation' or 'messages', not both")
        return self

    def turns(self) -> list[Turn]:
        return parse_transcript(self.conversation) if self.conversation is not None else turns_from_messages(
            self.messages or []
        )


class Summary(BaseModel):
    """Exactly the four summary keys, the last two exactly 是 or 否."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    problem: str = Field(alias="用户问题", min_length=1, max_length=MAX_PROBLEM_CHARS)
    solution: str = Field(alias="客服方案", min_length=1, max_length=MAX_SOLUTION_CHARS)
    accepted: YesNo = Field(alias="是否接受")
    negative: YesNo = Field(alias="是否负面情绪")

    @field_validator("problem", "solution", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


class SummaryResponse(BaseModel):
    summary: Summary
    engine: Engine
    prompt_version: str | None = Field(None, description=PROMPT_VERSION_DOC)
