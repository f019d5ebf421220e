"""Data-context tables of the SQL store: stored profiles and validation runs.

One part of the transaction classes in :mod:`airel.store.sql` (as the contract's
:mod:`airel.store.contract.data`): they mix it in, so the queries share the connection and the
audit-or-refuse rule of every write.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.data.evidence import ProfileRecord, ValidationRun
from airel.domain.release.records import RecordTable
from airel.store import schema as t
from airel.store.sql.records import RecordWrites, dumps_json


class DataReads:
    """Reads of the data context: profiles and validation runs."""

    conn: Connection

    def get_profile(self, source_digest: str, options_key: str) -> ProfileRecord | None:
        row = self.conn.execute(
            sa.select(t.profiles).where(
                t.profiles.c.source_digest == source_digest,
                t.profiles.c.options_key == options_key,
            )
        ).first()
        if row is None:
            return None
        return ProfileRecord(
            digest=row.digest,
            source_digest=row.source_digest,
            options_key=row.options_key,
            engine=row.engine,
            rows=row.rows,
            dataset_node=row.dataset_node,
            body=json.loads(row.body_json),
            created_at=row.created_at,
            created_by=row.created_by,
        )

    def get_validation_run(self, run_id: str) -> ValidationRun | None:
        row = self.conn.execute(
            sa.select(t.validation_runs.c.body_json).where(t.validation_runs.c.run_id == run_id)
        ).first()
        return ValidationRun.model_validate_json(row[0]) if row else None

    def list_validation_runs(self, *, current: str | None = None) -> list[ValidationRun]:
        query = sa.select(t.validation_runs.c.body_json)
        if current is not None:
            query = query.where(t.validation_runs.c.current == current)
        query = query.order_by(t.validation_runs.c.created_at, t.validation_runs.c.run_id)
        return [ValidationRun.model_validate_json(r[0]) for r in self.conn.execute(query)]


class DataWrites(RecordWrites):
    """Inserts of the data context (each a mutation that needs an audit entry)."""

    conn: Connection
    mutations: int

    def insert_profile(self, record: ProfileRecord) -> None:
        self.mutations += 1
        self.conn.execute(
            t.profiles.insert().values(
                digest=record.digest,
                source_digest=record.source_digest,
                options_key=record.options_key,
                engine=record.engine,
                rows=record.rows,
                dataset_node=record.dataset_node,
                body_json=dumps_json(record.body),
                created_at=record.created_at,
                created_by=record.created_by,
            )
        )
        self.bind(RecordTable.PROFILES, record.digest)

    def insert_validation_run(self, run: ValidationRun) -> None:
        self.mutations += 1
        self.conn.execute(
            t.validation_runs.insert().values(
                run_id=run.run_id,
                current=run.current,
                reference=run.reference,
                feature_view=run.feature_view,
                passed=run.passed,
                body_json=run.model_dump_json(),
                created_at=run.created_at,
            )
        )
        self.bind(RecordTable.VALIDATION_RUNS, run.run_id)
