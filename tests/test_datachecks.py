"""The nine dimensions end to end: Arrow-engine profiles of generated data through run_checks.

The fault fixture injects one fault per dimension into a current dataset; run_checks must
report exactly those findings (code, column, severity) and nothing else, while a fresh sample
of the same distribution reports nothing at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import peer_data
from airel.adapters.arrow.engine import ProfileOptions, profile_table
from airel.domain.data.checks import duration_seconds, run_checks, run_checks_detailed
from airel.domain.data.checks_values import outside_counts
from airel.domain.data.drift import DriftResult, DriftStatus, DriftThresholds
from airel.domain.data.featurespec import FeatureSpec, infer_spec, parse_feature_spec
from airel.domain.data.findings import (
    FINDING_RULES,
    ColumnSkew,
    Dimension,
    Finding,
    FindingCode,
    Severity,
    SeverityPolicy,
    SkewResult,
)
from airel.domain.data.profile import (
    LOG_GAMMA,
    MIN_MAGNITUDE,
    CategorySummary,
    ColumnProfile,
    LogicalType,
    NumericSummary,
    Profile,
)
from airel.errors import Reason, ValidationError

AS_OF = datetime(2026, 6, 1, 12, tzinfo=UTC)
OPTIONS = ProfileOptions(label="is_fraud", reference_time="scored_at")

SPEC: dict[str, Any] = {
    "name": "fraud-features",
    "version": "6",
    "entity_key": "txn_id",
    "label": "is_fraud",
    "prediction_time": "scored_at",
    "freshness": {"column": "event_ts", "sla": "24h"},
    "columns": {
        "txn_id": {"type": "int"},
        "is_fraud": {"type": "int"},
        "scored_at": {"type": "timestamp"},
        "event_ts": {"type": "timestamp", "critical": True},
        "auth_ts": {"type": "timestamp"},
        "amount": {"type": "float", "critical": True, "range": {"min": 0, "max": 1e6}},
        "f_drift": {"type": "float"},
        "f_missing": {"type": "float", "critical": True},
        "f_range": {"type": "float", "range": {"min": 0, "max": 100}},
        "channel": {"type": "string"},
        "proxy_score": {"type": "float"},
        "gender": {
            "type": "string",
            "sensitive": True,
            "classification": "restricted",
            "allowed_uses": ["fraud_scoring"],
        },
        "chargeback": {"type": "bool", "known_after_outcome": True},
    },
}


def _ts(values_s: np.ndarray, tz: str | None = "UTC") -> pa.Array:
    return pa.array((values_s * 1e6).astype(np.int64), pa.timestamp("us", tz=tz))


def make_table(n: int, seed: int, *, faults: bool = False, reference: bool = False) -> pa.Table:
    """Reference / clean current / faulty current with one injected fault per dimension."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.1).astype(np.int64)
    now = AS_OF.timestamp()
    scored = now - rng.uniform(3600, 20 * 3600, n) - (30 * 86400 if reference else 0)
    event = scored - rng.uniform(60, 3600, n)
    auth = scored - rng.uniform(3600, 7200, n)
    b = label if faults else (rng.random(n) < 0.1).astype(np.int64)
    proxy = b + rng.normal(0, 0.1, n)
    drift = rng.normal(0.8 if faults else 0.0, 1, n)
    missing = rng.normal(10, 2, n)
    missing_mask = (rng.random(n) < 0.1) if faults else None
    f_range = rng.uniform(0, 100, n)
    channel = rng.choice(np.array(["web", "app", "pos"], dtype=object), n, p=[0.5, 0.3, 0.2])
    if faults:
        event -= 5 * 86400  # stale: newest event is ~5 days old
        auth[: n // 20] = scored[: n // 20] + 86400  # known a day after prediction time
        f_range[:30] = 150.0  # outside the declared [0, 100]
        channel[:40] = "crypto"  # a category the reference never had
    start = n if not reference else 0
    cols: dict[str, Any] = {
        "txn_id": np.arange(start, start + n, dtype=np.int64),
        "is_fraud": label,
        "scored_at": _ts(scored),
        "event_ts": _ts(event),
        "auth_ts": _ts(auth),
        "amount": rng.lognormal(3, 1, n),
        "f_drift": drift,
        "f_missing": pa.array(missing, mask=missing_mask),
        "f_range": f_range,
        "channel": pa.array(channel, pa.string()),
        "proxy_score": proxy,
        "gender": pa.array(rng.choice(np.array(["f", "m", "x"]), n), pa.string()),
    }
    if faults:
        cols["chargeback"] = pa.array(label.astype(bool) & (rng.random(n) < 0.9))
    return pa.table(cols)


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    n = 4000
    return {
        "reference": profile_table(make_table(n, 1, reference=True), OPTIONS),
        "clean": profile_table(make_table(n, 2), OPTIONS),
        "faulty": profile_table(make_table(n, 3, faults=True), OPTIONS),
    }


def spec_of(**changes: Any) -> FeatureSpec:
    data = {**SPEC, "columns": {k: dict(v) for k, v in SPEC["columns"].items()}}
    for key, value in changes.items():
        if key.startswith("col_"):
            data["columns"][key[4:]].update(value)
        else:
            data[key] = value
    return parse_feature_spec(data)


SKEW = SkewResult(
    joined_rows=1000,
    unmatched_left=3,
    unmatched_right=2,
    columns={
        "amount": ColumnSkew(1000, 80),  # serving computes gross, training net
        "f_drift": ColumnSkew(1000, 2),  # within max_mismatch_rate 1%
        "txn_id": ColumnSkew(1000, 0),
    },
)

EXPECTED = {
    (FindingCode.DRIFT_PSI, "f_drift", Severity.SOFT),
    (FindingCode.MISSING_RATE, "f_missing", Severity.HARD),
    (FindingCode.FRESHNESS_SLA, "event_ts", Severity.HARD),
    (FindingCode.RANGE_DECLARED, "f_range", Severity.SOFT),
    (FindingCode.UNSEEN_CATEGORY, "channel", Severity.SOFT),
    (FindingCode.LEAKAGE_POST_OUTCOME, "chargeback", Severity.HARD),
    (FindingCode.LEAKAGE_FUTURE_TIMESTAMP, "auth_ts", Severity.HARD),
    (FindingCode.LEAKAGE_LABEL_CORRELATION, "proxy_score", Severity.HARD),
    (FindingCode.SKEW_MISMATCH, "amount", Severity.HARD),
    (FindingCode.ACL_DISALLOWED_USE, "gender", Severity.HARD),
}


def keyed(findings: list[Finding]) -> set[tuple[FindingCode, str | None, Severity]]:
    return {(f.reason, f.column, f.severity) for f in findings}


def test_same_distribution_sample_has_no_findings(profiles: dict[str, Profile]) -> None:
    found = run_checks(
        spec_of(),
        profiles["reference"],
        profiles["clean"],
        use_case="fraud_scoring",
        as_of=AS_OF,
        skew=SkewResult(1000, 0, 0, {"amount": ColumnSkew(1000, 0)}),
    )
    assert found == []


def test_every_injected_fault_is_found_and_nothing_else(profiles: dict[str, Profile]) -> None:
    found = run_checks(
        spec_of(),
        profiles["reference"],
        profiles["faulty"],
        use_case="credit_marketing",
        as_of=AS_OF,
        skew=SKEW,
    )
    assert keyed(found) == EXPECTED
    assert len(found) == len(EXPECTED)
    assert {f.dimension for f in found} == set(Dimension) - {Dimension.SCHEMA}
    by = {f.reason: f for f in found}
    assert by[FindingCode.MISSING_RATE].measured == pytest.approx(0.1, abs=0.02)
    assert by[FindingCode.MISSING_RATE].threshold == 0.05
    assert by[FindingCode.RANGE_DECLARED].details["outside"] == 30
    assert by[FindingCode.FRESHNESS_SLA].threshold == 86400
    assert by[FindingCode.SKEW_MISMATCH].measured == 0.08
    assert by[FindingCode.LEAKAGE_FUTURE_TIMESTAMP].details["rows"] == 200
    assert by[FindingCode.ACL_DISALLOWED_USE].measured == "credit_marketing"
    assert by[FindingCode.DRIFT_PSI].details["fired"] == ["psi", "ks_wasserstein"]


def test_findings_come_in_report_order(profiles: dict[str, Profile]) -> None:
    found = run_checks(
        spec_of(), profiles["reference"], profiles["faulty"], use_case="x", as_of=AS_OF, skew=SKEW
    )
    dims = [list(Dimension).index(f.dimension) for f in found]
    assert dims == sorted(dims)
    again = run_checks(
        spec_of(), profiles["reference"], profiles["faulty"], use_case="x", as_of=AS_OF, skew=SKEW
    )
    assert [f.to_dict() for f in found] == [f.to_dict() for f in again]


def test_severity_follows_the_critical_flag(profiles: dict[str, Profile]) -> None:
    spec = spec_of(col_f_drift={"critical": True}, col_f_missing={"critical": False})
    found = run_checks(
        spec, profiles["reference"], profiles["faulty"], use_case=None, as_of=AS_OF, skew=None
    )
    sev = {f.reason: f.severity for f in found}
    assert sev[FindingCode.DRIFT_PSI] is Severity.HARD
    assert sev[FindingCode.MISSING_RATE] is Severity.SOFT
    assert sev[FindingCode.LEAKAGE_POST_OUTCOME] is Severity.HARD  # always
    assert sev[FindingCode.ACL_USE_CASE_MISSING] is Severity.SOFT  # not evaluated ≠ violated


def test_every_code_has_a_rule() -> None:
    assert set(FINDING_RULES) == set(FindingCode)
    for code, rule in FINDING_RULES.items():
        assert code.value == code.name
        if rule.dimension in (Dimension.LEAKAGE, Dimension.ACCESS):
            assert rule.severity is not SeverityPolicy.BY_CRITICAL


# ---------------------------------------------------------------------------------------------
# Bad input: a finding, never a crash or a silent pass
# ---------------------------------------------------------------------------------------------


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
    naive = pa.table({"t": _ts(one_hour_ago, tz=None)})
    assert quick(None, naive, spec) == {(FindingCode.SCHEMA_NAIVE_TIMESTAMP, "t")}
    three_hours_ago = pa.table({"t": _ts(one_hour_ago - 7200, tz=None)})
    assert quick(None, three_hours_ago, spec) == {
        (FindingCode.SCHEMA_NAIVE_TIMESTAMP, "t"),
        (FindingCode.FRESHNESS_SLA, "t"),
    }
    zoned = pa.table({"t": _ts(one_hour_ago, tz="Europe/Berlin")})
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


# ---------------------------------------------------------------------------------------------
# Individual rules
# ---------------------------------------------------------------------------------------------


def test_range_tolerance_and_negative_bounds() -> None:
    y = RNG.uniform(-50, -10, 1000)
    y[:10] = -60.0
    strict: dict[str, Any] = {
        "columns": {"a": {"type": "float", "range": {"min": -50, "max": -10}}}
    }
    assert quick(None, pa.table({"a": y}), strict) == {(FindingCode.RANGE_DECLARED, "a")}
    strict["columns"]["a"]["range"]["tolerance"] = 0.02
    assert quick(None, pa.table({"a": y}), strict) == set()


def sketch(x: np.ndarray) -> NumericSummary:
    """The documented sketch semantics in numpy (independent of any engine)."""
    s = NumericSummary(n=len(x), min=float(x.min()), max=float(x.max()))
    mag = np.abs(x)
    small = mag < MIN_MAGNITUDE
    s.zero = int(small.sum())
    idx = np.ceil(np.log(np.where(small, 1.0, mag)) / LOG_GAMMA).astype(np.int64)
    for side, out in ((x > 0, s.pos), (x < 0, s.neg)):
        keys, counts = np.unique(idx[side & ~small], return_counts=True)
        out.update({int(k): int(c) for k, c in zip(keys, counts, strict=True)})
    return s


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
    st.floats(-1e3, 1e3),
    st.floats(0, 2e3),
)
def test_outside_counts_bracket_the_true_count(
    values: list[float], lo: float, width: float
) -> None:
    hi = lo + width
    x = np.array(values)
    s = sketch(x)
    sure, maybe = outside_counts(s, lo, hi)
    true = int(np.sum((x < lo) | (x > hi)))
    assert sure <= true <= sure + maybe
    assert (sure == 0) == (true == 0)  # whether anything is outside is exact


