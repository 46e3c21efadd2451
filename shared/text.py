"""Language-neutral text helpers: tokens that work for Chinese and English alike, language detection."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?|[\u3400-\u9fff\uf900-\ufaff]+", re.I)
# Zero-width space, non-joiner, joiner, word joiner, byte-order mark: not whitespace to str.strip, yet show nothing.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def is_blank(text: str) -> bool:
    """True when the text shows nothing: only whitespace and zero-width characters."""
    return not text.translate(_INVISIBLE).strip()


def is_chinese(text: str) -> bool:
    """Chinese when CJK characters make up a fair share of the letters."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk > 0 and cjk * 3 >= latin


def tokens(text: str) -> list[str]:
    """Lower-cased English words and numbers; Chinese runs as single characters and character bigrams."""
    out: list[str] = []
    for run in _WORD.findall(text.lower()):
        if _CJK.match(run):
            out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out
