"""Paired bootstrap of a metric's candidate − baseline delta (E3), fast for ROC AUC.

**Resampling.** Each resample gives every item a Poisson(1) weight (the "Poisson bootstrap":
the multinomial counts of a classic bootstrap are, for large n, independent Poisson(1)). The
weights are drawn as 16-bit uniforms mapped through a 65,536-entry inverse-CDF table, so each
probability ``P(k)`` is within 2⁻¹⁶ of Poisson(1)'s (k ≤ 8). *Paired*: both models see the same
weights in a resample. A resample in which a class gets no weight leaves the metric undefined;
such resamples are dropped and counted (``valid_resamples``); below 90% valid the CI is
undefined. Resamples run in blocks of :data:`BLOCK` with one ``SeedSequence(seed).spawn``
child per block, on ``workers`` threads — results depend on the seed only, never on the number
of threads.

**Rank-based weighted AUC.** With weights ``w``, ``AUC = Σ_pos w_p · (N_below(p) + ½ N_tie(p))
/ (W_pos · W_neg)``, where ``N_below`` and ``N_tie`` are the weights of negatives scoring
below / equal to ``p``. The negatives are sorted once per model; ``lo``/``hi`` (the
``searchsorted`` positions of every positive) are fixed, so a resample costs one cumulative sum
of the negatives' weights per model and a gather at the positives: ``2·num = Σ_p w_p (C[lo] +
C[hi])``. When positives outnumber negatives, labels are swapped and scores negated (the AUC is
unchanged) so the gather stays on the smaller class. :func:`weighted_auc` exposes the same kernel
with arbitrary weights; with integer weights it equals scikit-learn's
``roc_auc_score(sample_weight=...)``.

**CIs** are percentile intervals ``[q(α/2), q(1 − α/2)]`` of the replicates, for each model, for
the delta ``b − a`` (``a`` is the baseline, ``b`` the candidate) and for the relative delta
``(b − a) / |a|`` (replicates where ``a`` is 0 are dropped). Point values are on the full data.
Brier is vectorised per resample too; ``pr_auc`` and ``ece`` take the generic path (the metric
function with ``sample_weight`` per resample), which is much slower on large data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from airel.domain.eval_metrics import (
    FloatArray,
    LabelArray,
    MetricValue,
    check_inputs,
    metric_def,
)
from airel.errors import Reason, ValidationError

IntArray = npt.NDArray[np.intp]
BLOCK = 25  # resamples per block (one seed and one task each)
MIN_VALID_SHARE = 0.9  # below this share of defined replicates the CI is undefined


def _poisson_table() -> npt.NDArray[np.uint8]:
    cdf, p = [], math.exp(-1.0)
    acc = 0.0
    for k in range(20):
        acc += p
        cdf.append(round(acc * 65536))
        p /= k + 1
    return np.searchsorted(np.array(cdf), np.arange(65536), side="right").astype(np.uint8)


POISSON_TABLE = _poisson_table()


@dataclass(frozen=True)
class _ModelPlan:
    perm: npt.NDArray[np.integer[Any]] | None  # sorted negatives, as reference-order indices
    lo: npt.NDArray[np.integer[Any]]  # per positive: negatives scoring strictly below
    hi: npt.NDArray[np.integer[Any]]  # per positive: negatives scoring below or equal


@dataclass(frozen=True)
class _RankPlan:
    pos: IntArray  # item indices of the (possibly swapped) positives
    neg: IntArray  # item indices of the negatives, in the reference order
    models: tuple[_ModelPlan, ...]


def _rank_plan(labels: LabelArray, scores: Sequence[FloatArray]) -> _RankPlan:
    is_pos = labels == 1
    sign = 1.0
    if int(is_pos.sum()) * 2 > len(labels):  # keep the gather on the smaller class
        is_pos, sign = ~is_pos, -1.0
    pos = np.flatnonzero(is_pos)
    neg = np.flatnonzero(~is_pos)
    ref = np.argsort(sign * scores[0][neg], kind="stable")
    neg = neg[ref]
    models = []
    for i, raw in enumerate(scores):
        s = sign * raw
        perm = None if i == 0 else np.argsort(s[neg], kind="stable")
        sorted_neg = s[neg] if perm is None else s[neg][perm]
        lo = np.searchsorted(sorted_neg, s[pos], side="left")
        hi = np.searchsorted(sorted_neg, s[pos], side="right")
        small = np.int32 if len(labels) < 2**31 else np.intp  # halves index memory traffic
        models.append(
            _ModelPlan(
                None if perm is None else perm.astype(small), lo.astype(small), hi.astype(small)
            )
        )
    return _RankPlan(pos, neg, tuple(models))


def _rank_aucs(plan: _RankPlan, w_pos: npt.NDArray[Any], w_neg: npt.NDArray[Any]) -> list[float]:
    """AUC of every model under weights given for positives and reference-ordered negatives."""
    integer = w_neg.dtype.kind in "biu" and w_pos.dtype.kind in "biu"
    acc = np.int64 if integer else np.float64  # exact sums for integer weights
    wp = w_pos.astype(acc)
    total_pos = float(wp.sum())
    c = np.zeros(len(w_neg) + 1, dtype=acc)
    np.cumsum(w_neg, out=c[1:])
    total_neg = float(c[-1])
    if total_pos <= 0 or total_neg <= 0:
        return [math.nan] * len(plan.models)
    out = []
    for m in plan.models:
        if m.perm is not None:
            np.cumsum(w_neg[m.perm], out=c[1:])
        num2 = float(wp @ (c[m.lo] + c[m.hi]))
        out.append(num2 / (2.0 * total_pos * total_neg))
    return out


def weighted_auc(y: Any, score: Any, weight: Any = None) -> MetricValue:
    """ROC AUC from ranks (the bootstrap kernel); undefined with one class or no items."""
    labels, scores, w = check_inputs(y, score, weight)
    if len(labels) == 0:
        return MetricValue.undefined("empty")
    ww = np.ones_like(scores) if w is None else w
    plan = _rank_plan(labels, [scores])
    (auc,) = _rank_aucs(plan, ww[plan.pos], ww[plan.neg])
    return MetricValue.undefined("one class") if math.isnan(auc) else MetricValue(auc)


@dataclass(frozen=True)
class DeltaCI:
    """Both models' values with CIs, and the paired delta ``b − a`` with its CI."""

    metric: str
    a: MetricValue
    b: MetricValue
    a_ci: tuple[float, float] | None
    b_ci: tuple[float, float] | None
    delta: MetricValue
    low: float | None
    high: float | None
    rel_delta: MetricValue
    rel_low: float | None
    rel_high: float | None
    resamples: int
    valid_resamples: int
    alpha: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (no NaN anywhere: missing numbers are ``null``)."""
        return {
            "metric": self.metric,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "a_ci": None if self.a_ci is None else list(self.a_ci),
            "b_ci": None if self.b_ci is None else list(self.b_ci),
            "delta": self.delta.to_dict(),
            "low": self.low,
            "high": self.high,
            "rel_delta": self.rel_delta.to_dict(),
            "rel_low": self.rel_low,
            "rel_high": self.rel_high,
            "resamples": self.resamples,
            "valid_resamples": self.valid_resamples,
            "alpha": self.alpha,
            "seed": self.seed,
        }


Replicator = Callable[[np.random.Generator], tuple[float, float]]


def _replicator(metric: str, labels: LabelArray, a: FloatArray, b: FloatArray) -> Replicator:
    n = len(labels)
    if metric == "roc_auc":
        plan = _rank_plan(labels, [a, b])
        n_pos = len(plan.pos)

        def auc_rep(rng: np.random.Generator) -> tuple[float, float]:
            w = POISSON_TABLE[rng.integers(0, 65536, n, dtype=np.uint16)]
            ra, rb = _rank_aucs(plan, w[:n_pos], w[n_pos:])
            return ra, rb

        return auc_rep
    if metric == "brier":
        ea, eb = (a - labels) ** 2, (b - labels) ** 2

        def brier_rep(rng: np.random.Generator) -> tuple[float, float]:
            w = POISSON_TABLE[rng.integers(0, 65536, n, dtype=np.uint16)].astype(np.float64)
            total = float(w.sum())
            if total <= 0:
                return math.nan, math.nan
            return float(w @ ea) / total, float(w @ eb) / total

        return brier_rep
    fn = metric_def(metric).fn

    def generic_rep(rng: np.random.Generator) -> tuple[float, float]:
        w = POISSON_TABLE[rng.integers(0, 65536, n, dtype=np.uint16)]
        ma, mb = fn(labels, a, w), fn(labels, b, w)
        return (
            math.nan if ma.value is None else ma.value,
            math.nan if mb.value is None else mb.value,
        )

    return generic_rep


def _run_blocks(rep: Replicator, resamples: int, seed: int, workers: int) -> FloatArray:
    n_blocks = -(-resamples // BLOCK)
    seeds = np.random.SeedSequence(seed).spawn(n_blocks)

    def block(i: int) -> list[tuple[float, float]]:
        rng = np.random.default_rng(seeds[i])
        size = min(BLOCK, resamples - i * BLOCK)
        return [rep(rng) for _ in range(size)]

    if workers <= 1 or n_blocks == 1:
        parts = [block(i) for i in range(n_blocks)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(block, range(n_blocks)))
    return np.array([r for part in parts for r in part], dtype=np.float64).reshape(-1, 2)


def _ci(values: FloatArray, alpha: float, need: int) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)]
    if len(finite) < need or len(finite) == 0:
        return None
    lo, hi = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def paired_bootstrap(
    y: Any,
    score_a: Any,
    score_b: Any,
    metric: str = "roc_auc",
    *,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    workers: int = 2,
) -> DeltaCI:
    """Paired Poisson bootstrap of ``metric(b) − metric(a)`` (``a`` baseline, ``b`` candidate)."""
    defn = metric_def(metric)
    labels, a, _ = check_inputs(y, score_a)
    _, b, _ = check_inputs(labels, score_b)
    if resamples < 1 or not 0 < alpha < 1 or workers < 1:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "resamples and workers must be >= 1 and alpha in (0, 1)",
            details={"resamples": resamples, "alpha": alpha, "workers": workers},
        )
    va, vb = defn.fn(labels, a, None), defn.fn(labels, b, None)
    base: dict[str, Any] = {"metric": metric, "a": va, "b": vb, "resamples": resamples}
    base |= {"alpha": alpha, "seed": seed}
    if va.value is None or vb.value is None:
        why = va.reason if va.value is None else vb.reason
        und = MetricValue.undefined(why or "undefined")
        return DeltaCI(
            **base, a_ci=None, b_ci=None, delta=und, low=None, high=None,
            rel_delta=und, rel_low=None, rel_high=None, valid_resamples=0,
        )  # fmt: skip
    reps = _run_blocks(_replicator(metric, labels, a, b), resamples, seed, workers)
    valid = np.isfinite(reps).all(axis=1)
    need = math.ceil(MIN_VALID_SHARE * resamples)
    good = reps[valid]
    deltas = good[:, 1] - good[:, 0]
    d_ci = _ci(deltas, alpha, need)
    nonzero = good[:, 0] != 0
    rel = deltas[nonzero] / np.abs(good[nonzero, 0])
    r_ci = _ci(rel, alpha, need)
    rel_delta = (
        MetricValue((vb.value - va.value) / abs(va.value))
        if va.value != 0
        else MetricValue.undefined("baseline is zero")
    )
    return DeltaCI(
        **base,
        a_ci=_ci(good[:, 0], alpha, need),
        b_ci=_ci(good[:, 1], alpha, need),
        delta=MetricValue(vb.value - va.value),
        low=None if d_ci is None else d_ci[0],
        high=None if d_ci is None else d_ci[1],
        rel_delta=rel_delta,
        rel_low=None if r_ci is None else r_ci[0],
        rel_high=None if r_ci is None else r_ci[1],
        valid_resamples=int(valid.sum()),
    )
