"""Validation findings: the nine dimensions, reason codes as data, severities, skew input.

A :class:`Finding` is one violated rule: which dimension (§5.5), which column, a stable reason
code, the measured value, the threshold it broke, and a severity. Severity follows §4.4: a
finding on a *critical* feature is HARD (blocks the G1/G3 gate), on any other feature SOFT —
except leakage and access findings, which are HARD whatever the feature (a leaked label or a
disallowed sensitive attribute is never a warning). The rule for every code lives in one
table, :data:`FINDING_RULES`.

:class:`SkewResult` is the input of the training–serving skew check: what joining the two
datasets on the entity key found (an adapter runs the join), plus the per-feature drift
between the two sides.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from airel.domain.data.drift import DriftResult


class Dimension(StrEnum):
    """The nine validation dimensions of §5.5 / V1, in report order."""

    SCHEMA = "schema"  # names, types, enums, encodings, time zones
    DISTRIBUTION = "distribution"  # drift vs the reference distribution
    MISSINGNESS = "missingness"  # NULL/NaN rate vs its budget and vs the reference
    FRESHNESS = "freshness"  # newest timestamp vs the SLA
    RANGE = "range"  # values outside declared bounds; non-finite values
    CARDINALITY = "cardinality"  # unseen, vanished, disallowed or exploding categories
    LEAKAGE = "leakage"  # future information or a proxy of the label
    SKEW = "skew"  # training vs serving computation of the same entities
    ACCESS = "access"  # classification / allowed use vs the release's use case


class Severity(StrEnum):
    """How a finding gates a release (§4.4)."""

    HARD = "hard"  # blocks: a critical feature, leakage or access
    SOFT = "soft"  # warns: recorded on the card, does not block


class SeverityPolicy(StrEnum):
    """How a code's severity is chosen."""

    BY_CRITICAL = "by_critical"  # HARD on a critical feature, SOFT otherwise
    ALWAYS_HARD = "always_hard"  # leakage and access
    ALWAYS_SOFT = "always_soft"  # informational (undeclared column, unchecked access)


class FindingCode(StrEnum):
    """Stable finding reason codes (values equal names; never renamed or reused)."""

    SCHEMA_MISSING_COLUMN = "SCHEMA_MISSING_COLUMN"  # declared column absent from current
    SCHEMA_MISSING_IN_REFERENCE = "SCHEMA_MISSING_IN_REFERENCE"  # absent from the reference
    SCHEMA_EXTRA_COLUMN = "SCHEMA_EXTRA_COLUMN"  # current column the spec does not declare
    SCHEMA_TYPE_CHANGED = "SCHEMA_TYPE_CHANGED"  # type differs from the spec or the reference
    SCHEMA_NAIVE_TIMESTAMP = "SCHEMA_NAIVE_TIMESTAMP"  # timestamp without a time zone (UTC read)
    SCHEMA_INVALID_ENCODING = "SCHEMA_INVALID_ENCODING"  # values that are not valid UTF-8
    EMPTY_DATASET = "EMPTY_DATASET"  # the current dataset has no rows
    DRIFT_PSI = "DRIFT_PSI"  # PSI above its threshold
    DRIFT_JS = "DRIFT_JS"  # Jensen–Shannon distance above its threshold (categorical)
    DRIFT_KS_WASSERSTEIN = "DRIFT_KS_WASSERSTEIN"  # KS D and Wasserstein/sd both above theirs
    DRIFT_INCONCLUSIVE = "DRIFT_INCONCLUSIVE"  # too few values on a side to decide
    MISSING_RATE = "MISSING_RATE"  # missing rate above the column's budget
    MISSING_RATE_INCREASE = "MISSING_RATE_INCREASE"  # missing rate rose vs the reference
    FRESHNESS_SLA = "FRESHNESS_SLA"  # newest timestamp older than the SLA allows
    FRESHNESS_UNKNOWN = "FRESHNESS_UNKNOWN"  # the freshness column is absent, mistyped or empty
    RANGE_DECLARED = "RANGE_DECLARED"  # share of values outside the declared bounds
    RANGE_NON_FINITE = "RANGE_NON_FINITE"  # +inf/-inf values in a numeric column
    UNSEEN_CATEGORY = "UNSEEN_CATEGORY"  # categories the reference never had
    CATEGORY_NOT_ALLOWED = "CATEGORY_NOT_ALLOWED"  # categories outside allowed_values
    VANISHED_CATEGORY = "VANISHED_CATEGORY"  # well-supported reference categories now absent
    DISTINCT_EXPLOSION = "DISTINCT_EXPLOSION"  # distinct count grew past the allowed ratio
    LEAKAGE_POST_OUTCOME = "LEAKAGE_POST_OUTCOME"  # a column known only after the outcome
    LEAKAGE_FUTURE_TIMESTAMP = "LEAKAGE_FUTURE_TIMESTAMP"  # values later than prediction time
    LEAKAGE_LABEL_CORRELATION = "LEAKAGE_LABEL_CORRELATION"  # |r| with the label too high
    LEAKAGE_CATEGORY_PURITY = "LEAKAGE_CATEGORY_PURITY"  # a category nearly always positive
    LEAKAGE_LABEL_ASSOCIATION = "LEAKAGE_LABEL_ASSOCIATION"  # Cramér's V with the label
    SKEW_MISMATCH = "SKEW_MISMATCH"  # joined rows whose values differ between the sides
    SKEW_DRIFT = "SKEW_DRIFT"  # the two sides' distributions differ
    SKEW_UNMATCHED = "SKEW_UNMATCHED"  # entities present on one side only
    ACL_DISALLOWED_USE = "ACL_DISALLOWED_USE"  # the use case is not among allowed_uses
    ACL_UNAPPROVED_SENSITIVE = "ACL_UNAPPROVED_SENSITIVE"  # sensitive/restricted, no allowed use
    ACL_USE_CASE_MISSING = "ACL_USE_CASE_MISSING"  # use restrictions exist; no use case given


