"""``python -m training.build``: the local engines' artefacts under ``<data_dir>/models`` (``make models``).

Each artefact records a fingerprint of the data, taxonomy, catalog and code it was built from; a stale or
missing one is rebuilt, a fresh one is left alone. The shipped models train on all labelled data (the
held-out split is for ``make eval`` only). The services load them at start, and build them there when
``make models`` was skipped, so a fresh clone works either way.
"""

from __future__ import annotations

import logging
import sys
import time
from functools import lru_cache
from pathlib import Path

from shared.settings import Settings, get_settings
from training import extraction_model, intent_model
from training.data import load_extraction, load_intent
from training.extraction_model import ExtractionModel
from training.intent_model import IntentModel

log = logging.getLogger(__name__)


def models_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "models"


@lru_cache(maxsize=4)
def intent(directory: Path) -> IntentModel:
    """The intent model of ``directory``, built there first when missing or stale; one per process."""
    path = directory / "intent.npz"
    if (model := intent_model.load(path)) is None:
        log.info("building the intent model at %s", path)
        model = intent_model.train(load_intent())
        intent_model.save(model, path)
    return model


@lru_cache(maxsize=4)
def extraction(directory: Path) -> ExtractionModel:
    path = directory / "extraction.npz"
    if (model := extraction_model.load(path)) is None:
        log.info("building the extraction model at %s", path)
        model = extraction_model.train(load_extraction())
        extraction_model.save(model, path)
    return model


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    directory = models_dir()
    for name, build in (("intent", intent), ("extraction", extraction)):
        started = time.perf_counter()
        build(directory)
        print(f"{name}: {directory / (name + '.npz')} ready in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
