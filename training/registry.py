"""The text evaluations ``python -m training.evaluate`` runs, registered by name.

A module defines evaluations with ``@evaluation("name")`` (a function returning its report text) and is
listed in ``MODULES``. Another task adds its own (e.g. ``training.eval_summary``) by writing the module and
adding it there; ``python -m training.evaluate`` then runs it with the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

Evaluation = Callable[[], str]

REGISTRY: dict[str, Evaluation] = {}
MODULES: tuple[str, ...] = (
    "training.eval_intent",
    "training.eval_extraction",
    "training.eval_summary",
    "training.eval_copywriting",
    "training.eval_realdata",
)


def evaluation(name: str) -> Callable[[Evaluation], Evaluation]:
    def register(func: Evaluation) -> Evaluation:
        if name in REGISTRY:
            raise ValueError(f"evaluation {name!r} is registered twice")
        REGISTRY[name] = func
        return func

    return register


def load_all() -> dict[str, Evaluation]:
    for module in MODULES:
        importlib.import_module(module)
    return REGISTRY
