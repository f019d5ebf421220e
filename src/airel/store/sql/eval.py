"""Eval-context table of the SQL store: eval records (offline evaluations and comparisons).

One part of the transaction classes in :mod:`airel.store.sql` (as the contract's
:mod:`airel.store.contract.eval`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.eval.record import EvalRecord
from airel.domain.release.records import RecordTable
from airel.store import schema as t
from airel.store.sql.records import RecordWrites


class EvalReads:
    """Reads of the eval context."""

    conn: Connection

    def get_eval_record(self, record_id: str) -> EvalRecord | None:
        row = self.conn.execute(
            sa.select(t.eval_records.c.body_json).where(t.eval_records.c.record_id == record_id)
        ).first()
        return EvalRecord.model_validate_json(row[0]) if row else None

    def list_eval_records(self, *, kind: str | None = None) -> list[EvalRecord]:
        query = sa.select(t.eval_records.c.body_json)
        if kind is not None:
            query = query.where(t.eval_records.c.kind == kind)
        query = query.order_by(t.eval_records.c.created_at, t.eval_records.c.record_id)
        return [EvalRecord.model_validate_json(r[0]) for r in self.conn.execute(query)]


class EvalWrites(RecordWrites):
    """Inserts of the eval context (each a mutation that needs an audit entry)."""

    conn: Connection
    mutations: int

    def insert_eval_record(self, record: EvalRecord) -> None:
        self.mutations += 1
        self.conn.execute(
            t.eval_records.insert().values(
                record_id=record.record_id,
                kind=record.kind,
                subject=record.subject,
                passed=record.passed,
                body_json=record.model_dump_json(),
                created_at=record.created_at,
            )
        )
        self.bind(RecordTable.EVAL_RECORDS, record.record_id)
