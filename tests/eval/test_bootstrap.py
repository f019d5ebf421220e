"""Bootstrap kernels (E3): the fast per-resample paths equal the metric definitions under any
weights (ties included), and the single-model CI agrees with the paired machinery."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from airel.domain.eval.bootstrap import bootstrap_ci, paired_bootstrap, weighted_values
from airel.domain.eval.metrics import brier, ece
from airel.errors import Reason, ValidationError

Arr = np.ndarray[Any, Any]


@st.composite
def _weighted_data(draw: st.DrawFn) -> tuple[Arr, Arr, Arr, Arr]:
    """Labels, two tied-score models in [0, 1] and weights (integer or real, zeros allowed)."""
    n = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < draw(st.floats(0.0, 1.0))).astype(int)
    digits = draw(st.integers(0, 2))  # 0 digits → scores in {0, 1}: nearly all ties
    a = rng.random(n).round(digits)
    b = np.clip(rng.random(n) * 0.8 + y * 0.2, 0, 1).round(digits)
    if draw(st.booleans()):
        w = rng.integers(0, 4, n).astype(float)
    else:
        w = rng.random(n) * 3 * (rng.random(n) < 0.8)
    return y, a, b, w


@settings(max_examples=300, deadline=None)
@given(_weighted_data())
def test_pr_auc_kernel_equals_sklearn(data: tuple[Arr, Arr, Arr, Arr]) -> None:
    """The AP kernel equals average_precision_score(sample_weight=w) to 1e-9, ties included."""
    y, a, b, w = data
    got = weighted_values("pr_auc", y, [a, b], w)
    for value, s in zip(got, [a, b], strict=True):
        if w[y == 1].sum() > 0:
            assert value == pytest.approx(average_precision_score(y, s, sample_weight=w), abs=1e-9)
        else:
            assert math.isnan(value)  # no positive weight: undefined


@settings(max_examples=300, deadline=None)
@given(_weighted_data())
def test_ece_brier_and_auc_kernels_equal_the_metrics(data: tuple[Arr, Arr, Arr, Arr]) -> None:
    """ECE and Brier kernels equal the metric functions (1e-12); the AUC kernel sklearn's."""
    y, a, b, w = data
    for metric, fn in (("ece", ece), ("brier", brier)):
        for value, s in zip(weighted_values(metric, y, [a, b], w), [a, b], strict=True):
            expected = fn(y, s, w).value
            if expected is None:
                assert math.isnan(value)
            else:
                assert value == pytest.approx(expected, abs=1e-12)
    if w[y == 1].sum() > 0 and w[y == 0].sum() > 0:
        for value, s in zip(weighted_values("roc_auc", y, [a, b], w), [a, b], strict=True):
            assert value == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)


def test_kernels_without_weights_and_on_unsorted_real_scores() -> None:
    """Unweighted (all ones) and continuous scores on a larger sample."""
    rng = np.random.default_rng(5)
    n = 5000
    y = (rng.random(n) < 0.05).astype(int)
    a = rng.normal(size=n) + y
    b = rng.normal(size=n) + 1.5 * y
    ap = weighted_values("pr_auc", y, [a, b])
    assert ap[0] == pytest.approx(average_precision_score(y, a), abs=1e-12)
    assert ap[1] == pytest.approx(average_precision_score(y, b), abs=1e-12)


def _data(n: int, seed: int) -> tuple[Arr, Arr, Arr]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    a = 1 / (1 + np.exp(-(rng.normal(size=n) + y)))
    b = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.4 * y)))
    return y, a, b


@pytest.mark.parametrize("metric", ["roc_auc", "pr_auc", "ece", "brier"])
def test_single_ci_is_the_baseline_side_of_the_paired_run(metric: str) -> None:
    """bootstrap_ci uses the same replicates as paired_bootstrap's baseline; seeded; threads."""
    y, a, b = _data(1500, 1)
    single = bootstrap_ci(y, a, metric, resamples=200, seed=4, workers=1)
    paired = paired_bootstrap(y, a, b, metric, resamples=200, seed=4, workers=2)
    assert single.ci == paired.a_ci
    assert single.value == paired.a
    assert single.ci is not None
    assert single.value.value is not None
    assert single.ci[0] <= single.value.value <= single.ci[1]
    assert single.valid_resamples == 200
    other = bootstrap_ci(y, a, metric, resamples=200, seed=5)
    assert other.ci != single.ci


@pytest.mark.parametrize("metric", ["pr_auc", "ece"])
def test_fast_ci_agrees_with_a_naive_bootstrap(metric: str) -> None:
    """The Poisson-weight kernels give the CI a textbook resample-and-recompute bootstrap gives."""
    y, a, _ = _data(3000, 2)
    fast = bootstrap_ci(y, a, metric, resamples=400, seed=0)
    rng = np.random.default_rng(0)
    reps = []
    for _ in range(400):
        idx = rng.integers(0, len(y), len(y))
        if metric == "pr_auc":
            reps.append(average_precision_score(y[idx], a[idx]))
        else:
            value = ece(y[idx], a[idx]).value
            assert value is not None
            reps.append(value)
    lo, hi = np.quantile(reps, [0.025, 0.975])
    assert fast.ci is not None
    width = hi - lo
    assert abs(fast.ci[0] - lo) < 0.25 * width
    assert abs(fast.ci[1] - hi) < 0.25 * width


def test_single_ci_undefined_and_bad_settings() -> None:
    """One class → undefined with a reason and no CI; bad settings → INVALID_VALUE."""
    res = bootstrap_ci([0, 0, 0], [0.1, 0.2, 0.3], "roc_auc", resamples=50)
    assert res.value.reason == "one class"
    assert res.ci is None
    assert res.to_dict()["ci"] is None
    empty = bootstrap_ci([], [], "pr_auc", resamples=50)
    assert empty.value.reason == "empty"
    with pytest.raises(ValidationError) as info:
        bootstrap_ci([0, 1], [0.1, 0.9], resamples=0)
    assert info.value.reason is Reason.INVALID_VALUE
    with pytest.raises(ValidationError) as info:
        bootstrap_ci([0, 1], [0.1, math.nan])
    assert info.value.reason is Reason.EVAL_SCORE_INVALID
