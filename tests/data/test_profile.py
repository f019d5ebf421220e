"""Profiles: merge algebra, the JSON codec, category truncation, sketch quantiles.

The merge property: profiling any split of a dataset into 1–5 parts and merging the parts'
profiles equals profiling the whole — counts, NULL/NaN/inf, min/max, sketch buckets and category
counts exactly; mean, variance and label co-moments to ``REL`` relative (the float sums are
added in a different order).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airel.adapters.arrow.engine import ProfileOptions, profile_table
from airel.domain.data.profile import (
    ALPHA,
    GAMMA,
    MAX_CATEGORIES,
    MIN_MAGNITUDE,
    TOP_K,
    CategorySummary,
    LabelStats,
    NumericSummary,
    Profile,
    bucket_bounds,
    bucket_index,
    profile_from_dict,
    profile_to_dict,
)
from airel.errors import Reason, ValidationError

REL = 1e-9
NAN, INF = float("nan"), float("inf")

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False) | st.sampled_from(
    [0.0, -0.0, 1e-13, -1e-300, 5e-324, 1.0, -1.0]
)
numbers = st.one_of(finite, st.sampled_from([NAN, INF, -INF]), st.none())
texts = st.one_of(st.none(), st.text(alphabet="abcé€😀\x00", max_size=3))


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(min_value=0, max_value=80))
    xs = draw(st.lists(numbers, min_size=n, max_size=n))
    return pa.table(
        {
            "x": pa.array(xs, pa.float64()),
            "i": pa.array(
                draw(st.lists(st.none() | st.integers(-(2**40), 2**40), min_size=n, max_size=n)),
                pa.int64(),
            ),
            "s": pa.array(draw(st.lists(texts, min_size=n, max_size=n)), pa.string()),
            "b": pa.array(
                draw(st.lists(st.none() | st.booleans(), min_size=n, max_size=n)), pa.bool_()
            ),
            "y": pa.array(
                draw(st.lists(st.none() | st.sampled_from([0, 1]), min_size=n, max_size=n)),
                pa.int64(),
            ),
        }
    )


def assert_same(a: Any, b: Any, scale: float, path: str = "") -> None:
    """Structural equality; floats to REL relative or REL * scale absolute (cancellation)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=REL, abs_tol=REL * scale), f"{path}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys differ"
        for k in a:
            assert_same(a[k], b[k], scale, f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, scale, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _scale(table: pa.Table) -> float:
    x = np.nan_to_num(table.column("x").to_numpy(zero_copy_only=False), nan=0, posinf=0, neginf=0)
    i = np.nan_to_num(table.column("i").to_numpy(zero_copy_only=False).astype(np.float64), nan=0)
    top = max(float(np.abs(x).max(initial=0)), float(np.abs(i).max(initial=0)), 1.0)
    return float(top * top * max(table.num_rows, 1))


@settings(max_examples=120, deadline=None)
@given(table=tables(), data=st.data())
def test_merging_the_profiles_of_any_split_equals_profiling_the_whole(
    table: pa.Table, data: st.DataObject
) -> None:
    n = table.num_rows
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    bounds = [0, *cuts, n]
    batch = data.draw(st.integers(1, 20))
    opts = ProfileOptions(label="y", batch_rows=batch, threads=1)
    parts = [profile_table(table.slice(lo, hi - lo), opts) for lo, hi in itertools.pairwise(bounds)]
    merged = functools.reduce(Profile.merge, parts)
    whole = profile_table(table, ProfileOptions(label="y"))
    assert merged.rows == whole.rows == n
    assert_same(profile_to_dict(merged), profile_to_dict(whole), _scale(table))


def test_profile_merge_keeps_column_order_and_one_sided_columns() -> None:
    a = profile_table(pa.table({"x": [1.0, 2.0], "s": ["a", "b"]}))
    b = profile_table(pa.table({"s": ["b"], "z": [3]}))
    merged = a.merge(b)
    assert list(merged.columns) == ["x", "s", "z"]
    assert merged.rows == 3
    cats = merged.columns["s"].categories
    assert cats is not None
    assert cats.counts == {"a": 1, "b": 2}


# -- codec ---------------------------------------------------------------------------------------


def _rich_profile() -> Profile:
    rng = np.random.default_rng(3)
    n = 30_000
    ts = np.datetime64("2024-05-01", "us").astype(np.int64) + rng.integers(0, 10**10, n)
    table = pa.table(
        {
            "x": pa.array(np.r_[rng.normal(0, 1, n - 3), NAN, INF, -INF], mask=rng.random(n) < 0.1),
            "s": pa.array([f"v{v}" for v in rng.integers(0, 15_000, n)]),
            "b": pa.array(rng.random(n) < 0.5),
            "t": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "p": pa.array(ts + rng.integers(-100, 100, n), pa.timestamp("us", tz="UTC")),
            "y": pa.array(rng.integers(0, 2, n)),
        }
    )
    return profile_table(table, ProfileOptions(label="y", reference_time="p"))


def test_codec_round_trips_through_json() -> None:
    prof = _rich_profile()
    prof.source = {"path": "data/x.parquet", "size_bytes": 12}
    encoded = json.dumps(profile_to_dict(prof), allow_nan=False)
    decoded = profile_from_dict(json.loads(encoded))
    assert decoded == prof
    assert list(decoded.columns) == list(prof.columns)
    cats = decoded.columns["s"].categories
    assert cats is not None
    assert cats.truncated
    numeric = decoded.columns["x"].numeric
    assert numeric is not None
    assert all(isinstance(k, int) for k in numeric.pos)
    assert all(isinstance(k, str) for k in json.loads(encoded)["columns"][0]["numeric"]["pos"])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(format="other/9"),
        lambda d: d["columns"][0].pop("nulls"),
        lambda d: d["columns"][0].update(count=True),
        lambda d: d["columns"][0].update(logical="complex"),
        lambda d: d["columns"][0]["numeric"]["pos"].update({"x": 1}),
        lambda d: d.update(columns=None),
    ],
    ids=["format", "missing-field", "bool-count", "logical", "bucket-key", "columns"],
)
def test_codec_refuses_malformed_profiles(mutate: Any) -> None:
    d = profile_to_dict(profile_table(pa.table({"x": [1.0, 2.0]})))
    mutate(d)
    with pytest.raises(ValidationError) as err:
        profile_from_dict(d)
    assert err.value.reason is Reason.INVALID_VALUE


