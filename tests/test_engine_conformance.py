"""Engine conformance (V4): the same Parquet fixtures through the Arrow and the Spark engine.

Both engines must produce the same :class:`~airel.domain.data.profile.Profile`, so that a profile
computed on Spark is checked by the same code with the same findings. Tolerances (constants
below, each stated once):

* counts, NULLs, NaNs, ±inf, invalid, min/max, finite ``n``, categories (counts, ``other``,
  truncation), label counts per category and after-reference-time counts: **exact**;
* mean and variance: relative ``REL_MOMENTS`` (1e-9) — Spark sums doubles in task order and
  merges partitions, numpy sums pairwise per batch; a mean is compared relative to
  ``max(|mean|, sd)`` because a mean near zero has no relative precision;
* label co-moments: relative ``REL_LABEL`` (1e-9), each sum relative to its natural scale;
* sketch buckets: exact, except values whose ``ln|v| / LOG_GAMMA`` lies within
  ``SKETCH_BOUNDARY_REL`` (1e-12, relative) of an integer — a bucket boundary, where the C
  library's and the JVM's natural logarithms may round one unit in the last place apart and put
  the value in neighbouring buckets. Each such value can move at most one count (L1 distance 2),
  and the whole L1 distance must stay ≤ ``SKETCH_MAX_L1_SHARE`` (0.1%) of ``n``. (On these
  fixtures, including ``EDGE_VALUES`` values placed on edges, the L1 distance is 0; on 4,000
  values that are all exact powers of GAMMA it is about 1%.)
* distinct estimates of truncated columns: relative ``DISTINCT_REL`` (2%) — the Arrow engine
  switches to HLL past 100k distinct values, the Spark engine counts groups exactly.

Findings: ``run_checks`` on both engines' profiles of a dataset with injected drift, missing
values, out-of-range values, an unseen category and leakage gives the same findings in the same
order (measured values within ``REL_MOMENTS``), also for a Spark reference with an Arrow current.

Known, documented differences (asserted as such, not hidden): ``physical`` type names are each
engine's own (``int64`` vs ``bigint``); Spark timestamps are instants without the writer's zone
name, so a zoned column reports ``tz = "UTC"`` on Spark (the values agree); Spark reads
``uint64`` as ``decimal(20,0)``, so such a column is FLOAT on Spark and INT on Arrow (the
statistics agree); Spark cannot read Parquet float16 (``DATA_UNREADABLE`` with the fix); Spark's
CSV reader reads an empty field as NULL.

Nanosecond timestamps (Parquet ``TIMESTAMP(NANOS)``, which Spark has no type for) give the same
profile on both engines: each value floored to its microsecond (``NANOS_*`` fixture: sub-µs
parts, values before 1970, zoned and naive columns, a nanosecond reference time).

One module-scoped SparkSession (``local[2]``, UI off, 4 shuffle partitions, UTC session time
zone, 1 GB driver, 1.5 MB file splits so Spark merges partial aggregates of several tasks). The
module is skipped without ``java`` on PATH or without pyspark, except in CI (``CI`` set), where
that fails.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from airel.adapters.arrow.engine import ProfileOptions, profile_path
from airel.adapters.spark.engine import profile_path_spark, profile_spark
from airel.adapters.spark.jobs import NANOS_AS_LONG, parquet_nanos
from airel.domain.data.checks import run_checks
from airel.domain.data.featurespec import parse_feature_spec
from airel.domain.data.findings import Finding
from airel.domain.data.profile import (
    GAMMA,
    LOG_GAMMA,
    MIN_MAGNITUDE,
    TOP_K,
    CategorySummary,
    ColumnProfile,
    LabelStats,
    LogicalType,
    NumericSummary,
    Profile,
)
from airel.errors import AirelError, Reason

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

IN_CI = os.environ.get("CI", "").lower() not in {"", "0", "false"}
if shutil.which("java") is None or importlib.util.find_spec("pyspark") is None:
    if IN_CI:
        pytest.fail("CI must run the Spark conformance suite: install Java 17+ and pyspark")
    pytest.skip(
        "Spark conformance needs a Java runtime on PATH and pyspark (pip install 'airel[spark]')",
        allow_module_level=True,
    )

REL_MOMENTS = 1e-9  # mean (vs max(|mean|, sd)) and variance, relative
REL_LABEL = 1e-9  # label co-moment sums, relative to each sum's natural scale
SKETCH_BOUNDARY_REL = 1e-12  # |ln|v|/LOG_GAMMA - k| within this (relative) = on a boundary
SKETCH_MAX_L1_SHARE = 0.001  # sketch bucket-count L1 distance ≤ 0.1% of n
DISTINCT_REL = 0.02  # distinct estimates of truncated columns

SEED = 20261125
ROWS = 40_000
ROW_GROUP = 8_192  # five row groups: several Arrow batches and several Spark tasks
EDGE_VALUES = 20  # values of f_boundary placed on sketch bucket edges (±GAMMA**k)
HIGH_CARD = 20_000  # distinct values in the truncation fixture (> MAX_CATEGORIES)
BASE_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in epoch microseconds
YEAR_US = 365 * 86_400 * 1_000_000
OPTIONS = ProfileOptions(label="y", reference_time="pt")

NUMERIC = ["id", "f_mixed", "f_lognormal", "f_boundary", "f32", "i64", "i32", "i8", "u32"]
NUMERIC += ["u64", "neg", "dec", "allnull_f", "y"]
TEMPORAL = ["ts_utc", "ts_naive", "ts_ny", "d", "pt", "event_ts"]
CATEGORICAL = ["b", "s", "s_plain", "allnull_s"]
MAIN_COLUMNS = NUMERIC + TEMPORAL + CATEGORICAL
KNOWN_LOGICAL = {"u64": (LogicalType.INT, LogicalType.FLOAT)}  # (Arrow, Spark): decimal(20,0)
WORDS = ["alpha", "beta", "gamma", "delta", "épsilon", "ζeta", "", "Ω", "naïve", "zulu"]


# -- data -----------------------------------------------------------------------------------------


def main_table(rows: int = ROWS, seed: int = SEED) -> pa.Table:
    """Every logical type, with NULL, NaN, ±inf, zeros, tiny values and bucket boundaries."""
    rng = np.random.default_rng(seed)

    def mask(share: float) -> np.ndarray:
        return rng.random(rows) < share

    mixed = rng.normal(0.0, 10.0, rows)
    mixed[mask(0.02)] = np.nan
    special = rng.choice(rows, 40, replace=False)
    mixed[special[:5]], mixed[special[5:8]] = np.inf, -np.inf
    mixed[special[8:28]], mixed[special[28:33]], mixed[special[33:]] = 0.0, 1e-13, -5e-13
    lognormal = rng.lognormal(3.0, 1.5, rows)
    boundary = rng.uniform(-1e3, 1e3, rows)
    on_edge = rng.choice(rows, EDGE_VALUES, replace=False)  # GAMMA**k: ln(v)/LOG_GAMMA ≈ k
    boundary[on_edge] = GAMMA ** rng.integers(-300, 300, EDGE_VALUES).astype(np.float64)
    boundary[on_edge[::2]] *= -1
    label = (rng.random(rows) < 1 / (1 + np.exp(3 - np.log(lognormal)))).astype(np.int64)
    pt = BASE_US + rng.integers(0, YEAR_US, rows)
    event = pt + rng.normal(-3_600e6, 1_800e6, rows).astype(np.int64)
    words = rng.choice(np.array(WORDS, dtype=object), rows, p=_zipf_p(len(WORDS)))
    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "f_mixed": pa.array(mixed, mask=mask(0.03)),
            "f_lognormal": pa.array(lognormal),
            "f_boundary": pa.array(boundary),
            "f32": pa.array(rng.normal(5.0, 2.0, rows).astype(np.float32), mask=mask(0.01)),
            "i64": pa.array(rng.integers(-(10**12), 10**12, rows), mask=mask(0.05)),
            "i32": pa.array(rng.integers(-1_000, 1_000, rows).astype(np.int32)),
            "i8": pa.array(rng.integers(-128, 128, rows).astype(np.int8), mask=mask(0.1)),
            "u32": pa.array(rng.integers(0, 2**32, rows).astype(np.uint32)),
            "u64": pa.array(rng.integers(0, 2**40, rows).astype(np.uint64)),
            "neg": pa.array(-rng.exponential(50.0, rows)),
            "dec": pa.array(
                [Decimal(int(v)).scaleb(-3) for v in rng.integers(-(10**8), 10**8, rows)],
                pa.decimal128(12, 3),
            ),
            "allnull_f": pa.nulls(rows, pa.float64()),
            "y": pa.array(label, mask=mask(0.02)),
            "ts_utc": pa.array(BASE_US + rng.integers(0, YEAR_US, rows), ts, mask=mask(0.05)),
            "ts_naive": pa.array(BASE_US + rng.integers(0, YEAR_US, rows), pa.timestamp("us")),
            "ts_ny": pa.array(
                BASE_US + rng.integers(0, YEAR_US, rows), pa.timestamp("us", "America/New_York")
            ),
            "d": pa.array(20_000 + rng.integers(0, 2_000, rows).astype(np.int32), pa.date32()),
            "pt": pa.array(pt, ts),
            "event_ts": pa.array(event, ts, mask=mask(0.02)),
            "b": pa.array(rng.random(rows) < 0.3, mask=mask(0.04)),
            "s": pa.array(words, pa.string(), mask=mask(0.06)),
            "s_plain": pa.array(words[::-1], pa.string(), mask=mask(0.01)),
            "allnull_s": pa.nulls(rows, pa.string()),
        }
    )


def high_card_table(seed: int = SEED) -> pa.Table:
    """HIGH_CARD distinct strings (each once) plus Zipf-heavy repeats of the first 2,000."""
    rng = np.random.default_rng(seed + 1)
    repeats = np.minimum(rng.zipf(1.3, 40_000), 2_000) - 1
    keys = np.concatenate([np.arange(HIGH_CARD), repeats])
    rng.shuffle(keys)
    rows = len(keys)
    return pa.table(
        {
            "hc": pa.array([f"c{k:05d}" for k in keys]),
            "x": pa.array(rng.normal(0.0, 1.0, rows)),
            "y": pa.array((rng.random(rows) < 0.1).astype(np.int64)),
        }
    )


def _zipf_p(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1)
    return np.asarray(weights / weights.sum())


def write(table: pa.Table, path: Path, **kwargs: Any) -> Path:
    """Parquet with several row groups; ``s_plain`` without a dictionary."""
    dictionary = [name for name in table.column_names if name != "s_plain"]
    pq.write_table(table, path, row_group_size=ROW_GROUP, use_dictionary=dictionary, **kwargs)
    return path


@dataclass
class Case:
    """One fixture file profiled by both engines."""

    path: Path
    table: pa.Table
    arrow: Profile
    spark: Profile


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    """One local[2] session for the module (about 6 s to start)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("airel-conformance")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.files.maxPartitionBytes", str(1_536 * 1024))  # ~4 tasks per file
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("OFF")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance")