@dataclass(frozen=True)
class FindingRule:
    """How a code is classified."""

    dimension: Dimension
    severity: SeverityPolicy


_C, _H, _S = SeverityPolicy.BY_CRITICAL, SeverityPolicy.ALWAYS_HARD, SeverityPolicy.ALWAYS_SOFT
_D = Dimension

# The one table: code -> dimension and severity policy.
FINDING_RULES: Mapping[FindingCode, FindingRule] = {
    FindingCode.SCHEMA_MISSING_COLUMN: FindingRule(_D.SCHEMA, _C),
    FindingCode.SCHEMA_MISSING_IN_REFERENCE: FindingRule(_D.SCHEMA, _S),
    FindingCode.SCHEMA_EXTRA_COLUMN: FindingRule(_D.SCHEMA, _S),
    FindingCode.SCHEMA_TYPE_CHANGED: FindingRule(_D.SCHEMA, _C),
    FindingCode.SCHEMA_NAIVE_TIMESTAMP: FindingRule(_D.SCHEMA, _C),
    FindingCode.SCHEMA_INVALID_ENCODING: FindingRule(_D.SCHEMA, _C),
    FindingCode.EMPTY_DATASET: FindingRule(_D.MISSINGNESS, _H),
    FindingCode.DRIFT_PSI: FindingRule(_D.DISTRIBUTION, _C),
    FindingCode.DRIFT_JS: FindingRule(_D.DISTRIBUTION, _C),
    FindingCode.DRIFT_KS_WASSERSTEIN: FindingRule(_D.DISTRIBUTION, _C),
    FindingCode.DRIFT_INCONCLUSIVE: FindingRule(_D.DISTRIBUTION, _C),
    FindingCode.MISSING_RATE: FindingRule(_D.MISSINGNESS, _C),
    FindingCode.MISSING_RATE_INCREASE: FindingRule(_D.MISSINGNESS, _C),
    FindingCode.FRESHNESS_SLA: FindingRule(_D.FRESHNESS, _C),
    FindingCode.FRESHNESS_UNKNOWN: FindingRule(_D.FRESHNESS, _C),
    FindingCode.RANGE_DECLARED: FindingRule(_D.RANGE, _C),
    FindingCode.RANGE_NON_FINITE: FindingRule(_D.RANGE, _C),
    FindingCode.UNSEEN_CATEGORY: FindingRule(_D.CARDINALITY, _C),
    FindingCode.CATEGORY_NOT_ALLOWED: FindingRule(_D.CARDINALITY, _C),
    FindingCode.VANISHED_CATEGORY: FindingRule(_D.CARDINALITY, _C),
    FindingCode.DISTINCT_EXPLOSION: FindingRule(_D.CARDINALITY, _C),
    FindingCode.LEAKAGE_POST_OUTCOME: FindingRule(_D.LEAKAGE, _H),
    FindingCode.LEAKAGE_FUTURE_TIMESTAMP: FindingRule(_D.LEAKAGE, _H),
    FindingCode.LEAKAGE_LABEL_CORRELATION: FindingRule(_D.LEAKAGE, _H),
    FindingCode.LEAKAGE_CATEGORY_PURITY: FindingRule(_D.LEAKAGE, _H),
    FindingCode.LEAKAGE_LABEL_ASSOCIATION: FindingRule(_D.LEAKAGE, _H),
    FindingCode.SKEW_MISMATCH: FindingRule(_D.SKEW, _C),
    FindingCode.SKEW_DRIFT: FindingRule(_D.SKEW, _C),
    FindingCode.SKEW_UNMATCHED: FindingRule(_D.SKEW, _S),
    FindingCode.ACL_DISALLOWED_USE: FindingRule(_D.ACCESS, _H),
    FindingCode.ACL_UNAPPROVED_SENSITIVE: FindingRule(_D.ACCESS, _H),
    # Not a violation: access could not be evaluated. Soft, so a plain data check without a
    # use case still passes; the release gate supplies the use case and gets the hard rules.
    FindingCode.ACL_USE_CASE_MISSING: FindingRule(_D.ACCESS, _S),
}

