"""Dialog sessions in the KV cache (Redis), kept per tenant.

``SessionStore`` holds what the router remembers of a session: history, intent trajectory, needs profile,
last products. ``ConversationIndex`` is how the OpenAI-compatible facade, whose clients send a ``user`` or
resend the whole history instead of a session id, finds the session a conversation belongs to.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from contextvars import ContextVar

from pydantic import BaseModel, Field

from shared.cache import Cache, CacheError
from shared.schemas import SESSION_ID_PATTERN, Message, SkuInfo

log = logging.getLogger(__name__)

SESSION_TTL_S = 24 * 3600
# The tenant the gateway vouched for (X-SG-Tenant), bound per request: one tenant never sees another's sessions.
tenant_var: ContextVar[str] = ContextVar("tenant", default="-")
_SESSION_ID = re.compile(SESSION_ID_PATTERN)


class Session(BaseModel):
    id: str
    history: list[Message] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list, description="The intent of each turn: the trajectory")
    preferences: dict[str, str] = Field(default_factory=dict, description="The needs profile: the latest call")
    last_products: list[SkuInfo] = Field(default_factory=list)


class SessionStore:
    """The router's sessions, under the tenant bound to ``tenant_var``."""

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


def _conversation_key(tenant: str, turns: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(json.dumps([tenant, turns], ensure_ascii=False).encode()).hexdigest()
    return f"oai:conversation:{digest}"


class ConversationIndex:
    """Which session a conversation, given as its (role, text) turns, belongs to, for one tenant.

    A ``user`` names its own session (one per tenant and user). Without one, the turns before the new
    question name it: after each answer the conversation so far is remembered with its session, so a client
    that resends the history with a new question continues that session; a first message starts a new one.
    """

    def __init__(self, cache: Cache, tenant: str) -> None:
        self.cache = cache
        self.tenant = tenant

    async def resolve(self, user: str | None, earlier: list[tuple[str, str]]) -> str:
        """The session id for a new question from ``user`` (or none) after the ``earlier`` turns."""
        if user is not None:
            readable = f"u-{self.tenant}-{user}"
            if _SESSION_ID.match(readable):
                return readable
            return f"u-{hashlib.sha256(json.dumps([self.tenant, user]).encode()).hexdigest()[:40]}"
        if not earlier:
            return f"c-{uuid.uuid4().hex}"
        key = _conversation_key(self.tenant, earlier)
        try:
            found = await self.cache.get(key)
        except CacheError as exc:
            log.warning("conversation not looked up, the cache failed: %s", exc)
            found = None
        # Unknown history (expired, or from elsewhere): a session named by it, the same on every resend.
        return found.decode() if found else f"h-{key.rsplit(':', 1)[1][:40]}"

    async def remember(self, conversation: list[tuple[str, str]], session_id: str) -> None:
        # As long as a session lives: a conversation is worth finding again only while its session does.
        try:
            await self.cache.set(_conversation_key(self.tenant, conversation), session_id.encode(), SESSION_TTL_S)
        except CacheError as exc:
            log.warning("conversation not remembered, the cache failed: %s", exc)
