"""Checks on what a model generated, before it is taken as an answer.

Echoes. A model may repeat what it was given, and the worst case of prompt injection is a model that does
just that: an answer a customer typed (``<response>{"category": ...}</response>``) comes back as the model's.
So an answer is taken only from what the model wrote itself:

- a JSON answer (``pick_json``) is skipped when its text, or its value written as JSON, occurs (whitespace
  aside) in any of the ``Sources`` (each turn of the dialog as the client sent it, and the prompt's messages):
  a block the tolerant parser found inside an echoed input, an injected answer, the prompt's own template or
  example. The next block the model wrote may still be its answer; when every block was copied the reply is
  ``echoed``.
- a free-text answer (``echoed_text``) is rejected when it is, whole, one of the sources (a short message),
  when it is a passage of 16+ characters of one, or when it holds a whole source or source line of 24+
  characters.

Repetition. ``Repetition`` reads a streamed reply as tokens (a Chinese character, an English word or number,
any other visible character) and finds a loop: a unit of 1 to ``LOOP_MAX_UNIT`` tokens said
``LOOP_COPIES`` times in a row with at least ``LOOP_MIN_TOKENS`` tokens repeated (so "哈" must come 13 times,
a six-token phrase three times), or the same ``NGRAM``-token run a ``NGRAM_REPEATS``th time anywhere. The
reply is cut where the loop begins: the first copy stays, the repeats go.

``ReplyGuard`` runs both over a stream, with a length bound, holding back only what may still have to be cut:
the start of a reply while it could be a copy of a source, and the tokens of a repetition in progress.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass

from shared.jsonblock import JsonBlock, json_blocks
from shared.llm.cascade import Rejected, Unusable

ECHO_PASSAGE_CHARS = 16  # a reply that is this much of a source, verbatim, is a copy
ECHO_HELD_CHARS = 24  # a reply that holds a whole source (or line of one) this long is a copy

LOOP_COPIES = 3
LOOP_MIN_TOKENS = 12
LOOP_MAX_UNIT = 200
NGRAM = 12
NGRAM_REPEATS = 4

_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[A-Za-z0-9]+|\S")
_WORD_CHAR = re.compile(r"[A-Za-z0-9]")
_ENDING = re.compile(r"[.!?。！？…]*")


def _squeezed(text: str) -> str:
    return _SPACE.sub("", text)


@dataclass(frozen=True, slots=True)
class Sources:
    """The texts an answer must not be copied from, compared with all whitespace taken out."""

    whole: tuple[str, ...]
    passages: tuple[str, ...]  # sources and their lines of ECHO_HELD_CHARS or more

    @classmethod
    def of(cls, *texts: Iterable[str] | str) -> Sources:
        flat = [t for group in texts for t in ([group] if isinstance(group, str) else group)]
        whole = tuple(dict.fromkeys(s for s in map(_squeezed, flat) if s))
        lines = (_squeezed(line) for text in flat for line in (text, *text.splitlines()))
        passages = tuple(dict.fromkeys(p for p in lines if len(p) >= ECHO_HELD_CHARS))
        return cls(whole, passages)

    def holds(self, fragment: str) -> bool:
        """Whether ``fragment`` (whitespace aside) occurs in one of the sources."""
        squeezed = _squeezed(fragment)
        return any(squeezed in source for source in self.whole)

    def is_one(self, text: str) -> bool:
        """Whether ``text`` is, whole, one of the sources."""
        return _squeezed(text) in self.whole

    def held_in(self, text: str) -> bool:
        """Whether ``text`` holds a whole source, or a line of one, long enough to be no coincidence."""
        squeezed = _squeezed(text)
        return any(passage in squeezed for passage in self.passages)


def copied(block: JsonBlock, sources: Sources) -> bool:
    """Whether a JSON answer was copied from the sources: its text, or its value written as JSON."""
    return sources.holds(block.raw) or sources.holds(json.dumps(block.value, ensure_ascii=False))


def pick_json(
    text: str, sources: Sources, tag: str | None = None, wanted: Callable[[JsonBlock], bool] | None = None
) -> JsonBlock | Unusable | None:
    """The first JSON block of the reply (``json_blocks`` order) that the model wrote itself and that looks like
    an answer (``wanted``); ``Unusable(kind="echoed")`` when the only candidates were copied; None when the
    reply holds no candidate at all."""
    echoed = 0
    for block in json_blocks(text, tag):
        if copied(block, sources):
            echoed += 1
        elif wanted is None or wanted(block):
            return block
    if echoed:
        return Unusable("the answer was copied from the input or the prompt, not written by the model", "echoed")
    return None


def echoed_text(text: str, sources: Sources) -> bool:
    """Whether a free-text answer repeats a source: is one, is a passage of one, or holds a long one."""
    squeezed = _squeezed(text)
    if not squeezed:
        return False
    return (
        sources.is_one(text)
        or (len(squeezed) >= ECHO_PASSAGE_CHARS and sources.holds(text))
        or sources.held_in(text)
    )


def placeholder(value: str) -> bool:
    """A template's filler rather than an answer: "xxx", "...", "<one sentence>", "N/A"."""
    stripped = value.strip().strip("\"'“”")
    return bool(
        re.fullmatch(r"x{2,}|X{2,}|\.{2,}|…+|<[^<>]*>|\$\w+|n/?a|none|null|todo|tbd|placeholder|示例|例如", stripped, re.I)
    )


