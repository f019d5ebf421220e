"""Baseline vs candidate on the same items: thresholds, slices, material regressions (E3).

**Thresholds** follow MLflow's three kinds, with a direction:

* ``absolute`` — the candidate's value itself: ``>= value`` (higher is better) or ``<= value``.
  Judged on the point value; the candidate's CI is reported alongside.
* ``min_absolute_change`` — the delta ``candidate − baseline`` must be ``>= value`` (higher is
  better) or ``<= −value`` (lower is better). A negative ``value`` states a tolerated
  degradation (non-inferiority margin).
* ``min_relative_change`` — the same on ``delta / |baseline|``.

Better than MLflow: with ``use_ci=True`` (the default) the change kinds are judged on the
*pessimistic end* of the paired bootstrap CI (the lower bound when higher is better, the upper
bound when lower is better), so a change must be demonstrated, not just observed.

**Outcomes** are ``pass``, ``fail`` or ``inconclusive``. A metric that is undefined on the
items (one class, empty slice), a CI that could not be formed, a zero baseline for a relative
change, or fewer than ``min_items`` items make the threshold INCONCLUSIVE — never a pass.
:attr:`Comparison.passed` is true only when no *hard* threshold failed or was inconclusive.

**Material regressions** are flagged per slice and metric when the whole delta CI lies on the
wrong side of ``−materiality`` (higher is better: ``high < −m``; lower: ``low > m``). Defaults
come from :data:`airel.domain.eval.metrics.METRICS`: 0.01 for ``roc_auc``/``pr_auc`` (one AUC
point — the size a fraud team notices in recall at a fixed decline rate), 0.002 for ``brier``
(base rates of a few percent put fraud Brier scores near 0.02–0.05) and 0.01 for ``ece``. A
point delta past the line whose CI crosses it is reported as a ``possible`` regression.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import numpy as np

from airel.domain.eval.bootstrap import DeltaCI, paired_bootstrap
from airel.domain.eval.metrics import Direction, check_inputs, metric_def
from airel.errors import Reason, ValidationError

OVERALL = "overall"  # reserved slice name for all items


class ThresholdKind(StrEnum):
    """MLflow's threshold kinds."""

    ABSOLUTE = "absolute"  # the candidate's own value must reach the threshold
    MIN_ABSOLUTE_CHANGE = "min_absolute_change"  # candidate − baseline must reach it
    MIN_RELATIVE_CHANGE = "min_relative_change"  # (candidate − baseline)/|baseline| must reach it


class Outcome(StrEnum):
    """A threshold's verdict; INCONCLUSIVE is never a pass."""

    PASSED = "pass"  # the threshold is met (on the pessimistic end of the CI when use_ci)
    FAILED = "fail"  # the threshold is missed
    INCONCLUSIVE = "inconclusive"  # undefined metric, no CI or too few items: not a pass


@dataclass(frozen=True)
class Threshold:
    """One requirement on one metric in one slice (``overall`` by default)."""

    metric: str
    kind: ThresholdKind
    value: float
    direction: Direction | None = None  # None: the metric's natural direction
    hard: bool = True
    slice: str = OVERALL

    def resolved_direction(self) -> Direction:
        """The stated direction, else the metric's own."""
        return self.direction or metric_def(self.metric).direction

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "metric": self.metric,
            "kind": self.kind.value,
            "value": self.value,
            "direction": self.resolved_direction().value,
            "hard": self.hard,
            "slice": self.slice,
        }


@dataclass(frozen=True)
class ThresholdOutcome:
    """A threshold, its verdict, the number it was judged on and why when inconclusive."""

    threshold: Threshold
    outcome: Outcome
    observed: float | None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        out = {
            "threshold": self.threshold.to_dict(),
            "outcome": self.outcome.value,
            "observed": self.observed,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class SliceResult:
    """One slice: its size, class counts and each metric's paired comparison."""

    name: str
    n: int
    positives: int
    metrics: Mapping[str, DeltaCI]
    regressions: Mapping[str, str] = field(default_factory=dict)  # metric → material|possible

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "name": self.name,
            "n": self.n,
            "positives": self.positives,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "regressions": dict(self.regressions),
        }


@dataclass(frozen=True)
class Comparison:
    """The whole comparison: overall and slice results, threshold verdicts, regressions."""

    slices: Mapping[str, SliceResult]  # OVERALL first, then the named slices
    thresholds: Sequence[ThresholdOutcome]
    use_ci: bool

    @property
    def material_regressions(self) -> list[tuple[str, str]]:
        """``(slice, metric)`` pairs whose delta CI is entirely past ``−materiality``."""
        return [
            (s.name, m) for s in self.slices.values() for m, k in s.regressions.items()
            if k == "material"
        ]  # fmt: skip

    @property
    def passed(self) -> bool:
        """No hard threshold failed or was inconclusive."""
        return all(t.outcome is Outcome.PASSED for t in self.thresholds if t.threshold.hard)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``json.dumps`` works on it; no NaN)."""
        return {
            "passed": self.passed,
            "use_ci": self.use_ci,
            "slices": {k: v.to_dict() for k, v in self.slices.items()},
            "thresholds": [t.to_dict() for t in self.thresholds],
            "material_regressions": [
                {"slice": s, "metric": m} for s, m in self.material_regressions
            ],
        }


def _regression(d: DeltaCI, direction: Direction, materiality: float) -> str | None:
    if d.delta.value is None:
        return None
    sign = 1.0 if direction is Direction.HIGHER_IS_BETTER else -1.0
    point = sign * d.delta.value
    bounds = [b for b in (d.low, d.high) if b is not None]
    if len(bounds) == 2 and max(sign * b for b in bounds) < -materiality:
        return "material"
    return "possible" if point < -materiality else None


class _Counted(Protocol):
    """A slice's result: how many items it holds (and metrics the caller reads)."""

    @property
    def n(self) -> int:
        """Items in the slice."""
        ...


