"""The Spark engine's jobs: three aggregations that build a Profile from a DataFrame.

Loaded by ``airel.adapters.spark.engine`` only when a Spark profile is asked for (this module
imports pyspark at the top). Three jobs, whatever the number of columns:

1. one ``df.agg(...)`` pass: rows, NULLs (NULL or NaN), NaNs, ±inf, invalid UTF-8, and per
   numeric column ``count``/``min``/``max``/``avg``/``var_pop`` of the finite values, the label
   check (values other than 0/1), label co-moments (conditional sums) and the
   after-reference-time counts (conditional counts);
2. the sketch: every finite numeric value exploded to ``(column, sign, bucket)`` and counted by
   ``groupBy`` (one bigint key per value: ``airel.adapters.spark.columns.sketch_key``);
3. the categories: every category value exploded to ``(column, key)`` and counted by ``groupBy``
   (with the label's rows/positives per category), then ranked per column by
   ``(count desc, key asc)`` so only what ``CategorySummary`` keeps reaches the driver: all of a
   column's categories up to ``MAX_CATEGORIES`` distinct, else the top ``TOP_K``, the rest folded
   into ``other`` and ``distinct_estimate`` = the exact number of distinct values — precisely
   ``CategorySummary(all counts).truncate()``, as the Arrow engine does below its HLL spill point.
   (The exact distinct count is free here — the number of groups — so ``approx_count_distinct``
   would only add error.) Label counts per category are kept for the kept categories that have
   labelled rows, as on the Arrow engine.

Precision: ``mean`` is Spark's ``avg`` (double sum / count) and ``m2 = var_pop * n`` (Spark's
central-moment aggregate updates per row and merges partitions with Chan's formulas, so ``m2``
carries ``var_pop``'s relative rounding plus one multiplication: ~1e-15 relative, far inside the
conformance tolerance of 1e-9). Label co-moments are plain double sums, as on the Arrow engine.

Label statistics follow the shared semantics: co-moments for INT/FLOAT features, counts per
category for BOOL/STRING features, never for the label column itself; TIMESTAMP/DATE columns get
none.

Nanosecond timestamps: Spark has no nanosecond type and refuses Parquet ``TIMESTAMP(NANOS)``.
For a local Parquet file or directory, :func:`parquet_nanos` reads the footer (pyarrow) to find
such top-level columns; the file is then read with ``spark.sql.legacy.parquet.nanosAsLong`` on
(the column arrives as its int64 nanoseconds, the setting is restored afterwards by
:func:`nanos_as_long`) and :func:`read` turns each back into a timestamp of **microseconds,
floored** — what the Arrow engine profiles (``floor_divide(ns, 1000)``): UTC-adjusted columns as
``timestamp``, the others as ``timestamp_ntz`` (same wall clock, no session zone involved).
INT96 timestamps are Spark's own and need none of this.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from airel.adapters.arrow.engine import ProfileOptions
from airel.adapters.spark.columns import (
    EPOCH_NTZ,
    ColumnPlan,
    decode_sketch_key,
    plan_columns,
    quoted,
    sketch_key,
)
from airel.domain.data.profile import (
    MAX_CATEGORIES,
    TOP_K,
    CategorySummary,
    ColumnProfile,
    LabelStats,
    LogicalType,
    NumericSummary,
    Profile,
)
from airel.errors import AirelError, Reason, StoreError, ValidationError

ENGINE = "spark"
INSTALL_FIX = "install the Spark extra: pip install 'airel[spark]' (and a Java 17+ runtime)"
NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong"  # read TIMESTAMP(NANOS) as int64


def profile_dataframe(df: DataFrame, opts: ProfileOptions) -> Profile:
    """Profile a DataFrame (three Spark jobs; see the module docstring)."""
    plans = plan_columns(df)
    by_name = {p.name: p for p in plans}
    _check_columns(by_name, opts)
    wanted = set(opts.columns) if opts.columns is not None else set(by_name)
    profiled = [p for p in plans if p.name in wanted]
    label = by_name[opts.label] if opts.label else None
    ref = by_name[opts.reference_time] if opts.reference_time else None
    if label is not None and label.logical not in (
        LogicalType.INT,
        LogicalType.FLOAT,
        LogicalType.BOOL,
    ):
        raise _label_error(label.name, f"label column {label.name!r} is not 0/1 numeric or bool")
    if ref is not None and ref.logical is not LogicalType.TIMESTAMP:
        raise ValidationError(
            Reason.WRONG_TYPE,
            f"prediction-time column {ref.name!r} is {ref.physical}, not a timestamp",
            fix="name the prediction-time timestamp column",
            details={"column": ref.name},
        )
    with translate_errors(None):
        totals = _main_pass(df, profiled, label, ref)
        sketches = _sketch_pass(df, profiled)
        categories = _category_pass(df, profiled, label)
    columns = {
        p.name: _column_profile(p, totals, sketches, categories, label, ref) for p in profiled
    }
    return Profile(rows=int(totals["rows"]), columns=columns, engine=ENGINE)


def read(
    session: SparkSession, path: str, fmt: str, nanos: Mapping[str, bool] | None = None
) -> DataFrame:
    """A DataFrame over a Parquet file/directory or a CSV file (header, inferred types).

    ``nanos`` (from :func:`parquet_nanos`, read inside :func:`nanos_as_long`) names the
    nanosecond timestamp columns, which come back as floored microsecond timestamps.
    """
    with translate_errors(path):
        if fmt == "csv":
            reader = session.read.options(header="true", inferSchema="true", nanValue="NaN")
            return reader.csv(path)
        df = session.read.parquet(path)
        return _micros_from_nanos(df, nanos) if nanos else df


def parquet_nanos(path: str) -> dict[str, bool]:
    """Top-level ``TIMESTAMP(NANOS)`` columns of a local Parquet file or dataset directory
    (its first data file, as Spark infers a schema): name → adjusted to UTC.

    Empty for remote paths and when the footer cannot be read — Spark's own read then reports
    the problem.
    """
    if "://" in path:
        return {}
    try:
        local = Path(path)
        files = [path] if local.is_file() else pads.dataset(path, format="parquet").files[:1]
        if not files:
            return {}
        parquet = pq.ParquetFile(files[0])
    except (OSError, ValueError, pa.ArrowException):
        return {}
    arrow = parquet.schema_arrow
    names = set(arrow.names)
    out: dict[str, bool] = {}
    for i in range(len(parquet.schema)):
        column = parquet.schema.column(i)
        if column.path not in names or column.physical_type != "INT64":
            continue
        if not pa.types.is_timestamp(arrow.field(column.path).type):
            continue
        logical = json.loads(column.logical_type.to_json())
        if logical.get("Type") == "Timestamp" and logical.get("timeUnit") == "nanoseconds":
            out[column.path] = bool(logical.get("isAdjustedToUTC"))
    return out


@contextmanager
def nanos_as_long(session: SparkSession, enabled: bool) -> Iterator[None]:
    """Read Parquet nanosecond timestamps as int64 while the block runs (when ``enabled``);
    the session's own setting is restored afterwards."""
    if not enabled:
        yield
        return
    before = session.conf.get(NANOS_AS_LONG)
    session.conf.set(NANOS_AS_LONG, "true")
    try:
        yield
    finally:
        session.conf.set(NANOS_AS_LONG, before or "false")


