"""Classifier metrics for offline evaluation (E2): AUCs, calibration, confusion, cost, fairness.

Inputs are ``y`` (labels, exactly 0 or 1), ``score`` (finite floats; higher means "more likely
positive") and an optional non-negative ``weight`` per item. :func:`check_inputs` validates
them and raises :class:`~airel.errors.ValidationError` with ``EVAL_LENGTH_MISMATCH``,
``EVAL_LABEL_INVALID``, ``EVAL_SCORE_INVALID`` or ``EVAL_WEIGHT_INVALID``.

A metric that cannot be computed on the data — one class only, an empty slice, scores that are
not probabilities where a probability is needed — is a :class:`MetricValue` with
``status="undefined"`` and a ``reason``, never an exception and never a silent NaN.

* ``roc_auc`` and ``pr_auc`` (average precision) are scikit-learn's, with ``sample_weight``.
* ``brier`` is the weighted mean of ``(score - y)²``; scores must lie in [0, 1].
* ``ece`` (expected calibration error) uses 10 equal-width bins on [0, 1] — ``[0, 0.1)``, …,
  ``[0.9, 1.0]`` (the last bin closed) — and is ``Σ_b (W_b / W) · |mean(y)_b − mean(score)_b|``
  with weighted means; empty bins contribute nothing. Scores must lie in [0, 1].
* :func:`confusion` flags an item when ``score >= threshold``. "Flagged" is the positive
  decision (fraud: decline/review), so ``decline_rate`` is the flagged share and
  ``approval_rate = 1 - decline_rate``. Counts are weighted sums (plain counts without weights).
* :func:`cost_threshold` picks the threshold minimising ``cost_fn · FN + cost_fp · FP`` over
  every unique score (plus "flag nothing", just above the top score), from one sort and two
  cumulative sums; ties go to the higher threshold (fewer declines).
* :func:`segment_fairness` gives per-group TPR, FPR and approval rate at a threshold and the
  largest gap (max − min over groups where the rate is defined).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from airel.errors import Reason, ValidationError

FloatArray = npt.NDArray[np.float64]
LabelArray = npt.NDArray[np.int8]

ECE_BINS = 10  # equal-width calibration bins on [0, 1]


class Direction(StrEnum):
    """Which way a metric improves."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


