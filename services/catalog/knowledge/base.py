"""The knowledge base: a vector store, the embedder that fills it, and the KV cache in front of recall.

Two cache levels: the app's KV cache (Redis) answers a repeated recall by the key
``kb:<collection>:<version>:<hash of the normalised request>``; a miss goes to vector recall. Ingestion
records a new collection version when it changes anything, so older entries are simply never read again
(they expire by TTL). The current version is read through the same KV cache so that every replica sees
an ingestion at once; when the KV entry is missing it is taken from the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram

from services.catalog.knowledge.documents import (
    KNOWLEDGE,
    KNOWLEDGE_VECTORS,
    PRODUCT_VECTORS,
    PRODUCTS,
)
from services.catalog.knowledge.store import AnyOf, CollectionSpec, Filter, VectorStore
from shared.cache import Cache, CacheError
from shared.embeddings import Embedder
from shared.schemas import KnowledgeHit

log = logging.getLogger(__name__)
T = TypeVar("T")

RECALL_SECONDS = Histogram(
    "sg_recall_seconds",
    "Recall latency, KV cache included",
    ["collection", "cache"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
RECALL_CACHE = Counter("sg_recall_cache_total", "Recall answered from the KV cache or not", ["collection", "result"])


def normalise_query(text: str) -> str:
    """Case and spacing do not change what is recalled, so they do not change the cache key either."""
    return " ".join(text.lower().split())


class KnowledgeBase:
    def __init__(self, store: VectorStore, embedder: Embedder, cache: Cache | None, ttl_s: int = 600) -> None:
        self.store = store
        self.embedder = embedder
        self.cache = cache
        self.ttl_s = ttl_s

    def spec(self, collection: str) -> CollectionSpec:
        if collection == PRODUCTS:
            return CollectionSpec(
                PRODUCTS, PRODUCT_VECTORS, self.embedder.dim, self.embedder.model,
                keyword_fields=("category", "brand", "doc"), float_fields=("price",),
            )
        return CollectionSpec(
            KNOWLEDGE, KNOWLEDGE_VECTORS, self.embedder.dim, self.embedder.model, keyword_fields=("category", "doc")
        )

    async def open(self) -> None:
        """Create or check both collections; raises ``CollectionMismatch`` for a store built by another embedder."""
        for collection in (PRODUCTS, KNOWLEDGE):
            await self.store.ensure(self.spec(collection))

    async def aclose(self) -> None:
        await self.store.aclose()

    def _version_key(self, collection: str) -> str:
        return f"kb:{collection}:version"

    async def version(self, collection: str) -> str:
        if self.cache is not None:
            try:
                raw = await self.cache.get(self._version_key(collection))
                if raw is not None:
                    return raw.decode()
            except CacheError as exc:
                log.warning("KV cache unavailable for the %s version: %s", collection, exc)
        version = await self.store.version(collection)
        await self._cache_set(self._version_key(collection), version.encode(), None)
        return version

    async def publish_version(self, collection: str, version: str) -> None:
        """Record a new content version: in the store (durable) and the KV cache (what replicas read)."""
        await self.store.set_version(collection, version)
        await self._cache_set(self._version_key(collection), version.encode(), None)

    async def _cache_set(self, key: str, value: bytes, ttl_s: int | None) -> None:
        if self.cache is None:
            return
        try:
            await self.cache.set(key, value, ttl_s)
        except CacheError as exc:
            log.warning("KV cache write failed: %s", exc)

    async def recall(
        self,
        collection: str,
        request: dict[str, Any],
        compute: Callable[[], Awaitable[T]],
        dump: Callable[[T], Any],
        load: Callable[[Any], T],
    ) -> T:
        """``compute()``'s result for a normalised ``request``, from the KV cache when this version has it."""
        started = time.perf_counter()
        version = await self.version(collection)
        digest = hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]
        key = f"kb:{collection}:{version}:{digest}"
        cached = None
        if self.cache is not None:
            try:
                cached = await self.cache.get(key)
            except CacheError as exc:
                log.warning("KV cache read failed: %s", exc)
        if cached is not None:
            RECALL_CACHE.labels(collection, "hit").inc()
            result = load(json.loads(cached))
        else:
            RECALL_CACHE.labels(collection, "miss").inc()
            result = await compute()
            await self._cache_set(key, json.dumps(dump(result), ensure_ascii=False).encode(), self.ttl_s)
        RECALL_SECONDS.labels(collection, "hit" if cached is not None else "miss").observe(time.perf_counter() - started)
        return result

    async def search(self, query: str, top_k: int, category: str | None = None) -> list[KnowledgeHit]:
        """Guide and FAQ chunks nearest to ``query``; with a category, its guides and the general FAQs."""
        request = {"query": normalise_query(query), "top_k": top_k, "category": category}

        async def compute() -> list[KnowledgeHit]:
            vector = await self.embedder.embed_query(query)
            flt = Filter((AnyOf("category", (category, "general")),)) if category else None
            hits = await self.store.search(KNOWLEDGE, "text", vector.tolist(), flt, top_k)
            # From a dict: title, category and lang are extra fields, outside the checked constructor signature.
            return [
                KnowledgeHit.model_validate({
                    "text": h.payload["text"], "source": h.payload["source"], "score": round(h.score, 4),
                    "title": h.payload.get("title", ""), "category": h.payload.get("category", ""),
                    "lang": h.payload.get("lang", ""),
                })
                for h in hits
            ]

        return await self.recall(
            KNOWLEDGE, request, compute,
            dump=lambda hits: [h.model_dump() for h in hits],
            load=lambda rows: [KnowledgeHit.model_validate(row) for row in rows],
        )
