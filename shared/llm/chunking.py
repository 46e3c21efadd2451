"""Split text into small streaming pieces: English by words (with their trailing spaces), CJK in pairs."""

from __future__ import annotations

import re

# CJK radicals through ideographs, Hangul, compatibility ideographs and full-width forms: scripts
# written without spaces, where a "word" cannot be found by whitespace.
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_PIECE = re.compile(rf"[{_CJK}]{{1,2}}\s*|[^\s{_CJK}]+\s*|\s+")


def split_chunks(text: str) -> list[str]:
    """Pieces that concatenate back to ``text`` exactly."""
    return _PIECE.findall(text)


def count_tokens(text: str) -> int:
    """An estimate of a text's tokens, the same measure everywhere (limits, prompt budgets): words and CJK
    pairs. The real count depends on the serving model's tokenizer, which is not available here."""
    return len(split_chunks(text))


def clip_tokens(text: str, max_tokens: int) -> str:
    """The start of ``text`` within ``max_tokens``, marked with an ellipsis when cut."""
    pieces = split_chunks(text)
    return text if len(pieces) <= max_tokens else "".join(pieces[:max_tokens]).rstrip() + "…"
