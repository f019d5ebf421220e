"""What a registered data file holds, as read cheaply at registration, and the checks of a
spec's declared row count and schema against it (R2, E1).

:mod:`airel.adapters.arrow.probe` reads a Parquet or Arrow IPC footer, or the first block of a
CSV, into a :class:`DataShape`; nothing in this module touches a file. The shape is stored with
the dataset (or eval dataset) version as its ``data_shape`` field.

The checks are rules as data:

* **Row count.** When the shape knows the exact number of rows (a Parquet or Arrow file's footer),
  ``row_count`` must equal it. A CSV has no footer, so its rows are not counted (that would
  need a full read); its declared ``row_count`` stays a claim.
* **Schema.** Every declared column must be in the file and every column of the file must be
  declared (an undeclared column, e.g. a PII field that slipped in, is a mismatch). Types are
  compared only when the file stores them (Parquet, Arrow): a declared type is read by
  :func:`type_of_declared` into a family (``integer``, ``float``, ``string`` …) and, when it
  names one exactly (``int32``, ``float64``, ``timestamp[us, tz=UTC]``), a concrete type. A
  generic name (``int``, ``float``, ``string``, ``timestamp``) matches any width of its family;
  a concrete name must match exactly; a name airel does not know is not type-checked. A column
  that is all null (Arrow type ``null``) matches any declared type.

Every mismatch is collected (not just the first) and raised as one
``ValidationError`` whose ``problems`` each carry their reason code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from airel.errors import Reason, ValidationError

__all__ = [
    "DataFormat",
    "DataShape",
    "ShapeColumn",
    "TypeSource",
    "check_declared",
    "combine_parts",
    "declared_mismatch",
    "type_of_declared",
    "type_of_stored",
]


class DataFormat(StrEnum):
    """The format a data artifact was read as."""

    PARQUET = "parquet"  # schema, rows and row groups from the footer
    ARROW = "arrow"  # Arrow IPC file (footer: schema, rows) or stream (schema only)
    CSV = "csv"  # delimited text: dialect sniffed, header read, types inferred from a sample
    MIXED = "mixed"  # a directory whose data parts are of more than one format
    UNKNOWN = "unknown"  # not a format airel reads: the bytes are hashed only


class TypeSource(StrEnum):
    """Where a shape's column types come from."""

    STORED = "stored"  # the file stores its column types (Parquet, Arrow): types are checked
    INFERRED = "inferred"  # inferred from a sample (CSV): names are checked, types are not


class ShapeColumn(BaseModel):
    """One column as read: its name and its Arrow type as text (``int64``, ``string`` …)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    name: str
    type: str


class DataShape(BaseModel):
    """What was read from a data artifact without reading its data."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    format: DataFormat
    columns: tuple[ShapeColumn, ...] = ()
    types: TypeSource | None = None
    rows: int | None = Field(default=None, ge=0, description="exact; None when not read (CSV)")
    row_groups: int | None = Field(default=None, ge=0, description="Parquet row groups")
    files: int = Field(default=1, ge=0, description="data files read (parts of a directory)")
    delimiter: str | None = None  # CSV field delimiter, sniffed
    compression: str | None = None  # "gzip" for a gzipped CSV

    def as_field(self) -> dict[str, Any]:
        """The JSON stored with the component version (unset parts left out)."""
        return self.model_dump(
            mode="json", exclude_none=True, exclude=set() if self.columns else {"columns"}
        )

    @property
    def names(self) -> list[str]:
        """Column names in file order."""
        return [c.name for c in self.columns]


# --------------------------------------------------------------------------- types as data

