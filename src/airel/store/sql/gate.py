"""Release-gate tables of the SQL store: attestations, evidence links, approvals, waivers and
gate decisions (issue 5).

One part of the transaction classes in :mod:`airel.store.sql`, like :mod:`airel.store.sql.data`:
they mix it in, so the queries share the connection and the audit-or-refuse rule of every write.
Approval ids are the table's primary key, so a replayed approval is refused by the database
itself even if a caller skipped the service's check.
"""

from __future__ import annotations

import json
from typing import TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from airel.domain.gate.approvals import Approval, Waiver
from airel.domain.gate.records import Attestation, DecisionRecord, EvidenceLink, LinkKind
from airel.domain.release.records import RecordTable
from airel.errors import ConflictError, Reason
from airel.store import schema as t
from airel.store.sql.records import RecordWrites, dumps_json, next_seq

M = TypeVar("M", bound=BaseModel)


class GateReads:
    """Reads of the gate tables."""

    conn: Connection

    def _bodies(self, table: sa.Table, model: type[M], release_id: str, *order: str) -> list[M]:
        """The release's rows of ``table`` as ``model`` (from ``body_json``), in ``order``."""
        c = table.c
        rows = self.conn.execute(
            sa.select(c.body_json)
            .where(c.release_id == release_id)
            .order_by(*(c[name] for name in order))
        )
        return [model.model_validate_json(r[0]) for r in rows]

    def list_attestations(self, release_id: str) -> list[Attestation]:
        return self._bodies(t.gate_attestations, Attestation, release_id, "seq")

    def list_evidence_links(self, release_id: str) -> list[EvidenceLink]:
        c = t.evidence_links.c
        rows = self.conn.execute(
            sa.select(t.evidence_links).where(c.release_id == release_id).order_by(c.seq)
        )
        return [
            EvidenceLink(
                release_id=r.release_id,
                kind=LinkKind(r.kind),
                record_id=r.record_id,
                created_at=r.created_at,
                created_by=r.created_by,
            )
            for r in rows
        ]

    def get_approval(self, approval_id: str) -> Approval | None:
        c = t.approvals.c
        row = self.conn.execute(sa.select(c.body_json).where(c.approval_id == approval_id)).first()
        return Approval.model_validate_json(row[0]) if row else None

    def list_approvals(self, release_id: str) -> list[Approval]:
        return self._bodies(t.approvals, Approval, release_id, "issued_at", "approval_id")

    def list_waivers(self, release_id: str) -> list[Waiver]:
        return self._bodies(t.waivers, Waiver, release_id, "issued_at", "waiver_id")

    def get_decision(self, decision_id: str) -> DecisionRecord | None:
        c = t.gate_decisions.c
        row = self.conn.execute(
            sa.select(t.gate_decisions).where(c.decision_id == decision_id)
        ).first()
        return _decision(row) if row else None

    def list_decisions(
        self, release_id: str | None = None, *, inputs_digest: str | None = None
    ) -> list[DecisionRecord]:
        c = t.gate_decisions.c
        query = sa.select(t.gate_decisions)
        if release_id is not None:
            query = query.where(c.release_id == release_id)
        if inputs_digest is not None:
            query = query.where(c.inputs_digest == inputs_digest)
        query = query.order_by(c.seq)
        return [_decision(r) for r in self.conn.execute(query)]


class GateWrites(RecordWrites):
    """Inserts into the gate tables (each counted as a mutation needing an audit entry)."""

    conn: Connection
    mutations: int

    def insert_attestation(self, attestation: Attestation) -> None:
        self.mutations += 1
        self.conn.execute(
            t.gate_attestations.insert().values(
                attestation_id=attestation.attestation_id,
                release_id=attestation.release_id,
                kind=attestation.kind,
                status=attestation.status.value,
                body_json=attestation.model_dump_json(),
                created_at=attestation.created_at,
                created_by=attestation.created_by,
                seq=next_seq(t.gate_attestations),
            )
        )
        self.bind(RecordTable.ATTESTATIONS, attestation.attestation_id)

    def insert_evidence_link(self, link: EvidenceLink) -> None:
        self.mutations += 1
        self.conn.execute(
            t.evidence_links.insert().values(
                release_id=link.release_id,
                kind=link.kind.value,
                record_id=link.record_id,
                created_at=link.created_at,
                created_by=link.created_by,
                seq=next_seq(t.evidence_links),
            )
        )
        self.bind(RecordTable.EVIDENCE_LINKS, link.release_id, link.kind.value, link.record_id)

    def insert_approval(self, approval: Approval) -> None:
        self.mutations += 1
        try:
            self.conn.execute(
                t.approvals.insert().values(
                    approval_id=approval.approval_id,
                    release_id=approval.release_id,
                    bundle_digest=approval.bundle_digest,
                    role=approval.role.value,
                    approver=approval.approver,
                    issued_at=approval.issued_at.isoformat(),
                    expires_at=approval.expires_at.isoformat(),
                    body_json=approval.model_dump_json(),
                )
            )
        except sa.exc.IntegrityError:  # the transaction is lost anyway: refuse it whole
            raise ConflictError(
                Reason.APPROVAL_REPLAYED,
                f"approval {approval.approval_id} was already presented",
                fix="an approval is single-use; sign a new one",
            ) from None
        self.bind(RecordTable.APPROVALS, approval.approval_id)

    def insert_waiver(self, waiver: Waiver) -> None:
        self.mutations += 1
        self.conn.execute(
            t.waivers.insert().values(
                waiver_id=waiver.waiver_id,
                release_id=waiver.release_id,
                kind=waiver.kind.value,
                bundle_digest=waiver.bundle_digest,
                approver=waiver.approver,
                issued_at=waiver.issued_at.isoformat(),
                expires_at=waiver.expires_at.isoformat(),
                body_json=waiver.model_dump_json(),
            )
        )
        self.bind(RecordTable.WAIVERS, waiver.waiver_id)

    def insert_decision(self, record: DecisionRecord) -> None:
        self.mutations += 1
        self.conn.execute(
            t.gate_decisions.insert().values(
                decision_id=record.decision_id,
                release_id=record.release_id,
                bundle_digest=record.bundle_digest,
                decision=record.decision,
                policy_ref=record.policy_ref,
                policy_digest=record.policy_digest,
                inputs_digest=record.inputs_digest,
                through=record.through,
                expires_at=record.expires_at,
                created_at=record.created_at,
                created_by=record.created_by,
                body_json=dumps_json(record.body),
                seq=next_seq(t.gate_decisions),
            )
        )
        self.bind(RecordTable.DECISIONS, record.decision_id)


def _decision(row: sa.Row[object]) -> DecisionRecord:
    r = row._mapping
    return DecisionRecord(
        decision_id=r["decision_id"],
        release_id=r["release_id"],
        bundle_digest=r["bundle_digest"],
        decision=r["decision"],
        policy_ref=r["policy_ref"],
        policy_digest=r["policy_digest"],
        inputs_digest=r["inputs_digest"],
        through=r["through"],
        expires_at=r["expires_at"],
        created_at=r["created_at"],
        created_by=r["created_by"],
        body=json.loads(r["body_json"]),
    )