_R = TypeVar("_R", bound=_Counted)


def judge_threshold(
    t: Threshold, res: _R | None, min_items: int, observe: Callable[[_R], float | str]
) -> ThresholdOutcome:
    """The verdict of one threshold, shared by comparisons and single runs.

    An unknown slice or one with fewer than ``min_items`` items is inconclusive; otherwise
    ``observe`` returns the number to judge (the pessimistic end of a CI where one is used) or
    the reason there is none, which is inconclusive too — never a pass. A change threshold on a
    lower-is-better metric passes when the change is at most ``-value``.
    """
    if res is None:
        return ThresholdOutcome(t, Outcome.INCONCLUSIVE, None, "unknown slice")
    if res.n < min_items:
        return ThresholdOutcome(t, Outcome.INCONCLUSIVE, None, f"fewer than {min_items} items")
    observed = observe(res)
    if isinstance(observed, str):
        return ThresholdOutcome(t, Outcome.INCONCLUSIVE, None, observed)
    higher = t.resolved_direction() is Direction.HIGHER_IS_BETTER
    bound = t.value if higher or t.kind is ThresholdKind.ABSOLUTE else -t.value
    ok = observed >= bound if higher else observed <= bound
    return ThresholdOutcome(t, Outcome.PASSED if ok else Outcome.FAILED, observed)


def _judge(t: Threshold, res: SliceResult | None, use_ci: bool, min_items: int) -> ThresholdOutcome:
    def observe(r: SliceResult) -> float | str:
        d = r.metrics.get(t.metric)
        if d is None:
            return "metric not computed"
        ci: tuple[float | None, float | None]
        if t.kind is ThresholdKind.ABSOLUTE:
            value, ci = d.b, (None, None)
        elif t.kind is ThresholdKind.MIN_ABSOLUTE_CHANGE:
            value, ci = d.delta, (d.low, d.high)
        else:
            value, ci = d.rel_delta, (d.rel_low, d.rel_high)
        if value.value is None:
            return value.reason or "undefined"
        if not use_ci or t.kind is ThresholdKind.ABSOLUTE:
            return value.value
        higher = t.resolved_direction() is Direction.HIGHER_IS_BETTER
        pessimistic = ci[0] if higher else ci[1]  # the pessimistic end of the CI
        return "no confidence interval" if pessimistic is None else pessimistic

    return judge_threshold(t, res, min_items, observe)


def _check_slices(slices: Mapping[str, Any], n: int) -> dict[str, np.ndarray[Any, Any]]:
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name, mask in slices.items():
        m = np.asarray(mask)
        if name == OVERALL or m.dtype != np.bool_:
            raise ValidationError(
                Reason.EVAL_SLICE_INVALID,
                f"slice {name!r} must be a boolean mask under a name other than {OVERALL!r}",
                details={"slice": name, "dtype": str(m.dtype)},
            )
        if m.ndim != 1 or len(m) != n:
            raise ValidationError(
                Reason.EVAL_LENGTH_MISMATCH,
                f"slice {name!r} mask is not as long as the labels",
                details={"slice": name, "labels": n, "mask": int(m.size)},
            )
        out[name] = m
    return out


def compare(
    y: Any,
    baseline: Any,
    candidate: Any,
    *,
    metrics: Sequence[str] = ("roc_auc", "pr_auc", "brier", "ece"),
    thresholds: Sequence[Threshold] = (),
    slices: Mapping[str, Any] | None = None,
    use_ci: bool = True,
    materiality: Mapping[str, float] | None = None,
    min_items: int = 30,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    workers: int = 2,
) -> Comparison:
    """Compare candidate with baseline overall and per slice; judge thresholds (see module)."""
    labels, base, _ = check_inputs(y, baseline)
    _, cand, _ = check_inputs(labels, candidate)
    defs = {m: metric_def(m) for m in metrics}
    for t in thresholds:
        metric_def(t.metric)
        if not math.isfinite(t.value):
            raise ValidationError(
                Reason.INVALID_VALUE, "threshold value must be finite", details=t.to_dict()
            )
    masks = {OVERALL: np.ones(len(labels), dtype=bool)} | _check_slices(slices or {}, len(labels))
    results: dict[str, SliceResult] = {}
    for name, mask in masks.items():
        ys, bs, cs = labels[mask], base[mask], cand[mask]
        per: dict[str, DeltaCI] = {}
        regs: dict[str, str] = {}
        for m, defn in defs.items():
            d = paired_bootstrap(
                ys, bs, cs, m, resamples=resamples, seed=seed, alpha=alpha, workers=workers
            )
            per[m] = d
            limit = (materiality or {}).get(m, defn.materiality)
            kind = _regression(d, defn.direction, limit)
            if kind:
                regs[m] = kind
        results[name] = SliceResult(name, int(mask.sum()), int(ys.sum()), per, regs)
    outcomes = [_judge(t, results.get(t.slice), use_ci, min_items) for t in thresholds]
    return Comparison(slices=results, thresholds=outcomes, use_ci=use_ci)


check_slices = _check_slices  # public alias: slice masks validated the same way for single runs
