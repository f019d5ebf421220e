"""Trigger tables of the SQL store (issue 11), a part of :mod:`airel.store.sql`'s transactions."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from airel.store.sql.records import RecordWrites


class TriggerReads:
    """Reads of the triggers records."""

    conn: Connection


class TriggerWrites(RecordWrites, TriggerReads):
    """Inserts of the triggers records (each a mutation that needs an audit entry)."""

    conn: Connection
    mutations: int
