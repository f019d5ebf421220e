"""What every check module shares: the inputs of one validation run and how findings are made.

:class:`CheckContext` holds the spec, both profiles, the use case and the as-of time, and
answers the questions every rule asks — is this column critical, which columns can be
compared statistically (present on the needed sides with a type that fits the spec) — so the
check modules stay small functions from a context to findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airel.domain.data.featurespec import FeatureSpec
from airel.domain.data.findings import Finding, FindingCode, Measure
from airel.domain.data.profile import ColumnProfile, LogicalType, Profile

_NUMBERS = frozenset({LogicalType.INT, LogicalType.FLOAT})


def compatible(expected: LogicalType, actual: LogicalType) -> bool:
    """A value of type ``actual`` satisfies ``expected`` (an int column satisfies float).

    Int-for-float is accepted because CSV type inference reads a float column whose values
    happen to be whole numbers as int64; every other difference is a type change.
    """
    return expected == actual or (expected is LogicalType.FLOAT and actual is LogicalType.INT)


def same_kind(a: LogicalType, b: LogicalType) -> bool:
    """Both numbers, or otherwise the same logical type (what drift can compare)."""
    return a == b or (a in _NUMBERS and b in _NUMBERS)


@dataclass
class CheckContext:
    """The inputs of one validation run, plus what the schema checks learnt."""

    spec: FeatureSpec
    reference: Profile | None
    current: Profile
    use_case: str | None
    as_of: datetime
    typed: set[str] = field(default_factory=set)  # declared, present and of a fitting type
    findings: list[Finding] = field(default_factory=list)

    def critical(self, column: str | None) -> bool:
        """Is ``column`` a declared critical feature."""
        spec = self.spec.columns.get(column) if column is not None else None
        return spec is not None and spec.critical

    def cur(self, column: str) -> ColumnProfile | None:
        """The current profile of a column."""
        return self.current.columns.get(column)

    def ref(self, column: str) -> ColumnProfile | None:
        """The reference profile of a column (None without a reference)."""
        return self.reference.columns.get(column) if self.reference is not None else None

    def comparable(self, column: str) -> tuple[ColumnProfile, ColumnProfile] | None:
        """(reference, current) when both exist and their types can be compared."""
        cur, ref = self.cur(column), self.ref(column)
        if column not in self.typed or cur is None or ref is None:
            return None
        return (ref, cur) if same_kind(ref.logical, cur.logical) else None

    def add(
        self,
        code: FindingCode,
        column: str | None,
        *,
        measured: Measure,
        threshold: Measure,
        message: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a finding; severity follows the code's policy and the column's criticality."""
        self.findings.append(
            Finding.of(
                code,
                column,
                measured=measured,
                threshold=threshold,
                critical=self.critical(column),
                message=message,
                details=details,
            )
        )


def pct(value: float) -> str:
    """A rate for messages: 0.0312 -> '3.12%'."""
    return f"{100 * value:.4g}%"
