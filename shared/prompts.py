"""Prompts are configuration: versioned text files under each service's ``prompts/`` folder.

A prompt's version is the hash of its text, so a cache key that includes it changes when the prompt does.
Placeholders use ``$name`` (``string.Template``) so JSON examples in a prompt need no escaping.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from string import Template


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    text: str

    @property
    def version(self) -> str:
        return f"{self.name}@{hashlib.sha256(self.text.encode()).hexdigest()[:12]}"

    def render(self, **values: str) -> str:
        return Template(self.text).substitute(values)


def load_prompt(package: str, name: str) -> Prompt:
    """``load_prompt("services.intent", "intent")`` reads ``services/intent/prompts/intent.txt``."""
    text = resources.files(package).joinpath("prompts", f"{name}.txt").read_text(encoding="utf-8")
    return Prompt(name=name, text=text)
