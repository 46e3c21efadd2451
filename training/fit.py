"""Training a ``LinearSoftmax``: scikit-learn's logistic regression, then temperature scaling."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from shared.engines.linear import LinearSoftmax, softmax


def _fit(features: np.ndarray | csr_matrix, labels: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=5000).fit(features, labels)


def fit_temperature(logits: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> float:
    """The T that minimises the negative log-likelihood of out-of-fold predictions (Guo et al., 2017)."""
    target = np.array([classes.index(label) for label in labels])

    def nll(t: float) -> float:
        return float(-np.log(softmax(logits / t)[np.arange(len(target)), target] + 1e-12).mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def train_calibrated(features: np.ndarray, labels: np.ndarray, c: float, folds: int = 5) -> LinearSoftmax:
    """Fit on everything; calibrate the temperature on 5-fold out-of-fold logits of the same data. The rows
    are mostly zeros (the hashed n-grams): a sparse matrix fits them ~4x faster (same held-out predictions)."""
    features = csr_matrix(features)
    model = _fit(features, labels, c)
    classes = tuple(str(x) for x in model.classes_)
    out_of_fold = np.zeros((len(labels), len(classes)))
    for fit_rows, held_rows in StratifiedKFold(folds, shuffle=True, random_state=0).split(features, labels):
        fold = _fit(features[fit_rows], labels[fit_rows], c)
        out_of_fold[held_rows] = fold.decision_function(features[held_rows])
    temperature = fit_temperature(out_of_fold, labels, classes)
    return LinearSoftmax(classes, model.coef_.astype(np.float32), model.intercept_.astype(np.float32), temperature)