def _micros_from_nanos(df: DataFrame, nanos: Mapping[str, bool]) -> DataFrame:
    """Each int64 nanosecond column as a timestamp of its microseconds, floored (as Arrow)."""
    columns: list[Column] = []
    for field in df.schema.fields:
        raw = F.col(quoted(field.name))
        if field.name not in nanos or not isinstance(field.dataType, T.LongType):
            columns.append(raw)
            continue
        thousand = F.lit(1000)
        # floor(ns / 1000) without a double and without overflow: truncate, then step down
        micros = F.expr(f"{quoted(field.name)} div 1000") - F.when(
            (raw % thousand) < 0, F.lit(1)
        ).otherwise(F.lit(0))
        if nanos[field.name]:
            value = F.timestamp_micros(micros)
        else:
            value = F.timestamp_add("MICROSECOND", micros, F.expr(EPOCH_NTZ))
        columns.append(value.alias(field.name))
    return df.select(*columns)


def session_for(spark: SparkSession | None) -> SparkSession:
    """The given session, else the active one, else a new local one (Java must be present)."""
    if spark is not None:
        return spark
    try:
        return SparkSession.builder.getOrCreate()
    except PySparkException as exc:  # e.g. JAVA_GATEWAY_EXITED: no Java runtime
        raise StoreError(
            Reason.ENGINE_UNAVAILABLE,
            f"could not start Spark: {_first_line(exc)}",
            fix=INSTALL_FIX,
            details={"engine": ENGINE},
        ) from exc


