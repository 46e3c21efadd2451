"""Building the local extraction engine of ``shared.engines.extraction``, and saving it as its artefact.

What it learns: the attribute values the annotator wrote per category (cues for those keys in new
dialogs), and each category's prototype embedding for the fallback when a dialog names no category.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shared.engines import extraction
from shared.engines.encoder import SentenceEncoder, shared_encoder
from shared.engines.extraction import ExtractionModel, category_prototypes
from shared.engines.slots import COMMON_KEYS
from shared.taxonomy import load_taxonomy
from training.artefacts import fresh, write
from training.data import EXTRACTION_FILE, ExtractionExample

_HERE = Path(__file__).parent
# What only training reads; with the engine's own sources (``extraction.SOURCES``), what the artefact is built from.
SOURCES = (EXTRACTION_FILE, *(_HERE / f"{m}.py" for m in ("train_extraction", "data")))


def learned_cues(examples: Sequence[ExtractionExample]) -> dict[str, dict[str, list[str]]]:
    """category -> key -> the values the annotator wrote, cues for that key in new dialogs."""
    cues: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for example in examples:
        if example.call is None:
            continue
        arguments = example.call.arguments
        for key, value in arguments.items():
            if key not in ("category", "brand", *COMMON_KEYS):
                cues[arguments["category"]][key].append(value)
    return cues


def train(examples: Sequence[ExtractionExample], encoder: SentenceEncoder | None = None) -> ExtractionModel:
    taxonomy, encoder = load_taxonomy(), encoder or shared_encoder()
    return ExtractionModel(taxonomy, learned_cues(examples), category_prototypes(list(taxonomy.categories.values()), encoder), encoder)


def save(model: ExtractionModel, path: Path) -> None:
    cues = [f"{c}\t{k}\t{v}" for c, keys in model.cues.items() for k, values in keys.items() for v in values]
    write(path, {"prototypes": model.prototypes, "cues": np.array(cues)}, extraction.SOURCES, SOURCES)


def load(path: Path) -> ExtractionModel | None:
    """The saved engine, or None when it is missing, unreadable or was built from other data or code."""
    arrays = fresh(path, extraction.SOURCES, SOURCES)
    return None if arrays is None else extraction.from_arrays(arrays)
