"""API keys per tenant: ``Authorization: Bearer <key>`` or ``X-API-Key``; only sha256 hashes are kept.

Tenants come from a YAML file (``SG_GATEWAY_TENANTS_FILE``, re-read when it changes)::

    tenants:
      - name: shop-web                       # letters, digits, _ . -
        key_sha256: [9f86d08...]             # python -m gateway.tier1.keys hash <key>
        routes: ["/v1/chat", "/v1/chat/completions", "/v1/sessions/*"]   # fnmatch over route-table paths
        rate_limits:                         # first matching pattern wins; unset values keep the route's
          "/v1/chat*": {requests_per_minute: 300, tokens_per_minute: 200000}

``SG_API_KEYS`` adds plain development keys, hashed at start-up, as the tenant ``dev`` with every route.
A missing or unknown key is 401; a known key on a route its tenant may not use is 403.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.tier1.routes import RateLimit, Route
from shared.watch import WatchedFile

DEV_TENANT = "dev"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Tenant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    key_sha256: list[str] = Field(default_factory=list)
    routes: list[str] = Field(default_factory=lambda: ["*"], description="fnmatch patterns over route-table paths")
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _hex_hashes(self) -> Tenant:
        self.key_sha256 = [h.lower() for h in self.key_sha256]
        bad = [h for h in self.key_sha256 if len(h) != 64 or any(c not in "0123456789abcdef" for c in h)]
        if bad:
            raise ValueError(f"tenant {self.name}: not sha256 hex digests: {bad} (python -m gateway.tier1.keys hash)")
        return self

    def allows(self, route: Route) -> bool:
        return any(fnmatchcase(route.path, pattern) for pattern in self.routes)

    def limit_for(self, route: Route) -> RateLimit:
        override = next((lim for pattern, lim in self.rate_limits.items() if fnmatchcase(route.path, pattern)), None)
        return override.over(route.rate_limit) if override else route.rate_limit


class TenantsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenants: list[Tenant] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> TenantsFile:
        names = [t.name for t in self.tenants]
        if len(names) != len(set(names)) or DEV_TENANT in names:
            raise ValueError(f"tenant names must be unique and not {DEV_TENANT!r} (reserved for SG_API_KEYS): {names}")
        hashes = [h for t in self.tenants for h in t.key_sha256]
        if len(hashes) != len(set(hashes)):
            raise ValueError("a key hash is listed twice: a key belongs to one tenant")
        return self

    @classmethod
    def parse(cls, raw: Any) -> TenantsFile:
        return cls.model_validate(raw or {})


@dataclass(frozen=True, slots=True)
class Principal:
    tenant: Tenant
    key_id: str  # a prefix of the key's hash: names the key in limits and logs without revealing it


class Keyring:
    """Key hash -> tenant, from the development keys and the (re-read) tenants file."""

    def __init__(self, dev_keys: list[str], tenants: WatchedFile[TenantsFile] | None) -> None:
        dev = Tenant(name=DEV_TENANT, key_sha256=[hash_key(k) for k in dev_keys])
        self._dev = {h: dev for h in dev.key_sha256}
        self._tenants = tenants
        self._source: TenantsFile | None = None
        self._index: dict[str, Tenant] = dict(self._dev)

    def lookup(self, key: str) -> Principal | None:
        # A dict lookup, not a constant-time compare: its timing could only leak the hash, not the key.
        digest = hash_key(key)
        tenant = self._current().get(digest)
        return Principal(tenant, digest[:16]) if tenant else None

    def _current(self) -> dict[str, Tenant]:
        if self._tenants is not None:
            source = self._tenants.get()
            if source is not self._source:  # the file was re-read: rebuild the index once
                self._source = source
                self._index = {**self._dev, **{h: t for t in source.tenants for h in t.key_sha256}}
        return self._index
