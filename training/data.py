"""The labelled data in ``training/data/`` as typed records, and the deterministic held-out split."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from shared.schemas import FunctionCall, IntentLabel, Message, MessageDict, Scene

DATA_DIR = Path(__file__).with_name("data")
INTENT_FILE = DATA_DIR / "intent.jsonl"
EXTRACTION_FILE = DATA_DIR / "extraction.jsonl"
HELDOUT_PERCENT = 20


@dataclass(frozen=True, slots=True)
class IntentExample:
    id: str
    lang: str
    messages: tuple[Message, ...]
    intent: IntentLabel
    scene: Scene

    @property
    def multi_turn(self) -> bool:
        return len(self.messages) > 1


@dataclass(frozen=True, slots=True)
class ExtractionExample:
    id: str
    lang: str
    messages: tuple[Message, ...]
    call: FunctionCall | None

    @property
    def multi_turn(self) -> bool:
        return len(self.messages) > 1


Example = TypeVar("Example", IntentExample, ExtractionExample)


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _messages(raw: list[MessageDict]) -> tuple[Message, ...]:
    # model_construct: the annotator's text is trusted; validation would consult the process settings.
    return tuple(Message.model_construct(role=m["role"], content=m["content"].strip()) for m in raw)


def load_intent(path: Path = INTENT_FILE) -> list[IntentExample]:
    return [
        IntentExample(row["id"], row["lang"], _messages(row["messages"]), row["intent"], Scene(**row["scene"]))
        for row in _rows(path)
    ]


def load_extraction(path: Path = EXTRACTION_FILE) -> list[ExtractionExample]:
    return [
        ExtractionExample(
            row["id"], row["lang"], _messages(row["messages"]), FunctionCall(**row["call"]) if row["call"] else None
        )
        for row in _rows(path)
    ]


def is_heldout(example_id: str) -> bool:
    """A stable 20% of ids: the hash does not move when rows are added, reordered or relabelled."""
    return int(hashlib.sha256(example_id.encode()).hexdigest(), 16) % 100 < HELDOUT_PERCENT


def split(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """(train, held-out)."""
    train = [e for e in examples if not is_heldout(e.id)]
    heldout = [e for e in examples if is_heldout(e.id)]
    return train, heldout

