"""Classifier metrics (E2) against scikit-learn on fixtures; undefined cases; bad inputs (E2)."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    roc_auc_score,
)

from airel.domain.eval.bootstrap import weighted_auc
from airel.domain.eval.metrics import (
    METRICS,
    brier,
    confusion,
    cost_threshold,
    ece,
    metric_def,
    pr_auc,
    roc_auc,
    segment_fairness,
)
from airel.errors import Reason, ValidationError


def _fixture(n: int = 500, seed: int = 3) -> tuple[np.ndarray[Any, Any], ...]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    score = np.clip(rng.random(n) * 0.7 + y * 0.25, 0, 1).round(2)  # ties on purpose
    weight = rng.integers(0, 5, n).astype(float)
    return y, score, weight


@pytest.mark.parametrize("weighted", [False, True])
def test_metrics_equal_sklearn(weighted: bool) -> None:
    """E2: ROC AUC, PR AUC and Brier equal scikit-learn to 1e-12, with and without weights."""
    y, s, w = _fixture()
    sw = w if weighted else None
    assert roc_auc(y, s, sw).value == pytest.approx(
        roc_auc_score(y, s, sample_weight=sw), abs=1e-12
    )
    ap = average_precision_score(y, s, sample_weight=sw)
    assert pr_auc(y, s, sw).value == pytest.approx(ap, abs=1e-12)
    assert brier(y, s, sw).value == pytest.approx(
        brier_score_loss(y, s, sample_weight=sw), abs=1e-12
    )


def test_ece_matches_a_direct_computation() -> None:
    """E2: ECE over 10 equal-width bins, the last bin closed at 1.0."""
    y, s, _ = _fixture()
    s = s.copy()
    s[:5] = 1.0
    bins = np.minimum((s * 10).astype(int), 9)
    expected = sum(
        (bins == b).sum() / len(s) * abs(y[bins == b].mean() - s[bins == b].mean())
        for b in range(10)
        if (bins == b).any()
    )
    assert ece(y, s).value == pytest.approx(expected, abs=1e-12)
    assert ece([0, 1], [0.0, 1.0]).value == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_rank_auc_equals_sklearn_with_integer_weights(seed: int) -> None:
    """E3: the bootstrap's rank-based weighted AUC equals roc_auc_score(sample_weight=…)."""
    rng = np.random.default_rng(seed)
    n = 300
    y = (rng.random(n) < [0.1, 0.5, 0.9, 0.3, 0.7][seed]).astype(int)
    s = (rng.random(n) + y * 0.2).round(1)
    w = rng.integers(0, 4, n)
    assert weighted_auc(y, s, w).value == pytest.approx(
        roc_auc_score(y, s, sample_weight=w), abs=1e-12
    )
    assert weighted_auc(y, s).value == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_confusion_matches_sklearn() -> None:
    """E2: confusion at a threshold (flag when score >= threshold) and its rates."""
    y, s, _ = _fixture()
    c = confusion(y, s, 0.5)
    tn, fp, fn, tp = confusion_matrix(y, (s >= 0.5).astype(int)).ravel()
    assert (c.tp, c.fp, c.tn, c.fn) == (tp, fp, tn, fn)
    assert c.tpr.value == pytest.approx(tp / (tp + fn))
    assert c.fpr.value == pytest.approx(fp / (fp + tn))
    assert c.precision.value == pytest.approx(tp / (tp + fp))
    assert c.decline_rate.value == pytest.approx((tp + fp) / len(y))
    assert c.approval_rate.value == pytest.approx((tn + fn) / len(y))
    assert confusion(y, s, 2.0).precision.status == "undefined"


@pytest.mark.parametrize(("cost_fn", "cost_fp"), [(10.0, 1.0), (1.0, 1.0), (1.0, 50.0), (0.0, 1.0)])
def test_cost_threshold_is_the_brute_force_minimum(cost_fn: float, cost_fp: float) -> None:
    """E2: cost-based threshold = the minimum over every unique score and "flag nothing"."""
    y, s, w = _fixture(200)
    choice = cost_threshold(y, s, cost_fn=cost_fn, cost_fp=cost_fp, weight=w)
    candidates = [*np.unique(s), np.nextafter(s.max(), np.inf)]
    costs = []
    for t in candidates:
        flagged = s >= t
        costs.append(cost_fn * w[(y == 1) & ~flagged].sum() + cost_fp * w[(y == 0) & flagged].sum())
    assert choice.total_cost.value == pytest.approx(min(costs), abs=1e-9)
    assert choice.threshold is not None
    assert choice.confusion is not None
    c = choice.confusion
    assert cost_fn * c.fn + cost_fp * c.fp == pytest.approx(min(costs), abs=1e-9)
    assert choice.cost_per_item.value == pytest.approx(min(costs) / w.sum())


