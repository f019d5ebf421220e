"""Baseline vs candidate on an LLM suite (E3): paired bootstrap of pass rates, per slice.

**Checks.** Every deterministic rule and every executed evaluator (judge, plugin) is a *check*
with one value per item and side: 1 pass, 0 fail, NaN not applicable. An item whose output is an
error or a timeout, or whose evaluator failed, is 0 — never a pass. :data:`ALL_CHECKS` is the
item-level outcome: 0 when any applicable check failed, else 1 (the primary outcome).

**Pairing.** A check is compared on the items where it applies on *either* side; on that set a
side's "not applicable" counts as a pass (e.g. one model cited nothing, so it cited nothing
wrong). Both sides' rates are taken on the same items, so the delta is exactly
``candidate − baseline``.

**Bootstrap.** Each resample gives every item a Poisson(1) weight (both sides share the weights:
*paired*); rates for every check come from one matrix product per block of resamples, so the cost
is ``O(resamples · items · checks)`` in numpy, never a Python loop over items. A resample in which
a check has no weight is dropped for that check; below 90% valid resamples its CI is undefined
(None). CIs are percentile intervals; point values are on the full data. The generator is
seeded, so a comparison is reproducible.

**Slices.** ``overall``, each slice of the suite's ``slices:`` (conditions over case fields;
``column: tags`` tests membership) and one slice per case tag (``tag:<name>``). A check's delta
whose CI lies entirely below ``−materiality`` is a *material* regression; a point delta below
it with a CI that crosses is *possible*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from airel.domain.eval.llm.cases import EvalCase
from airel.domain.eval.suite import SliceSpec
from airel.errors import Reason, ValidationError

FloatMatrix = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

OVERALL = "overall"
ALL_CHECKS = "all_checks"  # the item passes every applicable check (primary outcome)
TAG_PREFIX = "tag:"
BLOCK = 64  # resamples per matrix product
MIN_VALID_SHARE = 0.9
SLICE_COLUMNS = frozenset(EvalCase.__dataclass_fields__) - {"id", "input", "expected"}


@dataclass(frozen=True)
class RateCI:
    """A pass rate (or delta) and its percentile CI; None when undefined."""

    value: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict[str, float | None]:
        """JSON shape."""
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class CheckDelta:
    """One check in one slice: items it applied to, each side's rate and the paired delta."""

    n: int
    baseline: RateCI
    candidate: RateCI
    delta: RateCI
    valid_resamples: int
    regression: str | None = None  # "material", "possible" or None

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "n": self.n,
            "baseline": self.baseline.to_dict(),
            "candidate": self.candidate.to_dict(),
            "delta": self.delta.to_dict(),
            "valid_resamples": self.valid_resamples,
            "regression": self.regression,
        }


def with_all_checks(values: FloatMatrix) -> FloatMatrix:
    """``values`` (items × checks) with the :data:`ALL_CHECKS` column prepended."""
    applicable = ~np.isnan(values)
    worst = np.where(applicable, values, 1.0).min(axis=1, initial=1.0)
    column = np.where(applicable.any(axis=1), worst, np.nan)
    return np.column_stack([column, values])


