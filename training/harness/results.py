"""The harness's results as data (written as JSON, read back to compare runs) and the comparison with the
previous run.

Every score in ``TaskResult.metrics`` is a fraction in 0-1 where higher is better (BLEU and ROUGE too: 0.622
is BLEU 62.2), so one absolute tolerance flags a regression on any of them. Latency is compared apart, by
its p50 and relative to the previous run: a shared machine's load moves it by tens of percent.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator


class LabelScore(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class Confusion(BaseModel):
    """``matrix[i][j]``: items of gold label ``labels[i]`` predicted as ``labels[j]``."""

    labels: list[str]
    matrix: list[list[int]]


class TaskResult(BaseModel):
    data: str = Field(description="What was evaluated: the file and split")
    n: int = Field(0, description="Items scored")
    metrics: dict[str, float] = Field(default_factory=dict, description="Scores in 0-1, higher is better")
    figures: dict[str, float] = Field(default_factory=dict, description="Descriptive numbers, not compared")
    per_label: dict[str, LabelScore] = Field(default_factory=dict)
    confusion: Confusion | None = None
    engines: dict[str, int] = Field(default_factory=dict, description="Which engine answered, as the target said")
    failed: int = Field(0, description="Requests that raised or got an error status; scored as wrong answers")
    failures: list[str] = Field(default_factory=list, description="The first few failures")
    skipped: str | None = Field(None, description="Why the task did not run, when it did not")

    @model_validator(mode="after")
    def _no_nan(self) -> TaskResult:
        """A score with nothing to score (no item of a subset) is left out: JSON has no NaN."""
        self.metrics = {k: v for k, v in self.metrics.items() if not math.isnan(v)}
        self.figures = {k: v for k, v in self.figures.items() if not math.isnan(v)}
        return self


class Latency(BaseModel):
    n: int
    p50: float
    p90: float
    p99: float
    mean: float
    max: float
    samples_ms: list[float]

    @classmethod
    def of(cls, samples_ms: list[float]) -> Latency:
        values = np.asarray(samples_ms)
        p50, p90, p99 = (float(v) for v in np.percentile(values, [50, 90, 99]))
        return cls(n=len(values), p50=p50, p90=p90, p99=p99, mean=float(values.mean()), max=float(values.max()),
                   samples_ms=[round(v, 3) for v in samples_ms])


class Design(BaseModel):
    name: str
    accuracy: float
    p50_ms: float
    note: str


class DesignRun(BaseModel):
    """The designs compared, kept in the output folder with the fingerprint of what they were measured from."""

    fingerprint: str
    measured: datetime
    designs: list[Design]


class JudgeScore(BaseModel):
    item: str
    scores: dict[str, int] = Field(default_factory=dict, description="Criterion -> 1-5; empty when unreadable")
    reason: str = ""
    problem: str | None = Field(None, description="Why the judge's answer could not be read, when it could not")


class JudgeResult(BaseModel):
    backend: str
    model: str = Field(description="The model that judged, as its server named it")
    rubric: str = Field(description="The rubric file, relative to the repository")
    rubric_sha256: str
    mean: dict[str, dict[str, float]] = Field(description="Kind (dialog, copy) -> criterion -> mean 1-5")
    items: dict[str, list[JudgeScore]]


class Change(BaseModel):
    metric: str
    previous: float
    current: float

    @property
    def delta(self) -> float:
        return self.current - self.previous


class Comparison(BaseModel):
    previous: str = Field(description="The previous results file")
    previous_started: datetime
    tolerance: float
    latency_tolerance: float
    regressions: list[Change] = Field(description="Scores lower than last time by more than the tolerance")
    improvements: list[Change]
    slower: list[Change] = Field(description="Engines whose p50 grew by more than the latency tolerance (relative)")
    compared: int = Field(description="Scores present in both runs")
    previous_scores: dict[str, float] = Field(default_factory=dict, description="The previous run's scores, task.metric")


class Target(BaseModel):
    kind: Literal["local", "http", "backend"]
    description: str
    engine: str = Field(description="The engine asked of the services: local, auto or llm")
    models: dict[str, str] = Field(default_factory=dict, description="Task -> model, where an LLM is routed")


class Results(BaseModel):
    schema_version: Literal[1] = 1
    started: datetime
    wall_s: float
    target: Target
    tasks: dict[str, TaskResult]
    designs: DesignRun | None = Field(None, description="The local intent designs compared (in-process runs)")
    latency: dict[str, Latency] = Field(default_factory=dict, description="Per engine, ms per request")
    judge: JudgeResult | None = None
    comparison: Comparison | None = None

    def scores(self) -> dict[str, float]:
        """Every score as ``task.metric``."""
        return {f"{task}.{name}": value for task, result in self.tasks.items() for name, value in result.metrics.items()}


def compare(current: Results, previous: Results, source: str, tolerance: float, latency_tolerance: float) -> Comparison:
    now, before = current.scores(), previous.scores()
    common = sorted(set(now) & set(before))
    changes = [Change(metric=m, previous=before[m], current=now[m]) for m in common]
    slower = [
        Change(metric=f"{engine}.p50_ms", previous=previous.latency[engine].p50, current=latency.p50)
        for engine, latency in current.latency.items()
        if engine in previous.latency and latency.p50 > previous.latency[engine].p50 * (1 + latency_tolerance)
    ]
    return Comparison(
        previous=source,
        previous_started=previous.started,
        tolerance=tolerance,
        latency_tolerance=latency_tolerance,
        regressions=[c for c in changes if c.delta < -tolerance],
        improvements=[c for c in changes if c.delta > tolerance],
        slower=slower,
        compared=len(common),
        previous_scores=before,
    )
