"""The stream's event names: one enum, documented in README.md, on the wire as plain strings."""

from __future__ import annotations

import itertools
import json

from shared.events import StreamEvent
from shared.settings import PROJECT_ROOT
from shared.sse import error_event, sse_frame


def _readme_events() -> list[str]:
    """The first column of the table under README's "Stream events" caption."""
    lines = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("**Stream events**"))
    table = itertools.dropwhile(lambda line: not line.startswith("|"), lines[start + 1 :])
    header, _separator, *rows = itertools.takewhile(lambda line: line.startswith("|"), table)
    assert header.replace(" ", "") == "|event|data|"
    return [row.split("|")[1].strip().strip("`") for row in rows]


def test_the_readme_lists_every_event_in_order() -> None:
    assert _readme_events() == [event.value for event in StreamEvent]


def test_an_event_is_its_plain_name_on_the_wire() -> None:
    assert sse_frame(StreamEvent.TOKEN, {"text": "好"}) == 'event: token\ndata: {"text":"好"}\n\n'
    assert json.dumps([StreamEvent.DONE, {StreamEvent.CALL: None}]) == '["done", {"call": null}]'
    name, _ = error_event("upstream_error", "failed")
    assert name == "error" and f"{name}" == "error"
