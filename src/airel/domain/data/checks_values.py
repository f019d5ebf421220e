"""Value checks: declared ranges, non-finite values, distribution drift, cardinality.

**Range.** Only *declared* bounds are checked. "Outside the reference min/max" is not a rule:
a fresh sample of the same distribution almost always reaches past the reference's extremes
(the peer benchmark flags ~23 of 30 stable numeric columns that way). Whether anything lies
outside is exact (the profile's min and max are exact); *how many* values do comes from the
quantile sketch and is approximate within one bucket (2% relative width): buckets wholly
beyond a bound count as outside, the one bucket straddling it is reported as "possibly"
outside. The decision uses the definite count (at least 1 when min/max lie beyond a bound),
so with the default ``tolerance: 0`` it is exact.

**Drift** compares each declared, comparable column with :mod:`airel.domain.data.drift` (numbers
and categories; timestamps, dates and ids only when the spec enables drift for them).

**Cardinality** (string and bool columns): categories outside ``allowed_values``; categories
the reference never had (share of current rows above ``max_unseen_rate``); well-supported
reference categories that vanished (expected ≥ ``vanished_min_expected`` rows, observed 0);
and a distinct count that grew past ``max_distinct_ratio`` × the reference's (and by at least
:data:`MIN_DISTINCT_GROWTH`). After truncation a side's rare values are folded into "other",
so a category missing from a truncated side only counts when it would have been kept there.
"""

from __future__ import annotations

from airel.domain.data.checks_base import CheckContext, pct
from airel.domain.data.drift import DriftResult, DriftStatus, compare_columns
from airel.domain.data.featurespec import RangeSpec
from airel.domain.data.findings import FindingCode
from airel.domain.data.profile import (
    MIN_MAGNITUDE,
    CategorySummary,
    ColumnProfile,
    NumericSummary,
    bucket_bounds,
)

MIN_DISTINCT_GROWTH = 10  # a distinct-count explosion also needs this many new values
SHOWN = 10  # categories listed in a finding's message/details

_DRIFT_CODES = {
    "psi": (FindingCode.DRIFT_PSI, "psi"),
    "js": (FindingCode.DRIFT_JS, "js"),
    "ks_wasserstein": (FindingCode.DRIFT_KS_WASSERSTEIN, "ks"),
}


# ---------------------------------------------------------------------------------------------
# Range
# ---------------------------------------------------------------------------------------------


def _intervals(s: NumericSummary) -> list[tuple[float, float, int]]:
    """(low, high, count) of every non-empty bucket, clipped to the exact [min, max]."""
    assert s.min is not None
    assert s.max is not None
    raw: list[tuple[float, float, int]] = []
    for i, c in s.neg.items():
        lo, hi = bucket_bounds(i)
        raw.append((-hi, -lo, c))
    if s.zero:
        raw.append((-MIN_MAGNITUDE, MIN_MAGNITUDE, s.zero))
    for i, c in s.pos.items():
        lo, hi = bucket_bounds(i)
        raw.append((lo, hi, c))
    return [(max(a, s.min), min(b, s.max), c) for a, b, c in raw if c]


def outside_counts(s: NumericSummary, low: float | None, high: float | None) -> tuple[int, int]:
    """(definitely outside, additionally possibly outside) finite values vs inclusive bounds."""
    if s.n == 0 or s.min is None or s.max is None:
        return 0, 0
    below = low is not None and s.min < low
    above = high is not None and s.max > high
    if not below and not above:
        return 0, 0
    sure_lo = maybe_lo = sure_hi = maybe_hi = 0
    for a, b, c in _intervals(s):
        if low is not None and below:
            if b < low:
                sure_lo += c
            elif a < low:
                maybe_lo += c
        if high is not None and above:
            if a > high:
                sure_hi += c
            elif b > high:
                maybe_hi += c
    sure = (max(sure_lo, 1) if below else 0) + (max(sure_hi, 1) if above else 0)
    upper = sure_lo + maybe_lo + sure_hi + maybe_hi
    return sure, max(upper, sure) - sure


def check_range(ctx: CheckContext, name: str, cur: ColumnProfile) -> None:
    """Declared bounds and ±inf."""
    spec = ctx.spec.columns[name]
    infinite = cur.pos_inf + cur.neg_inf
    if infinite:
        ctx.add(
            FindingCode.RANGE_NON_FINITE,
            name,
            measured=infinite / cur.count,
            threshold=0.0,
            message=f"{infinite} infinite value(s) ({cur.pos_inf} +inf, {cur.neg_inf} -inf)",
            details={"pos_inf": cur.pos_inf, "neg_inf": cur.neg_inf},
        )
    bounds: RangeSpec | None = spec.range
    if bounds is None or cur.numeric is None or cur.numeric.n == 0:
        return
    s = cur.numeric
    sure, maybe = outside_counts(s, bounds.min, bounds.max)
    rate = sure / s.n
    if sure == 0 or rate <= bounds.tolerance:
        return
    ctx.add(
        FindingCode.RANGE_DECLARED,
        name,
        measured=rate,
        threshold=bounds.tolerance,
        message=(
            f"{sure} value(s) ({pct(rate)}) outside the declared range "
            f"[{bounds.min}, {bounds.max}] (up to {sure + maybe} within sketch resolution); "
            f"observed min {s.min}, max {s.max}"
        ),
        details={
            "outside": sure,
            "possibly_outside": maybe,
            "finite_values": s.n,
            "min": s.min,
            "max": s.max,
            "declared_min": bounds.min,
            "declared_max": bounds.max,
            "approximate": "counts from the quantile sketch; min/max exact",
        },
    )


