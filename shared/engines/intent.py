"""The local intent classifier: a calibrated logistic regression on sentence embeddings plus context cues.

Features: the USE embedding of the last user message (512), the context cues of ``intent_features``, and
the message's hashed character n-grams (4096). Design chosen by measurement (``python -m training.evaluate
intent_designs``): on the training split's 5-fold CV the embedding with the cues scores ~0.92 where char
n-grams plus the same cues score ~0.82, and with one BLAS thread it answers in ~2 ms. The n-grams beside
the embedding add what real shop chat needs (``training.eval_realdata``): short questions about an item,
after-sales words, search-box queries. The probability is temperature-calibrated on out-of-fold
predictions, so ``confidence`` can gate the cascade to the LLM. Training is offline, in
``training.train_intent``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.engines.encoder import SentenceEncoder, shared_encoder
from shared.engines.intent_features import CUES, IntentFeaturizer, IntentInput
from shared.engines.linear import LinearSoftmax
from shared.engines.terms import CATALOG_FILE, TermLexicon, brand_terms, category_terms
from shared.schemas import IntentLabel, Message, intent_label
from shared.taxonomy import DEFAULT_PATH as TAXONOMY_FILE
from shared.taxonomy import load_taxonomy
from shared.vocabulary import SOURCE as VOCABULARY_FILE
from shared.vocabulary import Vocabulary, open_taxonomy

_HERE = Path(__file__).parent
# What the features are read with: weights trained against other versions of these mean nothing.
SOURCES = (
    TAXONOMY_FILE,
    CATALOG_FILE,
    VOCABULARY_FILE,
    *(
        _HERE / f"{m}.py"
        for m in ("intent", "intent_features", "patterns", "terms", "brands", "product_kinds", "encoder", "linear")
    ),
)
# The classifier's arrays in the artefact carry this prefix.
PREFIX = "clf_"
# The scale of each 0/1 cue beside the unit-length embedding and n-gram vectors. Under one regularisation
# strength a smaller scale makes a cue cost more to lean on. The context cues lean less (0.25) than those
# that say what kind of message it is (1.0): chosen by 5-fold CV on the training split and by the real
# development data (0.25 for all cost the after-sales and query cues their use; 1 for all over-trusts context).
_MESSAGE_CUES = frozenset({"product_kind", "product_kind_before", "product_query", "query", "after_sales"})
CUE_WEIGHTS = np.array([1.0 if c in _MESSAGE_CUES else 0.25 for c in CUES], dtype=np.float32)
GRAM_WEIGHT = 1.0  # the n-gram vector's scale (0.3-2 tried; 1 best on held-out and real data together)


_BRAND_FROM_BOT, _BRAND_NEW = CUES.index("brand_from_bot"), CUES.index("brand_new")


def _echoed_only(cues: np.ndarray) -> bool:
    return bool(cues[_BRAND_FROM_BOT]) and not cues[_BRAND_NEW]


@dataclass(frozen=True, slots=True)
class IntentPrediction:
    label: IntentLabel
    confidence: float
    probabilities: dict[str, float]
    read: IntentInput


def default_featurizer(vocabulary: Vocabulary | None = None) -> IntentFeaturizer:
    """Cues read with the catalog's categories and brands (the sample catalog's by default). The cues say only that a
    category or a brand is named, so another catalog's lexicons need no retraining."""
    taxonomy = open_taxonomy(vocabulary) if vocabulary is not None else load_taxonomy()
    brands = brand_terms(taxonomy, vocabulary=vocabulary)
    return IntentFeaturizer(TermLexicon(brands), TermLexicon(category_terms(taxonomy)))


class IntentModel:
    def __init__(self, classifier: LinearSoftmax, featurizer: IntentFeaturizer, encoder: SentenceEncoder) -> None:
        self.classifier = classifier
        self.labels = tuple(intent_label(c) for c in classifier.classes)  # the artefact's strings, checked once
        self.featurizer = featurizer
        self.encoder = encoder

    def for_vocabulary(self, vocabulary: Vocabulary) -> IntentModel:
        """This classifier reading the cues with another catalog's categories and brands."""
        return IntentModel(self.classifier, default_featurizer(vocabulary), self.encoder)

    def predict(self, messages: Sequence[Message]) -> IntentPrediction:
        read = self.featurizer.read(messages)
        features = np.concatenate(
            [self.encoder.encode_one(read.last), read.cues * CUE_WEIGHTS, read.grams * GRAM_WEIGHT]
        )
        return self._prediction(self.classifier.proba(features[None, :])[0], read)

    def predict_many(self, dialogs: Sequence[Sequence[Message]]) -> list[IntentPrediction]:
        """Batched: one encoder pass for all dialogs (evaluation, distillation)."""
        reads = [self.featurizer.read(d) for d in dialogs]
        probabilities = self.classifier.proba(features_of(reads, self.encoder))
        return [self._prediction(p, r) for p, r in zip(probabilities, reads, strict=True)]

    def _prediction(self, probabilities: np.ndarray, read: IntentInput) -> IntentPrediction:
        order = np.argsort(-probabilities)
        best = int(order[0])
        if self.labels[best] == "specific brand" and _echoed_only(read.cues):
            # The user (not the guide) names the brand in "specific brand": a brand only taken up from the guide's
            # offer ("Samsung sounds good") is a need answered, the next likeliest level.
            best = int(order[1])
        return IntentPrediction(
            label=self.labels[best],
            confidence=float(probabilities[best]),
            probabilities={c: float(p) for c, p in zip(self.classifier.classes, probabilities, strict=True)},
            read=read,
        )


def features_of(reads: Sequence[IntentInput], encoder: SentenceEncoder) -> np.ndarray:
    embeddings = encoder.encode([r.last for r in reads])
    cues = np.stack([r.cues for r in reads]) * CUE_WEIGHTS
    return np.hstack([embeddings, cues, np.stack([r.grams for r in reads]) * GRAM_WEIGHT])


def from_arrays(arrays: Mapping[str, np.ndarray]) -> IntentModel:
    """The model an artefact's arrays describe, with the featurizer and encoder of this process."""
    return IntentModel(LinearSoftmax.from_arrays(arrays, PREFIX), default_featurizer(), shared_encoder())
