"""Rollout tables of the SQL store (issue 11), a part of :mod:`airel.store.sql`'s transactions."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from airel.store.sql.records import RecordWrites


class RolloutReads:
    """Reads of the rollout records."""

    conn: Connection


class RolloutWrites(RecordWrites, RolloutReads):
    """Inserts of the rollout records (each a mutation that needs an audit entry)."""

    conn: Connection
    mutations: int
