"""Dialog sessions in the KV cache (Redis): history, intent trajectory, needs profile, last products."""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar

from pydantic import BaseModel, Field

from shared.cache import Cache, CacheError
from shared.schemas import Message, SkuInfo

log = logging.getLogger(__name__)

SESSION_TTL_S = 24 * 3600
# The tenant the gateway vouched for (X-SG-Tenant), bound per request: one tenant never sees another's sessions.
tenant_var: ContextVar[str] = ContextVar("tenant", default="-")


class Session(BaseModel):
    id: str
    history: list[Message] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list, description="The intent of each turn: the trajectory")
    preferences: dict[str, str] = Field(default_factory=dict, description="The needs profile: the latest call")
    last_products: list[SkuInfo] = Field(default_factory=list)


class SessionStore:
    def __init__(self, cache: Cache, ttl_s: int = SESSION_TTL_S) -> None:
        self.cache = cache
        self.ttl_s = ttl_s

    @staticmethod
    def _key(session_id: str) -> str:
        return f"session:{tenant_var.get()}:{session_id}"

    async def get(self, session_id: str) -> Session | None:
        try:
            raw = await self.cache.get(self._key(session_id))
        except CacheError as exc:
            log.warning("session %s not loaded: %s", session_id, exc)
            return None
        return Session.model_validate_json(raw) if raw else None

    async def load(self, session_id: str | None) -> Session:
        """The stored session, or a new one (with this id, or a fresh one when none is given)."""
        if session_id is None:
            return Session(id=uuid.uuid4().hex)
        return await self.get(session_id) or Session(id=session_id)

    async def save(self, session: Session) -> None:
        try:
            await self.cache.set(self._key(session.id), session.model_dump_json().encode(), self.ttl_s)
        except CacheError as exc:
            log.error("session %s not saved: %s", session.id, exc)