def _case(spark: SparkSession, path: Path, table: pa.Table, options: ProfileOptions) -> Case:
    write(table, path)
    return Case(
        path, table, profile_path(path, options), profile_path_spark(path, options, spark=spark)
    )


@pytest.fixture(scope="module")
def main_case(spark: SparkSession, data_dir: Path) -> Case:
    return _case(spark, data_dir / "main.parquet", main_table(), OPTIONS)


@pytest.fixture(scope="module")
def high_card_case(spark: SparkSession, data_dir: Path) -> Case:
    return _case(spark, data_dir / "hc.parquet", high_card_table(), ProfileOptions(label="y"))


# -- comparison -----------------------------------------------------------------------------------


def finite_values(column: pa.ChunkedArray) -> np.ndarray:
    """The finite values a numeric profile summarises, as float64 (epoch µs, epoch days)."""
    present = column.drop_null()
    if pa.types.is_timestamp(column.type) and column.type.unit == "ns":  # floored to µs
        ns = np.asarray(present.cast(pa.int64()).to_numpy(zero_copy_only=False))
        return np.asarray(np.floor_divide(ns, 1000), dtype=np.float64)
    if pa.types.is_timestamp(column.type):
        present = present.cast(pa.timestamp("us", column.type.tz)).cast(pa.int64())
    elif pa.types.is_date32(column.type):
        present = present.cast(pa.int32())
    elif pa.types.is_decimal(column.type):  # correctly rounded (Arrow's own cast is not)
        return np.array([float(d) for d in present.to_pylist()], dtype=np.float64)
    values = np.asarray(present.cast(pa.float64()).to_numpy(zero_copy_only=False))
    return np.asarray(values[np.isfinite(values)])


