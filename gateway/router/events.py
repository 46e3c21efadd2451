"""The stage events of a streamed chat turn (``POST /v1/chat`` with ``stream: true``), in order.

``session`` → ``intent`` → ``scene`` → ``call`` → ``products`` → ``knowledge`` → ``token`` (many) →
``suggestions`` → ``done``; or ``error`` at any point, after which the stream ends. A shopping turn's
``products`` and ``knowledge`` come only when the intent is a shopping one (seed 000's branch); a chit-chat
turn goes from ``call`` (null) straight to ``token``. Every event's data is one JSON object:

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
| done | the whole ``ChatResponse`` (``session_id``, ``reply``, ``intent``, ``scene``, ``call``, ``products``, …) |
| error | ``{"type", "message", "request_id"}`` |
"""

from __future__ import annotations

from typing import Final

SESSION: Final = "session"
INTENT: Final = "intent"
SCENE: Final = "scene"
CALL: Final = "call"
PRODUCTS: Final = "products"
KNOWLEDGE: Final = "knowledge"
TOKEN: Final = "token"
SUGGESTIONS: Final = "suggestions"
DONE: Final = "done"
ERROR: Final = "error"
