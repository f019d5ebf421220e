"""The embedded Arrow engine: statistics against numpy/scipy, formats, bad input.

Tolerances: counts, NULL/NaN/inf, min/max, sketch buckets and category counts are exact; mean,
variance and label co-moments to ``REL`` relative; sketch quantiles to ``ALPHA`` relative
against numpy's ``method="lower"`` order statistic.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from pyarrow import feather
from scipy import stats

from airel.adapters.arrow.engine import ProfileOptions, profile_path, profile_table
from airel.domain.data.profile import (
    ALPHA,
    GAMMA,
    MIN_MAGNITUDE,
    TOP_K,
    CategorySummary,
    LogicalType,
    Profile,
    bucket_index,
    profile_to_dict,
)
from airel.errors import NotFoundError, ParseError, Reason, ValidationError

REL = 1e-9
NAN, INF = float("nan"), float("inf")


def comparable(p: Profile) -> dict[str, Any]:
    """The profile as a dict without what legitimately differs between sources."""
    d = profile_to_dict(p)
    d.pop("source")
    for c in d["columns"]:
        c.pop("physical")
    return d


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Equal, with floats compared to REL (plus a tiny absolute slack for cancellation)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=REL, abs_tol=1e-9), f"{path}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def mixed_table(n: int = 4000, seed: int = 7) -> pa.Table:
    """Every profiled type, with NULLs, NaN and ±inf, a label and a prediction time."""
    rng = np.random.default_rng(seed)
    f = rng.normal(3, 2, n)
    f[rng.random(n) < 0.02] = NAN
    f[rng.random(n) < 0.01] = INF
    f[rng.random(n) < 0.01] = -INF
    base = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    event = base + rng.integers(0, 86_400_000_000 * 30, n)
    predicted = event + rng.integers(-3_600_000_000, 86_400_000_000, n)
    return pa.table(
        {
            "f": pa.array(f, mask=rng.random(n) < 0.03),
            "i": pa.array(rng.integers(-50, 50, n), mask=rng.random(n) < 0.05),
            "u": pa.array(rng.integers(0, 255, n).astype(np.uint8)),
            "s": pa.array([f"k{v}" for v in rng.integers(0, 30, n)], mask=rng.random(n) < 0.04),
            "b": pa.array(rng.random(n) < 0.3, mask=rng.random(n) < 0.02),
            "ts": pa.array(event, pa.timestamp("us", tz="UTC")),
            "d": pa.array((event // 86_400_000_000).astype(np.int32), pa.date32()),
            "y": pa.array(rng.integers(0, 2, n), mask=rng.random(n) < 0.05),
            "pt": pa.array(predicted, pa.timestamp("us", tz="UTC")),
        }
    )


# -- statistics against numpy / scipy ------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).normal(0, 1, 50_000),
        np.random.default_rng(2).lognormal(3, 1.2, 50_000),
        np.random.default_rng(3).standard_t(3, 50_000) * 1e4,
        np.random.default_rng(4).integers(-1000, 1000, 50_000).astype(np.float64),
        np.random.default_rng(5).exponential(1e-3, 50_000) - 5e-4,
    ],
    ids=["normal", "lognormal", "heavy-tail", "integers", "tiny-around-zero"],
)
def test_numeric_statistics_match_numpy_and_scipy(values: np.ndarray) -> None:
    prof = profile_table(pa.table({"x": values}), ProfileOptions(batch_rows=7_000))
    num = prof.columns["x"].numeric
    assert num is not None
    assert num.n == len(values)
    desc = stats.describe(values)
    assert num.min == values.min()
    assert num.max == values.max()
    assert math.isclose(num.mean, desc.mean, rel_tol=REL, abs_tol=1e-12)
    assert num.variance is not None
    assert math.isclose(num.variance, np.var(values), rel_tol=REL)
    assert math.isclose(num.variance * len(values) / (len(values) - 1), desc.variance, rel_tol=REL)
    for q in (0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0):
        got, want = num.quantile(q), float(np.quantile(values, q, method="lower"))
        assert got is not None
        assert abs(got - want) <= ALPHA * abs(want) + 1e-12, (q, got, want)
    pos = Counter(bucket_index(v) for v in values if v >= 1e-12)
    neg = Counter(bucket_index(v) for v in values if v <= -1e-12)
    assert num.pos == dict(pos)
    assert num.neg == dict(neg)
    assert num.zero == int(np.count_nonzero(np.abs(values) < 1e-12))


def test_int_columns_of_every_width_are_int() -> None:
    table = pa.table(
        {
            "i8": pa.array([-128, 0, 127], pa.int8()),
            "u64": pa.array([0, 2**63, 2**64 - 1], pa.uint64()),
            "i32": pa.array([1, None, 3], pa.int32()),
        }
    )
    prof = profile_table(table)
    for name in table.column_names:
        assert prof.columns[name].logical is LogicalType.INT
    u64 = prof.columns["u64"].numeric
    assert u64 is not None
    assert u64.max == float(2**64 - 1)
    i32 = prof.columns["i32"]
    assert i32.nulls == 1
    assert i32.nans == 0
    assert i32.numeric is not None
    assert i32.numeric.n == 2


def test_nan_and_null_both_count_as_null_with_nans_separated() -> None:
    x = pa.array([1.0, NAN, None, INF, -INF, NAN, 2.0, -INF], pa.float64())
    col = profile_table(pa.table({"x": x})).columns["x"]
    assert (col.count, col.nulls, col.nans, col.pos_inf, col.neg_inf) == (8, 3, 2, 1, 2)
    assert col.numeric is not None
    assert (col.numeric.n, col.numeric.min, col.numeric.max, col.numeric.mean) == (2, 1.0, 2.0, 1.5)
    assert col.missing_rate == 3 / 8


def test_float32_and_float16_are_float() -> None:
    table = pa.table(
        {
            "f32": pa.array([1.5, NAN, None], pa.float32()),
            "f16": pa.array(np.array([0.5, np.nan, 2.0], dtype=np.float16)),
        }
    )
    prof = profile_table(table)
    for name in ("f32", "f16"):
        col = prof.columns[name]
        assert col.logical is LogicalType.FLOAT
        assert col.nans == 1
    assert prof.columns["f32"].nulls == 2
    assert prof.columns["f16"].nulls == 1


def test_all_null_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "f": pa.array([None] * 5, pa.float64()),
            "s": pa.array([None] * 5, pa.string()),
            "b": pa.array([None] * 5, pa.bool_()),
            "n": pa.array([None] * 5, pa.null()),
        }
    )
    path = tmp_path / "nulls.parquet"
    pq.write_table(table, path)
    prof = profile_path(path)
    for name in ("f", "s", "b", "n"):
        assert prof.columns[name].nulls == 5
        assert prof.columns[name].count == 5
    f = prof.columns["f"].numeric
    assert f is not None
    assert f.n == 0
    assert f.min is None
    assert f.quantile(0.5) is None
    s = prof.columns["s"].categories
    assert s is not None
    assert s.counts == {}
    assert s.distinct == 0
    assert prof.columns["n"].logical is LogicalType.OTHER


def test_zero_row_file_profiles_to_empty_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(mixed_table().slice(0, 0), path)
    prof = profile_path(path, ProfileOptions(label="y", reference_time="pt"))
    assert prof.rows == 0
    assert list(prof.columns) == mixed_table().column_names
    for col in prof.columns.values():
        assert col.count == 0
        assert col.nulls == 0
    f = prof.columns["f"]
    assert f.numeric is not None
    assert f.numeric.n == 0
    assert f.label is not None
    assert f.label.n == 0
    assert f.label.correlation() is None
    assert prof.columns["s"].label_by_category == {}


# -- sources agree -------------------------------------------------------------------------------


def test_row_groups_batches_and_threads_do_not_change_the_profile(tmp_path: Path) -> None:
    table = mixed_table()
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    pq.write_table(table, one)
    pq.write_table(table, many, row_group_size=333)
    opts = ProfileOptions(label="y", reference_time="pt")
    whole = profile_path(one, opts)
    assert pq.ParquetFile(many).metadata.num_row_groups == 13
    for path, batch, threads in ((many, 1000, 2), (many, 97, 1), (one, 500, 3)):
        other = profile_path(
            path, ProfileOptions(label="y", reference_time="pt", batch_rows=batch, threads=threads)
        )
        assert_same(comparable(other), comparable(whole))
    assert_same(comparable(profile_table(table, opts)), comparable(whole))


def test_csv_and_arrow_ipc_give_the_parquet_profile(tmp_path: Path) -> None:
    table = mixed_table().drop_columns(["ts", "pt", "d"])  # CSV has no zone-aware timestamps
    seconds = 1_700_000_000 + np.arange(table.num_rows) * 3_600
    table = table.append_column("t", pa.array(seconds, pa.timestamp("s")))
    pq.write_table(table, tmp_path / "d.parquet")
    pacsv.write_csv(table, tmp_path / "d.csv")
    with gzip.open(tmp_path / "d.csv.gz", "wb") as gz:
        gz.write((tmp_path / "d.csv").read_bytes())
    feather.write_feather(table, tmp_path / "d.feather", chunksize=700)
    feather.write_feather(table, tmp_path / "d.arrow", compression="uncompressed")
    with pa.ipc.new_stream(tmp_path / "d.ipc", table.schema) as writer:
        writer.write_table(table, max_chunksize=50)
    opts = ProfileOptions(label="y", batch_rows=900)
    want = comparable(profile_path(tmp_path / "d.parquet", opts))
    for name in ("d.csv", "d.csv.gz", "d.feather", "d.arrow", "d.ipc"):
        got = profile_path(tmp_path / name, opts)
        assert_same(comparable(got), want, name)
    csv = profile_path(tmp_path / "d.csv")
    assert csv.source["format"] == "csv"
    assert csv.source["size_bytes"] > 0


def test_dictionary_and_plain_strings_profile_the_same() -> None:
    plain = pa.array(["a", "b", None, "a", "c", "a"] * 100)
    dictionary = plain.dictionary_encode()
    a = profile_table(pa.table({"s": plain, "y": [0, 1, 1] * 200}), ProfileOptions(label="y"))
    b = profile_table(pa.table({"s": dictionary, "y": [0, 1, 1] * 200}), ProfileOptions(label="y"))
    assert_same(comparable(a), comparable(b))
    assert a.columns["s"].physical == "string"
    assert b.columns["s"].physical == "dictionary<string>"
    cats = a.columns["s"].categories
    assert cats is not None
    assert cats.counts == {"a": 300, "b": 100, "c": 100}


def test_categories_are_exact_until_spill_whatever_the_batching() -> None:
    rng = np.random.default_rng(11)
    codes = np.concatenate([rng.zipf(1.3, 30_000) % 25_000, rng.integers(0, 25_000, 30_000)])
    values = [f"v{v}" for v in codes]
    prof = profile_table(pa.table({"s": values}), ProfileOptions(batch_rows=4_000))
    cats = prof.columns["s"].categories
    want = CategorySummary(dict(Counter(values))).truncate()
    assert cats == want
    assert cats.truncated
    assert len(cats.counts) == TOP_K
    assert cats.distinct == len(set(values))


# -- types ---------------------------------------------------------------------------------------


def test_timestamps_record_zone_and_units_agree() -> None:
    secs = np.array([0, 1_700_000_000, 1_700_000_123], dtype=np.int64)
    table = pa.table(
        {
            "s": pa.array(secs, pa.timestamp("s")),
            "ms": pa.array(secs * 1000, pa.timestamp("ms", tz="Europe/Paris")),
            "us": pa.array(secs * 10**6, pa.timestamp("us", tz="UTC")),
            "ns": pa.array(secs * 10**9 + 999, pa.timestamp("ns")),
        }
    )
    prof = profile_table(table)
    assert [prof.columns[c].tz for c in ("s", "ms", "us", "ns")] == [
        None,
        "Europe/Paris",
        "UTC",
        None,
    ]
    for name in ("s", "ms", "us", "ns"):
        col = prof.columns[name]
        assert col.logical is LogicalType.TIMESTAMP
        assert col.numeric is not None
        assert col.numeric.max == 1_700_000_123 * 1e6
        assert col.numeric.min == 0.0


def test_dates_decimals_bools_and_nested_types() -> None:
    table = pa.table(
        {
            "d32": pa.array([dt.date(1970, 1, 2), None, dt.date(2024, 2, 29)], pa.date32()),
            "d64": pa.array([dt.date(1970, 1, 2), None, dt.date(2024, 2, 29)], pa.date64()),
            "dec": pa.array(
                [decimal.Decimal("1.25"), None, decimal.Decimal("-3.50")], pa.decimal128(6, 2)
            ),
            "b": pa.array([True, None, False]),
            "lst": pa.array([[1], None, [2, 3]]),
            "bin": pa.array([b"x", b"y", None]),
        }
    )
    prof = profile_table(table)
    for name in ("d32", "d64"):
        col = prof.columns[name]
        assert col.logical is LogicalType.DATE
        assert col.numeric is not None
        assert (col.numeric.min, col.numeric.max) == (
            1.0,
            float(dt.date(2024, 2, 29).toordinal() - 719_163),
        )
    dec = prof.columns["dec"]
    assert dec.logical is LogicalType.FLOAT
    assert dec.numeric is not None
    assert (dec.numeric.min, dec.numeric.max, dec.nulls) == (-3.5, 1.25, 1)
    b = prof.columns["b"]
    assert b.logical is LogicalType.BOOL
    assert b.categories is not None
    assert b.categories.counts == {"true": 1, "false": 1}
    assert b.nulls == 1
    for name in ("lst", "bin"):
        col = prof.columns[name]
        assert col.logical is LogicalType.OTHER
        assert col.nulls == 1
        assert col.count == 3
        assert col.numeric is None
        assert col.categories is None


# -- label and reference time --------------------------------------------------------------------


def test_label_stats_and_after_reference_time() -> None:
    table = mixed_table()
    prof = profile_table(table, ProfileOptions(label="y", reference_time="pt"))
    f = table.column("f").to_numpy(zero_copy_only=False)
    y = table.column("y").to_numpy(zero_copy_only=False)
    both = np.isfinite(f) & ~np.isnan(y)
    lab = prof.columns["f"].label
    assert lab is not None
    assert lab.n == int(both.sum())
    corr = lab.correlation()
    assert corr is not None
    want = stats.pearsonr(f[both], y[both]).statistic
    assert math.isclose(corr, want, rel_tol=1e-7)
    assert prof.columns["y"].label is None  # the label is not its own feature
    assert prof.columns["ts"].label is None  # timestamps get no label stats
    s = table.column("s").to_pylist()
    lbc = prof.columns["s"].label_by_category
    assert lbc is not None
    for key, (rows, positives) in lbc.items():
        idx = [i for i, v in enumerate(s) if v == key and not np.isnan(y[i])]
        assert rows == len(idx)
        assert positives == int(sum(y[i] for i in idx))
    blbc = prof.columns["b"].label_by_category
    assert blbc is not None
    assert set(blbc) == {"true", "false"}
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    pt = table.column("pt").cast(pa.int64()).to_numpy()
    assert prof.columns["ts"].after_reference_time == int((ts > pt).sum()) > 0
    assert prof.columns["pt"].after_reference_time == 0


def test_label_values_other_than_0_1_are_refused() -> None:
    table = pa.table({"x": [1.0, 2.0, 3.0], "y": [0, 2, 1]})
    with pytest.raises(ValidationError) as err:
        profile_table(table, ProfileOptions(label="y"))
    assert err.value.reason is Reason.INVALID_VALUE
    assert err.value.details["column"] == "y"
    with pytest.raises(ValidationError) as err:
        profile_table(pa.table({"x": [1.0], "y": ["1"]}), ProfileOptions(label="y"))
    assert err.value.reason is Reason.INVALID_VALUE
    ok = profile_table(pa.table({"x": [1.0, 2.0], "y": [True, None]}), ProfileOptions(label="y"))
    assert ok.columns["x"].label is not None
    assert ok.columns["x"].label.n == 1


def test_reference_time_must_be_a_timestamp() -> None:
    with pytest.raises(ValidationError) as err:
        profile_table(pa.table({"x": [1.0]}), ProfileOptions(reference_time="x"))
    assert err.value.reason is Reason.WRONG_TYPE


# -- bad input -----------------------------------------------------------------------------------


def test_truncated_and_foreign_files_are_data_unreadable(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(mixed_table(), good)
    data = good.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) // 2])
    fake = tmp_path / "fake.parquet"
    fake.write_text("a,b\n1,2\n")
    bad_ipc = tmp_path / "bad.arrow"
    bad_ipc.write_bytes(b"not arrow at all")
    for path in (cut, fake, bad_ipc):
        with pytest.raises(ParseError) as err:
            profile_path(path)
        assert err.value.reason is Reason.DATA_UNREADABLE
        assert err.value.fix


def test_corrupt_pages_are_data_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.parquet"
    pq.write_table(pa.table({"x": np.arange(200_000, dtype=np.float64)}), path)
    data = bytearray(path.read_bytes())
    for i in range(100, len(data) // 2, 7):  # scribble over the data pages, keep the footer
        data[i] = 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ParseError) as err:
        profile_path(path)
    assert err.value.reason is Reason.DATA_UNREADABLE


def test_csv_value_not_matching_the_inferred_type_is_data_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("x\n" + "1\n" * 200_000 + "oops\n")
    with pytest.raises(ParseError) as err:
        profile_path(path, ProfileOptions(batch_rows=100))
    assert err.value.reason is Reason.DATA_UNREADABLE


def test_missing_file_unknown_suffix_and_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as nf:
        profile_path(tmp_path / "nope.parquet")
    assert nf.value.reason is Reason.ARTIFACT_MISSING
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"x")
    with pytest.raises(ValidationError) as bad:
        profile_path(other)
    assert bad.value.reason is Reason.INVALID_VALUE
    table = mixed_table(50)
    for opts in (
        ProfileOptions(columns=["f", "nope"]),
        ProfileOptions(label="nope"),
        ProfileOptions(reference_time="nope"),
    ):
        with pytest.raises(ValidationError) as missing:
            profile_table(table, opts)
        assert missing.value.reason is Reason.COLUMN_MISSING
        assert missing.value.details["missing"] == ["nope"]


def test_non_utf8_bytes_in_a_csv_are_counted_invalid(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    rows = [b"name,x"] + [b"ok,1"] * 3000 + [b"caf\xe9,2", b"\xff\xfe,3", b",4", b"ok,5"]
    path.write_bytes(b"\n".join(rows) + b"\n")
    col = profile_path(path, ProfileOptions(batch_rows=500)).columns["name"]
    assert col.logical is LogicalType.STRING
    assert (col.count, col.invalid, col.nulls) == (3004, 2, 1)
    assert col.categories is not None
    assert col.categories.counts == {"ok": 3001}


# -- options -------------------------------------------------------------------------------------


def test_columns_restriction_and_progress(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(mixed_table(3000), path, row_group_size=1000)
    seen: list[tuple[int, int]] = []
    prof = profile_path(
        path,
        ProfileOptions(columns=["s", "f"], label="y", batch_rows=700),
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert list(prof.columns) == ["f", "s"]  # file order; the label is read, not profiled
    assert prof.columns["f"].label is not None
    assert seen[-1] == (3000, 3000)
    assert all(t == 3000 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert prof.source["name"] == "d.parquet"
    assert prof.source["format"] == "parquet"
    assert prof.engine == "arrow"


def test_format_named_explicitly_for_files_without_a_suffix(tmp_path: Path) -> None:
    table = mixed_table(500).drop_columns(["ts", "pt", "d"])
    pq.write_table(table, tmp_path / "d.parquet")
    pacsv.write_csv(table, tmp_path / "d.csv")
    feather.write_feather(table, tmp_path / "d.feather")
    want = comparable(profile_path(tmp_path / "d.parquet"))
    blobs = {
        "parquet": (tmp_path / "d.parquet").read_bytes(),
        "csv": gzip.compress((tmp_path / "d.csv").read_bytes()),  # gzip found by magic bytes
        "arrow": (tmp_path / "d.feather").read_bytes(),
    }
    for fmt, data in blobs.items():
        blob = tmp_path / f"sha256-{fmt}"
        blob.write_bytes(data)
        got = profile_path(blob, fmt=fmt)
        assert_same(comparable(got), want, fmt)
        assert got.source["format"] == fmt
    with pytest.raises(ValidationError) as err:
        profile_path(tmp_path / "sha256-csv", fmt="xlsx")
    assert err.value.reason is Reason.INVALID_VALUE


def test_dictionaries_of_other_types_and_string_views_are_read_as_values() -> None:
    table = pa.table(
        {
            "di": pa.array([1, 2, None, 2]).dictionary_encode(),
            "db": pa.array([True, False, None, True]).dictionary_encode(),
            "sv": pa.array(["a", "b", None, "a"], pa.string_view()),
            "y": pa.array([0, 1, 1, 0]).dictionary_encode(),
        }
    )
    prof = profile_table(table, ProfileOptions(label="y"))
    di, db, sv = prof.columns["di"], prof.columns["db"], prof.columns["sv"]
    assert di.logical is LogicalType.INT
    assert di.numeric is not None
    assert (di.numeric.n, di.numeric.mean, di.nulls) == (3, 5 / 3, 1)
    assert db.categories is not None
    assert db.categories.counts == {"true": 2, "false": 1}
    assert sv.logical is LogicalType.STRING
    assert sv.categories is not None
    assert sv.categories.counts == {"a": 2, "b": 1}
    assert sv.label_by_category == {"a": [2, 0], "b": [1, 1]}


def test_values_on_bucket_edges_get_the_scalar_formulas_bucket() -> None:
    edges = np.array([GAMMA**k for k in range(-1300, 1300)])
    values = np.concatenate(
        [edges, np.nextafter(edges, 0), np.nextafter(edges, np.inf), -edges, [0.0, 1e-13]]
    )
    num = profile_table(pa.table({"x": values})).columns["x"].numeric
    assert num is not None
    pos = Counter(bucket_index(v) for v in values if v >= MIN_MAGNITUDE)
    neg = Counter(bucket_index(v) for v in values if v <= -MIN_MAGNITUDE)
    assert num.pos == dict(pos)
    assert num.neg == dict(neg)
    assert num.zero == 2


def test_decimals_convert_correctly_rounded() -> None:
    rng = np.random.default_rng(5)
    values = [decimal.Decimal(int(v)) / 100 for v in rng.integers(-(10**9), 10**9, 5_000)]
    col = profile_table(pa.table({"d": pa.array(values, pa.decimal128(12, 2))})).columns["d"]
    floats = np.array([float(v) for v in values])
    assert col.numeric is not None
    assert (col.numeric.min, col.numeric.max) == (floats.min(), floats.max())
    assert math.isclose(col.numeric.mean, floats.mean(), rel_tol=REL)
