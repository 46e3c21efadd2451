"""The business route table: which upstream serves each public path, and how (cache, timeout, limits).

The table is a YAML file (``SG_GATEWAY_ROUTES_FILE``, default ``routes.yaml`` beside this module, whose
comments document every field); the gateway re-reads it when it changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from shared.settings import ServiceUrls, Settings, Task

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# A path parameter is one segment of id characters, never "." or "..": it cannot climb the upstream's tree.
_PARAM_VALUE = r"[A-Za-z0-9_:~-][A-Za-z0-9_.:~-]*"


class RateLimit(BaseModel):
    """Per API key and route, per minute; a missing value is no limit."""

    model_config = ConfigDict(extra="forbid")

    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1, description="Generated tokens; only on llm routes")
    tokens_per_request: int | None = Field(
        None,
        ge=1,
        description="Tokens a request holds from admission until its answer is counted: the most one answer "
        "generates. None: the largest max_tokens of the route's tasks (all tasks when it names none)",
    )

    def over(self, other: RateLimit) -> RateLimit:
        """These values where given, ``other``'s elsewhere."""
        return RateLimit.model_validate({**other.model_dump(), **self.model_dump(exclude_none=True)})


class CachePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_s: int = Field(ge=1)
    ignore_fields: list[str] = Field(default_factory=list, description="Body fields that do not change the answer")
    bypass_if: list[str] = Field(
        default_factory=list, description="Body fields that make the answer depend on more than the body (session_id)"
    )


def _post_only() -> list[Method]:  # a lambda's ["POST"] would be inferred as list[str]
    return ["POST"]


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(pattern=r"^/v1/[A-Za-z0-9_./{}-]+$")
    methods: list[Method] = Field(default_factory=_post_only, min_length=1)
    business: str = "default"
    upstream: str
    upstream_path: str | None = Field(None, pattern=r"^/[A-Za-z0-9_./{}-]*$")
    timeout_s: float = Field(30.0, gt=0)
    llm: bool = False
    tasks: list[Task] = Field(default_factory=list)
    cache: CachePolicy | None = None
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    rate_limit_on_cache_failure: Literal["open", "closed"] = Field(
        "open", description="When the cache that counts the limits fails: let requests through, or answer 503"
    )

    _regex: re.Pattern[str] = PrivateAttr()

    @field_validator("methods", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return [m.upper() for m in value] if isinstance(value, list) else value

    @field_validator("upstream")
    @classmethod
    def _known_upstream(cls, value: str) -> str:
        known = set(ServiceUrls.model_fields) - {"gateway"}
        if value not in known:
            raise ValueError(f"unknown upstream {value!r}; one of {sorted(known)}")
        return value

    @model_validator(mode="after")
    def _compile(self) -> Route:
        params = _PARAM.findall(self.path)
        unknown = set(_PARAM.findall(self.upstream_path or "")) - set(params)
        if unknown:
            raise ValueError(f"upstream_path of {self.path} uses {sorted(unknown)}, which the path does not have")
        pattern = re.escape(self.path).replace(r"\{", "{").replace(r"\}", "}")
        self._regex = re.compile("^" + _PARAM.sub(lambda m: f"(?P<{m.group(1)}>{_PARAM_VALUE})", pattern) + "$")
        return self

    @property
    def templated(self) -> bool:
        return "{" in self.path

    def match(self, path: str) -> dict[str, str] | None:
        found = self._regex.match(path)
        return found.groupdict() if found else None

    def target(self, params: dict[str, str]) -> str:
        """The path on the upstream, parameters filled in, each escaped: one path segment, whatever
        ``_PARAM_VALUE`` lets through."""
        return _PARAM.sub(lambda m: quote(params[m.group(1)], safe=""), self.upstream_path or self.path)


@dataclass(frozen=True, slots=True)
class RouteMatch:
    route: Route
    params: dict[str, str]

    def upstream_url(self, settings: Settings, query: str = "") -> str:
        base: str = getattr(settings.services, self.route.upstream)
        return f"{base}{self.route.target(self.params)}" + (f"?{query}" if query else "")


class RouteTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routes: list[Route]

    _ordered: list[Route] = PrivateAttr()  # exact paths before templated ones, then file order (resolve's)

    @model_validator(mode="after")
    def _unique(self) -> RouteTable:
        seen: set[tuple[str, str]] = set()
        for route in self.routes:
            for method in route.methods:
                if (method, route.path) in seen:
                    raise ValueError(f"{method} {route.path} is in the table twice")
                seen.add((method, route.path))
        self._ordered = sorted(self.routes, key=lambda r: r.templated)
        return self

    def resolve(self, method: str, path: str) -> RouteMatch:
        """The route for this request: exact paths before templated ones, then file order; 404 or 405."""
        allowed: list[str] = []
        for route in self._ordered:
            params = route.match(path)
            if params is None:
                continue
            if method in route.methods:
                return RouteMatch(route, params)
            allowed += route.methods
        if allowed:
            raise HTTPException(405, f"{method} is not served on {path}", headers={"Allow": ", ".join(allowed)})
        known = ", ".join(sorted({f"{' '.join(r.methods)} {r.path}" for r in self.routes}))
        raise HTTPException(404, f"no route for {path}; known: {known}")