def near_boundaries(values: np.ndarray) -> int:
    """How many values sit where numpy and the JVM may round ``ln`` into different buckets."""
    magnitude = np.abs(values[np.abs(values) >= MIN_MAGNITUDE])
    t = np.log(magnitude) / LOG_GAMMA
    on_edge = np.abs(t - np.rint(t)) <= SKETCH_BOUNDARY_REL * np.maximum(1.0, np.abs(t))
    near_min = np.abs(np.abs(values) - MIN_MAGNITUDE) <= SKETCH_BOUNDARY_REL * MIN_MAGNITUDE
    return int(on_edge.sum() + near_min.sum())


def sketch_l1(a: NumericSummary, b: NumericSummary) -> int:
    """Bucket-count L1 distance of two sketches (zero, positive and negative buckets)."""
    total = abs(a.zero - b.zero)
    for mine, theirs in ((a.pos, b.pos), (a.neg, b.neg)):
        total += sum(abs(mine.get(k, 0) - theirs.get(k, 0)) for k in set(mine) | set(theirs))
    return total


def _close(a: float, b: float, rel: float, scale: float = 0.0) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), scale)


def numeric_problems(a: NumericSummary, s: NumericSummary, values: np.ndarray) -> list[str]:
    problems = [
        f"{f}: {getattr(a, f)!r} != {getattr(s, f)!r}"
        for f in ("n", "min", "max")
        if getattr(a, f) != getattr(s, f)
    ]
    va, vs = a.variance or 0.0, s.variance or 0.0
    if not _close(a.mean, s.mean, REL_MOMENTS, math.sqrt(max(va, vs))):
        problems.append(f"mean: {a.mean!r} vs {s.mean!r}")
    if abs(va - vs) > REL_MOMENTS * max(va, vs) + (REL_MOMENTS * abs(a.mean)) ** 2:
        problems.append(f"variance: {va!r} vs {vs!r}")
    l1, near = sketch_l1(a, s), near_boundaries(values)
    if l1 > 2 * near or l1 > SKETCH_MAX_L1_SHARE * max(a.n, 1):
        problems.append(f"sketch L1 {l1} with {near} values on bucket boundaries (n={a.n})")
    return problems


