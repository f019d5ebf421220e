"""Dataset profiles (V1, V4): one pass, mergeable, reference-independent column summaries.

A profile is computed once per dataset version by any engine (Arrow/DuckDB on one machine,
Spark on many) and merged across row groups, chunks or tasks by plain addition. Profiles do
not depend on a reference: bins, quantiles and drift statistics are derived from each side's
sketch when two profiles are compared, so validating ten candidates against one stored
reference re-reads only the candidates.

Numeric columns keep exact counts, min/max and moments (Chan's parallel mean/M2 merge) plus a
log-bucket quantile sketch (DDSketch layout, relative accuracy ``ALPHA``): bucket ``i`` holds
values ``v`` with ``GAMMA**(i-1) < |v| <= GAMMA**i``; its mass is what PSI, Jensen–Shannon,
Kolmogorov–Smirnov and Wasserstein distances are computed from. Categorical columns keep
exact counts up to ``MAX_CATEGORIES`` distinct values, then the top values plus an "other"
bucket and a distinct-count estimate. NaN is counted as NULL on every engine (``nans`` tells
how many NULLs were NaN); ±inf are counted and kept out of the moments and the sketch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from airel.errors import Reason, ValidationError

ALPHA = 0.01  # relative accuracy of the quantile sketch
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LOG_GAMMA = math.log(GAMMA)
MIN_MAGNITUDE = 1e-12  # |v| below this counts as zero
MAX_CATEGORIES = 10_000  # exact category counts up to this many distinct values
TOP_K = 1_000  # categories kept after truncation
PROFILE_FORMAT = "airel-profile/1"


class LogicalType(StrEnum):
    """The logical type of a profiled column (what checks reason about)."""

    INT = "int"  # integers of any width
    FLOAT = "float"  # floating point (NaN counted as NULL)
    BOOL = "bool"  # booleans, profiled as categories "true"/"false"
    STRING = "string"  # strings and dictionary-encoded strings, profiled as categories
    TIMESTAMP = "timestamp"  # timestamps (epoch microseconds); tz recorded separately
    DATE = "date"  # calendar dates (epoch days)
    OTHER = "other"  # nested, binary …: counted, not summarised

    @property
    def numeric(self) -> bool:
        """Profiled with moments and a quantile sketch."""
        return self in (LogicalType.INT, LogicalType.FLOAT)

    @property
    def categorical(self) -> bool:
        """Profiled with category counts."""
        return self in (LogicalType.STRING, LogicalType.BOOL)


def bucket_index(value: float) -> int:
    """The sketch bucket of a non-zero magnitude (numpy engines vectorise the same formula)."""
    return math.ceil(math.log(abs(value)) / LOG_GAMMA)


def bucket_bounds(index: int) -> tuple[float, float]:
    """(lower, upper] magnitude bounds of a bucket."""
    return GAMMA ** (index - 1), GAMMA**index


@dataclass
class NumericSummary:
    """Mergeable summary of a numeric (or timestamp) column's finite values."""

    n: int = 0  # finite values
    min: float | None = None
    max: float | None = None
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    zero: int = 0  # |v| < MIN_MAGNITUDE
    pos: dict[int, int] = field(default_factory=dict)  # bucket -> count, v > 0
    neg: dict[int, int] = field(default_factory=dict)  # bucket -> count, v < 0

    @property
    def variance(self) -> float | None:
        """Population variance of the finite values."""
        return self.m2 / self.n if self.n else None

    def merge(self, other: NumericSummary) -> NumericSummary:
        """Combine two summaries (Chan et al. for mean and M2; sketches add)."""
        if other.n == 0:
            return self.copy()
        if self.n == 0:
            return other.copy()
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        pos = dict(self.pos)
        for k, v in other.pos.items():
            pos[k] = pos.get(k, 0) + v
        neg = dict(self.neg)
        for k, v in other.neg.items():
            neg[k] = neg.get(k, 0) + v
        return NumericSummary(
            n=n,
            min=_opt_min(self.min, other.min),
            max=_opt_max(self.max, other.max),
            mean=mean,
            m2=m2,
            zero=self.zero + other.zero,
            pos=pos,
            neg=neg,
        )

    def copy(self) -> NumericSummary:
        """A copy that shares nothing mutable."""
        return NumericSummary(
            self.n,
            self.min,
            self.max,
            self.mean,
            self.m2,
            self.zero,
            dict(self.pos),
            dict(self.neg),
        )

    def cdf_points(self) -> list[tuple[float, int]]:
        """(upper edge, count) of every non-empty bucket in ascending value order."""
        points: list[tuple[float, int]] = []
        for idx in sorted(self.neg, reverse=True):  # most negative first
            points.append((-bucket_bounds(idx)[0], self.neg[idx]))
        if self.zero:
            points.append((0.0, self.zero))
        for idx in sorted(self.pos):
            points.append((bucket_bounds(idx)[1], self.pos[idx]))
        return points

    def quantile(self, q: float) -> float | None:
        """Approximate quantile, clamped to [min, max].

        Returns the value of rank ``floor(q * (n - 1))`` (numpy's ``method="lower"``) to within
        relative error ``ALPHA``: a bucket is represented by ``2 * GAMMA**i / (GAMMA + 1)``, the
        point whose relative distance to both bucket edges is exactly ``ALPHA`` (DDSketch).
        Values with ``|v| < MIN_MAGNITUDE`` are represented by 0.
        """
        if self.n == 0 or self.min is None or self.max is None:
            return None
        rank = math.floor(q * (self.n - 1))
        seen = 0
        for value, count in self._representatives():
            seen += count
            if seen > rank:
                return min(max(value, self.min), self.max)
        return self.max

    def _representatives(self) -> list[tuple[float, int]]:
        """(representative value, count) of every non-empty bucket in ascending value order."""
        scale = 2.0 / (GAMMA + 1.0)
        points: list[tuple[float, int]] = [
            (-(GAMMA**idx) * scale, self.neg[idx]) for idx in sorted(self.neg, reverse=True)
        ]
        if self.zero:
            points.append((0.0, self.zero))
        points.extend((GAMMA**idx * scale, self.pos[idx]) for idx in sorted(self.pos))
        return points


