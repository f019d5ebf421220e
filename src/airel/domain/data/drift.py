"""Distribution drift between two column profiles, decided by effect sizes (V1, §5.5).

Everything here is computed from two :class:`~airel.domain.data.profile.ColumnProfile` summaries —
never from rows — so a stored reference profile can be compared with any number of candidates.

**Numeric columns** (INT, FLOAT; TIMESTAMP/DATE when a spec asks) are compared on the *common
bucket grid*: the union of both sides' log-bucket sketch buckets, in value order.

* **PSI** and **Jensen–Shannon distance** use 10 bins cut at the reference deciles. A cut can
  only fall on a bucket edge, so a bucket holding more than a tenth of the reference collapses
  neighbouring cuts (discrete data gets fewer bins, as with quantile binning elsewhere). The
  first and last bins are open-ended: current values outside the reference range fall into
  them. PSI clips each bin's proportion to ``PSI_EPSILON`` (1e-4) on both sides; JS uses the
  unclipped proportions with :func:`scipy.spatial.distance.jensenshannon` semantics (natural
  log, so the distance lies in [0, sqrt(ln 2)]).
* **KS D** is ``max |F_ref - F_cur|`` evaluated at every bucket's upper edge. The empirical CDF
  at an edge is exact, so ``D_grid <= D_exact <= D_grid + max bucket mass`` — the bound is
  reported as ``ks_error`` (:data:`KS_TOLERANCE` states what the tests hold it to).
* **Wasserstein-1** treats every value as its bucket's representative ``2 γ^i / (γ + 1)``
  (relative error at most ``ALPHA``), so ``|W_grid - W_exact| <= ALPHA (E|X_ref| + E|X_cur|)``
  (reported as ``wasserstein_error``), then divides by the reference's population standard
  deviation (``inf`` for a constant reference that moved; 0 when nothing moved).

**Categorical columns** (STRING, BOOL) are compared on the union of both sides' categories
plus one bucket for values folded into "other" by truncation: PSI (same clipping), JS distance,
L∞ (largest absolute change of a category's share), and the chi-square statistic of the 2×k
contingency table (no Yates correction) with its p-value from ``scipy.special.chdtrc``
(``chi2.sf``). The p-value is reported, never used: at a million rows it is ~0 for
differences nobody cares about.

**Decisions** (:data:`DRIFT_DEFAULTS`, :data:`NUMERIC_RULES`, :data:`CATEGORICAL_RULES`): a
numeric column drifted if PSI > 0.2, or if KS D > 0.1 *and* Wasserstein/sd > 0.1; a
categorical column drifted if PSI > 0.2 or JS > 0.1. Below ``min_samples`` (100) finite or
non-null values on either side the result is INCONCLUSIVE, which checks report as a finding.

Why these numbers. PSI 0.2 is the industry's "significant shift" line (0.1–0.2 "moderate"),
and PSI grows with the square of a location shift: about 0.23 for a 0.5 sd shift of a normal,
about 0.02 for 0.15 sd. Null noise on 10 bins is ~``9 (1/n_ref + 1/n_cur)``: 0.002 at 10k
rows per side, so the line is 100× above noise from modest samples. KS D alone is not a
decision: at 1M rows a 0.02 sd difference is "significant" and D = 0.1 is reached by a shape
change that moves no mass far; requiring Wasserstein/sd > 0.1 as well (a mean-equivalent shift
of a tenth of a standard deviation) means both the CDF and the mass moved. For categories JS
0.1 is reached when ~3% of the mass moves into categories the reference lacked (PSI ≈ 0.17
there, under its line) or by a larger reshuffle among existing ones; JS is bounded (at most
sqrt(ln 2) ≈ 0.83) where PSI is dominated by the clipped near-empty bins, so the pair covers
both kinds of move. JS has a sampling floor that grows with the number of categories,
``sqrt((k - 1) (1/n_ref + 1/n_cur) / 8)`` — 0.025 for 500 categories at 200k rows per side,
0.050 at 50k, 0.079 at 20k — so a 500-category column needs ~50k rows per side before the JS
line sits 2× above noise. On the peer benchmark data (``../shared/bench-peers/gen_data.py``,
200k rows per side) these rules flag exactly the 5 drifted columns. The drifted numeric ones
score PSI 0.24–0.43 *and* KS ≥ 0.19 with Wasserstein/sd ≥ 0.49 (so either rule alone finds
them; the 0.5 sd shift of ``num_03`` sits closest to the PSI line, which is why the KS +
Wasserstein rule backs it up); the drifted categorical ones PSI ≥ 0.73 and JS ≥ 0.29. The 35
undrifted columns stay at PSI ≤ 0.005, JS ≤ 0.025, KS ≤ 0.006 and Wasserstein/sd ≤ 0.009 —
an order of magnitude below every line (at 20k rows: PSI ≤ 0.06, JS ≤ 0.084, the 500-category
column nearest). ``tests/data/test_drift.py`` re-checks this on a generated sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import chdtrc  # the χ² survival function, without scipy.stats' import cost

from airel.domain.data.profile import (
    ALPHA,
    GAMMA,
    CategorySummary,
    ColumnProfile,
    LogicalType,
    NumericSummary,
)

FloatArray = npt.NDArray[np.float64]
Counts = npt.ArrayLike  # aligned bin/category counts

PSI_EPSILON = 1e-4  # proportions are clipped to this before PSI's log ratio
PSI_BINS = 10  # numeric PSI/JS bins, cut at the reference deciles
KS_TOLERANCE = 0.02  # tests: |D_grid - D_exact| on smooth fixtures (and always <= ks_error)
WASSERSTEIN_TOLERANCE = 2 * ALPHA  # tests: relative error of W1 vs scipy (bound: ALPHA*E|X|)
OTHER_BUCKET = "\x00other"  # categorical bucket for values folded by truncation

# The documented default thresholds, one table (a spec overrides any of them per feature).
DRIFT_DEFAULTS: Mapping[str, float] = {
    "psi": 0.2,  # population stability index; > 0.2 = significant shift
    "js": 0.1,  # Jensen–Shannon distance (natural log); categorical decision
    "ks": 0.1,  # Kolmogorov–Smirnov D; numeric decision together with wasserstein_sd
    "wasserstein_sd": 0.1,  # Wasserstein-1 / reference sd; numeric decision together with ks
    "min_samples": 100,  # fewer finite/non-null values on either side -> inconclusive
}

# Decision rules as data: (rule name, metrics that must ALL exceed their thresholds), in order;
# the first rule that fires names the finding.
NUMERIC_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("psi", ("psi",)),
    ("ks_wasserstein", ("ks", "wasserstein_sd")),
)
CATEGORICAL_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("psi", ("psi",)),
    ("js", ("js",)),
)


class DriftStatus(StrEnum):
    """The outcome of one column comparison."""

    STABLE = "stable"  # no rule fired
    DRIFT = "drift"  # at least one rule fired
    INCONCLUSIVE = "inconclusive"  # too few values on a side to decide (never a pass)


@dataclass(frozen=True)
class DriftThresholds:
    """Thresholds for one column; defaults from :data:`DRIFT_DEFAULTS`."""

    psi: float = DRIFT_DEFAULTS["psi"]
    js: float = DRIFT_DEFAULTS["js"]
    ks: float = DRIFT_DEFAULTS["ks"]
    wasserstein_sd: float = DRIFT_DEFAULTS["wasserstein_sd"]
    min_samples: int = int(DRIFT_DEFAULTS["min_samples"])

    def with_overrides(self, overrides: Mapping[str, float | int | None]) -> DriftThresholds:
        """A copy with every non-None override applied."""
        changes: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        if "min_samples" in changes:
            changes["min_samples"] = int(changes["min_samples"])
        return replace(self, **changes)


@dataclass(frozen=True)
class DriftResult:
    """Statistics and decision for one column (None where a statistic does not apply)."""

    column: str
    kind: str  # "numeric" | "categorical"
    status: DriftStatus
    n_ref: int
    n_cur: int
    thresholds: DriftThresholds
    fired: tuple[str, ...] = ()  # names of the rules that fired, in rule order
    psi: float | None = None
    js: float | None = None
    ks: float | None = None
    ks_error: float | None = None  # upper bound of D_exact - D_grid
    wasserstein: float | None = None  # raw W1 on the bucket grid, in the column's units
    wasserstein_error: float | None = None  # bound of |W_grid - W_exact|
    wasserstein_sd: float | None = None  # W1 / reference sd (inf: constant reference moved)
    linf: float | None = None
    chi2: float | None = None
    chi2_dof: int | None = None
    chi2_p: float | None = None  # reported only; never decides
    bins: int | None = None  # numeric PSI/JS bins actually used

    @property
    def drifted(self) -> bool:
        """True when a rule fired."""
        return self.status is DriftStatus.DRIFT

    def metric(self, name: str) -> float | None:
        """A statistic by name (as used in the rule tables)."""
        value = getattr(self, name)
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (non-finite numbers become None)."""
        out: dict[str, Any] = {
            "column": self.column,
            "kind": self.kind,
            "status": self.status.value,
            "n_ref": self.n_ref,
            "n_cur": self.n_cur,
            "fired": list(self.fired),
            "thresholds": {
                "psi": self.thresholds.psi,
                "js": self.thresholds.js,
                "ks": self.thresholds.ks,
                "wasserstein_sd": self.thresholds.wasserstein_sd,
                "min_samples": self.thresholds.min_samples,
            },
        }
        for name in (
            "psi",
            "js",
            "ks",
            "ks_error",
            "wasserstein",
            "wasserstein_error",
            "wasserstein_sd",
            "linf",
            "chi2",
            "chi2_p",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = float(value) if math.isfinite(value) else None
        if self.chi2_dof is not None:
            out["chi2_dof"] = self.chi2_dof
        if self.bins is not None:
            out["bins"] = self.bins
        return out


# ---------------------------------------------------------------------------------------------
# Shared statistics on aligned count vectors
# ---------------------------------------------------------------------------------------------


def psi(ref_counts: Counts, cur_counts: Counts) -> float:
    """Population stability index of two count vectors over the same bins (eps-clipped)."""
    a = np.asarray(ref_counts, dtype=np.float64)
    b = np.asarray(cur_counts, dtype=np.float64)
    pa = np.clip(a / a.sum(), PSI_EPSILON, None)
    pb = np.clip(b / b.sum(), PSI_EPSILON, None)
    return float(np.sum((pb - pa) * np.log(pb / pa)))


def js_distance(ref_counts: Counts, cur_counts: Counts) -> float:
    """Jensen–Shannon distance, natural log (scipy.spatial.distance.jensenshannon semantics)."""
    p = np.asarray(ref_counts, dtype=np.float64)
    q = np.asarray(cur_counts, dtype=np.float64)
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return math.sqrt(max(0.0, float(kl_p + kl_q) / 2))


def chi_square(ref_counts: Counts, cur_counts: Counts) -> tuple[float, int]:
    """Chi-square statistic and degrees of freedom of the 2×k table (no continuity correction)."""
    a = np.asarray(ref_counts, dtype=np.float64)
    b = np.asarray(cur_counts, dtype=np.float64)
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    k = len(a)
    if k < 2:
        return 0.0, 0
    total = a.sum() + b.sum()
    col = a + b
    ea = col * a.sum() / total
    eb = col * b.sum() / total
    stat = float(np.sum((a - ea) ** 2 / ea) + np.sum((b - eb) ** 2 / eb))
    return stat, k - 1


def _decide(result: DriftResult, rules: tuple[tuple[str, tuple[str, ...]], ...]) -> DriftResult:
    fired: list[str] = []
    for rule, metrics in rules:
        values = [result.metric(m) for m in metrics]
        limits = [float(getattr(result.thresholds, m)) for m in metrics]
        if all(v is not None and v > t for v, t in zip(values, limits, strict=True)):
            fired.append(rule)
    status = DriftStatus.DRIFT if fired else DriftStatus.STABLE
    return replace(result, status=status, fired=tuple(fired))


# ---------------------------------------------------------------------------------------------
# Numeric
# ---------------------------------------------------------------------------------------------


def _signed_buckets(s: NumericSummary) -> dict[tuple[int, int], int]:
    """Bucket counts keyed by an order-preserving (sign, rank) key."""
    out: dict[tuple[int, int], int] = {(-1, -i): c for i, c in s.neg.items() if c}
    if s.zero:
        out[(0, 0)] = s.zero
    out.update({(1, i): c for i, c in s.pos.items() if c})
    return out


def _representative(key: tuple[int, int]) -> float:
    sign, rank = key
    if sign == 0:
        return 0.0
    index = rank if sign > 0 else -rank
    return float(sign) * 2 * GAMMA**index / (GAMMA + 1)


def _grid(ref: NumericSummary, cur: NumericSummary) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(representative values, ref counts, cur counts) on the union of buckets, ascending."""
    rb, cb = _signed_buckets(ref), _signed_buckets(cur)
    keys = sorted(rb.keys() | cb.keys())
    reps = np.array([_representative(k) for k in keys], dtype=np.float64)
    r = np.array([rb.get(k, 0) for k in keys], dtype=np.float64)
    c = np.array([cb.get(k, 0) for k in keys], dtype=np.float64)
    return reps, r, c


def decile_bins(ref_counts: FloatArray, bins: int = PSI_BINS) -> list[tuple[int, int]]:
    """Half-open grid index ranges of the reference-quantile bins (first/last open-ended)."""
    n = len(ref_counts)
    cum = np.cumsum(ref_counts)
    total = cum[-1]
    last_ref = int(np.nonzero(ref_counts)[0][-1])
    cuts: list[int] = []
    for k in range(1, bins):
        j = int(np.searchsorted(cum, k * total / bins, side="left"))
        if j < last_ref and (not cuts or j + 1 > cuts[-1]):
            cuts.append(j + 1)
    starts = [0, *cuts]
    ends = [*cuts, n]
    return list(zip(starts, ends, strict=True))


def _numeric_stats(ref: NumericSummary, cur: NumericSummary) -> dict[str, Any]:
    reps, r, c = _grid(ref, cur)
    bins = decile_bins(r)
    rb = np.array([r[a:b].sum() for a, b in bins], dtype=np.float64)
    cb = np.array([c[a:b].sum() for a, b in bins], dtype=np.float64)
    pr, pc = r / r.sum(), c / c.sum()
    fr, fc = np.cumsum(pr), np.cumsum(pc)
    diff = np.abs(fr - fc)
    w1 = float(np.sum(diff[:-1] * np.diff(reps))) if len(reps) > 1 else 0.0
    w_err = ALPHA * float(np.sum(pr * np.abs(reps)) + np.sum(pc * np.abs(reps)))
    sd = math.sqrt(ref.variance or 0.0)
    w_sd = w1 / sd if sd > 0 else (0.0 if w1 == 0 else math.inf)
    return {
        "psi": psi(rb, cb),
        "js": js_distance(rb, cb),
        "ks": float(diff.max()),
        "ks_error": float(np.maximum(pr, pc).max()),
        "wasserstein": w1,
        "wasserstein_error": w_err,
        "wasserstein_sd": w_sd,
        "bins": len(bins),
    }


def compare_numeric(
    ref: ColumnProfile, cur: ColumnProfile, thresholds: DriftThresholds | None = None
) -> DriftResult:
    """Drift statistics and decision for a numeric (or timestamp/date) column."""
    th = thresholds or DriftThresholds()
    rs = ref.numeric or NumericSummary()
    cs = cur.numeric or NumericSummary()
    base = DriftResult(cur.name, "numeric", DriftStatus.INCONCLUSIVE, rs.n, cs.n, th)
    if rs.n < max(th.min_samples, 1) or cs.n < max(th.min_samples, 1):
        return base
    return _decide(replace(base, **_numeric_stats(rs, cs)), NUMERIC_RULES)


# ---------------------------------------------------------------------------------------------
# Categorical
# ---------------------------------------------------------------------------------------------


def category_vectors(
    ref: CategorySummary, cur: CategorySummary
) -> tuple[list[str], FloatArray, FloatArray]:
    """Aligned counts over the union of categories (+ the "other" bucket when non-empty)."""
    keys = sorted(ref.counts.keys() | cur.counts.keys())
    r = [ref.counts.get(k, 0) for k in keys]
    c = [cur.counts.get(k, 0) for k in keys]
    if ref.other or cur.other:
        keys.append(OTHER_BUCKET)
        r.append(ref.other)
        c.append(cur.other)
    return keys, np.array(r, dtype=np.float64), np.array(c, dtype=np.float64)


def compare_categorical(
    ref: ColumnProfile, cur: ColumnProfile, thresholds: DriftThresholds | None = None
) -> DriftResult:
    """Drift statistics and decision for a categorical (string/bool) column."""
    th = thresholds or DriftThresholds()
    rc = ref.categories or CategorySummary()
    cc = cur.categories or CategorySummary()
    n_ref = sum(rc.counts.values()) + rc.other
    n_cur = sum(cc.counts.values()) + cc.other
    base = DriftResult(cur.name, "categorical", DriftStatus.INCONCLUSIVE, n_ref, n_cur, th)
    if n_ref < max(th.min_samples, 1) or n_cur < max(th.min_samples, 1):
        return base
    _, r, c = category_vectors(rc, cc)
    stat, dof = chi_square(r, c)
    p_value = float(chdtrc(dof, stat)) if dof > 0 else 1.0
    stats = replace(
        base,
        psi=psi(r, c),
        js=js_distance(r, c),
        linf=float(np.abs(r / r.sum() - c / c.sum()).max()),
        chi2=stat,
        chi2_dof=dof,
        chi2_p=p_value,
    )
    return _decide(stats, CATEGORICAL_RULES)


def compare_columns(
    ref: ColumnProfile, cur: ColumnProfile, thresholds: DriftThresholds | None = None
) -> DriftResult | None:
    """Dispatch on the current column's logical type; None for types drift does not cover."""
    if cur.logical.categorical:
        return compare_categorical(ref, cur, thresholds)
    if cur.logical.numeric or cur.logical in (LogicalType.TIMESTAMP, LogicalType.DATE):
        return compare_numeric(ref, cur, thresholds)
    return None


__all__ = [
    "CATEGORICAL_RULES",
    "DRIFT_DEFAULTS",
    "KS_TOLERANCE",
    "NUMERIC_RULES",
    "OTHER_BUCKET",
    "PSI_BINS",
    "PSI_EPSILON",
    "WASSERSTEIN_TOLERANCE",
    "DriftResult",
    "DriftStatus",
    "DriftThresholds",
    "category_vectors",
    "chi_square",
    "compare_categorical",
    "compare_columns",
    "compare_numeric",
    "decile_bins",
    "js_distance",
    "psi",
]
