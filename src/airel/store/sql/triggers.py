"""Trigger tables of the SQL store (issue 11; P4, §8.7): continuous-training trigger records
and incidents, a part of :mod:`airel.store.sql`'s transactions.

One part of the transaction classes in :mod:`airel.store.sql` (as the contract's
:mod:`airel.store.contract.promotion`): they mix it in, so the queries share the connection and
the audit-or-refuse rule of every write. Each record is stored as canonical JSON beside the
columns it is looked up by; ``seq`` keeps the order they were written in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.kernel.canonical import canonical_bytes
from airel.domain.release.records import RecordTable
from airel.errors import ConflictError, Reason
from airel.store import schema as t
from airel.store.sql.records import RecordWrites, next_seq

if TYPE_CHECKING:  # the promotion models load when a trigger record is read (issue 10)
    from airel.domain.promotion.ct_trigger import CtTrigger, Incident


def _canonical(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def _trigger(row: sa.Row[Any]) -> CtTrigger:
    from airel.domain.promotion.ct_trigger import CtTrigger  # noqa: PLC0415

    return CtTrigger.model_validate_json(row.body_json, strict=False)


def _incident(row: sa.Row[Any]) -> Incident:
    from airel.domain.promotion.ct_trigger import Incident  # noqa: PLC0415

    return Incident.model_validate_json(row.body_json, strict=False)


def _duplicate(what: str, key: str) -> ConflictError:
    return ConflictError(
        Reason.DUPLICATE_RECORD,
        f"{what} {key} is already stored",
        fix=f"a {what} is recorded once; give a new id",
        details={what.replace(" ", "_"): key},
    )


class TriggerReads:
    """Reads of the trigger records."""

    conn: Connection

    def get_ct_trigger(self, trigger_id: str) -> CtTrigger | None:
        row = self.conn.execute(
            sa.select(t.ct_triggers).where(t.ct_triggers.c.trigger_id == trigger_id)
        ).first()
        return _trigger(row) if row else None

    def list_ct_triggers(self, *, use_case_id: str | None = None) -> list[CtTrigger]:
        c = t.ct_triggers.c
        query = sa.select(t.ct_triggers).order_by(c.seq, c.trigger_id)
        if use_case_id is not None:
            query = query.where(c.use_case_id == use_case_id)
        return [_trigger(r) for r in self.conn.execute(query)]

    def get_incident(self, incident_id: str) -> Incident | None:
        row = self.conn.execute(
            sa.select(t.incidents).where(t.incidents.c.incident_id == incident_id)
        ).first()
        return _incident(row) if row else None

    def list_incidents(
        self, *, release_id: str | None = None, use_case_id: str | None = None
    ) -> list[Incident]:
        c = t.incidents.c
        query = sa.select(t.incidents).order_by(c.seq, c.incident_id)
        if release_id is not None:
            query = query.where(c.release_id == release_id)
        if use_case_id is not None:
            query = query.where(c.use_case_id == use_case_id)
        return [_incident(r) for r in self.conn.execute(query)]


class TriggerWrites(RecordWrites, TriggerReads):
    """Inserts of the trigger records (each a mutation that needs an audit entry)."""

    conn: Connection
    mutations: int

    def insert_ct_trigger(self, trigger: CtTrigger) -> None:
        if self.get_ct_trigger(trigger.trigger_id) is not None:
            raise _duplicate("trigger", trigger.trigger_id)
        self.mutations += 1
        self.conn.execute(
            t.ct_triggers.insert().values(
                trigger_id=trigger.trigger_id,
                use_case_id=trigger.use_case_id,
                kind=trigger.kind.value,
                candidate_release_id=trigger.candidate_release_id,
                body_json=_canonical(trigger.model_dump(mode="json")),
                created_at=trigger.created_at,
                created_by=trigger.created_by,
                seq=next_seq(t.ct_triggers),
            )
        )
        self.bind(RecordTable.CT_TRIGGERS, trigger.trigger_id)

    def insert_incident(self, incident: Incident) -> None:
        if self.get_incident(incident.incident_id) is not None:
            raise _duplicate("incident", incident.incident_id)
        self.mutations += 1
        self.conn.execute(
            t.incidents.insert().values(
                incident_id=incident.incident_id,
                use_case_id=incident.use_case_id,
                release_id=incident.release_id,
                source=incident.source.value,
                body_json=_canonical(incident.model_dump(mode="json")),
                created_at=incident.opened_at,
                created_by=incident.opened_by,
                seq=next_seq(t.incidents),
            )
        )
        self.bind(RecordTable.INCIDENTS, incident.incident_id)
