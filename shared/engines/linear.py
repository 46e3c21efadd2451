"""A trained multinomial logistic regression reduced to its weights, with a calibration temperature.

Serving needs only ``softmax((x @ W.T + b) / T)``: a few microseconds in numpy, an artefact (``.npz``) that
does not depend on the scikit-learn version that trained it, and no scikit-learn or SciPy in a service
(importing them costs ~80 MB of RSS). Training is offline, in ``training.fit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
    return probabilities


@dataclass(frozen=True, slots=True)
class LinearSoftmax:
    classes: tuple[str, ...]
    weights: np.ndarray  # (n_classes, n_features)
    bias: np.ndarray  # (n_classes,)
    temperature: float = 1.0

    def logits(self, features: np.ndarray) -> np.ndarray:
        logits: np.ndarray = features @ self.weights.T + self.bias
        return logits

    def proba(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features) / self.temperature)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}classes": np.array(self.classes),
            f"{prefix}weights": self.weights,
            f"{prefix}bias": self.bias,
            f"{prefix}temperature": np.array(self.temperature),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str) -> LinearSoftmax:
        return cls(
            tuple(str(c) for c in arrays[f"{prefix}classes"]),
            arrays[f"{prefix}weights"],
            arrays[f"{prefix}bias"],
            float(arrays[f"{prefix}temperature"]),
        )
