"""Prompts are configuration: versioned text files under each service's ``prompts/`` folder.

A prompt's version is the hash of its text, so a cache key that includes it changes when the prompt does.
Placeholders use ``$name`` (``string.Template``) so JSON examples in a prompt need no escaping. A line
``=== user ===`` splits a prompt into the system message (the instruction) and the user message (the data).

Below: how what a customer wrote enters a prompt (as data, never as instruction).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from shared.llm.base import ChatMessage

USER_MARKER = "\n=== user ===\n"


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    text: str

    @property
    def version(self) -> str:
        return f"{self.name}@{hashlib.sha256(self.text.encode()).hexdigest()[:12]}"

    def render(self, **values: str) -> str:
        return Template(self.text).substitute(values)

    def messages(self, **values: str) -> list[ChatMessage]:
        """The prompt as chat messages: the text before a ``=== user ===`` line is the system message (the
        instruction), the text after it the user message (the data). Each part is filled in on its own, so no
        value can move the line."""
        system, marker, user = self.text.partition(USER_MARKER)
        if not marker:
            return [ChatMessage(role="system", content=Template(system).substitute(values).strip())]
        return [
            ChatMessage(role="system", content=Template(system).substitute(values).strip()),
            ChatMessage(role="user", content=Template(user).substitute(values).strip()),
        ]

    @property
    def instruction(self) -> str:
        """The system part, as written (placeholders unfilled)."""
        return self.text.partition(USER_MARKER)[0]


def load_prompt(package: str, name: str) -> Prompt:
    """``load_prompt("services.intent", "intent")`` reads ``services/intent/prompts/intent.txt``."""
    text = resources.files(package).joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")
    return Prompt(name=name, text=text)


# --------------------------------------------------------------------------- data in a prompt
# What a customer wrote is data, never instruction: it goes to the model in a user-role message, or, where a
# prompt must carry it (a transcript to classify or summarise), JSON-encoded. JSON puts every line break inside
# a string as \n, so no text can begin a line of its own ("system: ...", "bot: ..."); escaping < > & as \u
# sequences (still valid JSON) means no string can open or close a tag (</text>, <response>). U+2028/2029 and
# U+0085 count as line breaks to some readers, so they are escaped too.
_DATA_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}
)
# Chat-template control tokens a serving stack may parse out of message text (ChatML, Llama 2/3, Gemma, and
# the sentence markers): in a user message they could end the turn and open another. Written in full-width
# brackets they are plain text.
_CONTROL_TOKEN = re.compile(
    r"<\|[^<>|\n]{1,40}\|>|\[/?INST\]|<</?SYS>>|</?s>|<(?:start_of_turn|end_of_turn|bos|eos|pad)>", re.I
)
_FULL_WIDTH = str.maketrans({"<": "\uff1c", ">": "\uff1e", "[": "\uff3b", "]": "\uff3d"})


def as_data(value: Any, *, compact: bool = False) -> str:
    """``value`` as JSON a prompt can carry as data: valid JSON whose strings cannot start a line or a tag."""
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(value, ensure_ascii=False, separators=separators).translate(_DATA_ESCAPES)


def transcript_data(turns: Iterable[tuple[str, str]]) -> str:
    """A dialog as a JSON list of ``{"role": ..., "content": ...}`` objects, one per line (control tokens in
    the text written as plain characters, as in a role message)."""
    lines = [as_data({"role": role, "content": neutralise(content)}) for role, content in turns]
    return "[\n" + ",\n".join(lines) + "\n]"


def neutralise(text: str) -> str:
    """A customer's text for a role message: chat-template control tokens written as plain characters."""
    return _CONTROL_TOKEN.sub(lambda m: m.group(0).translate(_FULL_WIDTH), text)


def escape_markup(text: str) -> str:
    """Text for a tagged section of an instruction (<products>, <constraints>): no < or > that could close it."""
    return text.replace("<", "\uff1c").replace(">", "\uff1e")
