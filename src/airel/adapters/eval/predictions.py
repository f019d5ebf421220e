"""Reading a predictions file (Parquet, CSV or JSON Lines) into rows keyed by item id.

The cheapest target to evaluate is one that has already run: a file with one row per item. Rows
are returned as plain dicts keyed by the id column's value *as text* (``"007"`` stays
``"007"``: CSV ids are read as strings, never inferred as numbers), so they join with eval items
and :class:`~airel.adapters.eval.call.Call` records by the same key.

* Parquet and CSV are read with pyarrow; JSON Lines line by line with the strict JSON parser
  (:func:`airel.adapters.documents.parse.parse_json`, per-line limits, no NaN, no duplicate keys).
* A missing id column is ``COLUMN_MISSING``; a row without an id ``MISSING_FIELD``; two rows
  with one id ``EVAL_DUPLICATE_ID`` (a silent last-one-wins would evaluate the wrong answer);
  a file pyarrow cannot read ``DATA_UNREADABLE``; a missing file ``ARTIFACT_MISSING``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from airel.adapters.documents.parse import ParseLimits, parse_json
from airel.errors import NotFoundError, ParseError, Reason, ValidationError

__all__ = ["PredictionsFormat", "read_predictions"]

PredictionsFormat = Literal["parquet", "csv", "jsonl"]

_FORMATS: dict[str, PredictionsFormat] = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}
_SUFFIXES: dict[str, PredictionsFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def _format_of(path: Path, fmt: str | None) -> PredictionsFormat:
    if fmt is not None:
        named = _FORMATS.get(fmt)
        if named is None:
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"unknown predictions format {fmt!r}",
                fix="use one of parquet, csv, jsonl",
                details={"format": fmt},
            )
        return named
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"{path}: cannot tell the predictions format from the suffix {path.suffix!r}",
            fix="name the file .parquet, .csv or .jsonl, or pass fmt=",
            details={"path": str(path)},
        )
    return found


def _read_table(path: Path, fmt: PredictionsFormat, id_column: str) -> pa.Table:
    try:
        if fmt == "parquet":
            return pq.read_table(path)
        # Read the id column as text so "007" keeps its zeros; other columns are inferred.
        options = pa_csv.ConvertOptions(column_types={id_column: pa.string()})
        return pa_csv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise ValidationError(
            Reason.DATA_UNREADABLE,
            f"{path}: not a readable {fmt} file: {exc}",
            details={"path": str(path), "format": fmt},
        ) from exc


def _table_rows(table: pa.Table, path: Path, id_column: str) -> list[dict[str, Any]]:
    names = table.schema.names
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"{path}: column names repeat: {dupes}",
            details={"path": str(path), "columns": dupes},
        )
    if id_column not in names:
        raise ValidationError(
            Reason.COLUMN_MISSING,
            f"{path}: no id column {id_column!r} (columns: {names})",
            fix="pass id_column= naming the column that holds the item id",
            details={"path": str(path), "column": id_column, "columns": names},
        )
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _jsonl_rows(path: Path, limits: ParseLimits) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    with path.open("rb") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            source = f"{path} line {lineno}"
            try:
                value = parse_json(line, source=source, limits=limits)
            except ParseError as exc:
                raise ParseError(
                    exc.reason, exc.message, line=lineno, fix=exc.fix, details=exc.details
                ) from exc
            if not isinstance(value, dict):
                raise ParseError(
                    Reason.NOT_A_MAPPING,
                    f"{source}: each line must be a JSON object, not {type(value).__name__}",
                    line=lineno,
                    details={"path": str(path)},
                )
            rows.append((lineno, value))
    return rows


def read_predictions(
    path: Path,
    *,
    id_column: str = "id",
    fmt: str | None = None,
    limits: ParseLimits | None = None,
) -> dict[str, dict[str, Any]]:
    """Every row of a predictions file keyed by its id (as text), in file order.

    ``fmt`` is ``"parquet"``, ``"csv"`` or ``"jsonl"``; by default it follows the suffix.
    ``limits`` bounds each JSON line (default: the strict parser's defaults).
    """
    kind = _format_of(path, fmt)
    if not path.is_file():
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"{path}: no such predictions file",
            details={"path": str(path)},
        )
    numbered: list[tuple[int, dict[str, Any]]]
    if kind == "jsonl":
        numbered = _jsonl_rows(path, limits or ParseLimits())
        if numbered and all(id_column not in row for _, row in numbered):
            raise ValidationError(
                Reason.COLUMN_MISSING,
                f"{path}: no line has the id field {id_column!r}",
                fix="pass id_column= naming the field that holds the item id",
                details={"path": str(path), "column": id_column},
            )
    else:
        table = _read_table(path, kind, id_column)
        numbered = list(enumerate(_table_rows(table, path, id_column), start=1))
    out: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    for row_no, row in numbered:
        value = row.get(id_column)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationError(
                Reason.MISSING_FIELD,
                f"{path} row {row_no}: empty id in column {id_column!r}",
                details={"path": str(path), "row": row_no, "column": id_column},
            )
        key = str(value)
        if key in out:
            raise ValidationError(
                Reason.EVAL_DUPLICATE_ID,
                f"{path}: rows {first_row[key]} and {row_no} share the id {key!r}",
                fix="keep one prediction per item id",
                details={"path": str(path), "id": key, "rows": [first_row[key], row_no]},
            )
        first_row[key] = row_no
        out[key] = row
    return out
