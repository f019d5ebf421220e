"""Bootstrap CIs of classifier metrics (E3): paired deltas and single models, vectorised.

**Resampling.** Each resample gives every item a Poisson(1) weight (the "Poisson bootstrap":
the multinomial counts of a classic bootstrap are, for large n, independent Poisson(1)). The
weights are drawn as 16-bit uniforms mapped through a 65,536-entry inverse-CDF table, so each
probability ``P(k)`` is within 2⁻¹⁶ of Poisson(1)'s (k ≤ 8). *Paired*: both models see the same
weights in a resample. A resample in which a class gets no weight leaves the metric undefined;
such resamples are dropped and counted (``valid_resamples``); below 90% valid the CI is
undefined. Resamples run in blocks of :data:`BLOCK` with one ``SeedSequence(seed).spawn``
child per block, on ``workers`` threads — results depend on the seed only, never on the number
of threads. Each metric has a *kernel*: everything that does not depend on the weights (sorts,
bins, tie groups) is computed once, and the weights are drawn directly in the order the kernel
wants them, so a resample costs a few linear passes, never a sort or a metric call.

**Rank-based weighted AUC.** With weights ``w``, ``AUC = Σ_pos w_p · (N_below(p) + ½ N_tie(p))
/ (W_pos · W_neg)``, where ``N_below`` and ``N_tie`` are the weights of negatives scoring
below / equal to ``p``. The negatives are sorted once per model; ``lo``/``hi`` (the
``searchsorted`` positions of every positive) are fixed, so a resample costs one cumulative sum
of the negatives' weights per model and a gather at the positives: ``2·num = Σ_p w_p (C[lo] +
C[hi])``. When positives outnumber negatives, labels are swapped and scores negated (the AUC is
unchanged) so the gather stays on the smaller class. :func:`weighted_auc` exposes the same kernel
with arbitrary weights; with integer weights it equals scikit-learn's
``roc_auc_score(sample_weight=...)``.

**Average precision** (``pr_auc``, scikit-learn's step-wise definition, no interpolation):
``AP = Σ_k (R_k − R_{k−1}) · P_k`` over the distinct score thresholds ``k`` in descending
order, with ``TP_k`` and ``FP_k`` the weights of positives and negatives scoring ``≥`` the
threshold. Only thresholds holding a positive move the recall, so the kernel keeps, per model,
the positives sorted by descending score with the end of each tie group, and for each group the
number of negatives scoring at least as high. A resample is then a cumulative sum of the
positives' weights (``TP`` at the group ends), one of the negatives' weights gathered at those
counts (``FP``), and a dot product — equal to ``average_precision_score(sample_weight=w)``.

**ECE** uses the metric's fixed bins (:func:`~airel.domain.eval.metrics.ece_bins`, from the
unweighted scores). Items are sorted by bin once per model, so a resample's per-bin sums
``Σ w·(y − score)`` (``= W_b · (mean y − mean score)``) are one ``np.add.reduceat``, and
``ECE = Σ_b |…| / Σ w``. Brier is one dot product per model. :func:`weighted_values` runs any
kernel on given weights (the equality tests use it).

**CIs** are percentile intervals ``[q(α/2), q(1 − α/2)]`` of the replicates.
:func:`paired_bootstrap` gives them for each model, for the delta ``b − a`` (``a`` is the
baseline, ``b`` the candidate) and for the relative delta ``(b − a) / |a|`` (replicates where
``a`` is 0 are dropped); :func:`bootstrap_ci` for one model (the same replicates as the
baseline side of a paired run with the same seed). Point values are on the full data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from airel.domain.eval.metrics import (
    FloatArray,
    LabelArray,
    MetricValue,
    check_inputs,
    ece_bins,
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


Kernel = Callable[[npt.NDArray[Any]], list[float]]


@dataclass(frozen=True)
class _Plan:
    """A metric's per-resample kernel and the item order its weights are drawn in."""

    order: IntArray | None  # item index of each weight the kernel takes; None: item order
    kernel: Kernel  # weights in that order → each model's value (NaN where undefined)


def _acc(w: npt.NDArray[Any]) -> type[np.number[Any]]:
    """Accumulator for sums of ``w``: exact integers (int32 when it cannot overflow)."""
    if w.dtype == np.uint8:
        return np.int32 if len(w) * 255 < 2**31 else np.int64
    return np.int64 if w.dtype.kind in "biu" else np.float64


def _dot(x: FloatArray, y: FloatArray) -> float:
    """``x · y`` without BLAS: a threaded BLAS call per resample stalls under CPU contention."""
    return float(np.einsum("i,i->", x, y))


