"""Training the local intent classifier of ``shared.engines.intent``, and saving it as its artefact.

The features are the engine's own (``features_of``); the classifier is scikit-learn's logistic regression
reduced to a ``LinearSoftmax``, temperature-calibrated on out-of-fold predictions (``training.fit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shared.engines import intent
from shared.engines.encoder import SentenceEncoder, shared_encoder
from shared.engines.intent import IntentModel, default_featurizer, features_of
from shared.engines.intent_features import IntentFeaturizer
from training.artefacts import fresh, write
from training.data import INTENT_FILE, IntentExample
from training.fit import train_calibrated

# Regularisation chosen by 5-fold CV on the training split (C in 3, 10, 30, 100 gave 0.91-0.93).
C = 30.0
_HERE = Path(__file__).parent
# What only training reads; with the engine's own sources (``intent.SOURCES``), what the artefact is built from.
SOURCES = (INTENT_FILE, *(_HERE / f"{m}.py" for m in ("train_intent", "fit", "data")))


def train(
    examples: Sequence[IntentExample],
    featurizer: IntentFeaturizer | None = None,
    encoder: SentenceEncoder | None = None,
) -> IntentModel:
    featurizer = featurizer or default_featurizer()
    encoder = encoder or shared_encoder()
    features = features_of([featurizer.read(e.messages) for e in examples], encoder)
    labels = np.array([e.intent for e in examples])
    return IntentModel(train_calibrated(features, labels, C), featurizer, encoder)


def save(model: IntentModel, path: Path) -> None:
    write(path, model.classifier.arrays(intent.PREFIX), intent.SOURCES, SOURCES)


def load(path: Path) -> IntentModel | None:
    """The saved model, or None when it is missing, unreadable or was built from other data or code."""
    arrays = fresh(path, intent.SOURCES, SOURCES)
    return None if arrays is None else intent.from_arrays(arrays)