def _rate(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _percentiles(
    reps: FloatMatrix, alpha: float, need: int
) -> tuple[list[float | None], list[float | None], list[int]]:
    lows: list[float | None] = []
    highs: list[float | None] = []
    valid: list[int] = []
    for j in range(reps.shape[1]):
        col = reps[:, j]
        col = col[~np.isnan(col)]
        valid.append(int(col.size))
        if col.size < need or col.size == 0:
            lows.append(None)
            highs.append(None)
            continue
        lo, hi = np.quantile(col, [alpha / 2, 1 - alpha / 2])
        lows.append(float(lo))
        highs.append(float(hi))
    return lows, highs, valid


def paired_pass_rates(
    baseline: FloatMatrix,
    candidate: FloatMatrix,
    *,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> list[CheckDelta]:
    """Per check (column): both sides' pass rates and the paired delta, with bootstrap CIs."""
    if baseline.shape != candidate.shape or baseline.ndim != 2:
        raise ValidationError(
            Reason.EVAL_LENGTH_MISMATCH,
            "baseline and candidate check matrices differ in shape",
            details={"baseline": list(baseline.shape), "candidate": list(candidate.shape)},
        )
    n, k = baseline.shape
    mask = ~np.isnan(baseline) | ~np.isnan(candidate)
    a = np.where(mask, np.nan_to_num(baseline, nan=1.0), 0.0)
    b = np.where(mask, np.nan_to_num(candidate, nan=1.0), 0.0)
    m = mask.astype(np.float64)
    counts = m.sum(axis=0)
    point_a, point_b = a.sum(axis=0), b.sum(axis=0)
    stacked = np.concatenate([a, b, m], axis=1)
    rng = np.random.default_rng(seed)
    ra = np.empty((resamples, k))
    rb = np.empty((resamples, k))
    done = 0
    while done < resamples and n:
        size = min(BLOCK, resamples - done)
        weights = rng.poisson(1.0, size=(size, n)).astype(np.float64)
        sums = weights @ stacked
        den = sums[:, 2 * k :]
        with np.errstate(invalid="ignore", divide="ignore"):
            ra[done : done + size] = np.where(den > 0, sums[:, :k] / den, np.nan)
            rb[done : done + size] = np.where(den > 0, sums[:, k : 2 * k] / den, np.nan)
        done += size
    if not n:
        ra.fill(np.nan)
        rb.fill(np.nan)
    need = math.ceil(MIN_VALID_SHARE * resamples)
    a_lo, a_hi, valid = _percentiles(ra, alpha, need)
    b_lo, b_hi, _ = _percentiles(rb, alpha, need)
    d_lo, d_hi, _ = _percentiles(rb - ra, alpha, need)
    out = []
    for j in range(k):
        va = _rate(float(point_a[j]), float(counts[j]))
        vb = _rate(float(point_b[j]), float(counts[j]))
        delta = None if va is None or vb is None else vb - va
        out.append(
            CheckDelta(
                n=int(counts[j]),
                baseline=RateCI(va, a_lo[j], a_hi[j]),
                candidate=RateCI(vb, b_lo[j], b_hi[j]),
                delta=RateCI(delta, d_lo[j], d_hi[j]),
                valid_resamples=valid[j],
            )
        )
    return out


def regression_kind(delta: RateCI, materiality: float) -> str | None:
    """``material`` when the whole delta CI is below −materiality; ``possible`` when only the
    point is; else None."""
    if delta.value is None:
        return None
    if delta.high is not None and delta.high < -materiality:
        return "material"
    return "possible" if delta.value < -materiality else None


def check_slices(specs: Mapping[str, SliceSpec]) -> None:
    """Refuse suite slices an LLM case cannot be sliced by (before any call is made)."""
    for name, spec in specs.items():
        if name == OVERALL or name.startswith(TAG_PREFIX):
            raise ValidationError(
                Reason.EVAL_SLICE_INVALID,
                f"slice name {name!r} is reserved",
                fix=f"rename the slice (not {OVERALL!r}, not starting with {TAG_PREFIX!r})",
                details={"slice": name},
            )
        if spec.column not in SLICE_COLUMNS:
            raise ValidationError(
                Reason.EVAL_SLICE_INVALID,
                f"slice {name!r} names {spec.column!r}, which is not a field of an LLM eval case",
                fix=f"slice by one of {', '.join(sorted(SLICE_COLUMNS))} (tags for labels)",
                details={"slice": name, "column": spec.column},
            )


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, bool) or isinstance(wanted, bool):
        return isinstance(value, bool) and isinstance(wanted, bool) and value == wanted
    return bool(value == wanted)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def in_slice(row: Mapping[str, Any], spec: SliceSpec) -> bool:
    """Whether one case row falls in a slice (``tags``: membership; missing field: no)."""
    value = row.get(spec.column)
    values = list(value) if spec.column == "tags" and isinstance(value, list) else [value]
    if spec.equals is not None:
        return any(_same(v, spec.equals) for v in values)
    if spec.in_ is not None:
        return any(_same(v, w) for v in values for w in spec.in_)
    numbers = [x for x in (_number(v) for v in values) if x is not None]
    return any(
        (spec.gte is None or x >= spec.gte) and (spec.lt is None or x < spec.lt) for x in numbers
    )


def slice_masks(
    rows: Sequence[Mapping[str, Any]], specs: Mapping[str, SliceSpec]
) -> dict[str, BoolArray]:
    """``overall``, the suite's slices, then one ``tag:<name>`` slice per tag, sorted."""
    n = len(rows)
    masks: dict[str, BoolArray] = {OVERALL: np.ones(n, dtype=bool)}
    for name, spec in specs.items():
        masks[name] = np.fromiter((in_slice(r, spec) for r in rows), dtype=bool, count=n)
    tags = sorted({t for r in rows for t in (r.get("tags") or []) if isinstance(t, str)})
    for tag in tags:
        masks[TAG_PREFIX + tag] = np.fromiter(
            (tag in (r.get("tags") or []) for r in rows), dtype=bool, count=n
        )
    return masks


def compare_checks(
    names: Sequence[str],
    baseline: FloatMatrix,
    candidate: FloatMatrix,
    slices: Mapping[str, BoolArray],
    *,
    materiality: float,
    resamples: int,
    seed: int,
    alpha: float,
) -> dict[str, Any]:
    """Every check in every slice (JSON shape) plus the material regressions found.

    ``names`` label the columns of the matrices (without :data:`ALL_CHECKS`, which is added).
    A check that applies to no item of a slice is left out of that slice.
    """
    labels = [ALL_CHECKS, *names]
    base, cand = with_all_checks(baseline), with_all_checks(candidate)
    out: dict[str, Any] = {}
    regressions: list[dict[str, str]] = []
    for name, mask in slices.items():
        results = paired_pass_rates(
            base[mask], cand[mask], resamples=resamples, seed=seed, alpha=alpha
        )
        checks: dict[str, Any] = {}
        for label, res in zip(labels, results, strict=True):
            if res.n == 0:
                continue
            kind = regression_kind(res.delta, materiality)
            checks[label] = CheckDelta(
                res.n, res.baseline, res.candidate, res.delta, res.valid_resamples, kind
            ).to_dict()
            if kind == "material":
                regressions.append({"slice": name, "check": label})
        out[name] = {"n": int(mask.sum()), "checks": checks}
    return {"slices": out, "material_regressions": regressions}


def pass_rates(names: Sequence[str], values: FloatMatrix) -> dict[str, dict[str, Any]]:
    """One side's pass rate per check (with :data:`ALL_CHECKS`), no CI: for a single run."""
    full = with_all_checks(values)
    out: dict[str, dict[str, Any]] = {}
    for label, column in zip([ALL_CHECKS, *names], full.T, strict=True):
        applicable = ~np.isnan(column)
        n = int(applicable.sum())
        passed = int(np.nansum(column))
        out[label] = {"n": n, "passed": passed, "pass_rate": passed / n if n else None}
    return out
