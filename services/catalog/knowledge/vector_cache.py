"""Document vectors kept on disk by content hash, so building a fresh store (tests, a new replica) re-embeds
only what changed. One ``.npz`` per embedding model under ``data_dir/embeddings``; losing it costs time only.

Read-only seed files (shipped vectors of the sample data) are consulted too, so a fresh clone starts without
embedding the sample. An entry is keyed by the model and the exact text, so a stale one is never used.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


def _load(path: Path) -> dict[bytes, np.ndarray]:
    if not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return dict(zip(data["keys"].tolist(), data["vectors"].astype(np.float32), strict=True))


def _save(path: Path, vectors: dict[bytes, np.ndarray], dim: int, dtype: type[np.floating]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    rows = np.stack(list(vectors.values())) if vectors else np.zeros((0, dim))
    np.savez(tmp, keys=np.array(list(vectors), dtype="S32"), vectors=rows.astype(dtype))
    os.replace(tmp, path)  # readers in other processes see the old file or the new one, never half of one


class VectorFileCache:
    def __init__(self, folder: Path, model: str, dim: int, seeds: Iterable[Path] = ()) -> None:
        self.model = model
        self.dim = dim
        self.path = folder / self.file_name(model, dim)
        self._vectors: dict[bytes, np.ndarray] = {}
        for seed in seeds:
            self._vectors.update(_load(seed / self.file_name(model, dim)))
        self._vectors.update(_load(self.path))
        self._dirty = False

    @staticmethod
    def file_name(model: str, dim: int) -> str:
        return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', model)}-{dim}.npz"

    def key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model}\0{text}".encode()).hexdigest()[:32].encode()

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, text: str) -> np.ndarray | None:
        return self._vectors.get(self.key(text))

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            self._vectors[self.key(text)] = vector
        self._dirty = self._dirty or bool(len(texts))

    def save(self) -> None:
        if self._dirty:
            _save(self.path, self._vectors, self.dim, np.float32)
            self._dirty = False

    def export(self, folder: Path, texts: Iterable[str]) -> Path:
        """The vectors of ``texts`` (all must be cached) as a compact float16 seed file in ``folder``."""
        wanted = {key: self._vectors[key] for key in map(self.key, texts)}
        path = folder / self.file_name(self.model, self.dim)
        _save(path, wanted, self.dim, np.float16)
        return path