# ---------------------------------------------------------------------------------------------
# Drift
# ---------------------------------------------------------------------------------------------


def drift_results(ctx: CheckContext) -> dict[str, DriftResult]:
    """Drift of every declared, comparable, drift-enabled column."""
    out: dict[str, DriftResult] = {}
    if ctx.reference is None or ctx.current.rows == 0:
        return out
    for name in ctx.spec.columns:
        pair = ctx.comparable(name)
        if pair is None or not ctx.spec.drift_enabled(name):
            continue
        result = compare_columns(pair[0], pair[1], ctx.spec.drift_thresholds(name))
        if result is not None:
            out[name] = result
    return out


def check_drift(ctx: CheckContext, results: dict[str, DriftResult]) -> None:
    """One finding per drifted or inconclusive column."""
    for name, r in results.items():
        details = r.to_dict()
        if r.status is DriftStatus.INCONCLUSIVE:
            ctx.add(
                FindingCode.DRIFT_INCONCLUSIVE,
                name,
                measured=min(r.n_ref, r.n_cur),
                threshold=r.thresholds.min_samples,
                message=(
                    f"too few values to judge drift: {r.n_ref} in the reference, "
                    f"{r.n_cur} in the current data (need {r.thresholds.min_samples} each)"
                ),
                details=details,
            )
        elif r.status is DriftStatus.DRIFT:
            code, metric = _DRIFT_CODES[r.fired[0]]
            value = r.metric(metric)
            limit = float(getattr(r.thresholds, metric))
            ctx.add(
                code,
                name,
                measured=value,
                threshold=limit,
                message=f"distribution drift: {' and '.join(r.fired)} over threshold "
                + ", ".join(
                    f"{m}={r.metric(m):.4g}"
                    for m in ("psi", "js", "ks", "wasserstein_sd")
                    if r.metric(m) is not None
                ),
                details=details,
            )


# ---------------------------------------------------------------------------------------------
# Cardinality
# ---------------------------------------------------------------------------------------------


def _total(c: CategorySummary) -> int:
    return sum(c.counts.values()) + c.other


def _would_be_kept(count_share: float, side: CategorySummary) -> bool:
    """Would a value with this share of ``side``'s rows have survived its truncation?

    A folded value had at most as many rows as the least frequent kept value, and at most
    as many as everything folded together (``other``).
    """
    if not side.truncated or not side.counts:
        return True
    return count_share * _total(side) > min(*side.counts.values(), side.other)


def check_cardinality(ctx: CheckContext, name: str, cur: ColumnProfile) -> None:
    """Allowed values, unseen, vanished and exploding categories."""
    cc = cur.categories
    if cc is None or _total(cc) == 0:
        return
    n_cur = _total(cc)
    spec = ctx.spec.columns[name]
    if spec.allowed_values is not None:
        allowed = set(spec.allowed_values)
        bad = {k: v for k, v in cc.counts.items() if v and k not in allowed}
        if bad:
            rows = sum(bad.values())
            ctx.add(
                FindingCode.CATEGORY_NOT_ALLOWED,
                name,
                measured=rows / n_cur,
                threshold=0.0,
                message=f"{len(bad)} value(s) outside allowed_values in {rows} row(s): "
                + ", ".join(repr(k) for k in sorted(bad)[:SHOWN]),
                details={"values": sorted(bad)[:SHOWN], "rows": rows},
            )
    pair = ctx.comparable(name)
    if pair is None or pair[0].categories is None:
        return
    rc = pair[0].categories
    n_ref = _total(rc)
    if n_ref == 0:
        return
    limits = ctx.spec.defaults
    unseen = {
        k: v
        for k, v in cc.counts.items()
        if v and k not in rc.counts and _would_be_kept(v / n_cur, rc)
    }
    rate = sum(unseen.values()) / n_cur
    if unseen and rate > limits.max_unseen_rate:
        ctx.add(
            FindingCode.UNSEEN_CATEGORY,
            name,
            measured=rate,
            threshold=limits.max_unseen_rate,
            message=f"{len(unseen)} categor(y/ies) the reference never had, in "
            f"{sum(unseen.values())} row(s) ({pct(rate)}): "
            + ", ".join(repr(k) for k in sorted(unseen, key=lambda k: -unseen[k])[:SHOWN]),
            details={"categories": sorted(unseen, key=lambda k: -unseen[k])[:SHOWN]},
        )
    vanished = [
        k
        for k, v in rc.counts.items()
        if v / n_ref * n_cur >= limits.vanished_min_expected
        and not cc.counts.get(k)
        and _would_be_kept(v / n_ref, cc)
    ]
    if vanished:
        ctx.add(
            FindingCode.VANISHED_CATEGORY,
            name,
            measured=len(vanished),
            threshold=0,
            message=f"{len(vanished)} reference categor(y/ies) absent now although "
            f"≥ {limits.vanished_min_expected:g} rows were expected: "
            + ", ".join(repr(k) for k in sorted(vanished)[:SHOWN]),
            details={"categories": sorted(vanished)[:SHOWN]},
        )
    ratio = cc.distinct / rc.distinct if rc.distinct else 0.0
    if ratio > limits.max_distinct_ratio and cc.distinct - rc.distinct >= MIN_DISTINCT_GROWTH:
        ctx.add(
            FindingCode.DISTINCT_EXPLOSION,
            name,
            measured=ratio,
            threshold=limits.max_distinct_ratio,
            message=f"distinct values grew from {rc.distinct} to {cc.distinct} ({ratio:.3g}×)",
            details={"reference_distinct": rc.distinct, "current_distinct": cc.distinct},
        )