def test_allowed_values_vanished_and_exploding_categories() -> None:
    ref_vals = ["a"] * 500 + ["b"] * 400 + ["c"] * 100
    spec = {"columns": {"s": {"type": "string", "allowed_values": ["a", "b", "c"]}}}
    cur_vals = ["a"] * 550 + ["b"] * 440 + ["z"] * 10
    assert quick(pa.table({"s": ref_vals}), pa.table({"s": cur_vals}), spec) == {
        (FindingCode.CATEGORY_NOT_ALLOWED, "s"),
        (FindingCode.UNSEEN_CATEGORY, "s"),
        (FindingCode.VANISHED_CATEGORY, "s"),
        (FindingCode.DRIFT_PSI, "s"),  # 10% of the mass moved, too
    }
    many = [f"v{i}" for i in range(40)] * 25
    loose = {"columns": {"s": {"type": "string"}}, "defaults": {"max_unseen_rate": 1.0}}
    found = quick(pa.table({"s": ref_vals}), pa.table({"s": many}), loose)
    assert (FindingCode.DISTINCT_EXPLOSION, "s") in found


def test_unseen_category_against_a_truncated_reference() -> None:
    ref = Profile(
        1000,
        {
            "s": ColumnProfile(
                "s",
                LogicalType.STRING,
                "string",
                count=1000,
                categories=CategorySummary({"a": 600, "b": 300}, other=100, truncated=True),
            )
        },
    )
    rare = profile_table(pa.table({"s": ["a"] * 600 + ["b"] * 300 + ["r"] * 5 + ["q"] * 150}))
    spec = parse_feature_spec({"columns": {"s": {"type": "string"}}})
    found = run_checks(spec, ref, rare, use_case=None, as_of=AS_OF, skew=None)
    unseen = [f for f in found if f.reason is FindingCode.UNSEEN_CATEGORY]
    assert len(unseen) == 1  # 150 rows of "q" could not hide in the reference's other (100)
    assert unseen[0].details["categories"] == ["q"]


