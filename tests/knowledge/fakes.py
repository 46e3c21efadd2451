"""A deterministic stand-in embedder: tiny vectors from a hash, so store and ingestion tests need no model."""

from __future__ import annotations

import hashlib

import numpy as np

from shared.embeddings import Embedder, normalise


class FakeEmbedder(Embedder):
    def __init__(self, dim: int = 8, model: str = "fake-hash") -> None:
        super().__init__(query_cache_size=16)
        self.dim = dim
        self.model = model
        self.calls: list[list[str]] = []

    async def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        self.calls.append(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest(), dtype=np.uint8)[: self.dim] for t in texts]
        return normalise(np.array(rows, dtype=np.float32) - 127.5)

    @property
    def embedded(self) -> int:
        return sum(len(texts) for texts in self.calls)
