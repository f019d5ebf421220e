"""Drift statistics vs exact scipy on fixtures, within stated tolerances; decisions; edge cases.

Tolerances (also in ``airel.domain.data.drift``):
* KS D on the bucket grid: ``D_grid <= D_exact <= D_grid + ks_error`` always (a property
  test), and ``|D_grid - D_exact| <= KS_TOLERANCE`` (0.02) on smooth fixtures.
* Wasserstein-1: ``|W_grid - W_exact| <= wasserstein_error`` (= ALPHA·(E|X_ref| + E|X_cur|))
  always, and within ``WASSERSTEIN_TOLERANCE`` (2·ALPHA) relative on the fixtures.
* JS, PSI, L∞, chi-square statistic and p-value on categories: exact to 1e-9 relative (the
  same counts go in); numeric PSI/JS on sketch deciles vs exact-decile PSI/JS: 0.02 absolute.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

import peer_data
from airel.adapters.arrow.engine import profile_table
from airel.domain.data.drift import (
    DRIFT_DEFAULTS,
    KS_TOLERANCE,
    WASSERSTEIN_TOLERANCE,
    DriftStatus,
    DriftThresholds,
    category_vectors,
    compare_categorical,
    compare_columns,
    compare_numeric,
    decile_bins,
    js_distance,
    psi,
)
from airel.domain.data.profile import (
    LOG_GAMMA,
    MIN_MAGNITUDE,
    CategorySummary,
    ColumnProfile,
    LogicalType,
    NumericSummary,
)

PSI_EXACT_TOLERANCE = 0.02  # sketch-decile PSI/JS vs exact-decile PSI/JS, absolute
TRUE_DRIFT = {"num_03", "num_11", "num_22", "cat_2", "cat_7"}


def numeric_column(values: Any, name: str = "x") -> ColumnProfile:
    """Profile float values by the documented semantics, in numpy (independent of any engine).

    NaN/None -> NULL, ±inf counted apart, bucket ``ceil(log|v| / LOG_GAMMA)`` split by sign.
    """
    x = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    null = np.isnan(x)
    finite = x[np.isfinite(x)]
    s = NumericSummary()
    if len(finite):
        mean = float(finite.mean())
        s = NumericSummary(
            n=len(finite),
            min=float(finite.min()),
            max=float(finite.max()),
            mean=mean,
            m2=float(((finite - mean) ** 2).sum()),
        )
        mag = np.abs(finite)
        small = mag < MIN_MAGNITUDE
        s.zero = int(small.sum())
        idx = np.ceil(np.log(np.where(small, 1.0, mag)) / LOG_GAMMA).astype(np.int64)
        for side, out in ((finite > 0, s.pos), (finite < 0, s.neg)):
            keys, counts = np.unique(idx[side & ~small], return_counts=True)
            out.update({int(k): int(c) for k, c in zip(keys, counts, strict=True)})
    return ColumnProfile(
        name,
        LogicalType.FLOAT,
        "double",
        count=len(x),
        nulls=int(null.sum()),
        nans=int(null.sum()),
        pos_inf=int(np.isposinf(x).sum()),
        neg_inf=int(np.isneginf(x).sum()),
        numeric=s,
    )


def category_column(values: Any, name: str = "x") -> ColumnProfile:
    """Profile string/bool values by the documented semantics (independent of any engine)."""
    items = ["true" if v is True else "false" if v is False else v for v in values]
    counts = Counter(v for v in items if v is not None)
    logical = LogicalType.BOOL if any(isinstance(v, bool) for v in values) else LogicalType.STRING
    return ColumnProfile(
        name,
        logical,
        logical.value,
        count=len(items),
        nulls=sum(v is None for v in items),
        categories=CategorySummary(dict(counts)),
    )


def col(values: Any, name: str = "x") -> ColumnProfile:
    """A numeric or categorical column profile, by the values' type."""
    values = list(values)
    sample = next((v for v in values if v is not None), 0.0)
    if isinstance(sample, (str, bool, np.str_, np.bool_)):
        return category_column([v.item() if isinstance(v, np.generic) else v for v in values], name)
    return numeric_column(values, name)