@dataclass
class CategorySummary:
    """Mergeable category counts: exact up to MAX_CATEGORIES, then top-k + other."""

    counts: dict[str, int] = field(default_factory=dict)
    other: int = 0  # values folded into "other" after truncation
    truncated: bool = False
    distinct_estimate: int | None = None  # set once truncated (HLL), else len(counts)

    @property
    def distinct(self) -> int:
        """Distinct non-null values (exact unless truncated)."""
        if self.truncated and self.distinct_estimate is not None:
            return self.distinct_estimate
        return len(self.counts)

    def merge(self, other: CategorySummary) -> CategorySummary:
        """Add counts; truncate to the top TOP_K when the union grows past MAX_CATEGORIES."""
        counts = dict(self.counts)
        for k, v in other.counts.items():
            counts[k] = counts.get(k, 0) + v
        merged = CategorySummary(
            counts=counts,
            other=self.other + other.other,
            truncated=self.truncated or other.truncated,
            distinct_estimate=_opt_max_int(self.distinct_estimate, other.distinct_estimate),
        )
        return merged.truncate() if len(counts) > MAX_CATEGORIES else merged

    def truncate(self) -> CategorySummary:
        """Keep the TOP_K most frequent values; fold the rest into ``other``."""
        ordered = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = dict(ordered[:TOP_K])
        folded = sum(v for _, v in ordered[TOP_K:])
        estimate = max(self.distinct_estimate or 0, len(self.counts))
        return CategorySummary(kept, self.other + folded, True, estimate)


