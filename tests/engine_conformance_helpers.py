"""Helpers shared by the engine conformance tests (V4): fixtures, tolerances and comparisons.

The conformance modules (``tests/adapters/test_engine_conformance*.py``) put the same Parquet
fixtures through the Arrow and the Spark engine; both must produce the same
:class:`~airel.domain.data.profile.Profile`, so that a profile computed on Spark is checked by the
same code with the same findings. Tolerances (constants below, each stated once):

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

``skip_without_spark()`` skips the calling module without ``java`` on PATH or without pyspark,
except in CI (``CI`` set), where that fails. The ``spark`` fixture (import ``spark_fixture``; also
``data_dir_fixture`` and ``main_case_fixture``) is module-scoped: one SparkSession per test module
(``local[2]``, UI off, 4 shuffle partitions, UTC session time zone, 1 GB driver, 1.5 MB file
splits so Spark merges partial aggregates of several tasks).
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airel.adapters.arrow.engine import ProfileOptions, profile_path
from airel.adapters.spark.engine import profile_path_spark
from airel.domain.data.profile import (
    GAMMA,
    LOG_GAMMA,
    MIN_MAGNITUDE,
    CategorySummary,
    ColumnProfile,
    LabelStats,
    LogicalType,
    NumericSummary,
    Profile,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

IN_CI = os.environ.get("CI", "").lower() not in {"", "0", "false"}


def skip_without_spark() -> None:
    """Skip the calling test module without Java or pyspark; in CI, fail instead."""
    if shutil.which("java") is None or importlib.util.find_spec("pyspark") is None:
        if IN_CI:
            pytest.fail("CI must run the Spark conformance suite: install Java 17+ and pyspark")
        pytest.skip(
            "Spark conformance needs a Java runtime on PATH and pyspark "
            "(pip install 'airel[spark]')",
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


@pytest.fixture(scope="module", name="spark")
def spark_fixture() -> Iterator[SparkSession]:
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


@pytest.fixture(scope="module", name="data_dir")
def data_dir_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance")


def make_case(spark: SparkSession, path: Path, table: pa.Table, options: ProfileOptions) -> Case:
    """Write ``table`` to ``path`` as Parquet and profile it with both engines."""
    write(table, path)
    return Case(
        path, table, profile_path(path, options), profile_path_spark(path, options, spark=spark)
    )


@pytest.fixture(scope="module", name="main_case")
def main_case_fixture(spark: SparkSession, data_dir: Path) -> Case:
    return make_case(spark, data_dir / "main.parquet", main_table(), OPTIONS)


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
            other = with_logical(other, col.logical)
        problems += [f"{name}: {p}" for p in column_problems(col, other, values)]
    return problems


def with_logical(col: ColumnProfile, logical: LogicalType) -> ColumnProfile:
    return replace(col, logical=logical)