def exact_decile_psi_js(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    edges = np.unique(np.quantile(a, np.linspace(0.1, 0.9, 9)))
    ra = np.bincount(np.searchsorted(edges, a, side="left"), minlength=len(edges) + 1)
    rb = np.bincount(np.searchsorted(edges, b, side="left"), minlength=len(edges) + 1)
    return psi(ra, rb), float(jensenshannon(ra, rb))


Draw = Callable[[np.random.Generator], np.ndarray]
FIXTURES: dict[str, tuple[Draw, Draw]] = {
    "normal_same": (lambda r: r.normal(0, 1, 20_000), lambda r: r.normal(0, 1, 20_000)),
    "normal_shift": (lambda r: r.normal(50, 10, 20_000), lambda r: r.normal(55, 10, 20_000)),
    "lognormal_scale": (
        lambda r: r.lognormal(3, 0.5, 20_000),
        lambda r: r.lognormal(3, 0.5, 20_000) * 1.35,
    ),
    "mixed_sign": (lambda r: r.laplace(0, 2, 20_000), lambda r: r.laplace(0.3, 2, 20_000)),
    "negative": (lambda r: r.normal(-20, 3, 20_000), lambda r: r.normal(-20, 3.5, 20_000)),
}


@pytest.mark.parametrize("fixture", sorted(FIXTURES))
def test_numeric_statistics_match_scipy(fixture: str) -> None:
    rng = np.random.default_rng(7)
    make_a, make_b = FIXTURES[fixture]
    a, b = make_a(rng), make_b(rng)
    r = compare_numeric(col(a), col(b))
    assert r.ks is not None
    assert r.ks_error is not None
    assert r.wasserstein is not None
    assert r.wasserstein_error is not None
    d_exact = ks_2samp(a, b, method="asymp").statistic
    assert r.ks <= d_exact + 1e-12
    assert d_exact <= r.ks + r.ks_error + 1e-12
    assert abs(r.ks - d_exact) <= KS_TOLERANCE
    w_exact = wasserstein_distance(a, b)
    assert abs(r.wasserstein - w_exact) <= r.wasserstein_error + 1e-9
    assert abs(r.wasserstein - w_exact) <= WASSERSTEIN_TOLERANCE * max(w_exact, np.abs(a).mean())
    assert r.wasserstein_sd == pytest.approx(r.wasserstein / a.std(), rel=1e-9)
    exact_psi, exact_js = exact_decile_psi_js(a, b)
    assert r.psi == pytest.approx(exact_psi, abs=PSI_EXACT_TOLERANCE)
    assert r.js == pytest.approx(exact_js, abs=PSI_EXACT_TOLERANCE)
    assert r.bins == 10


def test_numeric_decisions() -> None:
    rng = np.random.default_rng(1)
    same = compare_numeric(col(rng.normal(0, 1, 50_000)), col(rng.normal(0, 1, 50_000)))
    assert same.status is DriftStatus.STABLE
    assert same.fired == ()
    shifted = compare_numeric(col(rng.normal(0, 1, 50_000)), col(rng.normal(0.5, 1, 50_000)))
    assert shifted.status is DriftStatus.DRIFT
    assert set(shifted.fired) == {"psi", "ks_wasserstein"}
    # 0.15 sd: KS ≈ 0.06 — measurable, not drift by the effect-size rules
    small = compare_numeric(col(rng.normal(0, 1, 50_000)), col(rng.normal(0.15, 1, 50_000)))
    assert small.status is DriftStatus.STABLE
    assert small.chi2_p is None  # numeric results carry no p-value


def test_per_column_thresholds_change_the_decision() -> None:
    rng = np.random.default_rng(2)
    a, b = col(rng.normal(0, 1, 20_000)), col(rng.normal(0.15, 1, 20_000))
    strict = DriftThresholds(psi=0.01)
    assert compare_numeric(a, b, strict).fired == ("psi",)
    loose = DriftThresholds().with_overrides({"psi": 5.0, "ks": None})
    assert loose.psi == 5.0
    assert loose.ks == DRIFT_DEFAULTS["ks"]


def test_min_samples_gives_inconclusive_never_stable() -> None:
    rng = np.random.default_rng(3)
    r = compare_numeric(col(rng.normal(0, 1, 99)), col(rng.normal(5, 1, 10_000)))
    assert r.status is DriftStatus.INCONCLUSIVE
    assert r.psi is None
    empty = col([])
    assert compare_numeric(empty, col(rng.normal(0, 1, 500))).status is DriftStatus.INCONCLUSIVE
    nulls = numeric_column([None] * 500)
    assert compare_numeric(col(rng.normal(0, 1, 500)), nulls).status is DriftStatus.INCONCLUSIVE
    cats = col(["a"] * 50)
    assert compare_categorical(cats, col(["a"] * 500)).status is DriftStatus.INCONCLUSIVE


def test_constant_reference() -> None:
    ref = col(np.full(1000, 3.0))
    moved = compare_numeric(ref, col(np.full(1000, 4.0)))
    assert moved.status is DriftStatus.DRIFT
    assert moved.wasserstein_sd == math.inf
    assert moved.to_dict()["wasserstein_sd"] is None  # JSON-able
    same = compare_numeric(ref, col(np.full(1000, 3.0)))
    assert same.status is DriftStatus.STABLE
    assert same.wasserstein_sd == 0.0


def test_discrete_ints_ks_is_exact() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.poisson(3, 20_000), rng.poisson(3.6, 20_000)
    r = compare_numeric(col(a), col(b))
    assert r.ks == pytest.approx(ks_2samp(a, b, method="asymp").statistic, abs=1e-12)
    assert r.bins is not None
    assert r.bins < 10  # heavy buckets collapse decile cuts


def test_decile_bins_are_open_ended_and_nonempty() -> None:
    counts = np.array([0, 0, 5, 10, 0, 20, 30, 40, 0, 0], dtype=np.float64)
    bins = decile_bins(counts)
    assert bins[0][0] == 0
    assert bins[-1][1] == len(counts)
    assert all(counts[a:b].sum() > 0 for a, b in bins)
    assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(bins))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["normal", "lognormal", "ints", "mixed"]),
    st.floats(-2, 2),
    st.integers(200, 3000),
)
def test_ks_and_wasserstein_error_bounds_hold(seed: int, kind: str, shift: float, n: int) -> None:
    rng = np.random.default_rng(seed)

    def draw(delta: float) -> np.ndarray:
        if kind == "normal":
            return rng.normal(delta, 1, n)
        if kind == "lognormal":
            return rng.lognormal(delta, 1, n)
        if kind == "ints":
            return rng.integers(-5, 6, n).astype(np.float64) + round(delta)
        return np.concatenate([rng.normal(-3 + delta, 1, n // 2), rng.normal(3, 0.1, n - n // 2)])

    a, b = draw(0.0), draw(shift)
    r = compare_numeric(col(a), col(b))
    assert r.ks is not None
    assert r.ks_error is not None
    assert r.wasserstein is not None
    assert r.wasserstein_error is not None
    d_exact = ks_2samp(a, b, method="asymp").statistic
    assert r.ks <= d_exact + 1e-9
    assert d_exact <= r.ks + r.ks_error + 1e-9
    w_exact = wasserstein_distance(a, b)
    assert abs(r.wasserstein - w_exact) <= r.wasserstein_error * (1 + 1e-9) + 1e-9


def _categorical_pair() -> tuple[ColumnProfile, ColumnProfile, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    cats = [f"c{i}" for i in range(30)]
    p = 1 / np.arange(1, 31) ** 1.1
    p /= p.sum()
    q = p.copy()
    q[20:] *= 3
    q /= q.sum()
    a = rng.choice(cats, 30_000, p=p)
    b = rng.choice(cats, 30_000, p=q)
    b[:40] = "brand_new"
    return col(list(a)), col(list(b)), a, b


def test_categorical_statistics_match_scipy() -> None:
    ref, cur, a, b = _categorical_pair()
    r = compare_categorical(ref, cur)
    keys = sorted(set(a) | set(b))
    ca = np.array([np.sum(a == k) for k in keys], dtype=np.float64)
    cb = np.array([np.sum(b == k) for k in keys], dtype=np.float64)
    stat, p_value, dof, _ = chi2_contingency(np.vstack([ca, cb]), correction=False)
    assert r.chi2 == pytest.approx(stat, rel=1e-9)
    assert r.chi2_p == pytest.approx(p_value, rel=1e-6, abs=1e-300)
    assert r.chi2_dof == dof
    assert r.js == pytest.approx(float(jensenshannon(ca, cb)), rel=1e-9)
    assert r.linf == pytest.approx(float(np.abs(ca / ca.sum() - cb / cb.sum()).max()), rel=1e-9)
    pa_ = np.clip(ca / ca.sum(), 1e-4, None)
    pb = np.clip(cb / cb.sum(), 1e-4, None)
    assert r.psi == pytest.approx(float(np.sum((pb - pa_) * np.log(pb / pa_))), rel=1e-9)


def _counts(values: np.ndarray) -> ColumnProfile:
    keys, counts = np.unique(values, return_counts=True)
    cats = CategorySummary({str(k): int(c) for k, c in zip(keys, counts, strict=True)})
    return ColumnProfile("x", LogicalType.STRING, "string", len(values), categories=cats)


def test_categorical_decisions_ignore_p_values() -> None:
    ref, cur, _, _ = _categorical_pair()
    r = compare_categorical(ref, cur)
    assert r.chi2_p is not None
    assert r.chi2_p < 1e-10  # "significant" …
    assert r.status is DriftStatus.DRIFT  # … but decided by PSI/JS
    rng = np.random.default_rng(6)
    cats = np.array(["a", "b", "c"])
    a = rng.choice(cats, 1_000_000, p=[0.5, 0.3, 0.2])
    b = rng.choice(cats, 1_000_000, p=[0.497, 0.303, 0.2])
    tiny = compare_categorical(_counts(a), _counts(b))
    assert tiny.chi2_p is not None
    assert tiny.chi2_p < 0.01  # a p-value rule would flag this
    assert tiny.status is DriftStatus.STABLE


def test_truncated_categories_use_the_other_bucket() -> None:
    ref = col(["a"] * 300 + ["b"] * 300)
    cur = col(["a"] * 300 + ["b"] * 300)
    assert ref.categories is not None
    assert cur.categories is not None
    cur.categories = cur.categories.truncate()
    ref.categories.other = 100
    ref.categories.truncated = True
    keys, r, c = category_vectors(ref.categories, cur.categories)
    assert keys[-1] == "\x00other"
    assert r[-1] == 100
    assert c[-1] == 0
    assert compare_categorical(ref, cur).n_ref == 700


def test_js_and_psi_of_identical_counts_are_zero() -> None:
    assert js_distance([1, 2, 3], [2, 4, 6]) == 0.0
    assert psi([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-15)
    assert js_distance([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))


def test_compare_columns_dispatches_by_type() -> None:
    assert compare_columns(col(["a"] * 200), col(["a"] * 200)) is not None
    assert compare_columns(col([True] * 200), col([False] * 200)) is not None
    other = profile_table(pa.table({"x": pa.array([[1], [2]])})).columns["x"]
    assert other.logical is LogicalType.OTHER
    assert compare_columns(other, other) is None


# ---------------------------------------------------------------------------------------------
# The peer benchmark's shifts: 5/5 drifted columns, 0 false positives, default thresholds
# ---------------------------------------------------------------------------------------------


def compact_bench_table(n: int, seed: int, current: bool) -> pa.Table:
    """The same kinds of shifts as tests/peer_data.py on fewer columns."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {
        "num_00": rng.normal(0, 1, n),
        "num_02": rng.lognormal(0, 1, n),
        "num_03": rng.normal(50 + (5.0 if current else 0.0), 10, n),  # +0.5 sd
        "num_07": rng.uniform(0, 100, n),
        "num_09": rng.poisson(3, n).astype(np.float64),
        "num_10": np.where(rng.random(n) < 0.4, rng.normal(-2, 0.5, n), rng.normal(3, 1, n)),
        "num_11": rng.lognormal(3, 0.5, n) * (1.35 if current else 1.0),  # scale
        "num_19": rng.pareto(3, n) + 1,
        "num_22": rng.gamma(5, 1, n) + (1.2 if current else 0.0),  # +0.54 sd
        "num_26": rng.normal(0, 0.01, n),
    }
    if current:
        cols["num_07"][:100] = 150.0
    for j, k in ((0, 5), (2, 12), (4, 35), (7, 200), (9, 500)):
        p = 1.0 / np.arange(1, k + 1) ** 1.1
        p /= p.sum()
        if current and j == 2:
            p = p[::-1].copy()  # mix reversed
        if current and j == 7:
            p[100:] *= 8.0  # mass moved to the tail
            p /= p.sum()
        codes = rng.choice(k, size=n, p=p)
        values = np.array([f"cat_{j}_v{v:03d}" for v in range(k)], dtype=object)[codes]
        if current and j == 4:
            values[:200] = "cat_4_UNSEEN"
        cols[f"cat_{j}"] = pa.array(values, pa.string())
    return pa.table(cols)


def _flagged(ref: pa.Table, cur: pa.Table) -> set[str]:
    rp, cp = profile_table(ref), profile_table(cur)
    flagged = set()
    for name in rp.columns:
        result = compare_columns(rp.columns[name], cp.columns[name])
        assert result is not None
        assert result.status is not DriftStatus.INCONCLUSIVE
        if result.drifted:
            flagged.add(name)
    return flagged


def test_default_thresholds_on_compact_benchmark_shifts() -> None:
    n = 50_000
    flagged = _flagged(compact_bench_table(n, 1234, False), compact_bench_table(n, 5678, True))
    assert flagged == TRUE_DRIFT


def test_default_thresholds_on_peer_benchmark_generator() -> None:
    """All 40 columns of the peer benchmark's layout (tests/peer_data.py), with its missing,
    out-of-range and unseen values injected too: only the 5 drifted columns are flagged."""
    n = 50_000
    flagged = _flagged(peer_data.make_table(n, 1234, False), peer_data.make_table(n, 5678, True))
    assert flagged == TRUE_DRIFT == set(peer_data.GROUND_TRUTH["drift"])
    # 5/5 found, 0 false positives among 35 columns