# -- pass 1: one aggregation for counts, moments, label sums and reference-time counts --------


def _main_pass(
    df: DataFrame,
    plans: list[ColumnPlan],
    label: ColumnPlan | None,
    ref: ColumnPlan | None,
) -> dict[str, Any]:
    """Counts, moments, label sums and after-reference counts in one aggregation.

    Every per-row quantity is computed once in a projection (flags as 1/NULL, finite values as
    double/NULL) and the aggregation only counts, sums and compares columns.
    """
    row_cols: list[Column] = []
    aggs: list[Column] = [F.count(F.lit(1)).alias("rows")]

    def flag(cond: Column, name: str) -> None:
        row_cols.append(F.when(cond, F.lit(1)).alias(name))
        aggs.append(F.count(name).alias(name))

    if label is not None:
        row_cols.append(F.when(label.present(), label.number()).alias("_y"))
        flag(label.present() & ~label.number().isin(0.0, 1.0), "label_bad")  # ±inf included
    for p in plans:
        i = p.index
        flag(p.null(), f"nulls_{i}")
        if p.float_like:
            flag(F.isnan(p.value), f"nans_{i}")
            flag(p.value == F.lit(float("inf")), f"pinf_{i}")
            flag(p.value == F.lit(float("-inf")), f"ninf_{i}")
        if p.logical is LogicalType.STRING:
            flag(p.invalid(), f"invalid_{i}")
        if ref is not None and p.logical is LogicalType.TIMESTAMP and p.name != ref.name:
            flag(p.value > ref.value, f"after_{i}")
        if not p.sketched:
            continue
        row_cols.append(p.finite_value().alias(f"v_{i}"))
        v = F.col(f"v_{i}")
        aggs += [
            F.count(v).alias(f"n_{i}"),
            F.min(v).alias(f"min_{i}"),
            F.max(v).alias(f"max_{i}"),
            F.avg(v).alias(f"mean_{i}"),
            F.var_pop(v).alias(f"var_{i}"),
        ]
        if _numeric_feature(p, label):
            both = v.isNotNull() & F.col("_y").isNotNull()
            x, y = F.when(both, v), F.when(both, F.col("_y"))
            aggs += [
                F.count(x).alias(f"ln_{i}"),
                F.sum(x).alias(f"sx_{i}"),
                F.sum(y).alias(f"sy_{i}"),
                F.sum(x * x).alias(f"sxx_{i}"),
                F.sum(y * y).alias(f"syy_{i}"),
                F.sum(x * y).alias(f"sxy_{i}"),
            ]
    row = df.select(*row_cols).agg(*aggs).collect()[0].asDict()
    if label is not None and row["label_bad"]:
        raise _label_error(
            label.name,
            f"label column {label.name!r} has {row['label_bad']} values other than 0/1",
        )
    return row


# -- pass 2: sketch buckets ---------------------------------------------------------------------


