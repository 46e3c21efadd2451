"""Pulling the JSON object out of an LLM reply that may wrap it in tags, fences or prose."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class JsonBlock:
    """A JSON object found in a reply: its value, and the exact text it was decoded from."""

    value: dict[str, Any]
    raw: str


def _tagged(text: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>(.*?)(?:</{tag}>|$)", text, re.S | re.I)
    return match.group(1) if match else None


def _all_tagged(text: str, tag: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"<{tag}>(.*?)(?:</{tag}>|$)", text, re.S | re.I)]


def _objects(text: str) -> Iterator[JsonBlock]:
    """Every JSON object in ``text`` that does not sit inside an earlier one, in order."""
    end = 0
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        if start < end:
            continue
        try:
            value, stop = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            end = stop
            yield JsonBlock(value, text[start:stop])


def _first_object(text: str) -> dict[str, Any] | None:
    return next((block.value for block in _objects(text)), None)


def extract_json(text: str, tag: str | None = None) -> dict[str, Any] | None:
    """The first JSON object inside ``<tag>`` if present, else inside a code fence, else anywhere."""
    for candidate in (_tagged(text, tag) if tag else None, *_FENCE.findall(text), text):
        if candidate and (found := _first_object(candidate)) is not None:
            return found
    return None


def json_blocks(text: str, tag: str | None = None) -> Iterator[JsonBlock]:
    """Every JSON object a tolerant parser could take for the answer, in the order ``extract_json`` prefers
    them: each ``<tag>`` block's first object, each code fence's, then every object anywhere. A caller that
    rejects one (copied from the input, say) goes on to the next; the same object may come more than once."""
    for candidate in (*(_all_tagged(text, tag) if tag else ()), *_FENCE.findall(text)):
        if candidate and (found := next(_objects(candidate), None)) is not None:
            yield found
    yield from _objects(text)