def label_problems(a: LabelStats, s: LabelStats) -> list[str]:
    scales = {
        "sx": math.sqrt(max(a.n * a.sxx, 0.0)),
        "sy": float(a.n),
        "sxx": a.sxx,
        "syy": a.syy,
        "sxy": math.sqrt(max(a.sxx * a.syy, 0.0)),
    }
    problems = [f"label n: {a.n} != {s.n}"] if a.n != s.n else []
    for f, scale in scales.items():
        if not _close(getattr(a, f), getattr(s, f), REL_LABEL, scale):
            problems.append(f"label {f}: {getattr(a, f)!r} vs {getattr(s, f)!r}")
    return problems


def category_problems(a: CategorySummary | None, s: CategorySummary | None) -> list[str]:
    """Counts, ``other`` and truncation exactly; the distinct estimate within DISTINCT_REL."""
    if a is None or s is None:
        return [] if a is s else [f"categories on one side only: {a} / {s}"]
    problems = []
    if (a.counts, a.other, a.truncated) != (s.counts, s.other, s.truncated):
        problems.append(f"categories: {a} != {s}")
    if abs(a.distinct - s.distinct) > DISTINCT_REL * max(a.distinct, s.distinct):
        problems.append(f"distinct: {a.distinct} vs {s.distinct}")
    return problems


def column_problems(a: ColumnProfile, s: ColumnProfile, values: np.ndarray) -> list[str]:
    """Everything that differs between two profiles of one column beyond the tolerances."""
    problems = [
        f"{f}: {getattr(a, f)!r} != {getattr(s, f)!r}"
        for f in ("name", "count", "nulls", "nans", "pos_inf", "neg_inf", "invalid")
        if getattr(a, f) != getattr(s, f)
    ]
    problems += [] if a.logical == s.logical else [f"logical: {a.logical} != {s.logical}"]
    if s.tz != a.tz and not (a.tz is not None and s.tz == "UTC"):  # Spark: zone name lost
        problems.append(f"tz: {a.tz!r} vs {s.tz!r}")
    if a.after_reference_time != s.after_reference_time:
        problems.append(
            f"after_reference_time: {a.after_reference_time} vs {s.after_reference_time}"
        )
    if (a.numeric is None) != (s.numeric is None):
        problems.append(f"numeric summary on one side only: {a.numeric} / {s.numeric}")
    elif a.numeric is not None and s.numeric is not None:
        problems += numeric_problems(a.numeric, s.numeric, values)
    problems += category_problems(a.categories, s.categories)
    if (a.label is None) != (s.label is None):
        problems.append(f"label stats on one side only: {a.label} / {s.label}")
    elif a.label is not None and s.label is not None:
        problems += label_problems(a.label, s.label)
    if a.label_by_category != s.label_by_category:
        problems.append(f"label_by_category: {a.label_by_category} != {s.label_by_category}")
    return problems


def profile_problems(a: Profile, s: Profile, table: pa.Table) -> list[str]:
    problems = [f"rows {a.rows} != {s.rows}"] if a.rows != s.rows else []
    if list(a.columns) != list(s.columns):
        return [*problems, f"columns {list(a.columns)} != {list(s.columns)}"]
    for name, col in a.columns.items():
        values = finite_values(table[name]) if col.numeric is not None else np.empty(0)
        other = s.columns[name]
        if name in KNOWN_LOGICAL:
            other = _with_logical(other, col.logical)
        problems += [f"{name}: {p}" for p in column_problems(col, other, values)]
    return problems