DIMENSION_ORDER: Mapping[Dimension, int] = {d: i for i, d in enumerate(Dimension)}

Measure = float | int | str | None


def severity_for(code: FindingCode, critical: bool) -> Severity:
    """Apply the code's severity policy to a (non-)critical feature."""
    policy = FINDING_RULES[code].severity
    if policy is SeverityPolicy.ALWAYS_HARD:
        return Severity.HARD
    if policy is SeverityPolicy.ALWAYS_SOFT:
        return Severity.SOFT
    return Severity.HARD if critical else Severity.SOFT


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Finding:
    """One violated rule."""

    dimension: Dimension
    column: str | None  # None for dataset-level findings
    reason: FindingCode
    measured: Measure
    threshold: Measure
    severity: Severity
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        code: FindingCode,
        column: str | None,
        *,
        measured: Measure,
        threshold: Measure,
        critical: bool,
        message: str,
        details: Mapping[str, Any] | None = None,
    ) -> Finding:
        """Build a finding with the dimension and severity its code's rule gives."""
        return cls(
            FINDING_RULES[code].dimension,
            column,
            code,
            measured,
            threshold,
            severity_for(code, critical),
            message,
            dict(details or {}),
        )

    @property
    def hard(self) -> bool:
        """True when the finding blocks."""
        return self.severity is Severity.HARD

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (non-finite numbers become None)."""
        out: dict[str, Any] = {
            "dimension": self.dimension.value,
            "column": self.column,
            "reason": self.reason.value,
            "measured": _jsonable(self.measured),
            "threshold": _jsonable(self.threshold),
            "severity": self.severity.value,
            "message": self.message,
        }
        if self.details:
            out["details"] = _jsonable(self.details)
        return out


@dataclass(frozen=True)
class ColumnSkew:
    """One feature compared across the join: disagreeing rows and the two distributions."""

    compared: int  # joined rows compared for this feature
    mismatches: int  # of which the values differ (incl. NULL on one side only)
    drift: DriftResult | None = None  # training side vs serving side, if computed

    @property
    def mismatch_rate(self) -> float | None:
        """Share of compared rows that differ (None when nothing was compared)."""
        return self.mismatches / self.compared if self.compared else None


@dataclass(frozen=True)
class SkewResult:
    """What joining training and serving data on the entity key found."""

    joined_rows: int
    unmatched_left: int  # distinct training-side entities without a serving row
    unmatched_right: int  # distinct serving-side entities without a training row
    columns: Mapping[str, ColumnSkew] = field(default_factory=dict)
    duplicates_left: int = 0  # rows beyond the first per key (not joined)
    duplicates_right: int = 0

    @property
    def unmatched_rate(self) -> float:
        """Share of distinct entities present on one side only (1.0 when nothing joined)."""
        total = self.joined_rows + self.unmatched_left + self.unmatched_right
        return (self.unmatched_left + self.unmatched_right) / total if total else 1.0


def sort_findings(findings: list[Finding], column_order: Mapping[str, int]) -> list[Finding]:
    """Report order: dimension, then dataset-level first, then column order, then code."""
    return sorted(
        findings,
        key=lambda f: (
            DIMENSION_ORDER[f.dimension],
            -1 if f.column is None else column_order.get(f.column, len(column_order)),
            f.column or "",
            f.reason.value,
        ),
    )