def _sketch_pass(df: DataFrame, plans: list[ColumnPlan]) -> dict[int, NumericSummary]:
    """Per sketched column index: a NumericSummary holding only zero/pos/neg bucket counts."""
    sketched = [p for p in plans if p.sketched]
    out = {p.index: NumericSummary() for p in sketched}
    if not sketched:
        return out
    finite = df.select(*[p.finite_value().alias(f"v_{p.index}") for p in sketched])
    keys = [sketch_key(p.index, F.col(f"v_{p.index}")) for p in sketched]
    exploded = finite.select(F.explode(F.array(*keys)).alias("k")).where(F.col("k").isNotNull())
    for row in exploded.groupBy("k").count().collect():
        index, sign, bucket = decode_sketch_key(int(row["k"]))
        summary, count = out[index], int(row["count"])
        if sign == 0:
            summary.zero += count
        elif sign > 0:
            summary.pos[bucket] = count
        else:
            summary.neg[bucket] = count
    return out


# -- pass 3: category counts, truncated in Spark -------------------------------------------------


def _category_pass(
    df: DataFrame, plans: list[ColumnPlan], label: ColumnPlan | None
) -> dict[int, tuple[CategorySummary, dict[str, list[int]] | None]]:
    """Per categorical column index: its CategorySummary and label counts per category."""
    cats = [p for p in plans if p.logical.categorical]
    out: dict[int, tuple[CategorySummary, dict[str, list[int]] | None]] = {}
    if not cats:
        return out
    keys = df.select(
        *[p.category_key().alias(f"k_{p.index}") for p in cats],
        *([F.when(label.present(), label.number()).alias("y")] if label is not None else []),
    )
    entries = [
        F.when(
            F.col(f"k_{p.index}").isNotNull(),
            F.struct(F.lit(p.index).alias("c"), F.col(f"k_{p.index}").alias("k")),
        )
        for p in cats
    ]
    cols = [F.explode(F.array(*entries)).alias("e")]
    aggs = [F.count(F.lit(1)).alias("cnt")]
    if label is not None:
        cols.append(F.col("y"))
        aggs += [F.count("y").alias("lrows"), F.sum("y").alias("lpos")]
    grouped = (
        keys.select(*cols)
        .where(F.col("e").isNotNull())
        .select(F.col("e.c").alias("c"), F.col("e.k").alias("k"), *cols[1:])
        .groupBy("c", "k")
        .agg(*aggs)
    )
    rank = Window.partitionBy("c").orderBy(F.col("cnt").desc(), F.col("k").asc())
    ranked = grouped.select(
        "*",
        F.row_number().over(rank).alias("rn"),
        F.count(F.lit(1)).over(Window.partitionBy("c")).alias("nd"),
        F.sum("cnt").over(Window.partitionBy("c")).alias("total"),
    )
    kept = ranked.where((F.col("nd") <= MAX_CATEGORIES) | (F.col("rn") <= TOP_K))
    acc: dict[int, dict[str, Any]] = {}
    for row in kept.collect():
        col = acc.setdefault(
            int(row["c"]), {"counts": {}, "lbc": {}, "nd": row["nd"], "total": row["total"]}
        )
        key = str(row["k"])
        col["counts"][key] = int(row["cnt"])
        if label is not None and int(row["lrows"]):  # categories seen with a label only
            col["lbc"][key] = [int(row["lrows"]), int(row["lpos"] or 0)]
    for p in cats:
        found = acc.get(p.index)
        lbc = found["lbc"] if found is not None else {}
        if found is None:
            summary = CategorySummary()
        elif int(found["nd"]) > MAX_CATEGORIES:  # == CategorySummary(all counts).truncate()
            counts: dict[str, int] = found["counts"]
            other = int(found["total"]) - sum(counts.values())
            summary = CategorySummary(counts, other, True, int(found["nd"]))
        else:
            summary = CategorySummary(found["counts"])
        out[p.index] = (summary, lbc if _label_feature(p, label) else None)
    return out


# -- assembly -------------------------------------------------------------------------------------