@dataclass
class LabelStats:
    """Mergeable co-moments of a numeric feature with a 0/1 label (leakage by correlation)."""

    n: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0

    def merge(self, o: LabelStats) -> LabelStats:
        """Sums add."""
        return LabelStats(
            self.n + o.n,
            self.sx + o.sx,
            self.sy + o.sy,
            self.sxx + o.sxx,
            self.syy + o.syy,
            self.sxy + o.sxy,
        )

    def correlation(self) -> float | None:
        """Pearson (point-biserial) correlation, or None when undefined."""
        if self.n < 2:
            return None
        vx = self.sxx - self.sx * self.sx / self.n
        vy = self.syy - self.sy * self.sy / self.n
        if vx <= 0 or vy <= 0:
            return None
        return (self.sxy - self.sx * self.sy / self.n) / math.sqrt(vx * vy)


@dataclass
class ColumnProfile:
    """Everything one pass learns about one column."""

    name: str
    logical: LogicalType
    physical: str  # the engine's type name, e.g. "double", "dictionary<string>"
    count: int = 0  # rows
    nulls: int = 0  # NULLs, including NaN
    nans: int = 0  # of which NaN
    pos_inf: int = 0
    neg_inf: int = 0
    invalid: int = 0  # values that could not be decoded (e.g. non-UTF-8 bytes)
    tz: str | None = None  # timestamp time zone; None = naive
    numeric: NumericSummary | None = None  # INT, FLOAT, TIMESTAMP, DATE
    categories: CategorySummary | None = None  # STRING, BOOL
    label: LabelStats | None = None  # numeric features when the spec names a label
    label_by_category: dict[str, list[int]] | None = None  # category -> [rows, positives]
    after_reference_time: int = 0  # TIMESTAMP: rows later than the spec's prediction time

    @property
    def missing_rate(self) -> float:
        """NULL (incl. NaN) share of rows; 0 for an empty column."""
        return self.nulls / self.count if self.count else 0.0

    def merge(self, o: ColumnProfile) -> ColumnProfile:
        """Combine two profiles of the same column from disjoint row sets."""
        lbc: dict[str, list[int]] | None = None
        if self.label_by_category is not None or o.label_by_category is not None:
            lbc = {k: list(v) for k, v in (self.label_by_category or {}).items()}
            for k, (rows, pos) in (o.label_by_category or {}).items():
                acc = lbc.setdefault(k, [0, 0])
                acc[0] += rows
                acc[1] += pos
        return ColumnProfile(
            name=self.name,
            logical=self.logical,
            physical=self.physical
            if self.physical == o.physical
            else f"{self.physical}|{o.physical}",
            count=self.count + o.count,
            nulls=self.nulls + o.nulls,
            nans=self.nans + o.nans,
            pos_inf=self.pos_inf + o.pos_inf,
            neg_inf=self.neg_inf + o.neg_inf,
            invalid=self.invalid + o.invalid,
            tz=self.tz if self.tz == o.tz else self.tz or o.tz,
            numeric=_merge_opt(self.numeric, o.numeric),
            categories=_merge_opt(self.categories, o.categories),
            label=_merge_opt(self.label, o.label),
            label_by_category=lbc,
            after_reference_time=self.after_reference_time + o.after_reference_time,
        )


@dataclass
class Profile:
    """A dataset's profile: rows plus one ColumnProfile per column, in file order."""

    rows: int
    columns: dict[str, ColumnProfile]
    engine: str = ""
    source: dict[str, Any] = field(default_factory=dict)  # path/digest/format, for evidence

    def merge(self, other: Profile) -> Profile:
        """Combine profiles of disjoint parts of one dataset (same columns)."""
        names = list(self.columns) + [n for n in other.columns if n not in self.columns]
        merged: dict[str, ColumnProfile] = {}
        for name in names:
            a, b = self.columns.get(name), other.columns.get(name)
            if a is not None and b is not None:
                merged[name] = a.merge(b)
            elif a is not None:
                merged[name] = a
            elif b is not None:
                merged[name] = b
        return Profile(self.rows + other.rows, merged, self.engine or other.engine, self.source)


