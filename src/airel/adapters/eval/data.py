"""Columnar loading of classifier eval data: labels and slice columns joined to predictions.

An eval dataset (Parquet/CSV/Arrow) carries the item id, the 0/1 label and any slice or
fairness attribute columns; a predictions file carries the item id and the score. They are
joined on the id with Arrow (no per-row Python). Every eval item needs exactly one prediction
(a predictions file may score a superset); missing predictions, duplicate ids and missing
columns are errors naming the problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
from pyarrow import ipc

from airel.errors import NotFoundError, ParseError, Reason, ValidationError


@dataclass(frozen=True)
class ScoredItems:
    """Items in id order with their label, score and attribute columns (numpy/Arrow)."""

    ids: pa.Array
    labels: np.ndarray
    scores: np.ndarray
    attributes: pa.Table  # slice / fairness columns, aligned with ids


def read_table(path: Path, fmt: str, columns: Sequence[str] | None = None) -> pa.Table:
    """Read a whole Parquet/CSV/Arrow/JSON Lines file (eval sets are small next to training
    data)."""
    if not path.is_file():
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"{path} does not exist",
            fix="check the path or the registered dataset's artifact",
        )
    try:
        if fmt == "parquet":
            table = pq.read_table(path)
        elif fmt == "csv":
            table = pacsv.read_csv(path)
        elif fmt == "jsonl":
            table = pajson.read_json(path)
        elif fmt == "arrow":
            with pa.memory_map(str(path)) as source:
                table = ipc.open_file(source).read_all()
        else:
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"unsupported format {fmt!r}",
                fix="use Parquet, CSV, JSON Lines or Arrow IPC",
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise ParseError(
            Reason.DATA_UNREADABLE,
            f"cannot read {path.name}: {exc}",
            fix="check that the file is a complete Parquet, CSV, JSON Lines or Arrow file",
        ) from None
    if columns is not None:
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise ValidationError(
                Reason.COLUMN_MISSING,
                f"{path.name} lacks column(s) {', '.join(missing)}",
                fix=f"the file has: {', '.join(table.column_names)}",
                details={"missing": missing},
            )
        table = table.select(list(columns))
    return table


def _unique(table: pa.Table, id_column: str, what: str) -> None:
    ids = table[id_column]
    if ids.null_count:
        raise ValidationError(
            Reason.EVAL_DUPLICATE_ID,
            f"{what} has {ids.null_count} null id(s)",
            fix="every item needs an id",
        )
    distinct = len(pc.unique(ids))
    if distinct != table.num_rows:
        raise ValidationError(
            Reason.EVAL_DUPLICATE_ID,
            f"{what} has {table.num_rows - distinct} duplicate id(s) in {id_column!r}",
            fix="ids must be unique per item",
        )


def join_scores(
    dataset: pa.Table,
    predictions: pa.Table,
    *,
    id_column: str,
    label_column: str,
    score_column: str,
    attributes: Sequence[str] = (),
) -> ScoredItems:
    """Join labels (and attributes) to scores on the id; refuse any mismatch."""
    for table, need, what in (
        (dataset, [id_column, label_column, *attributes], "the eval dataset"),
        (predictions, [id_column, score_column], "the predictions"),
    ):
        missing = [c for c in need if c not in table.column_names]
        if missing:
            raise ValidationError(
                Reason.COLUMN_MISSING,
                f"{what} lacks column(s) {', '.join(missing)}",
                fix=f"it has: {', '.join(table.column_names)}",
            )
        _unique(table, id_column, what)
    left = dataset.select([id_column, label_column, *attributes])
    right = predictions.select([id_column, score_column]).rename_columns([id_column, "__score"])
    joined = left.join(right, id_column, join_type="inner")
    if joined.num_rows != dataset.num_rows:
        # Every eval item needs its prediction; a predictions file may score a superset
        # (e.g. the whole validation table an eval set was drawn from).
        raise ValidationError(
            Reason.EVAL_LENGTH_MISMATCH,
            f"predictions cover {joined.num_rows} of {dataset.num_rows} eval items "
            f"({predictions.num_rows} predictions)",
            fix="score every item of the eval dataset, matched by id",
            details={
                "joined": joined.num_rows,
                "items": dataset.num_rows,
                "predictions": predictions.num_rows,
            },
        )
    joined = joined.sort_by(id_column)
    labels = joined[label_column].to_numpy(zero_copy_only=False)
    scores = joined["__score"].to_numpy(zero_copy_only=False).astype(np.float64)
    return ScoredItems(
        joined[id_column].combine_chunks(), labels, scores, joined.select(list(attributes))
    )