def _with_logical(col: ColumnProfile, logical: LogicalType) -> ColumnProfile:
    return replace(col, logical=logical)


# -- the same statistics --------------------------------------------------------------------------


def test_spark_merges_partial_aggregates_of_several_tasks(
    spark: SparkSession, main_case: Case
) -> None:
    assert spark.read.parquet(str(main_case.path)).rdd.getNumPartitions() > 1


def test_same_columns_types_and_rows(main_case: Case) -> None:
    a, s = main_case.arrow, main_case.spark
    assert list(a.columns) == list(s.columns) == MAIN_COLUMNS
    assert a.rows == s.rows == ROWS
    for name, col in a.columns.items():
        expected = KNOWN_LOGICAL.get(name, (col.logical, col.logical))
        assert (col.logical, s.columns[name].logical) == expected, name
    assert s.engine == "spark"


@pytest.mark.parametrize("column", MAIN_COLUMNS)
def test_column_conforms(main_case: Case, column: str) -> None:
    a, s = main_case.arrow.columns[column], main_case.spark.columns[column]
    if column in KNOWN_LOGICAL:
        s = _with_logical(s, a.logical)
    values = finite_values(main_case.table[column]) if a.numeric is not None else np.empty(0)
    assert column_problems(a, s, values) == []


def test_documented_differences(main_case: Case) -> None:
    """Zone names and uint64 are where the engines legitimately differ (values agree)."""
    a, s = main_case.arrow.columns, main_case.spark.columns
    assert (a["ts_ny"].tz, s["ts_ny"].tz) == ("America/New_York", "UTC")
    assert (a["ts_naive"].tz, s["ts_naive"].tz) == (None, None)
    assert (s["u64"].logical, s["u64"].physical) == (LogicalType.FLOAT, "decimal(20,0)")


def test_fixture_exercises_every_special_value(main_case: Case) -> None:
    """Guards the fixture itself: each special case the tolerances talk about is present."""
    cols = main_case.spark.columns
    mixed = cols["f_mixed"]
    assert 0 < mixed.nans < mixed.nulls
    assert mixed.pos_inf > 0
    assert mixed.neg_inf > 0
    assert mixed.numeric is not None
    assert mixed.numeric.zero > 0
    assert mixed.numeric.neg
    assert near_boundaries(finite_values(main_case.table["f_boundary"])) > 0
    assert cols["allnull_f"].numeric == NumericSummary()
    assert cols["event_ts"].after_reference_time > 0
    assert cols["f_lognormal"].label is not None
    assert cols["s"].label_by_category


def test_sketch_quantiles_agree(main_case: Case) -> None:
    for name in ("f_lognormal", "f_mixed", "neg", "ts_utc"):
        a, s = main_case.arrow.columns[name].numeric, main_case.spark.columns[name].numeric
        assert a is not None
        assert s is not None
        for q in (0.01, 0.1, 0.5, 0.9, 0.99):
            assert a.quantile(q) == s.quantile(q), (name, q)


def test_spark_matches_numpy_ground_truth(main_case: Case) -> None:
    """The Spark engine on its own against numpy (so conformance is not two equal mistakes)."""
    for name in ("f_mixed", "f_lognormal", "i64", "dec", "ts_utc", "d"):
        values = finite_values(main_case.table[name])
        summary = main_case.spark.columns[name].numeric
        assert summary is not None
        assert (summary.n, summary.min, summary.max) == (len(values), values.min(), values.max())
        assert summary.mean == pytest.approx(values.mean(), rel=REL_MOMENTS)
        assert summary.variance == pytest.approx(values.var(), rel=REL_MOMENTS)


def test_high_cardinality_truncation(high_card_case: Case) -> None:
    """20k distinct values: both keep the top TOP_K + other, exactly truncate() of all counts.

    (The Arrow engine counts exactly up to 100k distinct values, so its truncation is exact
    here too; label counts are kept for the kept categories on both engines.)
    """
    from collections import Counter

    table = high_card_case.table
    s = high_card_case.spark.columns["hc"]
    exact = CategorySummary(dict(Counter(table["hc"].to_pylist()))).truncate()
    assert s.categories == exact
    assert exact.truncated
    assert len(exact.counts) == TOP_K
    assert exact.distinct == HIGH_CARD
    assert set(s.label_by_category or {}) == set(exact.counts)
    assert profile_problems(high_card_case.arrow, high_card_case.spark, table) == []