def _opt_min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _opt_max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _opt_max_int(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _merge_opt(a: Any, b: Any) -> Any:
    if a is None:
        return b.copy() if hasattr(b, "copy") else b
    if b is None:
        return a.copy() if hasattr(a, "copy") else a
    return a.merge(b)


# -- JSON codec (profiles are stored as evidence and cached as reference profiles) --


def profile_to_dict(p: Profile) -> dict[str, Any]:
    """A JSON-able dict (bucket keys become strings); inverse of :func:`profile_from_dict`."""
    return {
        "format": PROFILE_FORMAT,
        "rows": p.rows,
        "engine": p.engine,
        "source": dict(p.source),
        "columns": [_column_to_dict(c) for c in p.columns.values()],
    }


def profile_from_dict(d: Any) -> Profile:
    """Rebuild a profile from :func:`profile_to_dict` output; a wrong shape is a ValidationError."""
    if not isinstance(d, dict) or d.get("format") != PROFILE_FORMAT:
        found = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"not an airel profile: format {found!r}, expected {PROFILE_FORMAT!r}",
            fix="pass a profile written by airel (profile_to_dict / `airel profile --json`)",
        )
    try:
        columns = [_column_from_dict(c) for c in d["columns"]]
        return Profile(
            rows=_int(d["rows"]),
            columns={c.name: c for c in columns},
            engine=str(d.get("engine", "")),
            source=dict(d.get("source") or {}),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"malformed airel profile: {type(exc).__name__}: {exc}",
            fix="re-create the profile; stored profiles are never edited by hand",
        ) from exc


_INT_FIELDS = ("count", "nulls", "nans", "pos_inf", "neg_inf", "invalid", "after_reference_time")


def _column_to_dict(c: ColumnProfile) -> dict[str, Any]:
    d = asdict(c)
    d["logical"] = c.logical.value
    if c.numeric is not None:
        d["numeric"]["pos"] = {str(k): v for k, v in sorted(c.numeric.pos.items())}
        d["numeric"]["neg"] = {str(k): v for k, v in sorted(c.numeric.neg.items())}
    return d


def _column_from_dict(d: dict[str, Any]) -> ColumnProfile:
    num, cat, lab, lbc = d["numeric"], d["categories"], d["label"], d["label_by_category"]
    return ColumnProfile(
        name=str(d["name"]),
        logical=LogicalType(d["logical"]),
        physical=str(d["physical"]),
        tz=None if d["tz"] is None else str(d["tz"]),
        **{k: _int(d[k]) for k in _INT_FIELDS},
        numeric=None
        if num is None
        else NumericSummary(
            n=_int(num["n"]),
            min=None if num["min"] is None else float(num["min"]),
            max=None if num["max"] is None else float(num["max"]),
            mean=float(num["mean"]),
            m2=float(num["m2"]),
            zero=_int(num["zero"]),
            pos={int(k): _int(v) for k, v in num["pos"].items()},
            neg={int(k): _int(v) for k, v in num["neg"].items()},
        ),
        categories=None
        if cat is None
        else CategorySummary(
            counts={str(k): _int(v) for k, v in cat["counts"].items()},
            other=_int(cat["other"]),
            truncated=bool(cat["truncated"]),
            distinct_estimate=None
            if cat["distinct_estimate"] is None
            else _int(cat["distinct_estimate"]),
        ),
        label=None
        if lab is None
        else LabelStats(_int(lab["n"]), **{k: float(v) for k, v in lab.items() if k != "n"}),
        label_by_category=None
        if lbc is None
        else {str(k): [_int(v[0]), _int(v[1])] for k, v in lbc.items()},
    )


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, got {type(v).__name__}")
    return v
