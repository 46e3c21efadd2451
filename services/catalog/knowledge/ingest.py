"""Ingestion: documents into a collection, idempotently.

Ids are deterministic and every point carries its content hash, so a run compares what it has with what is
stored: unchanged items are skipped (not even embedded), changed ones overwritten, chunks a changed guide no
longer has are deleted (and, with ``prune``, every point the run did not produce). Upserts go in batches; a
run that changed anything publishes a new collection version, which invalidates cached recall.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from services.catalog.knowledge.base import KnowledgeBase
from services.catalog.knowledge.documents import Document
from services.catalog.knowledge.store import Point
from services.catalog.knowledge.vector_cache import VectorFileCache
from shared.embeddings import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestSummary:
    collection: str
    total: int
    added: int
    updated: int
    unchanged: int
    deleted: int
    embedded: int  # texts sent to the embedder
    reused: int  # texts whose vectors came from the on-disk vector cache
    seconds: float
    version: str

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    @property
    def items_per_s(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.collection}: {self.total} items in {self.seconds:.1f}s ({self.items_per_s:.0f} items/s): "
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.deleted} deleted; "
            f"{self.embedded} texts embedded, {self.reused} from the vector cache; version {self.version or '-'}"
        )

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "items_per_s": round(self.items_per_s, 1)}


def _version(fingerprints: dict[str, str]) -> str:
    """The collection's content version: a digest of every (id, hash), so equal contents give equal versions."""
    digest = hashlib.sha256()
    for point_id in sorted(fingerprints):
        digest.update(f"{point_id}:{fingerprints[point_id]}\n".encode())
    return digest.hexdigest()[:16]


async def _vectors(embedder: Embedder, texts: list[str], cache: VectorFileCache | None) -> tuple[list[np.ndarray], int]:
    """Vectors for ``texts``: from the file cache where it has them, the rest embedded in one call."""
    rows: list[np.ndarray | None] = [cache.get(t) if cache else None for t in texts]
    missing = [i for i, row in enumerate(rows) if row is None]
    if missing:
        fresh = await embedder.embed_documents([texts[i] for i in missing])
        for i, vector in zip(missing, fresh, strict=True):
            rows[i] = vector
        if cache is not None:
            cache.put([texts[i] for i in missing], fresh)
    return [row for row in rows if row is not None], len(missing)


async def embed_missing(embedder: Embedder, texts: Sequence[str], cache: VectorFileCache, batch_size: int = 256) -> int:
    """Fill ``cache`` with the vectors of ``texts`` it lacks; returns how many were embedded."""
    embedded = 0
    for start in range(0, len(texts), batch_size):
        embedded += (await _vectors(embedder, list(texts[start : start + batch_size]), cache))[1]
    cache.save()
    return embedded


async def ingest(
    kb: KnowledgeBase,
    collection: str,
    documents: Sequence[Document],
    *,
    batch_size: int = 256,
    prune: bool = False,
    progress: bool = False,
    vector_cache: VectorFileCache | None = None,
) -> IngestSummary:
    started = time.perf_counter()
    await kb.store.ensure(kb.spec(collection))
    stored = await kb.store.fingerprints(collection)
    unique = {d.id: d for d in documents}  # a repeated item counts once: the last one wins
    to_write = [d for d in unique.values() if stored.get(d.id, ("", ""))[0] != d.hash]
    docs_in_run = {d.doc for d in unique.values()}
    stale = [pid for pid, (_, doc) in stored.items() if pid not in unique and (prune or doc in docs_in_run)]

    embedded = reused = 0
    with tqdm(total=len(to_write), desc=f"ingest {collection}", unit="item", disable=not progress) as bar:
        for start in range(0, len(to_write), batch_size):
            batch = to_write[start : start + batch_size]
            names = sorted({name for d in batch for name in d.texts})
            by_name: dict[str, dict[str, list[float]]] = {}
            for name in names:
                owners = [d for d in batch if name in d.texts]
                vectors, fresh = await _vectors(kb.embedder, [d.texts[name] for d in owners], vector_cache)
                embedded += fresh
                reused += len(owners) - fresh
                for d, vector in zip(owners, vectors, strict=True):
                    by_name.setdefault(d.id, {})[name] = vector.tolist()
            await kb.store.upsert(
                collection, [Point(d.id, by_name[d.id], {**d.payload, "hash": d.hash}) for d in batch]
            )
            bar.update(len(batch))
    await kb.store.delete(collection, stale)
    if vector_cache is not None:
        vector_cache.save()

    added = sum(1 for d in to_write if d.id not in stored)
    gone = set(stale)
    final = {pid: h for pid, (h, _) in stored.items() if pid not in gone}
    final.update({d.id: d.hash for d in unique.values()})
    version = _version(final)
    if to_write or stale:
        await kb.store.optimize(collection)
        await kb.publish_version(collection, version)
    summary = IngestSummary(
        collection=collection,
        total=len(unique),
        added=added,
        updated=len(to_write) - added,
        unchanged=len(unique) - len(to_write),
        deleted=len(stale),
        embedded=embedded,
        reused=reused,
        seconds=time.perf_counter() - started,
        version=version,
    )
    log.info("ingested %s", summary.line())
    return summary