def test_empty_dataset(spark: SparkSession, data_dir: Path) -> None:
    table = main_table().slice(0, 0)
    case = _case(spark, data_dir / "empty.parquet", table, OPTIONS)
    assert case.arrow.rows == case.spark.rows == 0
    assert profile_problems(case.arrow, case.spark, table) == []


def test_invalid_utf8_binary_and_nested_columns(spark: SparkSession, data_dir: Path) -> None:
    """Undecodable strings are counted as invalid (not categories); binary/list are OTHER."""
    raw = pa.array([b"ok", b"\xff\xfe", None, b"ok", b"caf\xc3\xa9"], pa.binary())
    table = pa.table(
        {
            "s": raw.view(pa.string()),  # Parquet stores the bytes as they are
            "blob": pa.array([b"a", None, b"b", b"c", None]),
            "tags": pa.array([["a"], None, [], ["b", "c"], None]),
        }
    )
    case = _case(spark, data_dir / "odd.parquet", table, ProfileOptions())
    assert profile_problems(case.arrow, case.spark, table) == []
    s = case.spark.columns
    assert (s["s"].invalid, s["s"].nulls) == (1, 1)
    assert s["s"].categories is not None
    assert s["s"].categories.counts == {"ok": 2, "café": 1}
    assert [s[c].logical for c in ("blob", "tags")] == [LogicalType.OTHER] * 2
    assert [s[c].nulls for c in ("blob", "tags")] == [2, 2]


# -- mergeability ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark_halves(spark: SparkSession, main_case: Case) -> list[Profile]:
    """Spark profiles of the even and the odd ``id`` rows of the main fixture."""
    from pyspark.sql import functions as F

    df = spark.read.parquet(str(main_case.path))
    return [profile_spark(df.where(F.col("id") % 2 == r), OPTIONS) for r in (0, 1)]


def test_spark_halves_merge_to_the_whole(main_case: Case, spark_halves: list[Profile]) -> None:
    merged = spark_halves[0].merge(spark_halves[1])
    assert merged.rows == ROWS
    assert profile_problems(merged, main_case.spark, main_case.table) == []


def test_profiles_from_both_engines_merge(
    main_case: Case, spark_halves: list[Profile], data_dir: Path
) -> None:
    """An Arrow profile of the even rows plus a Spark profile of the odd rows equals the whole."""
    even = main_case.table.filter(pc.equal(pc.bit_wise_and(main_case.table["id"], 1), 0))
    arrow_even = profile_path(write(even, data_dir / "even.parquet"), OPTIONS)
    merged = arrow_even.merge(spark_halves[1])
    assert profile_problems(main_case.arrow, merged, main_case.table) == []


# -- the same errors ------------------------------------------------------------------------------


def _both(spark: SparkSession, path: Path, options: ProfileOptions) -> list[AirelError]:
    """The error each engine raises for the same input (both must raise)."""
    with pytest.raises(AirelError) as arrow:
        profile_path(path, options)
    with pytest.raises(AirelError) as spark_error:
        profile_path_spark(path, options, spark=spark)
    return [arrow.value, spark_error.value]


def test_label_other_than_0_1_is_rejected_by_both(spark: SparkSession, data_dir: Path) -> None:
    path = write(pa.table({"x": [1.0, 2.0, 3.0], "y": [0, 1, 2]}), data_dir / "badlabel.parquet")
    for error in _both(spark, path, ProfileOptions(label="y")):
        assert error.reason is Reason.INVALID_VALUE
        assert error.details["column"] == "y"


def test_unknown_column_is_rejected_by_both(spark: SparkSession, main_case: Case) -> None:
    for options in (ProfileOptions(columns=["id", "nope"]), ProfileOptions(label="nope")):
        for error in _both(spark, main_case.path, options):
            assert error.reason is Reason.COLUMN_MISSING


def test_column_selection(spark: SparkSession, main_case: Case) -> None:
    options = ProfileOptions(columns=["f_mixed", "s"], label="y")
    a = profile_path(main_case.path, options)
    s = profile_path_spark(main_case.path, options, spark=spark)
    assert list(a.columns) == list(s.columns) == ["f_mixed", "s"]
    assert profile_problems(a, s, main_case.table) == []


