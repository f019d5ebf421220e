"""Helpers for the data check tests (tests/data/test_checks*.py): the fixed as-of time, a
timestamp column builder, a shared random column, and ``quick`` — profile small tables and
return the (code, column) pairs run_checks finds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from airel.adapters.arrow.engine import profile_table
from airel.domain.data.checks import run_checks
from airel.domain.data.featurespec import parse_feature_spec
from airel.domain.data.findings import FindingCode

AS_OF = datetime(2026, 6, 1, 12, tzinfo=UTC)


def ts(values_s: np.ndarray, tz: str | None = "UTC") -> pa.Array:
    return pa.array((values_s * 1e6).astype(np.int64), pa.timestamp("us", tz=tz))


def quick(
    reference: pa.Table | None,
    current: pa.Table,
    spec: dict[str, Any],
    *,
    use_case: str | None = None,
    as_of: datetime = AS_OF,
) -> set[tuple[FindingCode, str | None]]:
    ref = profile_table(reference) if reference is not None else None
    found = run_checks(
        parse_feature_spec(spec),
        ref,
        profile_table(current),
        use_case=use_case,
        as_of=as_of,
        skew=None,
    )
    return {(f.reason, f.column) for f in found}


RNG = np.random.default_rng(11)
X = RNG.normal(5, 1, 1000)
