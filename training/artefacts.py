"""Writing the local engines' artefacts, and telling a fresh one from one to rebuild (``make models``).

A service reads them with ``shared.engines.artefacts``, which checks the fingerprint of the files the
engine reads them with. A build checks that one too, and ``training_fingerprint``: the hash of what only
training reads (the labelled data, the training code).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from shared.engines.artefacts import FINGERPRINT, ArtefactError, fingerprint, read

TRAINING_FINGERPRINT = "training_fingerprint"


def write(
    path: Path, arrays: Mapping[str, np.ndarray], engine_sources: Sequence[Path], training_sources: Sequence[Path]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    fingerprints = {FINGERPRINT: fingerprint(*engine_sources), TRAINING_FINGERPRINT: fingerprint(*training_sources)}
    # ignore: numpy's stub lets a ** key land on savez's allow_pickle (numpy >= 2.1); none of these is named that.
    np.savez(tmp, **{key: np.array(value) for key, value in fingerprints.items()}, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)  # atomic: a concurrently starting service never reads half a file


def fresh(
    path: Path, engine_sources: Sequence[Path], training_sources: Sequence[Path]
) -> dict[str, np.ndarray] | None:
    """The artefact's arrays, or None when it is to be built: missing, unreadable, or built from other
    engine code, taxonomy, catalog, labelled data or training code."""
    try:
        arrays = read(path, engine_sources)
    except ArtefactError:
        return None
    return arrays if str(arrays.get(TRAINING_FINGERPRINT)) == fingerprint(*training_sources) else None
