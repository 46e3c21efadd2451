"""The qdrant-client engine: a Qdrant server by URL in production, or the client's local mode in-process.

Local mode (``path`` or ``:memory:``) implements the same client API as a server, which is how the server
code path is tested without one; it evaluates filters in Python, so it is not the embedded default.
The embedding model, dimension and version live in the collection's metadata.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qdrant_client import AsyncQdrantClient
from qdrant_client import models as qm

from services.catalog.knowledge.store import (
    AnyOf,
    CollectionSpec,
    Filter,
    Hit,
    NoneOf,
    Point,
    VectorStore,
)


def _filter(flt: Filter | None) -> qm.Filter | None:
    if flt is None or not flt.must:
        return None
    must: list[qm.Condition] = [
        qm.FieldCondition(key=c.key, match=qm.MatchAny(any=list(c.values)))
        if isinstance(c, AnyOf)
        else qm.FieldCondition(key=c.key, range=qm.Range(gte=c.low, lte=c.high))
        for c in flt.must
        if not isinstance(c, NoneOf)
    ]
    must_not: list[qm.Condition] = [
        qm.FieldCondition(key=c.key, match=qm.MatchAny(any=list(c.values))) for c in flt.must if isinstance(c, NoneOf)
    ]
    return qm.Filter(must=must or None, must_not=must_not or None)


class ClientStore(VectorStore):
    def __init__(self, client: AsyncQdrantClient, engine: str, where: str) -> None:
        self.client = client
        self.engine = engine
        self.where = where

    @classmethod
    def for_server(cls, url: str, api_key: str | None = None) -> ClientStore:
        return cls(AsyncQdrantClient(url=url, api_key=api_key, timeout=10), "server", url)

    @classmethod
    def embedded(cls, path: Path | str) -> ClientStore:
        if str(path) == ":memory:":
            return cls(AsyncQdrantClient(location=":memory:"), "local", ":memory:")
        Path(path).mkdir(parents=True, exist_ok=True)
        return cls(AsyncQdrantClient(path=str(path)), "local", str(path))

    async def _meta(self, name: str) -> dict[str, Any]:
        info = await self.client.get_collection(name)
        return dict(info.config.metadata or {})

    async def ensure(self, spec: CollectionSpec) -> None:
        if await self.client.collection_exists(spec.name):
            spec.check(await self._meta(spec.name), f"{self.where}/{spec.name}")
            return
        params = qm.VectorParams(size=spec.dim, distance=qm.Distance.COSINE)
        await self.client.create_collection(
            spec.name, vectors_config={v: params for v in spec.vectors}, metadata=spec.meta()
        )
        indexes = [(key, qm.PayloadSchemaType.KEYWORD) for key in spec.keyword_fields]
        indexes += [(key, qm.PayloadSchemaType.FLOAT) for key in spec.float_fields]
        with warnings.catch_warnings():
            # Local mode has no payload indexes and warns; the calls are the ones a server gets.
            warnings.simplefilter("ignore", UserWarning)
            for key, schema in indexes:
                await self.client.create_payload_index(spec.name, key, schema)

    async def version(self, name: str) -> str:
        return str((await self._meta(name)).get("version", ""))

    async def set_version(self, name: str, version: str) -> None:
        await self.client.update_collection(name, metadata={"version": version})  # merged into the metadata

    async def upsert(self, name: str, points: Sequence[Point]) -> None:
        # dict(): a new dict typed with qdrant's wider vector type (a dict's value type is invariant).
        structs = [qm.PointStruct(id=p.id, vector=dict(p.vectors), payload=p.payload) for p in points]
        await self.client.upsert(name, structs, wait=True)

    async def delete(self, name: str, ids: Sequence[str]) -> None:
        if ids:
            await self.client.delete(name, qm.PointIdsList(points=list(ids)), wait=True)

    async def fingerprints(self, name: str) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        offset: Any = None
        while True:
            records, offset = await self.client.scroll(
                name, limit=1024, offset=offset, with_payload=["hash", "doc"], with_vectors=False
            )
            for record in records:
                payload = record.payload or {}
                found[str(record.id)] = (str(payload.get("hash", "")), str(payload.get("doc", "")))
            if offset is None:
                return found

    async def search(
        self, name: str, using: str, vector: Sequence[float], flt: Filter | None, limit: int, payload: bool = True
    ) -> list[Hit]:
        response = await self.client.query_points(
            name, query=list(vector), using=using, query_filter=_filter(flt), limit=limit, with_payload=payload
        )
        return [Hit(str(p.id), float(p.score), p.payload or {}) for p in response.points]

    async def retrieve(self, name: str, ids: Sequence[str]) -> list[Hit]:
        records = await self.client.retrieve(name, list(ids), with_payload=True, with_vectors=False)
        return [Hit(str(r.id), 1.0, r.payload or {}) for r in records]

    async def count(self, name: str) -> int:
        return (await self.client.count(name, exact=True)).count

    async def aclose(self) -> None:
        await self.client.close()