def _rank_kernel(labels: LabelArray, scores: Sequence[FloatArray]) -> _Plan:
    plan = _rank_plan(labels, scores)
    n_pos = len(plan.pos)

    def kernel(w: npt.NDArray[Any]) -> list[float]:
        return _rank_aucs(plan, w[:n_pos], w[n_pos:])

    return _Plan(np.concatenate([plan.pos, plan.neg]), kernel)


@dataclass(frozen=True)
class _APModel:
    pos_perm: npt.NDArray[Any] | None  # positives in this model's descending order
    neg_perm: npt.NDArray[Any] | None  # negatives likewise (None: the reference order)
    ends: IntArray  # per distinct positive score: position of its last positive (descending)
    neg_at: IntArray  # per distinct positive score: how many negatives score at least as high


def _ap_kernel(labels: LabelArray, scores: Sequence[FloatArray]) -> _Plan:
    """Average precision: TP and FP at each distinct score holding a positive (see module)."""
    pos = np.flatnonzero(labels == 1)
    neg = np.flatnonzero(labels != 1)
    pos = pos[np.argsort(-scores[0][pos], kind="stable")]
    neg = neg[np.argsort(-scores[0][neg], kind="stable")]
    small = np.int32 if len(labels) < 2**31 else np.intp  # halves index memory traffic
    models = []
    for i, s in enumerate(scores):
        sp, sn = s[pos], s[neg]
        pp = None if i == 0 else np.argsort(-sp, kind="stable").astype(small)
        nq = None if i == 0 else np.argsort(-sn, kind="stable").astype(small)
        sp = sp if pp is None else sp[pp]
        sn = sn if nq is None else sn[nq]
        ends = np.flatnonzero(np.append(sp[1:] != sp[:-1], True)) if len(sp) else pos[:0]
        neg_at = np.searchsorted(-sn, -sp[ends], side="right")
        models.append(_APModel(pp, nq, ends, neg_at))
    n_pos, n_neg = len(pos), len(neg)

    def kernel(w: npt.NDArray[Any]) -> list[float]:
        acc = _acc(w)
        w_pos, w_neg = w[:n_pos], w[n_pos:]
        cn = np.empty(n_neg + 1, dtype=acc)
        cn[0] = 0
        out = []
        for m in models:
            wp = w_pos if m.pos_perm is None else np.take(w_pos, m.pos_perm)
            wn = w_neg if m.neg_perm is None else np.take(w_neg, m.neg_perm)
            tp = np.cumsum(wp, dtype=acc)[m.ends]
            total_pos = float(tp[-1]) if len(tp) else 0.0
            if total_pos <= 0:
                out.append(math.nan)
                continue
            np.cumsum(wn, dtype=acc, out=cn[1:])
            den = tp + cn[m.neg_at]
            precision = np.divide(tp, den, out=np.zeros(len(tp)), where=den > 0)
            gain = np.diff(tp, prepend=0).astype(np.float64)
            out.append(_dot(gain, precision) / total_pos)
        return out

    return _Plan(np.concatenate([pos, neg]), kernel)


@dataclass(frozen=True)
class _ECEModel:
    perm: IntArray | None  # items in this model's bin order (None: reference order)
    gap: FloatArray  # label − score, in this model's bin order
    starts: IntArray  # first position of every non-empty bin


def _ece_kernel(labels: LabelArray, scores: Sequence[FloatArray]) -> _Plan:
    """ECE: per resample, per-bin weighted sums of ``label − score`` over fixed bins."""
    order = np.argsort(ece_bins(scores[0]), kind="stable")
    models = []
    for i, raw in enumerate(scores):
        s = raw[order]
        bins = ece_bins(s)
        perm = None if i == 0 else np.argsort(bins, kind="stable")
        gap = labels[order] - s
        if perm is not None:
            gap, bins = gap[perm], bins[perm]
        starts = np.flatnonzero(np.append(True, bins[1:] != bins[:-1])) if len(bins) else order[:0]
        models.append(_ECEModel(perm, gap, starts))

    def kernel(w: npt.NDArray[Any]) -> list[float]:
        total = float(w.sum(dtype=_acc(w)))
        if total <= 0:
            return [math.nan] * len(models)
        out = []
        for m in models:
            wm = w if m.perm is None else np.take(w, m.perm)
            per_bin = np.add.reduceat(wm * m.gap, m.starts)  # = W_b · (mean y − mean score)
            out.append(float(np.abs(per_bin).sum()) / total)
        return out

    return _Plan(order, kernel)


def _brier_kernel(labels: LabelArray, scores: Sequence[FloatArray]) -> _Plan:
    errors = [(s - labels) ** 2 for s in scores]

    def kernel(w: npt.NDArray[Any]) -> list[float]:
        wf = w.astype(np.float64)
        total = float(wf.sum())
        if total <= 0:
            return [math.nan] * len(errors)
        return [_dot(wf, e) / total for e in errors]

    return _Plan(None, kernel)