def test_category_purity_and_association_leakage() -> None:
    n = 2000
    label = (RNG.random(n) < 0.2).astype(np.int64)
    pure = np.where(label == 1, "hit", RNG.choice(["m1", "m2", "m3"], n))
    # "p" for 97% of positives and 1% of negatives: no category ≥ 98% positive, V ≈ 0.95
    flip = RNG.random(n)
    assoc = np.where(label == 1, np.where(flip < 0.97, "p", "r"), np.where(flip < 0.01, "p", "r"))
    noise = RNG.choice(["u", "v"], n)
    table = pa.table({"y": label, "pure": pure, "assoc": assoc, "noise": noise})
    spec = parse_feature_spec(
        {
            "label": "y",
            "leakage": {"max_category_purity": 0.98, "max_label_association": 0.9},
            "columns": {k: {"type": "int" if k == "y" else "string"} for k in table.column_names},
        }
    )
    cur = profile_table(table, ProfileOptions(label="y"))
    found = run_checks(spec, None, cur, use_case=None, as_of=AS_OF, skew=None)
    assert {(f.reason, f.column) for f in found} == {
        (FindingCode.LEAKAGE_CATEGORY_PURITY, "pure"),
        (FindingCode.LEAKAGE_LABEL_ASSOCIATION, "assoc"),
    }


