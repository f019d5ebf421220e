"""run_checks rule by rule on small tables: range tolerance and the sketch's outside counts,
allowed, unseen and vanished categories, leakage by category purity and label association,
access rules, skew, missing-rate increase, durations and hand-built profiles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from airel.adapters.arrow.engine import ProfileOptions, profile_table
from airel.domain.data.checks import duration_seconds, run_checks, run_checks_detailed
from airel.domain.data.checks_values import outside_counts
from airel.domain.data.drift import DriftResult, DriftStatus, DriftThresholds
from airel.domain.data.featurespec import parse_feature_spec
from airel.domain.data.findings import ColumnSkew, FindingCode, SkewResult
from airel.domain.data.profile import (
    LOG_GAMMA,
    MIN_MAGNITUDE,
    CategorySummary,
    ColumnProfile,
    LogicalType,
    NumericSummary,
    Profile,
)
from data_checks_helpers import AS_OF, RNG, X, quick

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
