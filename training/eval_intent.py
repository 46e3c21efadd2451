"""Intent evaluations: the shipped design on the held-out split, and the designs it was chosen from."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from shared.embeddings import use_model
from shared.engines.encoder import shared_encoder
from shared.engines.intent import IntentModel, default_featurizer
from shared.engines.intent_features import IntentInput
from shared.engines.scene import extract_scene
from shared.schemas import INTENT_LABELS, Message
from shared.taxonomy import load_taxonomy
from shared.text import tokens
from training import train_intent
from training.augment import Augmenter
from training.data import IntentExample, load_intent, split
from training.metrics import (
    accuracy,
    confusion_table,
    expected_calibration_error,
    per_label_table,
    values_match,
)
from training.registry import evaluation

CASCADE_THRESHOLD = 0.8  # the n-gram model answers alone at or above this probability


def _subset_line(name: str, gold: Sequence[str], predicted: Sequence[str]) -> str:
    return f"{name:28}{accuracy(gold, predicted):7.3f}  (n={len(gold)})"


def _scene_agreement(examples: Sequence[IntentExample], predicted_labels: Sequence[str]) -> str:
    lines = [f"{'field':8}{'agree (all)':>14}{'agree (gold non-empty)':>26}"]
    scenes = [extract_scene(e.messages, label) for e, label in zip(examples, predicted_labels, strict=True)]
    for field in ("aim", "scene"):
        gold = [getattr(e.scene, field) for e in examples]
        pred = [getattr(s, field) for s in scenes]
        agree = [values_match(p, g) if g and p else not (g or p) for p, g in zip(pred, gold, strict=True)]
        filled = [a for a, g in zip(agree, gold, strict=True) if g]
        lines.append(
            f"{field:8}{np.mean(agree):14.3f}{np.mean(filled) if filled else float('nan'):20.3f} (n={len(filled)})"
        )
    return "\n".join(lines)


@evaluation("intent")
def intent_heldout() -> str:
    train, heldout = split(load_intent())
    model = train_intent.train(train)
    predictions = model.predict_many([e.messages for e in heldout])
    gold = [e.intent for e in heldout]
    predicted = [p.label for p in predictions]

    def subset(keep: Callable[[IntentExample], bool]) -> tuple[list[str], list[str]]:
        rows = [(g, p) for e, g, p in zip(heldout, gold, predicted, strict=True) if keep(e)]
        return [g for g, _ in rows], [p for _, p in rows]

    correct = [g == p for g, p in zip(gold, predicted, strict=True)]
    confidence = [p.confidence for p in predictions]
    return "\n".join(
        [
            (
                f"model: logistic regression on USE embeddings + {len(predictions[0].read.cues)} context cues "
                f"+ hashed char 1-3-grams ({len(predictions[0].read.grams)}); "
                f"trained on {len(train)}, held out {len(heldout)} (split by id hash)"
            ),
            _subset_line("accuracy, all", gold, predicted),
            _subset_line("accuracy, zh", *subset(lambda e: e.lang == "zh")),
            _subset_line("accuracy, en", *subset(lambda e: e.lang == "en")),
            _subset_line("accuracy, single-turn", *subset(lambda e: not e.multi_turn)),
            _subset_line("accuracy, multi-turn", *subset(lambda e: e.multi_turn)),
            (
                f"calibration: temperature {model.classifier.temperature:.2f}, expected calibration error "
                f"{expected_calibration_error(confidence, correct):.3f}, mean confidence {np.mean(confidence):.3f}"
            ),
            "",
            per_label_table(gold, predicted, INTENT_LABELS),
            "",
            confusion_table(gold, predicted, INTENT_LABELS),
            "",
            "scene (aim / scene strings; a match is equal, contained, or token F1 >= 0.5):",
            _scene_agreement(heldout, predicted),
        ]
    )


# ---- the designs compared ----------------------------------------------------------------------------


class NgramModel:
    """Char 1-4-grams + word tokens (TF-IDF) + the context cues, logistic regression: the fast baseline."""

    def __init__(self, reads: Sequence[IntentInput], labels: Sequence[str], weights: Sequence[float]) -> None:
        texts = [r.last for r in reads]
        self.vectorisers = [
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True).fit(texts),
            TfidfVectorizer(analyzer=tokens, sublinear_tf=True).fit(texts),
        ]
        self.model = LogisticRegression(C=10, max_iter=5000).fit(self._x(reads), labels, sample_weight=weights)

    def _x(self, reads: Sequence[IntentInput]) -> csr_matrix:
        texts = [r.last for r in reads]
        cues = csr_matrix(np.stack([r.cues for r in reads]) * 0.5)
        return hstack([v.transform(texts) for v in self.vectorisers] + [cues]).tocsr()

    def proba(self, reads: Sequence[IntentInput]) -> np.ndarray:
        return self.model.predict_proba(self._x(reads))

    def label(self, read: IntentInput) -> str:
        return str(self.model.classes_[self.proba([read]).argmax()])


def _static_use(texts: Sequence[str]) -> np.ndarray:
    """A lighter encoder: the mean of USE's own token embeddings, without its network (~0.1 ms)."""
    backend = use_model().package._model  # the package's numpy backend: its token table alone is what is measured
    rows = []
    for text in texts:
        ids = np.array(backend.sp.encode(text, out_type=int, add_bos=True, add_eos=True))
        chunk = ids % len(backend.scale)
        vectors = backend.table[ids].astype(np.float32) * backend.scale[chunk, None] + backend.lo[chunk, None]
        mean = vectors.mean(axis=0)
        rows.append(mean / np.linalg.norm(mean))
    return np.stack(rows)