# Concrete Arrow type names (as ``str(pyarrow type)`` writes them, or a common synonym) ->
# the canonical concrete name.
_CONCRETE = {
    **{f"int{w}": f"int{w}" for w in (8, 16, 32, 64)},
    **{f"uint{w}": f"uint{w}" for w in (8, 16, 32, 64)},
    "float16": "float16",
    "halffloat": "float16",
    "float32": "float32",
    "float64": "float64",
    "double": "float64",
}
# Generic declared names -> family. ``float`` is generic when declared (people mean "a float"),
# though Arrow prints float32 as ``float``: see :func:`type_of_stored`.
_GENERIC = {
    **dict.fromkeys(
        ("int", "integer", "long", "bigint", "smallint", "tinyint", "short"), "integer"
    ),
    **dict.fromkeys(("float", "real", "floating"), "float"),
    **dict.fromkeys(("decimal", "numeric"), "decimal"),
    **dict.fromkeys(
        ("string", "str", "text", "utf8", "large_string", "large_utf8", "string_view"),
        "string",
    ),
    **dict.fromkeys(("varchar", "char", "category", "categorical"), "string"),
    **dict.fromkeys(("bool", "boolean"), "bool"),
    **dict.fromkeys(("timestamp", "datetime", "datetime64"), "timestamp"),
    **dict.fromkeys(("date", "date32", "date64"), "date"),
    **dict.fromkeys(("time", "time32", "time64"), "time"),
    **dict.fromkeys(("duration", "timedelta"), "duration"),
    **dict.fromkeys(("binary", "large_binary", "bytes", "blob", "binary_view"), "binary"),
    **dict.fromkeys(("list", "large_list", "array"), "list"),
    **dict.fromkeys(("struct", "record"), "struct"),
    "map": "map",
    "null": "null",
}
_FAMILY_OF_CONCRETE = {"int": "integer", "uin": "integer", "flo": "float"}
_HEAD = re.compile(r"^([a-z_]+[0-9]*)")
_DICTIONARY = re.compile(r"^dictionary<values=([^,]+),")


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text.strip().lower())


def _concrete_family(name: str) -> str:
    return _FAMILY_OF_CONCRETE[name[:3]]


def type_of_declared(text: str) -> tuple[str | None, str | None]:
    """(family, concrete type or None) of a declared type; (None, None) when not known."""
    t = _normal(text)
    if t in _CONCRETE:
        concrete = _CONCRETE[t]
        return _concrete_family(concrete), concrete
    if t.startswith(("timestamp[", "datetime64[")):
        return "timestamp", t.replace("datetime64", "timestamp", 1)
    head = _HEAD.match(t)
    if head is None:
        return None, None
    word = head.group(1)
    if word.startswith("decimal"):
        return "decimal", None
    return _GENERIC.get(word), None


def type_of_stored(text: str) -> tuple[str | None, str | None]:
    """(family, concrete type or None) of an Arrow type as ``str(pyarrow type)`` prints it."""
    t = _normal(text)
    dictionary = _DICTIONARY.match(t)
    if dictionary:  # dictionary-encoded: the values' type is the column's type
        t = dictionary.group(1)
    if t == "float":  # Arrow prints float32 as "float"
        t = "float32"
    if t in _CONCRETE:
        concrete = _CONCRETE[t]
        return _concrete_family(concrete), concrete
    if t.startswith("timestamp["):
        return "timestamp", t
    return type_of_declared(t)


def _type_problem(column: str, declared: str, stored: str) -> str | None:
    want_family, want = type_of_declared(declared)
    have_family, have = type_of_stored(stored)
    if want_family is None or have_family in (None, "null"):
        return None  # a type airel cannot judge, or a column with no values to type
    if want_family != have_family or (want is not None and have is not None and want != have):
        return f"column {column!r} is declared {declared!r} but the file stores {stored!r}"
    return None


# --------------------------------------------------------------------------- checks


def _problem(reason: Reason, field: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"reason": reason.value, "field": field, "message": message, **extra}


