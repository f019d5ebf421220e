"""Training–serving skew by joining two datasets on their entity key, in DuckDB (V1).

The same entities computed twice — once by the training pipeline, once by the serving path —
must agree. DuckDB reads both files directly (Parquet, CSV, Arrow IPC via pyarrow), leaves
out keys that occur more than once on a side (counted, never silently joined N×M, and the
result does not depend on row order), joins on
the key and counts, per feature, the joined rows whose values differ: numbers beyond a
relative tolerance, anything else when not equal, and a NULL on one side only. The query
runs on DuckDB's threads; no row reaches Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from pyarrow import ipc

from airel.errors import Reason, ValidationError

_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
)


@dataclass(frozen=True)
class JoinStats:
    """What the join found: row counts and, per feature, how many joined rows disagree."""

    key: tuple[str, ...]
    left_rows: int
    right_rows: int
    joined: int
    left_unmatched: int  # distinct left keys with no right row
    right_unmatched: int
    left_duplicates: int  # rows whose key occurs more than once (left out of the join)
    right_duplicates: int
    mismatches: dict[str, int] = field(default_factory=dict)  # feature -> differing rows
    compared: tuple[str, ...] = ()  # features present on both sides

    def mismatch_rate(self, column: str) -> float | None:
        """Share of joined rows whose values differ (None when nothing joined)."""
        if not self.joined or column not in self.mismatches:
            return None
        return self.mismatches[column] / self.joined


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _register(con: duckdb.DuckDBPyConnection, alias: str, path: Path, fmt: str) -> None:
    # Views cannot take bound parameters; the path is a quoted literal and alias is ours.
    if fmt == "parquet":
        con.execute(f"CREATE VIEW {alias} AS SELECT * FROM read_parquet({_literal(path)})")
    elif fmt == "csv":
        con.execute(f"CREATE VIEW {alias} AS SELECT * FROM read_csv_auto({_literal(path)})")
    elif fmt == "arrow":
        with pa.memory_map(str(path)) as source:
            table = ipc.open_file(source).read_all()
        con.register(alias, table)
    else:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"cannot join {fmt!r} data",
            fix="use Parquet, CSV or Arrow IPC files",
        )


def join_stats(
    left: Path,
    right: Path,
    key: Sequence[str],
    *,
    left_format: str = "parquet",
    right_format: str = "parquet",
    features: Sequence[str] | None = None,
    numeric_tolerance: float = 1e-6,
) -> JoinStats:
    """Join ``left`` (training) and ``right`` (serving) on ``key`` and count disagreements."""
    if not key:
        raise ValidationError(
            Reason.MISSING_FIELD,
            "a skew check needs the entity key to join on",
            fix="set entity_key (or skew.join_on) in the feature spec",
        )
    con = duckdb.connect(config={"threads": 2})
    try:
        _register(con, "l_src", left, left_format)
        _register(con, "r_src", right, right_format)
        left_cols = {r[0]: r[1] for r in con.execute("DESCRIBE l_src").fetchall()}
        right_cols = {r[0]: r[1] for r in con.execute("DESCRIBE r_src").fetchall()}
        missing = [k for k in key if k not in left_cols or k not in right_cols]
        if missing:
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"join key column(s) {', '.join(missing)} missing on one side",
                fix="both datasets must carry the entity key columns",
            )
        wanted = features if features is not None else list(left_cols)
        shared = [c for c in wanted if c in left_cols and c in right_cols and c not in key]
        keys = ", ".join(_ident(k) for k in key)
        on = " AND ".join(f"l.{_ident(k)} = r.{_ident(k)}" for k in key)
        for side in ("l", "r"):
            con.execute(
                f"CREATE TEMP TABLE {side}_one AS SELECT * FROM {side}_src "
                f"QUALIFY count(*) OVER (PARTITION BY {keys}) = 1"
            )
        sums = []
        for c in shared:
            a, b = f"l.{_ident(c)}", f"r.{_ident(c)}"
            numeric = left_cols[c].startswith(_NUMERIC) and right_cols[c].startswith(_NUMERIC)
            if numeric:
                differs = (
                    f"(({a} IS NULL) <> ({b} IS NULL)) OR "
                    f"(abs({a} - {b}) > {numeric_tolerance!r} * greatest(1.0, abs({a})))"
                )
            else:
                differs = f"{a}::VARCHAR IS DISTINCT FROM {b}::VARCHAR"
            sums.append(f"sum(CASE WHEN {differs} THEN 1 ELSE 0 END)")
        select = ", ".join(["count(*)", *sums])
        row = con.execute(f"SELECT {select} FROM l_one l JOIN r_one r ON {on}").fetchone()
        counts = con.execute(
            "SELECT (SELECT count(*) FROM l_src), (SELECT count(*) FROM r_src), "
            "(SELECT count(*) FROM l_one), (SELECT count(*) FROM r_one)"
        ).fetchone()
    except duckdb.Error as exc:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"skew join failed: {exc}",
            fix="check that both files are readable and the key columns have the same type",
        ) from None
    finally:
        con.close()
    assert row is not None
    assert counts is not None
    joined = int(row[0])
    left_rows, right_rows, left_one, right_one = (int(v) for v in counts)
    return JoinStats(
        key=tuple(key),
        left_rows=left_rows,
        right_rows=right_rows,
        joined=joined,
        left_unmatched=left_one - joined,
        right_unmatched=right_one - joined,
        left_duplicates=left_rows - left_one,
        right_duplicates=right_rows - right_one,
        mismatches={c: int(v or 0) for c, v in zip(shared, row[1:], strict=True)},
        compared=tuple(shared),
    )