def test_access_rules() -> None:
    table = pa.table({"g": ["f", "m"] * 60, "z": ["1", "2"] * 60, "ok": [1.0, 2.0] * 60})
    spec = {
        "columns": {
            "g": {"type": "string", "sensitive": True},
            "z": {"type": "string", "allowed_uses": ["marketing"]},
            "ok": {"type": "float", "allowed_uses": ["fraud_scoring", "marketing"]},
        }
    }
    assert quick(None, table, spec, use_case="fraud_scoring") == {
        (FindingCode.ACL_UNAPPROVED_SENSITIVE, "g"),
        (FindingCode.ACL_DISALLOWED_USE, "z"),
    }
    assert quick(None, table, spec) == {(FindingCode.ACL_USE_CASE_MISSING, None)}


def test_skew_unmatched_and_drift() -> None:
    spec = parse_feature_spec({"entity_key": "k", "columns": {"k": {"type": "int"}}})
    cur = profile_table(pa.table({"k": np.arange(10)}))
    drifted = DriftResult(
        "a", "numeric", DriftStatus.DRIFT, 500, 500, DriftThresholds(), ("psi",), psi=0.4
    )
    skew = SkewResult(100, 30, 0, {"a": ColumnSkew(100, 0, drifted), "k": ColumnSkew(100, 100)})
    found = run_checks(spec, None, cur, use_case=None, as_of=AS_OF, skew=skew)
    assert {(f.reason, f.column) for f in found} == {
        (FindingCode.SKEW_DRIFT, "a"),
        (FindingCode.SKEW_UNMATCHED, None),
    }
    nothing = SkewResult(0, 10, 10)
    assert nothing.unmatched_rate == 1.0


