"""Monitoring tables of the SQL store (issue 12; T1): traces, their ingest batches, feedback.

One part of the transaction classes in :mod:`airel.store.sql` (as the contract's
:mod:`airel.store.contract.monitoring`). A batch of traces is inserted with one multi-row
``executemany`` and bound to the chain through its ``trace_batches`` row; traces themselves
are not bound one by one (20,000 a second would make the audit log the bottleneck).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.kernel.canonical import canonical_bytes
from airel.domain.release.records import RecordTable
from airel.errors import ConflictError, Reason
from airel.store import schema as t
from airel.store.sql.records import RecordWrites, next_seq

if TYPE_CHECKING:  # the monitoring models load when a trace is read (issue 10)
    from airel.domain.monitoring.trace import Feedback, Trace, TraceBatch, TraceQuery, TraceRow

COLUMNS = (
    "request_id", "release_id", "mode", "at", "key_digest", "status", "latency_ms",
    "critical", "error", "cost", "quality_failure", "override", "segments",
)  # fmt: skip


def _trace(body: str) -> Trace:
    from airel.domain.monitoring.trace import Trace  # noqa: PLC0415

    data = json.loads(body)
    data.pop("format", None)
    return Trace.model_validate(data)


def _batch(row: sa.Row[Any]) -> TraceBatch:
    from airel.domain.monitoring.trace import TraceBatch  # noqa: PLC0415

    return TraceBatch.model_validate(dict(row._mapping))


def _where(query: TraceQuery) -> list[sa.ColumnElement[bool]]:
    c = t.traces.c
    cond: list[sa.ColumnElement[bool]] = []
    if query.release_id is not None:
        cond.append(c.release_id == query.release_id)
    if query.route is not None:
        cond.append(c.route == query.route)
    if query.component is not None:
        field, version = query.component
        if field not in t.TRACE_COLUMNS:
            raise ValueError(f"not a trace version column: {field}")
        cond.append(c[field] == version)
    if query.since is not None:
        cond.append(c.at >= query.since)
    if query.until is not None:
        cond.append(c.at < query.until)
    if query.mode is not None:
        cond.append(c.mode == query.mode.value)
    return cond


class MonitoringReads:
    """Reads of the monitoring tables."""

    conn: Connection

    def get_traces(self, request_id: str) -> list[Trace]:
        c = t.traces.c
        rows = self.conn.execute(
            sa.select(c.body_json).where(c.request_id == request_id).order_by(c.mode, c.release_id)
        )
        return [_trace(r[0]) for r in rows]

    def query_traces(self, query: TraceQuery) -> list[Trace]:
        c = t.traces.c
        select = (
            sa.select(c.body_json)
            .where(*_where(query))
            .order_by(c.at, c.request_id, c.release_id)
            .limit(query.limit)
        )
        return [_trace(r[0]) for r in self.conn.execute(select)]

    def trace_columns(self, query: TraceQuery) -> dict[str, list[Any]]:
        c = t.traces.c
        select = (
            sa.select(*(c[name] for name in COLUMNS))
            .where(*_where(query))
            .order_by(c.at, c.request_id, c.release_id)
            .limit(query.limit)
        )
        rows = self.conn.execute(select).all()
        return {name: [r[i] for r in rows] for i, name in enumerate(COLUMNS)}

    def last_trace_batch(self) -> TraceBatch | None:
        c = t.trace_batches.c
        row = self.conn.execute(
            sa.select(t.trace_batches).order_by(c.batch_id.desc()).limit(1)
        ).first()
        return _batch(row) if row else None

    def list_trace_batches(self, *, after: int = 0, limit: int = 1000) -> list[TraceBatch]:
        c = t.trace_batches.c
        rows = self.conn.execute(
            sa.select(t.trace_batches).where(c.batch_id > after).order_by(c.batch_id).limit(limit)
        )
        return [_batch(r) for r in rows]

    def iter_batch_traces(self, batch_id: int) -> Iterator[tuple[str, str]]:
        c = t.traces.c
        rows = self.conn.execute(
            sa.select(c.digest, c.body_json).where(c.batch_id == batch_id).order_by(c.pos)
        )
        for digest, body in rows:
            yield str(digest), str(body)

    def list_feedback(
        self, *, request_ids: Sequence[str] | None = None, since: str | None = None
    ) -> list[Feedback]:
        from airel.domain.monitoring.trace import Feedback  # noqa: PLC0415

        c = t.trace_feedback.c
        select = sa.select(c.body_json).order_by(c.seq)
        if request_ids is not None:
            select = select.where(c.request_id.in_(list(request_ids)))
        if since is not None:
            select = select.where(c.created_at >= since)
        return [Feedback.model_validate_json(r[0]) for r in self.conn.execute(select)]


# the traces columns in the order :func:`_values` gives them: TraceColumns' fields, then the
# batch's (checked against the schema here, against TraceColumns by tests/monitoring)
_NAMES = (
    "request_id", "release_id", "mode", "route", "at", "use_case_id", "key_digest", "status",
    "latency_ms", "critical", "error", "cost", "quality_failure", "override", "segments",
    "model_version", "prompt_version", "policy_version", "feature_view_version",
    "dataset_or_index_version", "tool_schema_version", "batch_id", "pos", "digest", "body_json",
)  # fmt: skip
if set(_NAMES) != {c.name for c in t.traces.columns}:  # pragma: no cover - a schema edit
    raise RuntimeError("store/sql/monitoring.py: _NAMES no longer matches the traces table")


def _values(batch_id: int, pos: int, row: TraceRow) -> tuple[Any, ...]:
    """One traces row as a tuple in :data:`_NAMES` order (the driver's executemany takes it
    directly: building a dict per row cost as much as the insert)."""
    return (*row.columns, batch_id, pos, row.digest, row.body_json)


class MonitoringWrites(RecordWrites, MonitoringReads):
    """Inserts of traces (by batch) and feedback; each a mutation that needs an audit entry."""

    conn: Connection
    mutations: int

    def insert_trace_batch(self, batch: TraceBatch, rows: Sequence[TraceRow]) -> None:
        self.mutations += 1
        self.conn.execute(t.trace_batches.insert().values(**batch.model_dump(mode="json")))
        mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        sql = (  # column names from the schema, never from input
            f"INSERT INTO traces ({', '.join(_NAMES)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(_NAMES))})"
        )
        params = [_values(batch.batch_id, i, r) for i, r in enumerate(rows)]
        try:
            with self.conn.begin_nested():
                # the driver's executemany directly: SQLAlchemy's per-row binding costs more
                # than the insert itself at thousands of traces per batch
                self.conn.exec_driver_sql(sql, params)
        except sa.exc.IntegrityError:
            raise ConflictError(
                Reason.DUPLICATE_RECORD,
                f"a request of batch {batch.batch_id} is already traced for its release",
                fix="trace each (request, release) once; drop the duplicates and retry",
                details={"batch_id": batch.batch_id},
            ) from None
        self.bind(RecordTable.TRACE_BATCHES, batch.batch_id)

    def insert_feedback(self, feedback_id: str, feedback: Feedback) -> None:
        self.mutations += 1
        body = feedback.model_dump(mode="json", exclude_none=True)
        self.conn.execute(
            t.trace_feedback.insert().values(
                feedback_id=feedback_id,
                request_id=feedback.request_id,
                kind=feedback.kind.value,
                body_json=canonical_bytes(body).decode("utf-8"),
                created_at=feedback.at,
                created_by=feedback.by,
                seq=next_seq(t.trace_feedback),
            )
        )
        self.bind(RecordTable.TRACE_FEEDBACK, feedback_id)
