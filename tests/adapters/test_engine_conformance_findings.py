"""Engine conformance (V4): the same findings from the Arrow and the Spark engine's profiles.

``run_checks`` on both engines' profiles of a dataset with injected drift, missing values,
out-of-range values, an unseen category and leakage gives the same findings in the same order
(measured values within ``REL_MOMENTS``), also for a Spark reference with an Arrow current; a
clean sample gives none on either engine.

Tolerances, fixtures and comparisons are in ``tests/engine_conformance_helpers.py``.

One module-scoped SparkSession; the module is skipped without ``java`` on PATH or without
pyspark, except in CI (``CI`` set), where that fails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pytest

from airel.adapters.arrow.engine import ProfileOptions, profile_path
from airel.adapters.spark.engine import profile_path_spark
from airel.domain.data.checks import run_checks
from airel.domain.data.featurespec import parse_feature_spec
from airel.domain.data.findings import Finding
from airel.domain.data.profile import Profile
from engine_conformance_helpers import (
    REL_MOMENTS,
    data_dir_fixture,  # noqa: F401  (the pytest fixture ``data_dir``)
    skip_without_spark,
    spark_fixture,  # noqa: F401  (the pytest fixture ``spark``)
    write,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

skip_without_spark()


# -- the same findings ----------------------------------------------------------------------------

AS_OF = datetime(2026, 6, 1, 12, tzinfo=UTC)
CHECK_OPTIONS = ProfileOptions(label="is_fraud", reference_time="scored_at")
CHECK_SPEC: dict[str, Any] = {
    "label": "is_fraud",
    "prediction_time": "scored_at",
    "entity_key": "txn_id",
    "freshness": {"column": "event_ts", "sla": "24h"},
    "columns": {
        "txn_id": {"type": "int"},
        "is_fraud": {"type": "int"},
        "scored_at": {"type": "timestamp"},
        "event_ts": {"type": "timestamp"},
        "auth_ts": {"type": "timestamp"},
        "f_drift": {"type": "float"},
        "f_missing": {"type": "float", "critical": True},
        "f_range": {"type": "float", "range": {"min": 0, "max": 100}},
        "amount": {"type": "float"},
        "proxy": {"type": "float"},
        "channel": {"type": "string"},
        "card_present": {"type": "bool"},
    },
}
INJECTED = {  # (finding code, column) the faulty current must produce on both engines
    ("DRIFT_PSI", "f_drift"),
    ("MISSING_RATE", "f_missing"),
    ("RANGE_DECLARED", "f_range"),
    ("UNSEEN_CATEGORY", "channel"),
    ("LEAKAGE_FUTURE_TIMESTAMP", "auth_ts"),
    ("LEAKAGE_LABEL_CORRELATION", "proxy"),
}


def checks_table(n: int, seed: int, *, faults: bool) -> pa.Table:
    """A fraud-like dataset; ``faults`` injects drift, missing, out-of-range, unseen, leakage."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.1).astype(np.int64)
    scored = AS_OF.timestamp() - rng.uniform(3_600, 20 * 3_600, n)
    auth = scored - rng.uniform(60, 3_600, n)
    f_range = rng.uniform(0, 100, n)
    channel = rng.choice(np.array(["web", "app", "pos"], dtype=object), n, p=[0.5, 0.3, 0.2])
    proxy_source = label if faults else (rng.random(n) < 0.1).astype(np.int64)
    if faults:
        auth[: n // 20] = scored[: n // 20] + 86_400  # known a day after prediction time
        f_range[:30] = 150.0
        channel[:40] = "crypto"

    def ts(seconds: np.ndarray) -> pa.Array:
        return pa.array((seconds * 1e6).astype(np.int64), pa.timestamp("us", tz="UTC"))

    return pa.table(
        {
            "txn_id": np.arange(n, dtype=np.int64) + seed * n,
            "is_fraud": label,
            "scored_at": ts(scored),
            "event_ts": ts(scored - rng.uniform(60, 600, n)),
            "auth_ts": ts(auth),
            "f_drift": rng.normal(0.8 if faults else 0.0, 1.0, n),
            "f_missing": pa.array(
                rng.normal(10, 2, n), mask=(rng.random(n) < 0.1) if faults else None
            ),
            "f_range": f_range,
            "amount": rng.lognormal(3, 1, n),
            "proxy": proxy_source + rng.normal(0, 0.1, n),
            "channel": pa.array(channel, pa.string()),
            "card_present": rng.random(n) < 0.6,
        }
    )


@pytest.fixture(scope="module")
def check_profiles(spark: SparkSession, data_dir: Path) -> dict[str, dict[str, Profile]]:
    """{dataset: {engine: profile}} for a reference, a clean current and a faulty current."""
    out: dict[str, dict[str, Profile]] = {}
    for name, seed, faults in (("reference", 1, False), ("clean", 2, False), ("faulty", 3, True)):
        path = write(checks_table(4_000, seed, faults=faults), data_dir / f"{name}.parquet")
        out[name] = {
            "arrow": profile_path(path, CHECK_OPTIONS),
            "spark": profile_path_spark(path, CHECK_OPTIONS, spark=spark),
        }
    return out


def _findings(reference: Profile, current: Profile) -> list[Finding]:
    spec = parse_feature_spec(CHECK_SPEC)
    return run_checks(spec, reference, current, use_case=None, as_of=AS_OF, skew=None)


def _same_findings(a: list[Finding], s: list[Finding]) -> None:
    """Same findings in the same order; measured values equal up to the moment tolerance."""
    assert [(f.reason, f.column, f.severity, f.threshold) for f in a] == [
        (f.reason, f.column, f.severity, f.threshold) for f in s
    ]
    for fa, fs in zip(a, s, strict=True):
        if isinstance(fa.measured, float) and isinstance(fs.measured, float):
            assert fa.measured == pytest.approx(fs.measured, rel=REL_MOMENTS), fa.reason
        else:
            assert fa.measured == fs.measured, fa.reason


def test_findings_are_identical_on_both_engines(
    check_profiles: dict[str, dict[str, Profile]],
) -> None:
    ref, faulty = check_profiles["reference"], check_profiles["faulty"]
    arrow = _findings(ref["arrow"], faulty["arrow"])
    spark = _findings(ref["spark"], faulty["spark"])
    assert {(f.reason.value, f.column) for f in arrow} == INJECTED
    _same_findings(arrow, spark)
    mixed = _findings(ref["spark"], faulty["arrow"])  # a stored Spark reference, an Arrow run
    _same_findings(arrow, mixed)


def test_a_clean_sample_has_no_findings_on_either_engine(
    check_profiles: dict[str, dict[str, Profile]],
) -> None:
    ref, clean = check_profiles["reference"], check_profiles["clean"]
    for engine in ("arrow", "spark"):
        assert _findings(ref[engine], clean[engine]) == [], engine