def test_missing_rate_increase_vs_reference() -> None:
    spec = {"columns": {"a": {"type": "float"}}}
    y = X.copy()
    y[:30] = np.nan  # 3%: under the 5% budget, but 3 points above the reference
    assert quick(pa.table({"a": X}), pa.table({"a": y}), spec) == {
        (FindingCode.MISSING_RATE_INCREASE, "a")
    }


def test_duration_seconds() -> None:
    assert [duration_seconds(d) for d in ("15s", "15m", "24h", "2d")] == [15, 900, 86400, 172800]


def test_profiles_built_by_hand_work_too() -> None:
    s = NumericSummary(n=500, min=1.0, max=2.0, mean=1.5, m2=10.0, pos={0: 10, 35: 490})
    cur = Profile(500, {"a": ColumnProfile("a", LogicalType.FLOAT, "double", 500, numeric=s)})
    findings, drift = run_checks_detailed(
        parse_feature_spec({"columns": {"a": {"type": "float"}}}),
        cur,
        cur,
        use_case=None,
        as_of=AS_OF + timedelta(days=1),
        skew=None,
    )
    assert findings == []
    assert drift["a"].status is DriftStatus.STABLE


# ---------------------------------------------------------------------------------------------
# The peer benchmark's ground truth through the engine and the checks
# ---------------------------------------------------------------------------------------------


def test_peer_benchmark_ground_truth_with_default_thresholds() -> None:
    """The peer benchmark's layout and injected problems (tests/peer_data.py)."""
    n = 50_000
    ref = profile_table(peer_data.make_table(n, 1234, False))
    cur = profile_table(peer_data.make_table(n, 5678, True))
    spec = infer_spec(ref)
    declared = spec.model_dump()
    declared["columns"]["num_07"]["range"] = {"min": 0, "max": 100}
    declared["columns"]["num_17"]["range"] = {"min": 0}
    found = run_checks(
        parse_feature_spec(declared), ref, cur, use_case=None, as_of=AS_OF, skew=None
    )
    by_dim: dict[Dimension, set[str | None]] = {}
    for f in found:
        by_dim.setdefault(f.dimension, set()).add(f.column)
    truth = peer_data.GROUND_TRUTH
    assert by_dim[Dimension.DISTRIBUTION] == set(truth["drift"])  # 5/5, 0 false positives
    assert by_dim[Dimension.MISSINGNESS] == set(truth["missing"])
    assert by_dim[Dimension.RANGE] == {"num_07", "num_17"}
    assert by_dim[Dimension.CARDINALITY] == {"cat_4"}
    assert set(by_dim) == {
        Dimension.DISTRIBUTION,
        Dimension.MISSINGNESS,
        Dimension.RANGE,
        Dimension.CARDINALITY,
    }