@dataclass(frozen=True)
class MetricValue:
    """A metric's value, or why it has none (``status="undefined"``, ``value=None``)."""

    value: float | None
    status: Literal["ok", "undefined"] = "ok"
    reason: str | None = None

    @staticmethod
    def undefined(reason: str) -> MetricValue:
        """A metric that cannot be computed on this data."""
        return MetricValue(value=None, status="undefined", reason=reason)

    @property
    def defined(self) -> bool:
        """True when a value is present."""
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: ``{"value", "status"}`` plus ``reason`` when undefined."""
        out: dict[str, Any] = {"value": self.value, "status": self.status}
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def _ok(x: float) -> MetricValue:
    return MetricValue(value=float(x))


def _fail(reason: Reason, message: str, **details: Any) -> ValidationError:
    return ValidationError(reason, message, details=details)


def check_inputs(
    y: Any, score: Any, weight: Any = None
) -> tuple[LabelArray, FloatArray, FloatArray | None]:
    """Validate and convert labels, scores and weights to 1-D arrays of one length."""
    y_arr = np.asarray(y)
    s_arr = np.asarray(score)
    if y_arr.ndim != 1 or s_arr.ndim != 1 or len(y_arr) != len(s_arr):
        raise _fail(
            Reason.EVAL_LENGTH_MISMATCH,
            "labels and scores must be 1-D arrays of the same length",
            labels=int(y_arr.size),
            scores=int(s_arr.size),
        )
    labels = _labels(y_arr)
    if s_arr.dtype.kind not in "biuf":
        raise _fail(Reason.EVAL_SCORE_INVALID, "scores must be numbers", dtype=str(s_arr.dtype))
    scores = s_arr.astype(np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        raise _fail(
            Reason.EVAL_SCORE_INVALID,
            "scores must be finite (no NaN or infinity)",
            count=int(bad.sum()),
            first_index=int(np.argmax(bad)),
        )
    if weight is None:
        return labels, scores, None
    w_arr = np.asarray(weight)
    if w_arr.ndim != 1 or len(w_arr) != len(labels):
        raise _fail(
            Reason.EVAL_LENGTH_MISMATCH,
            "weights must be a 1-D array as long as the labels",
            labels=len(labels),
            weights=int(w_arr.size),
        )
    if w_arr.dtype.kind not in "biuf":
        raise _fail(Reason.EVAL_WEIGHT_INVALID, "weights must be numbers", dtype=str(w_arr.dtype))
    weights = w_arr.astype(np.float64)
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        raise _fail(
            Reason.EVAL_WEIGHT_INVALID,
            "weights must be finite and non-negative",
            count=int(bad.sum()),
            first_index=int(np.argmax(bad)),
        )
    return labels, scores, weights


def _labels(y_arr: npt.NDArray[Any]) -> LabelArray:
    if y_arr.dtype.kind not in "biuf":
        raise _fail(Reason.EVAL_LABEL_INVALID, "labels must be 0 or 1", dtype=str(y_arr.dtype))
    bad = (y_arr != 0) & (y_arr != 1)  # NaN compares unequal to both, so it is caught here
    if bad.any():
        raise _fail(
            Reason.EVAL_LABEL_INVALID,
            "labels must be exactly 0 or 1",
            count=int(bad.sum()),
            first_index=int(np.argmax(bad)),
        )
    return y_arr.astype(np.int8)


def _class_weights(y: LabelArray, w: FloatArray | None) -> tuple[float, float]:
    if w is None:
        pos = float(np.count_nonzero(y))
        return pos, float(len(y)) - pos
    w_pos = float(w[y == 1].sum())
    return w_pos, float(w.sum()) - w_pos


def _both_classes(y: LabelArray, w: FloatArray | None) -> str | None:
    """Why a two-class metric is undefined, or None when both classes carry weight."""
    if len(y) == 0:
        return "empty"
    w_pos, w_neg = _class_weights(y, w)
    if w_pos <= 0 or w_neg <= 0:
        return "one class"
    return None


def roc_auc(y: Any, score: Any, weight: Any = None) -> MetricValue:
    """ROC AUC (scikit-learn); undefined with one class or no items."""
    labels, scores, w = check_inputs(y, score, weight)
    why = _both_classes(labels, w)
    if why:
        return MetricValue.undefined(why)
    from sklearn.metrics import roc_auc_score  # on first use: keeps CLI start-up fast

    return _ok(roc_auc_score(labels, scores, sample_weight=w))


def pr_auc(y: Any, score: Any, weight: Any = None) -> MetricValue:
    """Average precision (scikit-learn); undefined without positives."""
    labels, scores, w = check_inputs(y, score, weight)
    if len(labels) == 0:
        return MetricValue.undefined("empty")
    if _class_weights(labels, w)[0] <= 0:
        return MetricValue.undefined("no positives")
    from sklearn.metrics import average_precision_score  # on first use (CLI start-up)

    return _ok(average_precision_score(labels, scores, sample_weight=w))


def _probability_problem(
    labels: LabelArray, scores: FloatArray, w: FloatArray | None
) -> str | None:
    if len(labels) == 0 or (w is not None and float(w.sum()) <= 0):
        return "empty"
    if scores.min() < 0 or scores.max() > 1:
        return "scores outside [0, 1]"
    return None


def brier(y: Any, score: Any, weight: Any = None) -> MetricValue:
    """Brier score: weighted mean squared difference between probability and label."""
    labels, scores, w = check_inputs(y, score, weight)
    why = _probability_problem(labels, scores, w)
    if why:
        return MetricValue.undefined(why)
    sq = (scores - labels) ** 2
    return _ok(np.average(sq, weights=w))


def ece_bins(scores: FloatArray) -> npt.NDArray[np.intp]:
    """Each score's calibration bin: ``[0, 0.1)`` … ``[0.9, 1.0]`` (the last bin closed)."""
    return np.minimum((scores * ECE_BINS).astype(np.intp), ECE_BINS - 1)