def test_truncated_parquet_is_unreadable(
    spark: SparkSession, main_case: Case, data_dir: Path
) -> None:
    cut = data_dir / "cut.parquet"
    cut.write_bytes(main_case.path.read_bytes()[: main_case.path.stat().st_size // 2])
    with pytest.raises(AirelError) as info:
        profile_path_spark(cut, spark=spark)
    assert info.value.reason is Reason.DATA_UNREADABLE


def test_float16_gets_a_fix(spark: SparkSession, data_dir: Path) -> None:
    """Spark cannot read Parquet FLOAT16: a clear error with the fix, not a crash."""
    path = data_dir / "f16.parquet"
    pq.write_table(pa.table({"h": pa.array(np.array([1.5, 2.0], dtype=np.float16))}), path)
    with pytest.raises(AirelError) as info:
        profile_path_spark(path, spark=spark)
    assert info.value.reason is Reason.DATA_UNREADABLE
    assert "float32" in (info.value.fix or "")


# -- nanosecond timestamps ------------------------------------------------------------------------

NANOS_ROWS = 6_000
NANOS_OPTIONS = ProfileOptions(reference_time="pt_ns")


def nanos_table(rows: int = NANOS_ROWS, seed: int = SEED) -> pa.Table:
    """timestamp[ns] columns (zoned, naive, Tokyo, before 1970, a reference time) whose
    values have sub-microsecond parts, next to a µs timestamp and a plain int64."""
    rng = np.random.default_rng(seed + 2)
    base = BASE_US * 1_000
    year = YEAR_US * 1_000
    pt = base + rng.integers(0, year, rows)
    # within ±2 µs of the reference time: the "after" count depends on flooring the same way
    near = pt + rng.integers(-2_000, 2_000, rows)
    pre_epoch = -rng.integers(1, 10**17, rows)  # negative: floor, not truncation, matters
    pre_epoch[:3] = [-1, -999, -1_001]
    ns, tokyo = pa.timestamp("ns", tz="UTC"), pa.timestamp("ns", "Asia/Tokyo")
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "pt_ns": pa.array(pt, ns),
            "near_ns": pa.array(near, ns, mask=rng.random(rows) < 0.05),
            "naive_ns": pa.array(base + rng.integers(0, year, rows), pa.timestamp("ns")),
            "tokyo_ns": pa.array(base + rng.integers(0, year, rows), tokyo),
            "pre_epoch_ns": pa.array(pre_epoch, pa.timestamp("ns")),
            "ts_us": pa.array(BASE_US + rng.integers(0, YEAR_US, rows), pa.timestamp("us", "UTC")),
            "n_int": pa.array(rng.integers(-(10**15), 10**15, rows)),
        }
    )


@pytest.fixture(scope="module")
def nanos_case(spark: SparkSession, data_dir: Path) -> Case:
    return _case(spark, data_dir / "nanos.parquet", nanos_table(), NANOS_OPTIONS)


def test_nanosecond_timestamps_profile_the_same_on_both_engines(
    spark: SparkSession, nanos_case: Case
) -> None:
    """Spark reads Parquet TIMESTAMP(NANOS): the same profile as Arrow (µs, floored), the
    zoned/naive distinction kept, plain int64 columns untouched, the session setting restored."""
    a, s = nanos_case.arrow, nanos_case.spark
    assert profile_problems(a, s, nanos_case.table) == []
    assert list(s.columns) == nanos_case.table.column_names
    for name in ("pt_ns", "near_ns", "naive_ns", "tokyo_ns", "pre_epoch_ns", "ts_us"):
        assert s.columns[name].logical is LogicalType.TIMESTAMP, name
    assert (s.columns["pt_ns"].tz, s.columns["pt_ns"].physical) == ("UTC", "timestamp")
    assert (s.columns["naive_ns"].tz, s.columns["naive_ns"].physical) == (None, "timestamp_ntz")
    assert (a.columns["tokyo_ns"].tz, s.columns["tokyo_ns"].tz) == ("Asia/Tokyo", "UTC")
    assert (s.columns["n_int"].logical, s.columns["n_int"].physical) == (LogicalType.INT, "bigint")
    assert 0 < s.columns["near_ns"].after_reference_time < NANOS_ROWS
    assert a.columns["near_ns"].after_reference_time == s.columns["near_ns"].after_reference_time
    assert spark.conf.get(NANOS_AS_LONG) == "false"


def test_nanoseconds_floor_to_microseconds(nanos_case: Case) -> None:
    """-1 ns, -999 ns and -1001 ns are -1 µs, -1 µs and -2 µs on both engines (floor)."""
    values = finite_values(nanos_case.table["pre_epoch_ns"])
    assert list(values[:3]) == [-1.0, -1.0, -2.0]
    for profile in (nanos_case.arrow, nanos_case.spark):
        summary = profile.columns["pre_epoch_ns"].numeric
        assert summary is not None
        assert (summary.n, summary.min, summary.max) == (len(values), values.min(), values.max())
        assert summary.mean == pytest.approx(values.mean(), rel=REL_MOMENTS)


