"""Dialog sessions in the KV cache (Redis), kept per tenant.

``SessionStore`` holds what the router remembers of a session: history, intent trajectory, needs profile, dialog
state, last products. Each turn is appended to the session's log in one atomic step with the profile it changed, so
concurrent turns on one session are all kept, in the order they reached the store; an append that fails is
reported to the turn, which says so in its answer. ``ConversationIndex`` is how the OpenAI-compatible facade,
whose clients send a ``user`` or resend the whole history instead of a session id, finds the session a
conversation belongs to.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Sequence
from contextvars import ContextVar

from pydantic import BaseModel, Field, TypeAdapter

from shared.cache import Cache, CacheError
from shared.schemas import SESSION_ID_PATTERN, DialogState, FunctionCall, Message, SkuInfo
from shared.telemetry import SESSION_TURNS_UNSAVED

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
    state: DialogState = Field(
        default_factory=DialogState, description="The dialog state: the call the conversation adds up to"
    )
    last_products: list[SkuInfo] = Field(default_factory=list)


class Exchange(BaseModel):
    """One turn as its session keeps it: the question, the reply, and the intent the question was taken for."""

    user: str
    assistant: str
    intent: str


_PRODUCTS = TypeAdapter(list[SkuInfo])


class SessionStore:
    """The router's sessions, under the tenant bound to ``tenant_var``: a log of exchanges (the newest
    ``max_turns`` kept) with the needs profile and last products beside it."""

    def __init__(self, cache: Cache, max_turns: int, ttl_s: int = SESSION_TTL_S) -> None:
        self.cache = cache
        self.max_turns = max_turns
        self.ttl_s = ttl_s

    @staticmethod
    def _key(session_id: str) -> str:
        return f"session:{tenant_var.get()}:{session_id}"

    async def get(self, session_id: str) -> Session | None:
        """The stored session, or None when there is none; ``CacheError`` when the cache does not answer."""
        stored = await self.cache.log_read(self._key(session_id))
        if not stored.entries and not stored.fields:
            return None
        exchanges = [Exchange.model_validate_json(entry) for entry in stored.entries]
        preferences = json.loads(stored.fields.get("preferences", b"{}"))
        # A session saved before it kept a state: its last call is where the dialog stands.
        state = (
            DialogState.model_validate_json(stored.fields["state"])
            if "state" in stored.fields
            else DialogState(call=FunctionCall(arguments=preferences) if preferences else None)
        )
        return Session(
            id=session_id,
            history=[
                message
                for e in exchanges
                for message in (Message(role="user", content=e.user), Message(role="assistant", content=e.assistant))
            ],
            intents=[e.intent for e in exchanges],
            preferences=preferences,
            state=state,
            last_products=_PRODUCTS.validate_json(stored.fields.get("last_products", b"[]")),
        )

    async def load(self, session_id: str | None) -> Session:
        """The stored session, or a new one (with this id, or a fresh one when none is given or the cache fails:
        the turn goes on without its history)."""
        if session_id is None:
            return Session(id=uuid.uuid4().hex)
        try:
            found = await self.get(session_id)
        except CacheError as exc:
            log.warning("session %s not loaded: %s", session_id, exc)
            found = None
        return found or Session(id=session_id)

    async def append(
        self,
        session_id: str,
        exchange: Exchange,
        *,
        preferences: dict[str, str] | None,
        products: list[SkuInfo],
        state: DialogState | None = None,
        earlier: Sequence[Exchange] = (),
    ) -> bool:
        """Add one exchange to the session, the oldest dropped beyond ``max_turns``, and with it, in the same
        atomic step, the needs profile (when the turn made a call), the dialog state (when the turn moved it) and
        the products (when it showed any); ``earlier`` exchanges (a dialog the session did not have, rebuilt from a
        client's history) go before it. False when the cache failed: the turn was answered but the session does
        not have it."""
        fields: dict[str, bytes] = {}
        if preferences is not None:
            fields["preferences"] = json.dumps(preferences, ensure_ascii=False).encode()
        if state is not None:
            fields["state"] = state.model_dump_json().encode()
        if products:
            fields["last_products"] = _PRODUCTS.dump_json(products)
        try:
            await self.cache.log_append(
                self._key(session_id),
                exchange.model_dump_json().encode(),
                earlier=[e.model_dump_json().encode() for e in earlier[-(self.max_turns - 1) :]] if self.max_turns > 1 else [],
                keep=self.max_turns,
                fields=fields,
                ttl_s=self.ttl_s,
            )
        except CacheError as exc:
            log.error("session %s: a turn was answered but not saved: %s", session_id, exc)
            SESSION_TURNS_UNSAVED.inc()
            return False
        return True


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

    async def remember(self, conversation: list[tuple[str, str]], session_id: str) -> bool:
        """False when the cache failed: a resend of this conversation will not find its session."""
        # As long as a session lives: a conversation is worth finding again only while its session does.
        try:
            await self.cache.set(_conversation_key(self.tenant, conversation), session_id.encode(), SESSION_TTL_S)
        except CacheError as exc:
            log.warning("conversation not remembered, the cache failed: %s", exc)
            return False
        return True