def ece(y: Any, score: Any, weight: Any = None) -> MetricValue:
    """Expected calibration error over 10 equal-width bins (see the module docstring)."""
    labels, scores, w = check_inputs(y, score, weight)
    why = _probability_problem(labels, scores, w)
    if why:
        return MetricValue.undefined(why)
    ww = np.ones_like(scores) if w is None else w
    bins = ece_bins(scores)
    w_bin = np.bincount(bins, weights=ww, minlength=ECE_BINS)
    y_bin = np.bincount(bins, weights=ww * labels, minlength=ECE_BINS)
    s_bin = np.bincount(bins, weights=ww * scores, minlength=ECE_BINS)
    used = w_bin > 0
    gaps = np.abs(y_bin[used] - s_bin[used])  # = W_b · |mean y − mean score|
    return _ok(float(gaps.sum() / w_bin.sum()))


@dataclass(frozen=True)
class MetricDef:
    """A named metric: its function, its direction and its default materiality (§ compare)."""

    name: str
    fn: Callable[[Any, Any, Any], MetricValue]
    direction: Direction
    materiality: float


METRICS: Mapping[str, MetricDef] = {
    "roc_auc": MetricDef("roc_auc", roc_auc, Direction.HIGHER_IS_BETTER, 0.01),
    "pr_auc": MetricDef("pr_auc", pr_auc, Direction.HIGHER_IS_BETTER, 0.01),
    "brier": MetricDef("brier", brier, Direction.LOWER_IS_BETTER, 0.002),
    "ece": MetricDef("ece", ece, Direction.LOWER_IS_BETTER, 0.01),
}


def metric_def(name: str) -> MetricDef:
    """Look a metric up by name; ``EVAL_METRIC_UNKNOWN`` when airel does not define it."""
    try:
        return METRICS[name]
    except KeyError:
        raise _fail(
            Reason.EVAL_METRIC_UNKNOWN, f"unknown metric {name!r}", known=sorted(METRICS)
        ) from None


def _ratio(num: float, den: float, why: str) -> MetricValue:
    return _ok(num / den) if den > 0 else MetricValue.undefined(why)


@dataclass(frozen=True)
class Confusion:
    """Weighted confusion counts and rates at ``threshold`` (flag when ``score >= threshold``)."""

    threshold: float
    tp: float
    fp: float
    tn: float
    fn: float
    tpr: MetricValue
    fpr: MetricValue
    precision: MetricValue
    approval_rate: MetricValue
    decline_rate: MetricValue

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        out: dict[str, Any] = {
            "threshold": self.threshold,
            "tp": self.tp,
            "fp": self.fp,
            "tn": self.tn,
            "fn": self.fn,
        }
        for name in ("tpr", "fpr", "precision", "approval_rate", "decline_rate"):
            out[name] = getattr(self, name).to_dict()
        return out


def _confusion(
    labels: LabelArray, scores: FloatArray, w: FloatArray | None, threshold: float
) -> Confusion:
    flagged = scores >= threshold
    ww = np.ones_like(scores) if w is None else w
    pos = labels == 1
    tp = float(ww[flagged & pos].sum())
    fp = float(ww[flagged & ~pos].sum())
    fn = float(ww[~flagged & pos].sum())
    tn = float(ww[~flagged & ~pos].sum())
    total = tp + fp + fn + tn
    return Confusion(
        threshold=float(threshold),
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        tpr=_ratio(tp, tp + fn, "no positives"),
        fpr=_ratio(fp, fp + tn, "no negatives"),
        precision=_ratio(tp, tp + fp, "nothing flagged"),
        approval_rate=_ratio(tn + fn, total, "empty"),
        decline_rate=_ratio(tp + fp, total, "empty"),
    )


def confusion(y: Any, score: Any, threshold: float, weight: Any = None) -> Confusion:
    """Confusion counts, TPR, FPR, precision, approval and decline rates at ``threshold``."""
    labels, scores, w = check_inputs(y, score, weight)
    if not math.isfinite(threshold):
        raise _fail(Reason.INVALID_VALUE, "threshold must be finite", threshold=str(threshold))
    return _confusion(labels, scores, w, threshold)


@dataclass(frozen=True)
class CostChoice:
    """The cost-minimising threshold, its total and per-item cost, and its confusion."""

    threshold: float | None
    total_cost: MetricValue
    cost_per_item: MetricValue
    confusion: Confusion | None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "threshold": self.threshold,
            "total_cost": self.total_cost.to_dict(),
            "cost_per_item": self.cost_per_item.to_dict(),
            "confusion": None if self.confusion is None else self.confusion.to_dict(),
        }


