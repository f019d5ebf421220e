"""The nine dimensions (V1) end to end: Arrow-engine profiles of generated data through
run_checks.

The fault fixture injects one fault per dimension into a current dataset; run_checks must
report exactly those findings (code, column, severity) and nothing else, while a fresh sample
of the same distribution reports nothing at all. The peer benchmark's ground truth goes
through the same engine and checks. Bad input is in test_checks_bad_input.py, single rules
in test_checks_rules.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import peer_data
from airel.adapters.arrow.engine import ProfileOptions, profile_table
from airel.domain.data.checks import run_checks
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
from airel.domain.data.profile import Profile
from data_checks_helpers import AS_OF, ts

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
        "scored_at": ts(scored),
        "event_ts": ts(event),
        "auth_ts": ts(auth),
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