# --------------------------------------------------------------------------- repetition
class Repetition:
    """Tokens of a growing text and the loop in them, found as the text grows (``feed``)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.starts: list[int] = []  # where each token starts in the text
        self.scanned = 0  # how far the text has been read into tokens
        # runs[p]: how many of the last tokens each equal the token p before it.
        self.runs = [0] * (LOOP_MAX_UNIT + 1)
        self.ngrams: Counter[tuple[str, ...]] = Counter()
        self.loop_at: int | None = None  # where the text is cut: the loop's start

    def feed(self, text: str, final: bool = False) -> None:
        """Read what was added to ``text`` since the last call; a word at the very end waits for the next call
        (it may go on), unless ``final``."""
        for match in _TOKEN.finditer(text, self.scanned):
            if self.loop_at is not None:
                return
            if match.end() == len(text) and not final and _WORD_CHAR.match(match.group()):
                return
            self._add(match.group().lower(), match.start())
            self.scanned = match.end()

    def _add(self, token: str, start: int) -> None:
        tokens, runs = self.tokens, self.runs
        i = len(tokens)
        tokens.append(token)
        self.starts.append(start)
        for p in range(1, min(LOOP_MAX_UNIT, i) + 1):
            run = runs[p] + 1 if tokens[i - p] == token else 0
            runs[p] = run
            if run >= LOOP_MIN_TOKENS and run >= (LOOP_COPIES - 1) * p:
                self.loop_at = self.starts[i - run + 1]  # the first repeat: one copy of the unit stays
                return
        if i + 1 >= NGRAM:
            gram = tuple(tokens[i + 1 - NGRAM :])
            self.ngrams[gram] += 1
            if self.ngrams[gram] >= NGRAM_REPEATS:
                self.loop_at = self.starts[i + 1 - NGRAM]

    def settled(self) -> int:
        """How much of the text no loop found later can cut: up to the start of the longest repetition in
        progress, or to the last whole token."""
        held = max(self.runs)
        return self.starts[len(self.tokens) - held] if held else self.scanned


# --------------------------------------------------------------------------- the stream guard
class ReplyGuard:
    """Checks a reply as it streams: a copy of a source is rejected (``Rejected``) before any of it went out;
    a loop is cut where it begins; a reply longer than ``max_chars`` is cut there. ``truncated`` then says
    why ("repetition", "length"). One guard per reply; ``check`` is the same for a whole reply."""

    def __init__(self, max_chars: int, sources: Sources | None = None) -> None:
        self.max_chars = max_chars
        self.sources = sources or Sources((), ())
        self.truncated: str | None = None

    async def __call__(self, deltas: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
        text, released = "", 0
        repetition = Repetition()
        echo_open = bool(self.sources.whole)  # the reply so far could still be a copy of a source
        async for delta in deltas:
            text += delta
            if echo_open:
                if not self.sources.holds(text):
                    echo_open = False
                elif len(_squeezed(text)) >= ECHO_PASSAGE_CHARS:
                    raise Rejected(Unusable("the reply repeats the input or the prompt", "echoed"))
            repetition.feed(text)
            cut = self._cut(text, repetition, released)
            if cut is not None:
                if cut > released:
                    yield text[released:cut]
                return
            # Whitespace before held text waits with it: a cut there leaves none at the end of the reply.
            settled = len(text[: repetition.settled()].rstrip())
            if not echo_open and settled > released:
                yield text[released:settled]
                released = settled
        if echo_open and text.strip() and self.sources.is_one(text):
            raise Rejected(Unusable("the reply is one of the customer's messages, repeated", "echoed"))
        repetition.feed(text, final=True)
        cut = self._cut(text, repetition, released)
        end = len(text) if cut is None else cut
        if end > released:
            yield text[released:end]

    def _cut(self, text: str, repetition: Repetition, released: int) -> int | None:
        """Where the reply ends when a check stops it (never before what already went out), or None."""
        if repetition.loop_at is not None and repetition.loop_at < len(text):
            self.truncated = "repetition"
            # A loop found from a sentence's end ("…much. I love…") keeps that end: the first copy is whole.
            ending = _ENDING.match(text, repetition.loop_at)
            end = ending.end() if ending else repetition.loop_at
            return max(released, len(text[:end].rstrip()))
        if len(text) > self.max_chars:
            self.truncated = "length"
            end = self.max_chars
            if _WORD_CHAR.match(text[end - 1]) and _WORD_CHAR.match(text[end]):  # not in the middle of a word
                end = max(text.rfind(" ", 0, end), 0) or end
            return max(released, len(text[:end].rstrip()))
        return None

    def check(self, text: str) -> str | Unusable:
        """The same checks on a whole reply: the reply, cut where a check says, or why it is unusable."""
        if echoed_text(text, self.sources):
            return Unusable("the reply repeats the input or the prompt", "echoed")
        repetition = Repetition()
        repetition.feed(text, final=True)
        cut = self._cut(text, repetition, 0)
        return text if cut is None else text[:cut]