def cost_threshold(
    y: Any, score: Any, *, cost_fn: float, cost_fp: float, weight: Any = None
) -> CostChoice:
    """Threshold minimising ``cost_fn · FN + cost_fp · FP`` over all unique scores."""
    for name, cost in (("cost_fn", cost_fn), ("cost_fp", cost_fp)):
        if not (math.isfinite(cost) and cost >= 0):
            raise _fail(Reason.INVALID_VALUE, f"{name} must be finite and >= 0", field=name)
    labels, scores, w = check_inputs(y, score, weight)
    if len(labels) == 0:
        empty = MetricValue.undefined("empty")
        return CostChoice(threshold=None, total_cost=empty, cost_per_item=empty, confusion=None)
    ww = np.ones_like(scores) if w is None else w
    order = np.argsort(-scores, kind="stable")
    s_desc = scores[order]
    w_pos = ww[order] * labels[order]
    cum_tp = np.cumsum(w_pos)
    cum_fp = np.cumsum(ww[order]) - cum_tp
    ends = np.flatnonzero(np.append(s_desc[1:] != s_desc[:-1], True))  # last of each tie group
    total_pos = float(cum_tp[-1])
    # candidate 0 = flag nothing; candidate k = flag every score >= s_desc[ends[k-1]]
    tp = np.concatenate(([0.0], cum_tp[ends]))
    fp = np.concatenate(([0.0], cum_fp[ends]))
    costs = cost_fn * (total_pos - tp) + cost_fp * fp
    best = int(np.argmin(costs))  # first minimum = highest threshold among ties
    top = float(s_desc[0])
    threshold = float(np.nextafter(top, math.inf)) if best == 0 else float(s_desc[ends[best - 1]])
    total_w = float(ww.sum())
    cost = float(costs[best])
    return CostChoice(
        threshold=threshold,
        total_cost=_ok(cost),
        cost_per_item=_ratio(cost, total_w, "empty"),
        confusion=_confusion(labels, scores, w, threshold),
    )


@dataclass(frozen=True)
class GroupRates:
    """One group's size and rates at the fairness threshold."""

    n: int
    tpr: MetricValue
    fpr: MetricValue
    approval_rate: MetricValue

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "n": self.n,
            "tpr": self.tpr.to_dict(),
            "fpr": self.fpr.to_dict(),
            "approval_rate": self.approval_rate.to_dict(),
        }


@dataclass(frozen=True)
class FairnessReport:
    """Per-group rates and the largest gaps between groups (max − min of defined rates)."""

    threshold: float
    groups: Mapping[str, GroupRates]
    tpr_gap: MetricValue
    fpr_gap: MetricValue
    approval_gap: MetricValue

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "threshold": self.threshold,
            "groups": {k: v.to_dict() for k, v in self.groups.items()},
            "tpr_gap": self.tpr_gap.to_dict(),
            "fpr_gap": self.fpr_gap.to_dict(),
            "approval_gap": self.approval_gap.to_dict(),
        }


def _gap(values: list[MetricValue]) -> MetricValue:
    defined = [v.value for v in values if v.value is not None]
    if len(defined) < 2:
        return MetricValue.undefined("fewer than two groups with a defined rate")
    return _ok(max(defined) - min(defined))


def segment_fairness(
    y: Any, score: Any, groups: Any, threshold: float, weight: Any = None
) -> FairnessReport:
    """Per-group TPR, FPR and approval rate at ``threshold``; the max gaps across groups."""
    labels, scores, w = check_inputs(y, score, weight)
    g_arr = np.asarray(groups)
    if g_arr.ndim != 1 or len(g_arr) != len(labels):
        raise _fail(
            Reason.EVAL_LENGTH_MISMATCH,
            "groups must be a 1-D array as long as the labels",
            labels=len(labels),
            groups=int(g_arr.size),
        )
    keys = g_arr.astype(str)
    rates: dict[str, GroupRates] = {}
    for key in sorted(set(keys.tolist())):
        m = keys == key
        c = _confusion(labels[m], scores[m], None if w is None else w[m], threshold)
        rates[key] = GroupRates(int(m.sum()), c.tpr, c.fpr, c.approval_rate)
    return FairnessReport(
        threshold=float(threshold),
        groups=rates,
        tpr_gap=_gap([r.tpr for r in rates.values()]),
        fpr_gap=_gap([r.fpr for r in rates.values()]),
        approval_gap=_gap([r.approval_rate for r in rates.values()]),
    )
