"""Request bodies refused before anything parses them: a body that is not JSON where JSON is expected (415),
and one nested deeper than ``max_json_depth`` (422), measured without recursion on the raw bytes."""

from __future__ import annotations

import re
from array import array
from itertools import accumulate

JSON_MEDIA_TYPE = "application/json"

# A JSON string token: brackets inside one are text, not nesting.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
# Opening brackets to +1, closing ones to -1 (as signed bytes); everything else deleted.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
# Control characters JSON allows nowhere unescaped (whitespace aside). A NUL early on also makes json.loads
# guess UTF-16/32 and fail outside FastAPI's validation errors, as a bare 400.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class BodyRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw``, JSON or not; the scan runs in C, so a megabyte of
    brackets costs milliseconds."""
    steps = array("b", _STRING.sub(b"", raw).translate(_STEPS, _NOT_BRACKET))
    return max(accumulate(steps, initial=0))


def is_json(content_type: str | None) -> bool:
    """A JSON media type: ``application/json`` or ``application/*+json`` (FastAPI parses no other)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == JSON_MEDIA_TYPE or (media.startswith("application/") and media.endswith("+json"))


def check_json_body(raw: bytes, content_type: str | None, max_depth: int) -> None:
    """Raise ``BodyRefused`` for a non-empty body that is not declared JSON, not UTF-8 (as JSON between
    systems must be) or nests past ``max_depth``."""
    if not raw:
        return
    if not is_json(content_type):
        got = f"not {content_type}" if content_type else "and no Content-Type was given"
        raise BodyRefused(415, f"send the body as {JSON_MEDIA_TYPE} ({got})")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyRefused(422, f"the body is not UTF-8 (byte {exc.start}): send {JSON_MEDIA_TYPE} text") from exc
    if control := _CONTROL.search(raw):
        raise BodyRefused(422, f"the body holds a raw control character (byte {control.start()}): escape it in JSON")
    depth = json_depth(raw)
    if depth > max_depth:
        raise BodyRefused(422, f"the body nests {depth} levels deep; the limit is {max_depth} (SG_MAX_JSON_DEPTH)")