def _column_profile(
    p: ColumnPlan,
    totals: dict[str, Any],
    sketches: dict[int, NumericSummary],
    categories: dict[int, tuple[CategorySummary, dict[str, list[int]] | None]],
    label: ColumnPlan | None,
    ref: ColumnPlan | None,
) -> ColumnProfile:
    i = p.index
    prof = ColumnProfile(
        name=p.name,
        logical=p.logical,
        physical=p.physical,
        count=int(totals["rows"]),
        nulls=int(totals[f"nulls_{i}"]),
        nans=int(totals.get(f"nans_{i}", 0)),
        pos_inf=int(totals.get(f"pinf_{i}", 0)),
        neg_inf=int(totals.get(f"ninf_{i}", 0)),
        invalid=int(totals.get(f"invalid_{i}", 0)),
        tz=p.tz,
    )
    if p.sketched:
        n = int(totals[f"n_{i}"])
        sketch = sketches[i]
        prof.numeric = NumericSummary(
            n=n,
            min=_opt_float(totals[f"min_{i}"]),
            max=_opt_float(totals[f"max_{i}"]),
            mean=float(totals[f"mean_{i}"] or 0.0),
            m2=float(totals[f"var_{i}"] or 0.0) * n,
            zero=sketch.zero,
            pos=sketch.pos,
            neg=sketch.neg,
        )
    if p.logical.categorical:
        prof.categories, prof.label_by_category = categories[i]
    if _numeric_feature(p, label):
        prof.label = LabelStats(
            n=int(totals[f"ln_{i}"]),
            sx=float(totals[f"sx_{i}"] or 0.0),
            sy=float(totals[f"sy_{i}"] or 0.0),
            sxx=float(totals[f"sxx_{i}"] or 0.0),
            syy=float(totals[f"syy_{i}"] or 0.0),
            sxy=float(totals[f"sxy_{i}"] or 0.0),
        )
    if ref is not None and f"after_{i}" in totals:
        prof.after_reference_time = int(totals[f"after_{i}"])
    return prof


# -- helpers --------------------------------------------------------------------------------------


def _check_columns(by_name: dict[str, ColumnPlan], opts: ProfileOptions) -> None:
    named = list(opts.columns or [])
    named += [c for c in (opts.label, opts.reference_time) if c]
    missing = sorted({c for c in named if c not in by_name})
    if missing:
        raise ValidationError(
            Reason.COLUMN_MISSING,
            f"columns not in the dataset: {', '.join(missing)}",
            fix="check the column names against the dataset's schema",
            details={"missing": missing, "available": list(by_name)},
        )


def _label_feature(p: ColumnPlan, label: ColumnPlan | None) -> bool:
    """Label statistics are kept for INT/FLOAT and BOOL/STRING features, never the label."""
    if label is None or p.name == label.name:
        return False
    return p.logical.numeric or p.logical.categorical


def _numeric_feature(p: ColumnPlan, label: ColumnPlan | None) -> bool:
    """Gets label co-moments (INT/FLOAT, not the label; TIMESTAMP/DATE never)."""
    return p.logical.numeric and _label_feature(p, label)


def _label_error(column: str, message: str) -> ValidationError:
    return ValidationError(
        Reason.INVALID_VALUE,
        message,
        fix="the label column must hold 0/1 (or true/false) values",
        details={"column": column},
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def translate_errors(path: str | None) -> Iterator[None]:
    """Spark's read and job failures as airel errors (airel's own errors pass through)."""
    java_error = importlib.import_module("py4j.protocol").Py4JJavaError
    try:
        yield
    except AirelError:
        raise
    except (PySparkException, java_error) as exc:
        first = _first_line(exc)
        fix = "check that the file is a complete, readable Parquet or CSV dataset"
        if "FLOAT16" in first:
            fix = (
                "Spark cannot read float16 from Parquet: rewrite the column as float32, or "
                "profile the file with the Arrow engine"
            )
        elif "NANOS" in first:
            fix = (
                "airel reads nanosecond timestamps of local Parquet files only: copy the data "
                "locally, rewrite it with microsecond timestamps (pyarrow: "
                "coerce_timestamps='us'), or profile it with the Arrow engine"
            )
        raise ValidationError(
            Reason.DATA_UNREADABLE,
            f"Spark could not read the data: {first}",
            fix=fix,
            details={"path": path} if path else {},
        ) from exc
