"""The stage events of a streamed chat turn (``POST /v1/chat`` with ``stream: true``), in order.

``session`` → ``intent`` → ``scene`` → ``call`` → ``products`` → ``knowledge`` → ``token`` (many) →
``suggestions`` → ``done``; or ``error`` at any point, after which the stream ends. A shopping turn's
``products`` and ``knowledge`` come only when the intent is a shopping one; a chit-chat
turn goes from ``call`` (null) straight to ``token``. The language services' streams (dialog, copywriting)
carry ``token`` events, then ``done`` or ``error``. Every event's data is one JSON object:

| event | data |
| --- | --- |
| session | ``{"session_id"}`` |
| intent | ``{"intent", "reason", "confidence", "engine"}`` |
| scene | ``{"aim", "scene"}`` |
| call | ``{"call": {"name", "arguments"} or null}`` |
| products | ``{"products": [skuInfo...], "relaxed": [...]}`` |
| knowledge | ``{"hits": [{"text", "source", "score"}...]}`` |
| token | ``{"text"}`` — a piece of the reply |
| suggestions | ``{"suggestions": ["...", "..."]}`` — what the user may ask next |
| done | the whole ``ChatResponse`` (``session_id``, ``reply``, ``intent``, ``scene``, ``call``, ``products``, …, ``session_saved``) |
| error | ``{"type", "message", "request_id"}`` |

README.md lists the same events (a test keeps it in step with the enum).
"""

from __future__ import annotations

from enum import StrEnum


class StreamEvent(StrEnum):
    """An event name on the wire: a ``StrEnum`` is its value in SSE frames, JSON and comparisons."""

    SESSION = "session"
    INTENT = "intent"
    SCENE = "scene"
    CALL = "call"
    PRODUCTS = "products"
    KNOWLEDGE = "knowledge"
    TOKEN = "token"
    SUGGESTIONS = "suggestions"
    DONE = "done"
    ERROR = "error"
