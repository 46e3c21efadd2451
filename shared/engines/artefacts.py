"""The local engines' artefacts as a service loads them: ``<data_dir>/models/{intent,extraction}.npz``.

``make models`` (``python -m training.build``) writes them; a service only reads them, and fails at start
without a usable one rather than train on the CPU it serves from. Each artefact records ``fingerprint``,
a hash of the files its engine reads it with (the engine's modules, the taxonomy, the sample catalog):
weights, cues and prototypes are valid only with the features they were built against, so a service
refuses an artefact whose fingerprint is not that of the files it runs. What only training reads (the
labelled data, the training code) has a fingerprint of its own, which ``training.build`` rebuilds on: an
artefact trained on older data still serves correctly, and a service has no labelled data to hash.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from shared.engines import extraction, intent
from shared.settings import Settings, get_settings

INTENT_ARTEFACT = "intent.npz"
EXTRACTION_ARTEFACT = "extraction.npz"
FINGERPRINT = "fingerprint"  # the key of the engine's fingerprint in an artefact


class ArtefactError(RuntimeError):
    """An artefact a service needs is missing, unreadable or stale; the message says how to build it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"the local engine artefact {path} {problem}: build it with `make models` (python -m training.build)"
        )


def models_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "models"


def fingerprint(*paths: Path) -> str:
    """Content hash of the files an artefact was built from, to tell a stale artefact from a fresh one.
    An optional source that is absent (the sample catalog) counts as absent."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes() if path.exists() else f"absent:{path.name}".encode())
    return digest.hexdigest()[:16]


def read(path: Path, sources: Sequence[Path]) -> dict[str, np.ndarray]:
    """The arrays of the artefact at ``path``, which must have been built against ``sources`` as they are now."""
    try:
        with np.load(path) as npz:
            arrays = dict(npz)
    except FileNotFoundError:
        raise ArtefactError(path, "is missing") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ArtefactError(path, f"is unreadable ({exc})") from exc
    if str(arrays.get(FINGERPRINT)) != fingerprint(*sources):
        raise ArtefactError(path, "is stale: it was built against other engine code, taxonomy or catalog")
    return arrays


@lru_cache(maxsize=4)
def load_intent(directory: Path) -> intent.IntentModel:
    """The intent model saved in ``directory``; one per process."""
    return intent.from_arrays(read(directory / INTENT_ARTEFACT, intent.SOURCES))


@lru_cache(maxsize=4)
def load_extraction(directory: Path) -> extraction.ExtractionModel:
    return extraction.from_arrays(read(directory / EXTRACTION_ARTEFACT, extraction.SOURCES))
