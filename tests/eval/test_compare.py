"""Paired bootstrap and baseline-vs-candidate comparison with thresholds and slices (E3)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy.stats import norm

from airel.domain.eval.bootstrap import POISSON_TABLE, paired_bootstrap
from airel.domain.eval.compare import (
    Outcome,
    Threshold,
    ThresholdKind,
    compare,
)
from airel.domain.eval.metrics import Direction
from airel.errors import Reason, ValidationError

Arr = np.ndarray[Any, Any]


def _models(n: int, seed: int, gap: float = 0.3) -> tuple[Arr, Arr, Arr]:
    """Labels, a weaker baseline and a stronger candidate (probabilities in (0, 1))."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    shared = rng.normal(size=n)
    base = shared + rng.normal(size=n) * 0.5 + y * 1.0
    cand = shared + rng.normal(size=n) * 0.5 + y * (1.0 + gap)
    return y, 1 / (1 + np.exp(-base)), 1 / (1 + np.exp(-cand))


def test_poisson_table_is_poisson_one() -> None:
    """E3: the weight table's probabilities are within 2^-16 of Poisson(1)."""
    freq = np.bincount(POISSON_TABLE, minlength=9) / 65536
    pmf = np.exp(-1) / np.array([1, 1, 2, 6, 24, 120, 720, 5040, 40320])
    assert np.abs(freq[:9] - pmf).max() < 2**-15


def test_bootstrap_is_reproducible_and_thread_independent() -> None:
    """E3: same seed → same CI, whatever the number of threads; another seed differs."""
    y, a, b = _models(2000, 1)
    r1 = paired_bootstrap(y, a, b, resamples=200, seed=7, workers=1)
    r2 = paired_bootstrap(y, a, b, resamples=200, seed=7, workers=2)
    r3 = paired_bootstrap(y, a, b, resamples=200, seed=8)
    assert r1.to_dict() == r2.to_dict()
    assert (r1.low, r1.high) != (r3.low, r3.high)
    assert r1.valid_resamples == 200
    assert r1.low is not None
    assert r1.high is not None
    assert r1.delta.value is not None
    assert r1.low < r1.delta.value < r1.high


@pytest.mark.parametrize("metric", ["roc_auc", "brier", "pr_auc", "ece"])
def test_every_metric_bootstraps(metric: str) -> None:
    """E3: each metric gets a delta CI around its point delta and per-model CIs."""
    y, a, b = _models(600, 2)
    r = paired_bootstrap(y, a, b, metric, resamples=60, seed=1)
    assert r.delta.value is not None
    assert r.low is not None
    assert r.high is not None
    assert r.low <= r.delta.value <= r.high
    assert r.a_ci is not None
    assert r.b_ci is not None
    json.dumps(r.to_dict(), allow_nan=False)


def test_ci_covers_the_true_delta_most_of_the_time() -> None:
    """E3: on simulated binormal data the 90% delta CI covers the true AUC delta ≥ 75% of runs."""
    # true AUC of a binormal model with unit-variance classes: Φ(d / √2)
    runs, covered = 40, 0
    for seed in range(runs):
        rng = np.random.default_rng(100 + seed)
        n = 1500
        y = (rng.random(n) < 0.3).astype(int)
        a = rng.normal(size=n) + y * 1.0
        b = rng.normal(size=n) + y * 1.3
        truth = norm.cdf(1.3 / np.sqrt(2)) - norm.cdf(1.0 / np.sqrt(2))
        r = paired_bootstrap(y, a, b, resamples=200, seed=seed, alpha=0.1)
        assert r.low is not None
        assert r.high is not None
        covered += r.low <= truth <= r.high
    assert covered / runs >= 0.75


