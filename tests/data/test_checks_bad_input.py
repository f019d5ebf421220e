"""run_checks on bad input: a finding, never a crash or a silent pass — missing, extra and
retyped columns, all-null and NaN values, empty datasets, naive timestamps, dates and empty
freshness columns, a naive as-of, infinite values and undecodable strings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from airel.adapters.arrow.engine import profile_table
from airel.domain.data.checks import run_checks
from airel.domain.data.featurespec import parse_feature_spec
from airel.domain.data.findings import FindingCode, Severity
from airel.errors import Reason, ValidationError
from data_checks_helpers import AS_OF, X, quick, ts

# ---------------------------------------------------------------------------------------------
# Bad input: a finding, never a crash or a silent pass
# ---------------------------------------------------------------------------------------------


def test_column_missing_on_either_side() -> None:
    spec = {"columns": {"a": {"type": "float"}, "b": {"type": "float"}}}
    both = pa.table({"a": X, "b": X})
    only_a = pa.table({"a": X})
    assert quick(both, only_a, spec) == {(FindingCode.SCHEMA_MISSING_COLUMN, "b")}
    assert quick(only_a, both, spec) == {(FindingCode.SCHEMA_MISSING_IN_REFERENCE, "b")}


def test_undeclared_column_is_soft() -> None:
    spec = {"columns": {"a": {"type": "float"}}}
    found = run_checks(
        parse_feature_spec(spec),
        None,
        profile_table(pa.table({"a": X, "extra": X})),
        use_case=None,
        as_of=AS_OF,
        skew=None,
    )
    assert [(f.reason, f.column, f.severity) for f in found] == [
        (FindingCode.SCHEMA_EXTRA_COLUMN, "extra", Severity.SOFT)
    ]


def test_type_changed_vs_spec_and_vs_reference() -> None:
    spec = {"columns": {"a": {"type": "float", "critical": True}}}
    as_text = pa.table({"a": pa.array([str(v) for v in X])})
    found = run_checks(
        parse_feature_spec(spec),
        profile_table(pa.table({"a": X})),
        profile_table(as_text),
        use_case=None,
        as_of=AS_OF,
        skew=None,
    )
    assert [(f.reason, f.severity, f.measured, f.threshold) for f in found] == [
        (FindingCode.SCHEMA_TYPE_CHANGED, Severity.HARD, "string", "float")
    ]
    # current fits the spec, the reference did not: a change between the two, no comparison
    assert quick(as_text, pa.table({"a": X}), spec) == {(FindingCode.SCHEMA_TYPE_CHANGED, "a")}
    # an int column satisfies a float declaration (CSV inference)
    ints = pa.table({"a": np.round(X).astype(np.int64)})
    assert quick(pa.table({"a": np.round(X)}), ints, spec) == set()


def test_all_null_column() -> None:
    spec = {"columns": {"a": {"type": "float"}}}
    nulls = pa.table({"a": pa.array([None] * 1000, pa.float64())})
    assert quick(pa.table({"a": X}), nulls, spec) == {
        (FindingCode.MISSING_RATE, "a"),
        (FindingCode.DRIFT_INCONCLUSIVE, "a"),
    }


def test_nan_counts_as_missing() -> None:
    spec = {"columns": {"a": {"type": "float", "nullable": False}}}
    with_nan = X.copy()
    with_nan[:3] = np.nan
    assert quick(None, pa.table({"a": with_nan}), spec) == {(FindingCode.MISSING_RATE, "a")}


def test_zero_row_reference_is_inconclusive() -> None:
    spec = {"columns": {"a": {"type": "float"}, "c": {"type": "string"}}}
    cur = pa.table({"a": X, "c": pa.array(["u"] * 1000)})
    empty = cur.slice(0, 0)
    assert quick(empty, cur, spec) == {
        (FindingCode.DRIFT_INCONCLUSIVE, "a"),
        (FindingCode.DRIFT_INCONCLUSIVE, "c"),
    }


def test_empty_current_dataset() -> None:
    spec = {"columns": {"a": {"type": "float"}}}
    found = run_checks(
        parse_feature_spec(spec),
        profile_table(pa.table({"a": X})),
        profile_table(pa.table({"a": X}).slice(0, 0)),
        use_case=None,
        as_of=AS_OF,
        skew=None,
    )
    assert [(f.reason, f.severity) for f in found] == [(FindingCode.EMPTY_DATASET, Severity.HARD)]


def test_timestamps_without_zone_are_read_as_utc() -> None:
    spec = {"freshness": {"column": "t", "sla": "2h"}, "columns": {"t": {"type": "timestamp"}}}
    one_hour_ago = np.full(10, AS_OF.timestamp() - 3600)
    naive = pa.table({"t": ts(one_hour_ago, tz=None)})
    assert quick(None, naive, spec) == {(FindingCode.SCHEMA_NAIVE_TIMESTAMP, "t")}
    three_hours_ago = pa.table({"t": ts(one_hour_ago - 7200, tz=None)})
    assert quick(None, three_hours_ago, spec) == {
        (FindingCode.SCHEMA_NAIVE_TIMESTAMP, "t"),
        (FindingCode.FRESHNESS_SLA, "t"),
    }
    zoned = pa.table({"t": ts(one_hour_ago, tz="Europe/Berlin")})
    assert quick(None, zoned, spec) == set()


def test_freshness_of_dates_and_of_an_empty_column() -> None:
    spec: dict[str, Any] = {
        "freshness": {"column": "d", "sla": "1d"},
        "columns": {"d": {"type": "date"}},
    }
    today = (AS_OF.date() - datetime(1970, 1, 1, tzinfo=UTC).date()).days
    dates = pa.table({"d": pa.array(np.array([today - 3, today], dtype=np.int32), pa.date32())})
    assert quick(None, dates, spec) == set()  # fresh until the day ends
    old = pa.table({"d": pa.array(np.array([today - 3], dtype=np.int32), pa.date32())})
    assert quick(None, old, spec) == {(FindingCode.FRESHNESS_SLA, "d")}
    nulls = pa.table({"d": pa.array([None, None], pa.date32())})
    spec["columns"]["d"]["max_missing_rate"] = 1.0
    assert quick(None, nulls, spec) == {(FindingCode.FRESHNESS_UNKNOWN, "d")}
    gone = pa.table({"e": [1.0]})
    spec["columns"]["e"] = {"type": "float"}
    assert quick(None, gone, spec) == {
        (FindingCode.SCHEMA_MISSING_COLUMN, "d"),
        (FindingCode.FRESHNESS_UNKNOWN, "d"),  # never a silent pass
    }


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        run_checks(
            parse_feature_spec({"columns": {"a": {"type": "float"}}}),
            None,
            profile_table(pa.table({"a": X})),
            use_case=None,
            as_of=datetime(2026, 1, 1),  # naive on purpose
            skew=None,
        )
    assert info.value.reason is Reason.INVALID_VALUE


def test_infinite_values() -> None:
    spec = {"columns": {"a": {"type": "float"}}}
    y = X.copy()
    y[:2] = np.inf
    y[2] = -np.inf
    assert quick(None, pa.table({"a": y}), spec) == {(FindingCode.RANGE_NON_FINITE, "a")}


def test_undecodable_strings_are_a_schema_finding() -> None:
    cur = profile_table(pa.table({"s": pa.array(["a"] * 10)}))
    cur.columns["s"].invalid = 2  # what an engine records for non-UTF-8 bytes
    found = run_checks(
        parse_feature_spec({"columns": {"s": {"type": "string"}}}),
        None,
        cur,
        use_case=None,
        as_of=AS_OF,
        skew=None,
    )
    assert [(f.reason, f.measured) for f in found] == [(FindingCode.SCHEMA_INVALID_ENCODING, 0.2)]
