"""Pulling the JSON object out of an LLM reply that may wrap it in tags, fences or prose."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def _tagged(text: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>(.*?)(?:</{tag}>|$)", text, re.S | re.I)
    return match.group(1) if match else None


def _first_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def extract_json(text: str, tag: str | None = None) -> dict[str, Any] | None:
    """The first JSON object inside ``<tag>`` if present, else inside a code fence, else anywhere."""
    for candidate in (_tagged(text, tag) if tag else None, *_FENCE.findall(text), text):
        if candidate and (found := _first_object(candidate)) is not None:
            return found
    return None
