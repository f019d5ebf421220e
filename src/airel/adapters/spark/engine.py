"""The Spark engine (V4): the same Profile as the Arrow engine, computed as Spark aggregations.

For data larger than one machine. ``profile_spark(df, options)`` profiles a DataFrame and
``profile_path_spark(path, options)`` reads Parquet (a file or a directory) or CSV first. The
result is the same :class:`~airel.domain.data.profile.Profile` the Arrow engine builds
(``airel.adapters.arrow.engine``), checked by the same code;
``tests/adapters/test_engine_conformance*.py`` run the same fixtures through both engines and
state the tolerances.

The work happens in three Spark jobs whatever the number of columns
(``airel.adapters.spark.jobs``; column semantics in ``airel.adapters.spark.columns``). Spark
merges its partitions' partial aggregates itself, so one Profile comes back; profiles of disjoint
parts still merge with ``Profile.merge``, also across engines.

pyspark is optional (``pip install 'airel[spark]'``) and needs a Java runtime. This module does
not import it: the job modules are loaded on first use, and a missing pyspark or Java is
``StoreError(ENGINE_UNAVAILABLE)`` with the fix.

Differences from the Arrow engine that come from Spark itself (the conformance suite asserts
them): Spark timestamps carry no zone name, so a zoned column reports ``tz = "UTC"`` (values
agree); Spark reads ``uint64`` as ``decimal(20,0)`` (FLOAT here, INT on Arrow); Spark cannot read
Parquet float16 (``DATA_UNREADABLE`` with the fix); ``physical`` is Spark's type name
(``bigint``, ``timestamp_ntz``); CSV type inference is Spark's, and Spark's CSV reader reads an
empty field (even a quoted ``""``) as NULL.

Parquet nanosecond timestamps, which Spark cannot read as such, are read for local files and
directories as their int64 nanoseconds and cast back to microsecond timestamps, floored — the
values the Arrow engine profiles — so both engines give the same profile
(``airel.adapters.spark.jobs.parquet_nanos``). A remote path with such columns is still
``DATA_UNREADABLE`` with the fix.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from airel.adapters.arrow.engine import ProfileOptions
from airel.domain.data.profile import Profile
from airel.errors import NotFoundError, Reason, StoreError, ValidationError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ENGINE = "spark"
INSTALL_FIX = "install the Spark extra: pip install 'airel[spark]' (and a Java 17+ runtime)"
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".csv.gz": "csv"}


def profile_spark(df: DataFrame, options: ProfileOptions | None = None) -> Profile:
    """Profile a Spark DataFrame with the shared profile semantics (three Spark jobs)."""
    jobs = _jobs()
    profile: Profile = jobs.profile_dataframe(df, options or ProfileOptions())
    return profile


def profile_path_spark(
    path: str | os.PathLike[str],
    options: ProfileOptions | None = None,
    *,
    spark: SparkSession | None = None,
) -> Profile:
    """Profile a Parquet file or directory, or a CSV file (``.csv``, ``.csv.gz``), with Spark.

    ``spark`` defaults to the active session, else a new local one. Paths with a scheme
    (``s3a://``, ``hdfs://`` …) go to Spark unchecked; local paths must exist.
    """
    jobs = _jobs()
    text = os.fspath(path)
    local = Path(text)
    remote = "://" in text
    fmt = _format_of(text, is_dir=not remote and local.is_dir())
    if not remote and not local.exists():
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"data file {text} does not exist",
            fix="check the path (relative paths are resolved from the working directory)",
            details={"path": text},
        )
    session = jobs.session_for(spark)
    nanos = jobs.parquet_nanos(text) if fmt == "parquet" else {}
    with jobs.nanos_as_long(session, bool(nanos)):  # the jobs read the file too
        df = jobs.read(session, text, fmt, nanos)
        profile: Profile = jobs.profile_dataframe(df, options or ProfileOptions())
    profile.source = {"path": text, "name": local.name or text, "format": fmt}
    if not remote and local.is_file():
        profile.source["size_bytes"] = local.stat().st_size
    return profile


def _jobs() -> ModuleType:
    """The pyspark-importing job module, or ENGINE_UNAVAILABLE with the fix."""
    if importlib.util.find_spec("pyspark") is None:
        raise StoreError(
            Reason.ENGINE_UNAVAILABLE,
            "the Spark engine needs pyspark, which is not installed",
            fix=INSTALL_FIX,
            details={"engine": ENGINE},
        )
    return importlib.import_module("airel.adapters.spark.jobs")


def _format_of(path: str, *, is_dir: bool) -> str:
    lowered = path.lower().rstrip("/")
    for suffix, fmt in FORMATS.items():
        if lowered.endswith(suffix):
            return fmt
    if is_dir or ("://" in path and not Path(lowered).suffix):
        return "parquet"  # a Spark-written dataset directory
    raise ValidationError(
        Reason.INVALID_VALUE,
        f"cannot profile {Path(path).name}: unknown data format",
        fix=f"use one of the supported formats: {', '.join(FORMATS)} or a Parquet directory",
        details={"path": path, "formats": [*FORMATS, "<parquet directory>"]},
    )