def check_declared(
    shape: DataShape, *, row_count: int | None, schema: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """Every difference between what a spec declares and what the file holds (may be empty)."""
    problems: list[dict[str, Any]] = []
    if row_count is not None and shape.rows is not None and row_count != shape.rows:
        problems.append(
            _problem(
                Reason.DATA_ROW_COUNT_MISMATCH,
                "row_count",
                f"row_count is declared {row_count:,} but the file holds {shape.rows:,} rows",
                declared=row_count,
                actual=shape.rows,
            )
        )
    if not schema or shape.format is DataFormat.UNKNOWN:
        return problems
    stored = {c.name: c.type for c in shape.columns}
    for name, declared in schema.items():
        if name not in stored:
            problems.append(
                _problem(
                    Reason.DATA_SCHEMA_MISMATCH,
                    f"schema.{name}",
                    f"column {name!r} is declared but the file has no such column",
                    column=name,
                )
            )
        elif shape.types is TypeSource.STORED:
            message = _type_problem(name, declared, stored[name])
            if message is not None:
                problems.append(
                    _problem(
                        Reason.DATA_SCHEMA_MISMATCH,
                        f"schema.{name}",
                        message,
                        column=name,
                        declared=declared,
                        actual=stored[name],
                    )
                )
    for name in shape.names:
        if name not in schema:
            problems.append(
                _problem(
                    Reason.DATA_SCHEMA_MISMATCH,
                    "schema",
                    f"the file has column {name!r} ({stored[name]}), which the schema does not "
                    "declare",
                    column=name,
                    actual=stored[name],
                )
            )
    return problems


def declared_mismatch(
    label: str, shape: DataShape, problems: list[dict[str, Any]]
) -> ValidationError:
    """The one error for every mismatch found by :func:`check_declared`."""
    first = problems[0]
    columns = ", ".join(f"{c.name}: {c.type}" for c in shape.columns) or "(none)"
    rows = f"{shape.rows:,} rows" if shape.rows is not None else "rows not counted"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return ValidationError(
        Reason(first["reason"]),
        f"{label}: {first['message']}{more}",
        fix=f"correct row_count / schema in the spec to what the file holds ({rows}; "
        f"columns {columns}), or point `artifact` at the intended file",
        problems=problems,
        details={"data_shape": shape.as_field()},
    )


def combine_parts(parts: Sequence[tuple[str, DataShape]]) -> DataShape:
    """One shape for a directory of data files (e.g. Parquet parts), each read on its own.

    Columns are the union in first-seen order; rows and row groups are summed when every part
    knows them. Two parts that store different types for one column are refused
    (DATA_SCHEMA_MISMATCH): the directory is not one table.
    """
    if not parts:
        return DataShape(format=DataFormat.UNKNOWN, files=0)
    formats = {shape.format for _, shape in parts}
    columns: dict[str, str] = {}
    stored_by: dict[str, tuple[str, str]] = {}  # column -> (part, stored type)
    problems: list[dict[str, Any]] = []
    for path, shape in parts:
        for column in shape.columns:
            columns.setdefault(column.name, column.type)
            if shape.types is not TypeSource.STORED:
                continue
            seen = stored_by.setdefault(column.name, (path, column.type))
            if type_of_stored(seen[1]) != type_of_stored(column.type):
                problems.append(
                    _problem(
                        Reason.DATA_SCHEMA_MISMATCH,
                        "artifact",
                        f"column {column.name!r} is {seen[1]} in {seen[0]} "
                        f"but {column.type} in {path}",
                        column=column.name,
                        parts=[seen[0], path],
                    )
                )
    if problems:
        raise ValidationError(
            Reason.DATA_SCHEMA_MISMATCH,
            f"the data parts disagree: {problems[0]['message']}",
            fix="rewrite the parts with one schema, or register them as separate datasets",
            problems=problems,
        )
    rows = [shape.rows for _, shape in parts]
    groups = [shape.row_groups for _, shape in parts if shape.format is DataFormat.PARQUET]
    delimiters = {shape.delimiter for _, shape in parts if shape.delimiter is not None}
    compressions = {shape.compression for _, shape in parts}
    types = {shape.types for _, shape in parts}
    for name, (_part, stored) in stored_by.items():
        columns[name] = stored  # a stored type wins over one inferred from a CSV sample
    return DataShape(
        format=formats.pop() if len(formats) == 1 else DataFormat.MIXED,
        columns=tuple(ShapeColumn(name=n, type=t) for n, t in columns.items()),
        types=types.pop() if len(types) == 1 else TypeSource.INFERRED,
        rows=None if any(r is None for r in rows) else sum(r for r in rows if r is not None),
        row_groups=sum(g for g in groups if g is not None) if groups else None,
        files=len(parts),
        delimiter=delimiters.pop() if len(delimiters) == 1 else None,
        compression=compressions.pop() if len(compressions) == 1 else None,
    )
