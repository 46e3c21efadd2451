"""``python -m training.build``: the local engines' artefacts under ``<data_dir>/models`` (``make models``).

Each artefact records the fingerprint of the files its engine reads it with, which a service checks at
start (``shared.engines.artefacts``), and that of what only training reads (labelled data, training code).
A missing, unreadable or stale artefact is rebuilt, a fresh one is left alone. The shipped models train on
all labelled data (the held-out split is for ``make eval`` only). Services never build: without a fresh
artefact they fail at start, naming ``make models``, which ``make run`` and ``make test`` run first.
"""

from __future__ import annotations

import logging
import sys
import time
from functools import lru_cache
from pathlib import Path

from shared.engines.artefacts import EXTRACTION_ARTEFACT, INTENT_ARTEFACT, models_dir
from shared.engines.extraction import ExtractionModel
from shared.engines.intent import IntentModel
from training import train_extraction, train_intent
from training.data import load_extraction, load_intent

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def intent(directory: Path) -> IntentModel:
    """The intent model of ``directory``, built there first when missing or stale; one per process."""
    path = directory / INTENT_ARTEFACT
    if (model := train_intent.load(path)) is None:
        log.info("building the intent model at %s", path)
        model = train_intent.train(load_intent())
        train_intent.save(model, path)
    return model


@lru_cache(maxsize=4)
def extraction(directory: Path) -> ExtractionModel:
    path = directory / EXTRACTION_ARTEFACT
    if (model := train_extraction.load(path)) is None:
        log.info("building the extraction model at %s", path)
        model = train_extraction.train(load_extraction())
        train_extraction.save(model, path)
    return model


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    directory = models_dir()
    builds = (("intent", INTENT_ARTEFACT, intent), ("extraction", EXTRACTION_ARTEFACT, extraction))
    for name, artefact, build in builds:
        started = time.perf_counter()
        build(directory)
        print(f"{name}: {directory / artefact} ready in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
