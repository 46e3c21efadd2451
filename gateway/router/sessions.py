"""Dialog sessions in the KV cache (Redis): history, intent trajectory, preferences, last products."""

from __future__ import annotations

import logging
import uuid

from pydantic import BaseModel, Field

from shared.cache import Cache, CacheError
from shared.schemas import Message, SkuInfo

log = logging.getLogger(__name__)

SESSION_TTL_S = 24 * 3600


class Session(BaseModel):
    id: str
    history: list[Message] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list)
    preferences: dict[str, str] = Field(default_factory=dict)
    last_products: list[SkuInfo] = Field(default_factory=list)


class SessionStore:
    def __init__(self, cache: Cache, ttl_s: int = SESSION_TTL_S) -> None:
        self.cache = cache
        self.ttl_s = ttl_s

    async def load(self, session_id: str | None) -> Session:
        if session_id is None:
            return Session(id=uuid.uuid4().hex)
        try:
            raw = await self.cache.get(f"session:{session_id}")
        except CacheError as exc:
            log.warning("session %s not loaded, starting fresh: %s", session_id, exc)
            raw = None
        return Session.model_validate_json(raw) if raw else Session(id=session_id)

    async def save(self, session: Session) -> None:
        try:
            await self.cache.set(f"session:{session.id}", session.model_dump_json().encode(), self.ttl_s)
        except CacheError as exc:
            log.error("session %s not saved: %s", session.id, exc)