def _timed(
    predict_one: Callable[[Sequence[Message]], str], dialogs: Sequence[Sequence[Message]]
) -> tuple[list[str], float]:
    """Each dialog's label, one request at a time, and the p50 milliseconds per request."""
    labels, timings = [], []
    for dialog in dialogs:
        started = time.perf_counter()
        labels.append(predict_one(dialog))
        timings.append(time.perf_counter() - started)
    return labels, float(np.percentile(timings, 50) * 1000)


@evaluation("intent_designs")
def intent_designs() -> str:
    """Held-out accuracy and in-process p50 per request of the candidate local designs."""
    train, heldout = split(load_intent())
    header = f"{'design':44}{'accuracy':>9}{'p50 ms':>9}  note"
    body = [f"{name:44}{acc:9.3f}{ms:9.2f}  {note}" for name, acc, ms, note in compare_designs(train, heldout)]
    return "\n".join([f"held out: {len(heldout)} dialogs", header, *body])


def compare_designs(
    train: Sequence[IntentExample], heldout: Sequence[IntentExample], teacher: IntentModel | None = None
) -> list[tuple[str, float, float, str]]:
    """(design, held-out accuracy, p50 ms per request, note) per design; ``teacher``: the shipped design
    already trained on ``train``, else trained here."""
    taxonomy, encoder = load_taxonomy(), shared_encoder()
    featurizer = default_featurizer()
    reads_train = [featurizer.read(e.messages) for e in train]
    labels = [e.intent for e in train]
    gold = [e.intent for e in heldout]
    dialogs = [e.messages for e in heldout]
    rows: list[tuple[str, float, float, str]] = []

    def row(name: str, predict_one: Callable[[Sequence[Message]], str], note: str) -> None:
        encoder.encode_one.cache_clear()  # distinct messages: no request is served from the cache
        predicted, p50 = _timed(predict_one, dialogs)
        rows.append((name, accuracy(gold, predicted), p50, note))

    teacher = teacher or train_intent.train(train, featurizer, encoder)
    row("USE + cues + char n-grams (shipped)", lambda d: teacher.predict(d).label, "one BLAS thread")

    ngram = NgramModel(reads_train, labels, [1.0] * len(train))
    row("char n-grams + cues", lambda d: ngram.label(featurizer.read(d)), "the fast baseline")

    # Distillation: the teacher labels product/brand-swapped variants of the training dialogs.
    variants = Augmenter(taxonomy).variants([e.messages for e in train], per_dialog=4)
    variant_labels = [p.label for p in teacher.predict_many([v for _, v in variants])]
    reads_variants = [featurizer.read(v) for _, v in variants]
    student = NgramModel(
        reads_train + reads_variants, labels + variant_labels, [1.0] * len(train) + [0.5] * len(variants)
    )
    row(
        f"n-grams distilled (+{len(variants)} variants)",
        lambda d: student.label(featurizer.read(d)),
        "student of the USE model",
    )

    static = LogisticRegression(C=30, max_iter=5000).fit(
        np.hstack([_static_use([r.last for r in reads_train]), np.stack([r.cues for r in reads_train])]), labels
    )

    def static_label(dialog: Sequence[Message]) -> str:
        read = featurizer.read(dialog)
        return str(static.predict(np.hstack([_static_use([read.last]), read.cues[None, :]]))[0])

    row("static USE token mean + cues", static_label, "lighter encoder")

    answered_fast = []

    def cascade_label(dialog: Sequence[Message]) -> str:
        read = featurizer.read(dialog)
        probabilities = student.proba([read])[0]
        answered_fast.append(probabilities.max() >= CASCADE_THRESHOLD)
        if answered_fast[-1]:
            return str(student.model.classes_[probabilities.argmax()])
        return teacher.predict(dialog).label

    row(f"cascade: distilled, USE when p<{CASCADE_THRESHOLD}", cascade_label, "")
    rows[-1] = (*rows[-1][:3], f"{np.mean(answered_fast):.0%} answered by the n-gram model")
    return rows
