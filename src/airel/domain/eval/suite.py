"""Eval suites (E1): which versioned datasets and evaluators a model is judged on, and how.

A suite is YAML, parsed strictly. It names registered eval datasets by role (golden,
regression, red-team, slice), the registered evaluators whose thresholds apply, slice
definitions over dataset columns, the decision threshold and cost matrix of a classifier, the
fairness attribute, and the bootstrap settings. Because datasets and evaluators are registry
references, every eval run records exactly which versions it used::

    name: fraud-eval
    version: "1"
    task: classifier
    datasets:
      - {ref: FRAUD-GOLDEN-2026H1:1, role: golden}
    columns: {id: transaction_id, label: label_fraud, score: fraud_score}
    slices:
      card_not_present: {column: channel, in: [ecommerce]}
      high_value: {column: amount, gte: 1000}
      vulnerable_customer: {column: vulnerable_customer, equals: true}
    thresholds:
      - {metric: roc_auc, kind: absolute, value: 0.85, hard: true}
      - {metric: roc_auc, kind: min_absolute_change, value: -0.005}
    decision_threshold: 0.5
    cost: {missed_positive: 180, false_positive: 12}
    fairness: {attribute: vulnerable_customer, max_tpr_gap: 0.05, max_fpr_gap: 0.02}
    bootstrap: {resamples: 1000, seed: 7}
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airel.domain.eval.compare import ThresholdKind
from airel.domain.eval.metrics import Direction, metric_def
from airel.domain.kernel.validation import as_field_problem
from airel.domain.release.components import LAX, EvalRole, Ref, Text


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)


class EvalTask(StrEnum):
    """What kind of system a suite evaluates."""

    CLASSIFIER = "classifier"  # scores against 0/1 labels (classifier, ranker, decision model)
    LLM = "llm"  # generated outputs judged by rules, a judge or plugins


class DatasetRef(_Strict):
    """A registered eval dataset and its role."""

    ref: Ref
    role: Annotated[EvalRole, LAX]


class SliceSpec(_Strict):
    """A slice: rows whose ``column`` matches exactly one of the conditions given."""

    column: Text
    equals: str | int | float | bool | None = None
    in_: list[str | int | float | bool] | None = Field(default=None, alias="in")
    gte: float | None = None
    lt: float | None = None

    model_config = ConfigDict(
        defer_build=True, frozen=True, extra="forbid", strict=True, populate_by_name=True
    )

    @model_validator(mode="after")
    def _one_condition(self) -> SliceSpec:
        given = [
            self.equals is not None,
            self.in_ is not None,
            self.gte is not None or self.lt is not None,
        ]
        if sum(given) != 1:
            raise ValueError("a slice needs exactly one of equals, in, or gte/lt")
        return self


class ThresholdSpec(_Strict):
    """One threshold on one metric, MLflow-style, with direction and hard/soft."""

    metric: Text
    kind: Annotated[ThresholdKind, LAX] = ThresholdKind.ABSOLUTE
    value: float
    direction: Annotated[Direction, LAX] | None = None  # None: from the metric's nature
    hard: bool = True
    slice: Text | None = None  # None: overall

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        as_field_problem(metric_def, value)
        return value

    def resolved_direction(self) -> Direction:
        """The declared direction, else the metric's natural one."""
        return self.direction or metric_def(self.metric).direction


class Columns(_Strict):
    """Column names in the eval dataset and predictions."""

    id: Text = "id"
    label: Text = "label"
    score: Text = "score"


class CostSpec(_Strict):
    """A classifier's cost matrix (e.g. loss per missed fraud, cost per false decline)."""

    missed_positive: float = Field(ge=0)
    false_positive: float = Field(ge=0)


class FairnessSpec(_Strict):
    """Segment fairness across a protected or vulnerable-customer attribute."""

    attribute: Text
    max_tpr_gap: float = Field(default=0.05, ge=0)
    max_fpr_gap: float = Field(default=0.02, ge=0)
    max_approval_gap: float | None = Field(default=None, ge=0)


class BootstrapSpec(_Strict):
    """Paired bootstrap settings (seeded, reproducible)."""

    resamples: int = Field(default=1000, ge=100, le=100_000)
    seed: int = 0
    alpha: float = Field(default=0.05, gt=0, lt=0.5)


class EvalSuite(_Strict):
    """A versioned eval suite."""

    name: Text
    version: Text
    task: Annotated[EvalTask, LAX] = EvalTask.CLASSIFIER
    datasets: list[DatasetRef] = Field(min_length=1)
    evaluators: list[Ref] = Field(default_factory=list)
    columns: Columns = Field(default_factory=Columns)
    slices: dict[str, SliceSpec] = Field(default_factory=dict)
    thresholds: list[ThresholdSpec] = Field(default_factory=list)
    decision_threshold: float = Field(default=0.5, ge=0, le=1)
    cost: CostSpec | None = None
    fairness: FairnessSpec | None = None
    bootstrap: BootstrapSpec = Field(default_factory=BootstrapSpec)
    materiality: float = Field(default=0.01, ge=0)  # a slice regression smaller is immaterial

    @model_validator(mode="after")
    def _slices_exist(self) -> EvalSuite:
        for t in self.thresholds:
            if t.slice is not None and t.slice not in self.slices:
                raise ValueError(f"threshold on {t.metric} names unknown slice {t.slice!r}")
        return self

    def as_dict(self) -> dict[str, Any]:
        """Canonical JSON form (for digests and stored runs)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
