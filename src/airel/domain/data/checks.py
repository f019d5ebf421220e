"""The nine validation dimensions (V1, §5.5) as one pure function over profiles.

:func:`run_checks` compares a current dataset's profile with a feature spec and, when given, a
reference profile and a training–serving skew result, and returns *every* finding — it never
stops at the first, never raises on bad data (an empty dataset, a missing column, a changed
type, an all-null column or a 0-row reference each become findings), and never passes
silently (too little data to judge drift is an ``DRIFT_INCONCLUSIVE`` finding).

This module holds the schema, missingness and freshness rules and the run order;
:mod:`airel.domain.data.checks_values` the range, drift and cardinality rules;
:mod:`airel.domain.data.checks_policy` leakage, access and skew. Reason codes, dimensions and
severities are data in :mod:`airel.domain.data.findings`.

Schema: a declared column absent from the current data (except a ``known_after_outcome``
column, whose absence is the point); present in the current data but not
in the reference (drift cannot be judged); an undeclared column (soft); a type that does not
fit the declaration, or a reference whose type does not (a type change between the two); a
timestamp without a time zone (its values are read as UTC); undecodable (non-UTF-8) values.
A column whose type changed is not compared statistically.

Missingness: the missing (NULL or NaN) rate above the column's budget (its own
``max_missing_rate``, 0 when not nullable, else the default 5%); otherwise a rise over the
reference's rate by more than ``max_missing_increase`` (default 1 point).

Freshness: the newest value of the freshness column must be within the SLA of ``as_of``. A
date counts as fresh until the end of its day (UTC); a timestamp without zone is read as UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from airel.domain.data.checks_base import CheckContext, compatible, pct
from airel.domain.data.checks_policy import check_access, check_leakage, check_skew
from airel.domain.data.checks_values import (
    check_cardinality,
    check_drift,
    check_range,
    drift_results,
)
from airel.domain.data.drift import DriftResult
from airel.domain.data.featurespec import FeatureSpec
from airel.domain.data.findings import Finding, FindingCode, SkewResult, sort_findings
from airel.domain.data.profile import LogicalType, Profile
from airel.errors import Reason, ValidationError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNIT_SECONDS: Mapping[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> int:
    """Seconds in a spec duration such as ``15m``, ``24h`` or ``2d``."""
    return int(text[:-1]) * _UNIT_SECONDS[text[-1]]


def _schema(ctx: CheckContext) -> None:
    spec, current = ctx.spec, ctx.current
    if current.rows == 0:
        ctx.add(
            FindingCode.EMPTY_DATASET,
            None,
            measured=0,
            threshold=1,
            message="the current dataset has no rows; nothing but its schema can be checked",
        )
    for name, col_spec in spec.columns.items():
        cur = current.columns.get(name)
        declared = col_spec.type.logical
        if cur is None and col_spec.known_after_outcome:
            continue  # absent is exactly what a post-outcome column should be
        if cur is None:
            ctx.add(
                FindingCode.SCHEMA_MISSING_COLUMN,
                name,
                measured=None,
                threshold=None,
                message=f"declared column {name!r} is missing from the current data",
            )
            continue
        ref = ctx.ref(name)
        if not compatible(declared, cur.logical):
            ctx.add(
                FindingCode.SCHEMA_TYPE_CHANGED,
                name,
                measured=cur.logical.value,
                threshold=declared.value,
                message=f"declared {declared.value}, current data has {cur.logical.value} "
                f"({cur.physical})",
            )
        elif ref is not None and not compatible(declared, ref.logical):
            ctx.add(
                FindingCode.SCHEMA_TYPE_CHANGED,
                name,
                measured=cur.logical.value,
                threshold=ref.logical.value,
                message=f"type changed from {ref.logical.value} ({ref.physical}) in the "
                f"reference to {cur.logical.value} ({cur.physical})",
            )
            ctx.typed.add(name)  # current fits the spec: still checked, just not compared
        else:
            ctx.typed.add(name)
        if ctx.reference is not None and ref is None and not col_spec.known_after_outcome:
            ctx.add(
                FindingCode.SCHEMA_MISSING_IN_REFERENCE,
                name,
                measured=None,
                threshold=None,
                message=f"column {name!r} is not in the reference; it cannot be compared",
            )
        if cur.logical is LogicalType.TIMESTAMP and cur.tz is None:
            ctx.add(
                FindingCode.SCHEMA_NAIVE_TIMESTAMP,
                name,
                measured=None,
                threshold="a time zone",
                message="timestamp column has no time zone; its values are read as UTC",
            )
        if cur.invalid:
            ctx.add(
                FindingCode.SCHEMA_INVALID_ENCODING,
                name,
                measured=cur.invalid / max(cur.count, 1),
                threshold=0.0,
                message=f"{cur.invalid} value(s) are not valid UTF-8",
                details={"rows": cur.invalid},
            )
    for name in current.columns:
        if name not in spec.columns:
            ctx.add(
                FindingCode.SCHEMA_EXTRA_COLUMN,
                name,
                measured=current.columns[name].logical.value,
                threshold=None,
                message=f"column {name!r} is not declared in the feature spec",
            )


def _missingness(ctx: CheckContext, name: str) -> None:
    cur = ctx.cur(name)
    if cur is None or cur.count == 0:
        return
    rate, limit = cur.missing_rate, ctx.spec.max_missing_rate(name)
    details = {"nulls": cur.nulls, "nans": cur.nans, "rows": cur.count}
    if rate > limit:
        ctx.add(
            FindingCode.MISSING_RATE,
            name,
            measured=rate,
            threshold=limit,
            message=f"missing rate {pct(rate)} exceeds {pct(limit)}",
            details=details,
        )
        return
    ref = ctx.ref(name)
    if ref is None or ref.count == 0:
        return
    rise, allowed = rate - ref.missing_rate, ctx.spec.max_missing_increase(name)
    if rise > allowed:
        ctx.add(
            FindingCode.MISSING_RATE_INCREASE,
            name,
            measured=rise,
            threshold=allowed,
            message=f"missing rate rose from {pct(ref.missing_rate)} to {pct(rate)}",
            details={**details, "reference_rate": ref.missing_rate, "current_rate": rate},
        )


def _freshness(ctx: CheckContext) -> None:
    rule = ctx.spec.freshness
    if rule is None:
        return
    sla = duration_seconds(rule.sla)
    cur = ctx.cur(rule.column)
    if cur is None or rule.column not in ctx.typed:
        ctx.add(
            FindingCode.FRESHNESS_UNKNOWN,
            rule.column,
            measured=None,
            threshold=sla,
            message="the freshness column is missing or not a timestamp/date; freshness "
            "cannot be shown",
        )
        return
    newest_value = cur.numeric.max if cur.numeric is not None else None
    if newest_value is None:
        if ctx.current.rows:
            ctx.add(
                FindingCode.FRESHNESS_UNKNOWN,
                rule.column,
                measured=None,
                threshold=sla,
                message="the freshness column has no values; freshness cannot be shown",
            )
        return
    if cur.logical is LogicalType.DATE:
        newest = EPOCH + timedelta(days=newest_value + 1)  # fresh until the day ends
    else:
        newest = EPOCH + timedelta(microseconds=newest_value)
    lag = (ctx.as_of - newest).total_seconds()
    if lag > sla:
        ctx.add(
            FindingCode.FRESHNESS_SLA,
            rule.column,
            measured=lag,
            threshold=sla,
            message=f"newest value {newest.isoformat()} is {timedelta(seconds=round(lag))} "
            f"old at {ctx.as_of.isoformat()}; the SLA is {rule.sla}",
            details={"newest": newest.isoformat(), "as_of": ctx.as_of.isoformat()},
        )


def _context(
    spec: FeatureSpec,
    reference: Profile | None,
    current: Profile,
    use_case: str | None,
    as_of: datetime,
) -> CheckContext:
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "as_of must be a time-zone-aware datetime",
            fix="pass e.g. datetime.now(UTC)",
        )
    return CheckContext(spec, reference, current, use_case, as_of.astimezone(UTC))


def run_checks_detailed(
    spec: FeatureSpec,
    reference: Profile | None,
    current: Profile,
    *,
    use_case: str | None,
    as_of: datetime,
    skew: SkewResult | None,
) -> tuple[list[Finding], dict[str, DriftResult]]:
    """:func:`run_checks` plus the drift statistics of every compared column (for the card)."""
    ctx = _context(spec, reference, current, use_case, as_of)
    _schema(ctx)
    drift: dict[str, DriftResult] = {}
    if current.rows:
        for name in spec.columns:
            _missingness(ctx, name)
        for name in spec.columns:
            cur = ctx.cur(name)
            if cur is None or name not in ctx.typed:
                continue
            check_range(ctx, name, cur)
            if cur.logical.categorical and not spec.is_identifier(name):
                check_cardinality(ctx, name, cur)
        drift = drift_results(ctx)
        check_drift(ctx, drift)
        _freshness(ctx)
        check_leakage(ctx)
    check_access(ctx)
    if skew is not None:
        check_skew(ctx, skew)
    order: dict[str, int] = {}
    for name in [*spec.columns, *current.columns]:
        order.setdefault(name, len(order))
    return sort_findings(ctx.findings, order), drift


def run_checks(
    spec: FeatureSpec,
    reference: Profile | None,
    current: Profile,
    *,
    use_case: str | None,
    as_of: datetime,
    skew: SkewResult | None,
) -> list[Finding]:
    """Every finding of the nine dimensions, in report order (dimension, column, code)."""
    found, _ = run_checks_detailed(
        spec, reference, current, use_case=use_case, as_of=as_of, skew=skew
    )
    return found