def test_cost_threshold_flags_nothing_when_false_positives_dominate() -> None:
    """E2: with a huge false-decline cost nothing is flagged (threshold above the top score)."""
    choice = cost_threshold([0, 1, 0], [0.2, 0.9, 0.95], cost_fn=1, cost_fp=1000)
    assert choice.threshold is not None
    assert choice.threshold > 0.95
    assert choice.confusion is not None
    assert choice.confusion.decline_rate.value == 0.0
    assert cost_threshold([], [], cost_fn=1, cost_fp=1).threshold is None
    with pytest.raises(ValidationError) as e:
        cost_threshold([0], [0.1], cost_fn=-1, cost_fp=1)
    assert e.value.reason is Reason.INVALID_VALUE


def test_segment_fairness_rates_and_gaps() -> None:
    """E2: per-group TPR/FPR/approval rate and max gaps; a one-class group is undefined."""
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    s = np.array([0.9, 0.2, 0.8, 0.1, 0.7, 0.6, 0.1, 0.2])
    g = np.array(["a", "a", "a", "a", "b", "b", "b", "c"])
    r = segment_fairness(y, s, g, 0.5)
    assert r.groups["a"].tpr.value == 0.5
    assert r.groups["b"].tpr.value == 1.0
    assert r.groups["a"].fpr.value == 0.5
    assert r.groups["b"].fpr.value == 0.5
    assert r.groups["c"].tpr.status == "undefined"
    assert r.tpr_gap.value == 0.5
    assert r.fpr_gap.value == 0.5
    assert r.approval_gap.value == pytest.approx(1.0 - 1 / 3)  # c approves all, b one of 3
    assert r.to_dict()["groups"]["c"]["tpr"]["reason"] == "no positives"


@pytest.mark.parametrize("name", sorted(METRICS))
def test_one_class_or_empty_is_undefined_not_a_crash(name: str) -> None:
    """E2: one class / empty → MetricValue(status="undefined") with a reason; never NaN."""
    fn = METRICS[name].fn
    empty = fn([], [], None)
    assert empty.status == "undefined"
    assert empty.value is None
    assert empty.reason
    one = fn([0, 0, 0], [0.1, 0.2, 0.3], None)
    if name in ("roc_auc", "pr_auc"):
        assert one.status == "undefined"
        assert one.reason in ("one class", "no positives")
    else:
        assert one.value is not None  # calibration is defined with one class
    assert roc_auc([1, 1], [0.2, 0.3]).reason == "one class"
    assert brier([0, 1], [0.5, 3.0]).status == "undefined"


@pytest.mark.parametrize(
    ("y", "s", "w", "reason"),
    [
        ([0, 1, 0], [0.1, 0.2], None, Reason.EVAL_LENGTH_MISMATCH),
        ([0, 2], [0.1, 0.2], None, Reason.EVAL_LABEL_INVALID),
        ([0.0, float("nan")], [0.1, 0.2], None, Reason.EVAL_LABEL_INVALID),
        (["0", "1"], [0.1, 0.2], None, Reason.EVAL_LABEL_INVALID),
        ([0, 1], [0.1, float("nan")], None, Reason.EVAL_SCORE_INVALID),
        ([0, 1], [0.1, float("inf")], None, Reason.EVAL_SCORE_INVALID),
        ([0, 1], ["a", "b"], None, Reason.EVAL_SCORE_INVALID),
        ([0, 1], [0.1, 0.2], [1.0], Reason.EVAL_LENGTH_MISMATCH),
        ([0, 1], [0.1, 0.2], [1.0, -1.0], Reason.EVAL_WEIGHT_INVALID),
    ],
)
def test_bad_inputs_raise_specific_reasons(y: Any, s: Any, w: Any, reason: Reason) -> None:
    """E2 bad input: length mismatch, labels outside {0,1}, NaN scores, bad weights."""
    for fn in (roc_auc, pr_auc, brier, ece):
        with pytest.raises(ValidationError) as e:
            fn(y, s, w)
        assert e.value.reason is reason


def test_unknown_metric_and_bad_groups() -> None:
    """E2: an unknown metric name and a group column of the wrong length are refused."""
    with pytest.raises(ValidationError) as e:
        metric_def("accuracy_typo")
    assert e.value.reason is Reason.EVAL_METRIC_UNKNOWN
    with pytest.raises(ValidationError) as e:
        segment_fairness([0, 1], [0.1, 0.2], cast(Any, ["a"]), 0.5)
    assert e.value.reason is Reason.EVAL_LENGTH_MISMATCH