def test_one_class_slice_is_undefined_and_inconclusive() -> None:
    """E3 bad input: one-class and empty slices → undefined metrics, INCONCLUSIVE thresholds."""
    y, a, b = _models(400, 3)
    slices = {"negatives_only": y == 0, "empty": np.zeros(len(y), dtype=bool)}
    t_one = Threshold("roc_auc", ThresholdKind.ABSOLUTE, 0.5, slice="negatives_only")
    t_empty = Threshold("roc_auc", ThresholdKind.MIN_ABSOLUTE_CHANGE, 0.0, slice="empty")
    res = compare(y, a, b, metrics=["roc_auc"], thresholds=[t_one, t_empty], slices=slices,
                  resamples=50)  # fmt: skip
    d = res.slices["negatives_only"].metrics["roc_auc"]
    assert d.b.status == "undefined"
    assert d.b.reason == "one class"
    assert d.low is None
    assert [t.outcome for t in res.thresholds] == [Outcome.INCONCLUSIVE, Outcome.INCONCLUSIVE]
    assert res.passed is False  # inconclusive is never a pass
    json.dumps(res.to_dict(), allow_nan=False)


def _judge_one(t: Threshold, use_ci: bool = True) -> Outcome:
    y, a, b = _models(3000, 4, gap=0.4)
    res = compare(y, a, b, metrics=[t.metric], thresholds=[t], resamples=200, use_ci=use_ci)
    return res.thresholds[0].outcome


@pytest.mark.parametrize(
    ("metric", "kind", "value", "direction", "expected"),
    [
        ("roc_auc", ThresholdKind.ABSOLUTE, 0.6, None, Outcome.PASSED),
        ("roc_auc", ThresholdKind.ABSOLUTE, 0.99, None, Outcome.FAILED),
        ("brier", ThresholdKind.ABSOLUTE, 0.5, None, Outcome.PASSED),
        ("brier", ThresholdKind.ABSOLUTE, 0.01, None, Outcome.FAILED),
        ("roc_auc", ThresholdKind.MIN_ABSOLUTE_CHANGE, 0.005, None, Outcome.PASSED),
        ("roc_auc", ThresholdKind.MIN_ABSOLUTE_CHANGE, 0.2, None, Outcome.FAILED),
        ("brier", ThresholdKind.MIN_ABSOLUTE_CHANGE, 0.001, None, Outcome.PASSED),
        ("brier", ThresholdKind.MIN_ABSOLUTE_CHANGE, 0.1, None, Outcome.FAILED),
        ("roc_auc", ThresholdKind.MIN_RELATIVE_CHANGE, 0.005, None, Outcome.PASSED),
        ("roc_auc", ThresholdKind.MIN_RELATIVE_CHANGE, 0.5, None, Outcome.FAILED),
        ("brier", ThresholdKind.MIN_RELATIVE_CHANGE, 0.01, None, Outcome.PASSED),
        ("brier", ThresholdKind.MIN_RELATIVE_CHANGE, 0.9, None, Outcome.FAILED),
        # an explicit, inverted direction turns an improvement into a failure
        ("roc_auc", ThresholdKind.MIN_ABSOLUTE_CHANGE, 0.0, Direction.LOWER_IS_BETTER,
         Outcome.FAILED),
        ("roc_auc", ThresholdKind.ABSOLUTE, 0.99, Direction.LOWER_IS_BETTER, Outcome.PASSED),
    ],
)  # fmt: skip
def test_threshold_kinds_and_directions(
    metric: str, kind: ThresholdKind, value: float, direction: Direction | None, expected: Outcome
) -> None:
    """E3: MLflow threshold kinds × directions on a clearly better candidate."""
    assert _judge_one(Threshold(metric, kind, value, direction)) is expected


def test_ci_bound_is_stricter_than_the_point_delta() -> None:
    """E3: a change threshold between the CI's pessimistic end and the point delta passes only
    without use_ci — the CI makes the change be demonstrated."""
    y, a, b = _models(3000, 4, gap=0.4)
    r = paired_bootstrap(y, a, b, resamples=200)
    assert r.low is not None
    assert r.delta.value is not None
    t = Threshold("roc_auc", ThresholdKind.MIN_ABSOLUTE_CHANGE, (r.low + r.delta.value) / 2)
    assert _judge_one(t, use_ci=True) is Outcome.FAILED
    assert _judge_one(t, use_ci=False) is Outcome.PASSED


