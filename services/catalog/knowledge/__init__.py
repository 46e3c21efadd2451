"""The knowledge base on Qdrant: products and buying guides as vectors, recall with a KV cache in front.

``open_knowledge_base`` builds it from settings: the embedder (``shared.embeddings``), the store (Qdrant
Edge embedded by default, a server by URL) and the app's KV cache.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from services.catalog.knowledge.base import KnowledgeBase
from services.catalog.knowledge.store import (
    CollectionMismatch,
    StoreError,
    StoreLocked,
    open_store,
)
from services.catalog.knowledge.vector_cache import VectorFileCache
from shared.cache import Cache
from shared.embeddings import Embedder, create_embedder
from shared.settings import Settings

__all__ = ["CollectionMismatch", "KnowledgeBase", "StoreError", "StoreLocked", "open_knowledge_base", "vector_cache"]


def vector_cache(settings: Settings, embedder: Embedder, seeds: Iterable[Path] = ()) -> VectorFileCache:
    return VectorFileCache(settings.data_dir / "embeddings", embedder.model, embedder.dim, seeds)


@asynccontextmanager
async def open_knowledge_base(settings: Settings, cache: Cache | None) -> AsyncIterator[KnowledgeBase]:
    embedder = create_embedder(settings)
    await embedder.start()
    store = open_store(settings)
    kb = KnowledgeBase(store, embedder, cache, settings.knowledge_cache_ttl_s)
    try:
        await kb.open()
        yield kb
    finally:
        await store.aclose()
        await embedder.aclose()