def test_nanosecond_dataset_directory(spark: SparkSession, data_dir: Path) -> None:
    """A directory of Parquet files with ns columns (Spark's dataset layout) reads as well."""
    table = nanos_table(2_000)
    folder = data_dir / "nanos_dir"
    folder.mkdir()
    write(table.slice(0, 1_000), folder / "part-0.parquet")
    write(table.slice(1_000), folder / "part-1.parquet")
    (folder / "_SUCCESS").write_bytes(b"")
    assert parquet_nanos(str(folder))["pt_ns"] is True
    assert parquet_nanos(str(folder))["naive_ns"] is False
    whole = profile_path(write(table, data_dir / "nanos_whole.parquet"), NANOS_OPTIONS)
    s = profile_path_spark(folder, NANOS_OPTIONS, spark=spark)
    assert s.rows == 2_000
    assert profile_problems(whole, s, table) == []


def test_parquet_nanos_reads_only_what_it_can(spark: SparkSession, data_dir: Path) -> None:
    """INT96 timestamps (Spark's own, nanoseconds to pyarrow) need no conversion and their
    values agree (Spark reads INT96 as an instant, so tz is "UTC" there and None on Arrow);
    remote or unreadable paths are left to Spark."""
    int96 = data_dir / "int96.parquet"
    ns = BASE_US * 1_000 + np.array([1, 999, 1_001, 123_456_789, -5_000_000_001])
    table = pa.table({"t": pa.array(ns, pa.timestamp("ns"))})
    pq.write_table(table, int96, use_deprecated_int96_timestamps=True)
    assert parquet_nanos(str(int96)) == {}
    a = profile_path(int96).columns["t"]
    s = profile_path_spark(int96, spark=spark).columns["t"]
    assert (a.tz, s.tz) == (None, "UTC")
    values = finite_values(pq.read_table(int96)["t"])
    assert column_problems(a, replace(s, tz=None), values) == []
    assert parquet_nanos("s3a://bucket/data.parquet") == {}
    assert parquet_nanos(str(data_dir / "absent.parquet")) == {}


def test_missing_path_and_unsupported_format(spark: SparkSession, data_dir: Path) -> None:
    with pytest.raises(AirelError) as missing:
        profile_path_spark(data_dir / "absent.parquet", spark=spark)
    assert missing.value.reason is Reason.ARTIFACT_MISSING
    other = data_dir / "data.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(AirelError) as unsupported:
        profile_path_spark(other, spark=spark)
    assert unsupported.value.reason is Reason.INVALID_VALUE


def test_csv_through_spark(spark: SparkSession, data_dir: Path) -> None:
    """CSV is read with a header and type inference; numbers and strings profile as in Parquet."""
    table = main_table(2_000).select(["id", "f_lognormal", "i32", "s_plain"])
    import pyarrow.csv as pacsv

    words = pc.replace_substring_regex(table["s_plain"].fill_null("missing"), "^$", "empty")
    table = table.set_column(3, "s_plain", words)  # Spark's CSV reader reads "" as NULL

    pacsv.write_csv(table, data_dir / "small.csv")
    s = profile_path_spark(data_dir / "small.csv", spark=spark)
    p = profile_path_spark(write(table, data_dir / "small.parquet"), spark=spark)
    assert s.source["format"] == "csv"
    assert [c.logical for c in s.columns.values()] == [c.logical for c in p.columns.values()]
    assert profile_problems(p, s, table) == []


def test_engine_unavailable_without_pyspark(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == "pyspark" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(AirelError) as info:
        profile_path_spark("anything.parquet")
    assert info.value.reason is Reason.ENGINE_UNAVAILABLE
    assert "airel[spark]" in (info.value.fix or "")


def test_engine_unavailable_without_java(main_case: Case) -> None:
    """No Java runtime (JAVA_HOME pointing nowhere): ENGINE_UNAVAILABLE, not a Py4J trace."""
    code = (
        "import sys\n"
        "from airel.adapters.spark.engine import profile_path_spark\n"
        "from airel.errors import AirelError\n"
        "try:\n"
        "    profile_path_spark(sys.argv[1])\n"
        "except AirelError as e:\n"
        "    print(e.reason.value)\n"
    )
    env = {**os.environ, "JAVA_HOME": "/nonexistent-java-home"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(main_case.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip() == Reason.ENGINE_UNAVAILABLE.value


def test_airel_imports_the_spark_engine_without_pyspark() -> None:
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import airel.adapters.spark.engine\n"
        "assert 'py4j' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


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