def test_material_regression_is_flagged_per_slice() -> None:
    """E3: a slice where the candidate is clearly worse is a material regression; overall not."""
    rng = np.random.default_rng(5)
    n = 6000
    y = (rng.random(n) < 0.3).astype(int)
    seg = rng.random(n) < 0.3
    base = rng.normal(size=n) + y * 1.2
    cand = rng.normal(size=n) + y * np.where(seg, 0.6, 1.5)
    res = compare(y, base, cand, metrics=["roc_auc"], slices={"cnp": seg, "rest": ~seg},
                  resamples=200)  # fmt: skip
    assert ("cnp", "roc_auc") in res.material_regressions
    assert ("overall", "roc_auc") not in res.material_regressions
    assert res.slices["rest"].regressions == {}
    out = res.to_dict()
    assert {"slice": "cnp", "metric": "roc_auc"} in out["material_regressions"]
    json.dumps(out, allow_nan=False)


def test_hard_and_soft_thresholds_and_min_items() -> None:
    """E3: a failing soft threshold does not fail the comparison; too few items is inconclusive."""
    y, a, b = _models(1000, 6)
    small = np.zeros(len(y), dtype=bool)
    small[:20] = True
    soft = Threshold("roc_auc", ThresholdKind.ABSOLUTE, 0.999, hard=False)
    tiny = Threshold("roc_auc", ThresholdKind.ABSOLUTE, 0.0, slice="small", hard=False)
    res = compare(y, a, b, metrics=["roc_auc"], thresholds=[soft, tiny], slices={"small": small},
                  resamples=50)  # fmt: skip
    assert [t.outcome for t in res.thresholds] == [Outcome.FAILED, Outcome.INCONCLUSIVE]
    assert res.thresholds[1].reason == "fewer than 30 items"
    assert res.passed is True


@pytest.mark.parametrize(
    ("slices", "reason"),
    [
        ({"s": np.array([1, 0, 1])}, Reason.EVAL_SLICE_INVALID),
        ({"overall": np.array([True, False, True])}, Reason.EVAL_SLICE_INVALID),
        ({"s": np.array([True, False])}, Reason.EVAL_LENGTH_MISMATCH),
    ],
)
def test_bad_slices_and_inputs(slices: dict[str, Arr], reason: Reason) -> None:
    """E3 bad input: non-boolean, reserved-name or wrong-length slice masks."""
    with pytest.raises(ValidationError) as e:
        compare([0, 1, 0], [0.1, 0.2, 0.3], [0.2, 0.3, 0.4], slices=slices, resamples=10)
    assert e.value.reason is reason


def test_bootstrap_bad_inputs() -> None:
    """E3 bad input: mismatched candidate scores, NaN scores, unknown metric, bad resamples."""
    cases: list[tuple[dict[str, Any], Reason]] = [
        ({"score_b": [0.1, 0.2]}, Reason.EVAL_LENGTH_MISMATCH),
        ({"score_b": [0.1, np.nan, 0.3]}, Reason.EVAL_SCORE_INVALID),
        ({"metric": "f1"}, Reason.EVAL_METRIC_UNKNOWN),
        ({"resamples": 0}, Reason.INVALID_VALUE),
    ]
    for override, reason in cases:
        kw: dict[str, Any] = {
            "y": [0, 1, 0],
            "score_a": [0.1, 0.2, 0.3],
            "score_b": [0.3, 0.2, 0.1],
        }
        kw |= override
        with pytest.raises(ValidationError) as e:
            paired_bootstrap(**kw)
        assert e.value.reason is reason