def test_codec_refuses_non_mappings() -> None:
    with pytest.raises(ValidationError) as err:
        profile_from_dict([1, 2])
    assert err.value.reason is Reason.INVALID_VALUE


# -- truncation ----------------------------------------------------------------------------------


def test_a_million_distinct_categories_stay_bounded() -> None:
    ids = pa.array(np.char.add("id", np.arange(1_000_000).astype(str)))
    hot = pa.array(np.char.add("hot", (np.arange(100_000) % TOP_K).astype(str)))
    rng = np.random.default_rng(0)
    values = pa.concat_arrays([ids, hot]).take(rng.permutation(1_100_000))
    prof = profile_table(pa.table({"s": values}))
    cats = prof.columns["s"].categories
    assert cats is not None
    assert cats.truncated
    assert len(cats.counts) == TOP_K
    assert cats.counts == {f"hot{i}": 100 for i in range(TOP_K)}  # the heavy hitters survive
    assert cats.other == 1_000_000
    assert abs(cats.distinct - 1_001_000) <= 0.02 * 1_001_000


def test_category_merge_truncates_past_max_categories() -> None:
    a = CategorySummary({f"a{i}": 2 for i in range(MAX_CATEGORIES)})
    b = CategorySummary({f"b{i}": 1 for i in range(10)} | {"a0": 5})
    merged = a.merge(b)
    assert merged.truncated
    assert len(merged.counts) == TOP_K
    assert merged.counts["a0"] == 7
    assert sum(merged.counts.values()) + merged.other == 2 * MAX_CATEGORIES + 15
    assert merged.distinct == MAX_CATEGORIES + 10
    small = CategorySummary({"x": 1}).merge(CategorySummary({"x": 2, "y": 1}))
    assert small == CategorySummary({"x": 3, "y": 1})
    assert small.distinct == 2


# -- sketch --------------------------------------------------------------------------------------


def _summary(values: list[float]) -> NumericSummary:
    """A NumericSummary built with the scalar formulas only (no engine)."""
    s = NumericSummary(n=len(values), min=min(values), max=max(values))
    for v in values:
        if abs(v) < MIN_MAGNITUDE:
            s.zero += 1
        else:
            side = s.pos if v > 0 else s.neg
            side[bucket_index(v)] = side.get(bucket_index(v), 0) + 1
    return s


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), min_size=1, max_size=300
    ),
    q=st.floats(min_value=0, max_value=1),
)
def test_sketch_quantiles_are_within_alpha_of_numpy(values: list[float], q: float) -> None:
    got = _summary(values).quantile(q)
    want = float(np.quantile(np.array(values), q, method="lower"))
    assert got is not None
    assert abs(got - want) <= ALPHA * abs(want) * (1 + 1e-12) + MIN_MAGNITUDE


@pytest.mark.parametrize("dist", ["lognormal", "normal", "uniform"])
def test_engine_quantiles_are_within_alpha_of_numpy(dist: str) -> None:
    rng = np.random.default_rng(9)
    values = getattr(rng, dist)(size=200_000)
    num = profile_table(pa.table({"x": values})).columns["x"].numeric
    assert num is not None
    for q in np.linspace(0, 1, 41):
        got = num.quantile(float(q))
        want = float(np.quantile(values, q, method="lower"))
        assert got is not None
        assert abs(got - want) <= ALPHA * abs(want) * (1 + 1e-12) + MIN_MAGNITUDE, q


@settings(max_examples=300, deadline=None)
@given(v=st.floats(min_value=MIN_MAGNITUDE, max_value=1e300))
def test_bucket_index_matches_its_bounds(v: float) -> None:
    lo, hi = bucket_bounds(bucket_index(v))
    assert lo * (1 - 1e-12) < v <= hi * (1 + 1e-12)
    assert bucket_index(-v) == bucket_index(v)


def test_empty_summaries_and_label_stats() -> None:
    assert NumericSummary().quantile(0.5) is None
    assert NumericSummary().variance is None
    one = _summary([5.0])
    assert one.merge(NumericSummary()) == one
    assert NumericSummary().merge(one) == one
    assert LabelStats().correlation() is None
    assert LabelStats(3, 3.0, 1.0, 3.0, 1.0, 1.0).correlation() is None  # constant feature
    assert math.isclose(GAMMA, (1 + ALPHA) / (1 - ALPHA))
