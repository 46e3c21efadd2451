"""API keys: accepted as ``Authorization: Bearer <key>`` or ``X-API-Key``; only their hashes are kept."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import HTTPException, Request


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, keys: list[str]) -> None:
        self._hashes = frozenset(hash_key(k) for k in keys)

    def valid(self, key: str) -> bool:
        digest = hash_key(key)
        return any(hmac.compare_digest(digest, known) for known in self._hashes)


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


async def require_api_key(request: Request) -> str:
    key = presented_key(request)
    if key is None:
        raise HTTPException(
            401, "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keys: ApiKeys = request.state.api_keys
    if not keys.valid(key):
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    return key
