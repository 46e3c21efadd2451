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
