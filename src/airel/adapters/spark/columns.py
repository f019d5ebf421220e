"""Spark column plans: logical types from Spark types and the value expressions profiles use.

The Spark engine (``airel.adapters.spark.engine``) follows the profile semantics of
``airel.domain.data.profile`` exactly, so that a profile computed on Spark equals the one the Arrow
engine computes for the same file. This module holds the per-column part of that contract:

* logical type from the Spark type — byte/short/int/long → INT; float/double/decimal → FLOAT;
  boolean → BOOL; string/char/varchar → STRING; timestamp → TIMESTAMP with ``tz = "UTC"``
  (Spark timestamps are instants; the writer's zone name is not kept by Spark);
  timestamp_ntz → TIMESTAMP with ``tz = None``; date → DATE; anything else → OTHER;
* the numeric value every statistic is computed from, as a double: integers and decimals cast,
  timestamps as epoch **microseconds** (``unix_micros``; for timestamp_ntz the distance from
  ``1970-01-01 00:00:00`` of the same wall clock, independent of the session time zone), dates as
  epoch days (``unix_date``);
* the category key: the string itself for STRING (values that are not valid UTF-8 are counted
  as ``invalid`` and left out), ``"true"``/``"false"`` for BOOL;
* "finite": not NULL, not NaN, not ±inf (only float/double columns can hold NaN or ±inf).

This module imports pyspark at the top: only ``airel.adapters.spark.engine`` loads it, when a
Spark profile is asked for, so airel itself imports without pyspark or Java.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from airel.domain.data.profile import LOG_GAMMA, MIN_MAGNITUDE, LogicalType

EPOCH_NTZ = "TIMESTAMP_NTZ'1970-01-01 00:00:00'"  # the naive epoch, for timestamp_ntz values


@dataclass(frozen=True)
class ColumnPlan:
    """One column of the DataFrame and the expressions the aggregations need."""

    index: int  # position in the DataFrame; used as the column key in exploded passes
    name: str
    logical: LogicalType
    physical: str  # Spark's simpleString(), e.g. "bigint", "timestamp_ntz"
    tz: str | None
    float_like: bool  # float/double: may hold NaN and ±inf
    raw: Column  # the column as stored
    value: Column  # double value (numeric kinds) or category key (categorical)

    @property
    def sketched(self) -> bool:
        """Profiled with moments and a quantile sketch (INT, FLOAT, TIMESTAMP, DATE)."""
        return self.logical.numeric or self.logical in (LogicalType.TIMESTAMP, LogicalType.DATE)

    def null(self) -> Column:
        """SQL NULL, or NaN (counted as NULL on every engine)."""
        cond = self.raw.isNull()
        return cond | F.isnan(self.value) if self.float_like else cond

    def number(self) -> Column:
        """The value as a double; booleans as 1.0/0.0 (how a label column is read)."""
        if self.logical is LogicalType.BOOL:
            return self.raw.cast("double")
        return self.value

    def present(self) -> Column:
        """Not NULL and not NaN (a label's "non-null"; ±inf stays present)."""
        cond = self.value.isNotNull()
        return cond & ~F.isnan(self.value) if self.float_like else cond

    def finite(self) -> Column:
        """Not NULL, not NaN, not ±inf."""
        cond = self.value.isNotNull()
        if self.float_like:
            cond = cond & ~F.isnan(self.value) & (F.abs(self.value) != F.lit(math.inf))
        return cond

    def finite_value(self) -> Column:
        """The double value where finite, else NULL (what moments and the sketch see)."""
        return F.when(self.finite(), self.value)

    def category_key(self) -> Column:
        """The category key where the value counts as a category, else NULL."""
        if self.logical is LogicalType.STRING:
            return F.when(self.raw.isNotNull() & F.is_valid_utf8(self.raw), self.raw)
        return self.value

    def invalid(self) -> Column:
        """Values that are present but cannot be decoded (non-UTF-8 strings)."""
        return self.raw.isNotNull() & ~F.is_valid_utf8(self.raw)


def quoted(name: str) -> str:
    """A column reference that Spark reads literally (dots, spaces, backticks)."""
    return "`" + name.replace("`", "``") + "`"


def logical_type(data_type: T.DataType) -> tuple[LogicalType, str | None, bool]:
    """(logical type, time zone, may hold NaN/inf) of a Spark data type."""
    if isinstance(data_type, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return LogicalType.INT, None, False
    if isinstance(data_type, T.FloatType | T.DoubleType):
        return LogicalType.FLOAT, None, True
    if isinstance(data_type, T.DecimalType):
        return LogicalType.FLOAT, None, False
    if isinstance(data_type, T.BooleanType):
        return LogicalType.BOOL, None, False
    if isinstance(data_type, T.StringType | T.CharType | T.VarcharType):
        return LogicalType.STRING, None, False
    if isinstance(data_type, T.TimestampNTZType):
        return LogicalType.TIMESTAMP, None, False
    if isinstance(data_type, T.TimestampType):
        return LogicalType.TIMESTAMP, "UTC", False
    if isinstance(data_type, T.DateType):
        return LogicalType.DATE, None, False
    return LogicalType.OTHER, None, False


def plan_columns(df: DataFrame) -> list[ColumnPlan]:
    """A plan for every column of ``df``, in DataFrame order."""
    plans: list[ColumnPlan] = []
    for index, field in enumerate(df.schema.fields):
        logical, tz, float_like = logical_type(field.dataType)
        raw = F.col(quoted(field.name))
        value: Column
        if logical in (LogicalType.INT, LogicalType.FLOAT):
            value = raw.cast("double")
        elif logical is LogicalType.TIMESTAMP and isinstance(field.dataType, T.TimestampNTZType):
            value = F.timestamp_diff("MICROSECOND", F.expr(EPOCH_NTZ), raw).cast("double")
        elif logical is LogicalType.TIMESTAMP:
            value = F.unix_micros(raw).cast("double")
        elif logical is LogicalType.DATE:
            value = F.unix_date(raw).cast("double")
        elif logical is LogicalType.BOOL:
            value = raw.cast("string")  # "true" / "false"
        elif logical is LogicalType.STRING:
            value = raw.cast("string")
        else:
            value = raw
        plans.append(
            ColumnPlan(
                index=index,
                name=field.name,
                logical=logical,
                physical=field.dataType.simpleString(),
                tz=tz,
                float_like=float_like,
                raw=raw,
                value=value,
            )
        )
    return plans


# Sketch keys: one bigint per finite value, ``column << KEY_BITS | code`` (a long groups faster
# than a struct). code 0 is the zero bucket (|v| < MIN_MAGNITUDE); a positive value in bucket b
# has code ``POS_BASE + b``, a negative one ``NEG_BASE + b``. Every finite double's bucket lies
# in [-1382, 35481], well inside ±BUCKET_SPAN, so the three ranges never overlap.
KEY_BITS = 20
BUCKET_SPAN = 1 << 17
POS_BASE = BUCKET_SPAN
NEG_BASE = 3 * BUCKET_SPAN


def sketch_key(index: int, finite: Column) -> Column:
    """The sketch key of a finite value (NULL stays NULL): ``b = ceil(ln|v| / LOG_GAMMA)``.

    The bucket formula is ``profile.bucket_index``. Spark's ``ln`` is the JVM's natural
    logarithm; it can differ from numpy's by one unit in the last place, which moves a value to
    the neighbouring bucket only when ``ln|v| / LOG_GAMMA`` lies within ~1e-15 of an integer (a
    bucket boundary).
    """
    magnitude = F.abs(finite)
    bucket = F.ceil(F.ln(magnitude) / F.lit(LOG_GAMMA))
    code = (
        F.when(magnitude < F.lit(MIN_MAGNITUDE), F.lit(0))
        .when(finite > 0, bucket + F.lit(POS_BASE))
        .otherwise(bucket + F.lit(NEG_BASE))
    )
    return F.lit(index << KEY_BITS).cast("bigint") + code


def decode_sketch_key(key: int) -> tuple[int, int, int]:
    """(column index, sign 0/1/-1, bucket) of a sketch key."""
    index, code = key >> KEY_BITS, key & ((1 << KEY_BITS) - 1)
    if code == 0:
        return index, 0, 0
    if code < 2 * BUCKET_SPAN:
        return index, 1, code - POS_BASE
    return index, -1, code - NEG_BASE
