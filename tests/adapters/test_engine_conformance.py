"""Engine conformance (V4): the same statistics from the Arrow and the Spark engine.

The same Parquet fixtures through both engines give the same
:class:`~airel.domain.data.profile.Profile` within the stated tolerances: every column of the
main fixture (every logical type, with NULL, NaN, ±inf, zeros, tiny values and sketch bucket
boundaries), sketch quantiles, the Spark engine against numpy ground truth, high-cardinality
truncation, an empty dataset, undecodable strings and binary/nested columns; profiles merge,
also across engines.

Tolerances, fixtures and comparisons are in ``tests/engine_conformance_helpers.py``.

Known, documented differences (asserted as such, not hidden): ``physical`` type names are each
engine's own (``int64`` vs ``bigint``); Spark timestamps are instants without the writer's zone
name, so a zoned column reports ``tz = "UTC"`` on Spark (the values agree); Spark reads
``uint64`` as ``decimal(20,0)``, so such a column is FLOAT on Spark and INT on Arrow (the
statistics agree).

Nanosecond timestamps (Parquet ``TIMESTAMP(NANOS)``, which Spark has no type for) give the same
profile on both engines: each value floored to its microsecond (``NANOS_*`` fixture: sub-µs
parts, values before 1970, zoned and naive columns, a nanosecond reference time), also for a
directory of files; INT96 timestamps need no conversion.

One module-scoped SparkSession; the module is skipped without ``java`` on PATH or without
pyspark, except in CI (``CI`` set), where that fails.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from airel.adapters.arrow.engine import ProfileOptions, profile_path
from airel.adapters.spark.engine import profile_path_spark, profile_spark
from airel.adapters.spark.jobs import NANOS_AS_LONG, parquet_nanos
from airel.domain.data.profile import (
    TOP_K,
    CategorySummary,
    LogicalType,
    NumericSummary,
    Profile,
)
from engine_conformance_helpers import (
    BASE_US,
    HIGH_CARD,
    KNOWN_LOGICAL,
    MAIN_COLUMNS,
    OPTIONS,
    REL_MOMENTS,
    ROWS,
    SEED,
    YEAR_US,
    Case,
    column_problems,
    data_dir_fixture,  # noqa: F401  (the pytest fixture ``data_dir``)
    finite_values,
    high_card_table,
    main_case_fixture,  # noqa: F401  (the pytest fixture ``main_case``)
    main_table,
    near_boundaries,
    profile_problems,
    skip_without_spark,
    spark_fixture,  # noqa: F401  (the pytest fixture ``spark``)
    write,
)
from engine_conformance_helpers import make_case as _case
from engine_conformance_helpers import with_logical as _with_logical

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

skip_without_spark()


@pytest.fixture(scope="module")
def high_card_case(spark: SparkSession, data_dir: Path) -> Case:
    return _case(spark, data_dir / "hc.parquet", high_card_table(), ProfileOptions(label="y"))


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