def _generic_kernel(metric: str, labels: LabelArray, scores: Sequence[FloatArray]) -> _Plan:
    fn = metric_def(metric).fn

    def kernel(w: npt.NDArray[Any]) -> list[float]:
        values = [fn(labels, s, w).value for s in scores]
        return [math.nan if v is None else v for v in values]

    return _Plan(None, kernel)


def _plan(metric: str, labels: LabelArray, scores: Sequence[FloatArray]) -> _Plan:
    if metric == "roc_auc":
        return _rank_kernel(labels, scores)
    if metric == "pr_auc":
        return _ap_kernel(labels, scores)
    if metric == "ece":
        return _ece_kernel(labels, scores)
    if metric == "brier":
        return _brier_kernel(labels, scores)
    return _generic_kernel(metric, labels, scores)


def weighted_values(metric: str, y: Any, scores: Sequence[Any], weight: Any = None) -> list[float]:
    """Each score's ``metric`` under ``weight`` computed by the bootstrap kernel, NaN where the
    metric is undefined; equals the metric function with ``sample_weight`` (the test hook)."""
    defn = metric_def(metric)
    labels, first, w = check_inputs(y, scores[0], weight)
    arrays = [first, *(check_inputs(labels, s)[1] for s in scores[1:])]
    ww = np.ones(len(labels)) if w is None else w
    plan = _plan(metric, labels, arrays)
    values = plan.kernel(ww if plan.order is None else ww[plan.order])
    defined = [defn.fn(labels, s, w).defined for s in arrays]
    return [v if ok else math.nan for v, ok in zip(values, defined, strict=True)]


def _run_blocks(plan: _Plan, n: int, k: int, resamples: int, seed: int, workers: int) -> FloatArray:
    """``resamples × k`` replicates: Poisson(1) weights per block of resamples, seeded."""
    n_blocks = -(-resamples // BLOCK)
    seeds = np.random.SeedSequence(seed).spawn(n_blocks)

    def block(i: int) -> list[list[float]]:
        rng = np.random.default_rng(seeds[i])
        size = min(BLOCK, resamples - i * BLOCK)
        return [
            plan.kernel(POISSON_TABLE[rng.integers(0, 65536, n, dtype=np.uint16)])
            for _ in range(size)
        ]

    if workers <= 1 or n_blocks == 1:
        parts = [block(i) for i in range(n_blocks)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(block, range(n_blocks)))
    return np.array([r for part in parts for r in part], dtype=np.float64).reshape(-1, k)


def _check_settings(resamples: int, alpha: float, workers: int) -> None:
    if resamples < 1 or not 0 < alpha < 1 or workers < 1:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "resamples and workers must be >= 1 and alpha in (0, 1)",
            details={"resamples": resamples, "alpha": alpha, "workers": workers},
        )


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
    _check_settings(resamples, alpha, workers)
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
    plan = _plan(metric, labels, [a, b])
    reps = _run_blocks(plan, len(labels), 2, resamples, seed, workers)
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


@dataclass(frozen=True)
class MetricCI:
    """One model's metric on the full data and its percentile bootstrap CI."""

    metric: str
    value: MetricValue
    ci: tuple[float, float] | None
    resamples: int
    valid_resamples: int
    alpha: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (no NaN anywhere: missing numbers are ``null``)."""
        return {
            "metric": self.metric,
            "value": self.value.to_dict(),
            "ci": None if self.ci is None else list(self.ci),
            "resamples": self.resamples,
            "valid_resamples": self.valid_resamples,
            "alpha": self.alpha,
            "seed": self.seed,
        }


def bootstrap_ci(
    y: Any,
    score: Any,
    metric: str = "roc_auc",
    *,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    workers: int = 2,
) -> MetricCI:
    """Poisson bootstrap CI of one model's ``metric`` (the same replicates as the baseline
    side of :func:`paired_bootstrap` with this seed, so ``ci`` equals its ``a_ci``)."""
    defn = metric_def(metric)
    labels, s, _ = check_inputs(y, score)
    _check_settings(resamples, alpha, workers)
    value = defn.fn(labels, s, None)
    if value.value is None:
        return MetricCI(metric, value, None, resamples, 0, alpha, seed)
    reps = _run_blocks(_plan(metric, labels, [s]), len(labels), 1, resamples, seed, workers)
    valid = np.isfinite(reps[:, 0])
    ci = _ci(reps[valid, 0], alpha, math.ceil(MIN_VALID_SHARE * resamples))
    return MetricCI(metric, value, ci, resamples, int(valid.sum()), alpha, seed)
