"""The vector store behind the knowledge base: one interface, two engines.

- ``EdgeStore`` (``qdrant-edge-py``): Qdrant's own engine in-process, the embedded default.
- ``ClientStore`` (``qdrant-client``): a Qdrant server by URL in production; its local mode (a path or
  ``:memory:``) runs the same client API in-process, which is how the server code path is tested here.

Collections record the embedding model and dimension they were built with, and a content version that
ingestion moves; opening one with a different embedder raises ``CollectionMismatch``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.settings import Settings


class StoreError(Exception):
    """The vector store cannot be used as configured."""


class CollectionMismatch(StoreError):
    """A collection was built with another embedding model or dimension."""


class StoreLocked(StoreError):
    """The embedded store is open in another process (an embedded store has one process at a time)."""


@dataclass(frozen=True, slots=True)
class CollectionSpec:
    name: str
    vectors: tuple[str, ...]
    dim: int
    model: str
    keyword_fields: tuple[str, ...] = ()
    float_fields: tuple[str, ...] = ()

    def meta(self, version: str = "") -> dict[str, Any]:
        return {"embedding_model": self.model, "embedding_dim": self.dim, "version": version}

    def check(self, meta: dict[str, Any], where: str) -> None:
        found = (meta.get("embedding_model"), meta.get("embedding_dim"))
        if found != (self.model, self.dim):
            raise CollectionMismatch(
                f"collection {self.name!r} at {where} was built with embedding model {found[0]!r} "
                f"({found[1]} dimensions), but the configured embedder is {self.model!r} ({self.dim} dimensions). "
                "Its vectors cannot be compared: restore the SG_EMBEDDING_* settings it was built with, "
                "or delete the collection and ingest again."
            )


@dataclass(frozen=True, slots=True)
class Point:
    id: str
    vectors: dict[str, list[float]]
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """The payload field equals one of ``values`` (keyword fields)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Between:
    """``low <= field <= high``; either bound may be open (float fields)."""

    key: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class NoneOf:
    """The payload field equals none of ``values`` (keyword fields): "not Apple"."""

    key: str
    values: tuple[str, ...]


Condition = AnyOf | Between | NoneOf


@dataclass(frozen=True, slots=True)
class Filter:
    """All conditions must hold."""

    must: tuple[Condition, ...] = field(default_factory=tuple)


class VectorStore(ABC):
    engine: str

    @abstractmethod
    async def ensure(self, spec: CollectionSpec) -> None:
        """Create the collection if missing; raise ``CollectionMismatch`` if it was built for another embedder."""

    @abstractmethod
    async def version(self, name: str) -> str:
        """The content version ingestion last recorded ("" for a fresh collection)."""

    @abstractmethod
    async def set_version(self, name: str, version: str) -> None: ...

    @abstractmethod
    async def upsert(self, name: str, points: Sequence[Point]) -> None: ...

    @abstractmethod
    async def delete(self, name: str, ids: Sequence[str]) -> None: ...

    @abstractmethod
    async def fingerprints(self, name: str) -> dict[str, tuple[str, str]]:
        """Every point's ``id -> (payload hash, payload doc)``: what ingestion compares against."""

    @abstractmethod
    async def search(
        self, name: str, using: str, vector: Sequence[float], flt: Filter | None, limit: int, payload: bool = True
    ) -> list[Hit]:
        """Nearest points by cosine on the named vector, best first; ``payload=False`` leaves payloads out
        (most of a query's cost in-process, when only the winners' are needed)."""

    @abstractmethod
    async def retrieve(self, name: str, ids: Sequence[str]) -> list[Hit]: ...

    @abstractmethod
    async def count(self, name: str) -> int: ...

    async def optimize(self, name: str) -> None:
        """Build indexes after a bulk load (the embedded engine does it in-process; a server by itself)."""

    @abstractmethod
    async def aclose(self) -> None: ...


def open_store(settings: Settings) -> VectorStore:
    """A server when ``qdrant_url`` is set; otherwise the embedded engine under ``qdrant_location``."""
    if settings.qdrant_url:
        from services.catalog.knowledge.server import ClientStore

        return ClientStore.for_server(settings.qdrant_url, settings.qdrant_api_key)
    if settings.qdrant_engine == "local":
        from services.catalog.knowledge.server import ClientStore

        return ClientStore.embedded(settings.qdrant_location / "local")
    from services.catalog.knowledge.edge import EdgeStore

    return EdgeStore(settings.qdrant_location / "edge")
