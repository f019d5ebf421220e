"""The gate tables of the Store contract on SQLite and PostgreSQL alike (G4–G6, 'audit').

Attestations, evidence links, approvals, waivers and gate decisions are stored field for field,
listed per release oldest first, written only with an audit entry, and immutable: a replayed
approval id is refused by the database itself (APPROVAL_REPLAYED), a second decision or link
with the same key is a conflict, and a failed write leaves nothing behind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
import sqlalchemy as sa

from airel.client import Client
from airel.domain.gate.approvals import Approval, Waiver, WaiverKind
from airel.domain.gate.records import (
    Attestation,
    AttestationStatus,
    DecisionRecord,
    EvidenceLink,
    LinkKind,
    decision_id_of,
)
from airel.domain.gate.stack import Conditions
from airel.domain.kernel.clock import utc_now
from airel.domain.kernel.roles import Role
from airel.errors import ConflictError, Reason
from airel.store import schema
from airel.store.contract import WriteTx
from airel.store.sql import SqlStore

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DIGEST = "sha256:" + "b" * 64


def audit(tx: WriteTx, action: str = "gate.test") -> None:
    tx.append_audit(actor="alice", action=action, subject="release/R-1", before=None, after=None)


def approval(n: int, *, release: str = "R-1", role: Role = Role.MODEL_RISK) -> Approval:
    return Approval(
        approval_id=f"{n:032x}",
        release_id=release,
        bundle_digest=DIGEST,
        role=role,
        approver=f"approver{n}",
        issued_at=T0 + timedelta(minutes=n),
        expires_at=T0 + timedelta(days=14),
        comment="looked at the eval report",
    ).sealed()


def waiver(n: int, kind: WaiverKind = WaiverKind.EXCEPTION) -> Waiver:
    return Waiver(
        waiver_id=f"{n:032x}",
        kind=kind,
        release_id="R-1",
        bundle_digest=DIGEST,
        rules=["feature-freshness"],
        reason="the feed catches up nightly",
        scope=Conditions(segments=["SME"], traffic_cap_percent=5.0),
        compensating_controls=["daily review"] if kind is WaiverKind.RISK_ACCEPTANCE else [],
        approver="mrm",
        role=Role.MODEL_RISK,
        issued_at=T0 + timedelta(minutes=n),
        expires_at=T0 + timedelta(days=7),
    ).sealed()


def attestation(kind: str = "ci", value: int = 0, release: str = "R-1") -> Attestation:
    content = {
        "release_id": release,
        "kind": kind,
        "status": "ok",
        "metrics": {"ci_tests_failed": value, "ci_container_built": True},
        "source": "https://ci.example/run/1",
        "created_at": utc_now(),
        "created_by": "ci-bot",
    }
    return Attestation(attestation_id=Attestation.identify(content), **content)


def decision(release: str = "R-1", outcome: str = "no_go") -> DecisionRecord:
    body = {"outcome": {"decision": outcome, "reasons": ["G0:SCOPE_NOT_RECORDED:scope"]}}
    inputs = "sha256:" + ("c" if release == "R-1" else "a") * 64
    return DecisionRecord(
        decision_id=decision_id_of(inputs, body["outcome"], T0.isoformat()),
        release_id=release,
        bundle_digest=DIGEST,
        decision=outcome,
        policy_ref="airel-default:1.0",
        policy_digest="sha256:" + "d" * 64,
        inputs_digest=inputs,
        through="G4",
        expires_at=(T0 + timedelta(days=14)).isoformat(),
        created_at=utc_now(),
        created_by="alice",
        body=body,
    )


def counts(client: Client) -> dict[str, int]:
    engine = cast(SqlStore, client.ctx.store).engine
    names = ["gate_attestations", "evidence_links", "approvals", "waivers", "gate_decisions"]
    with engine.connect() as conn:
        return {
            n: int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(schema.metadata.tables[n])
                ).scalar_one()
            )
            for n in [*names, "audit_log"]
        }


def test_attestations_round_trip_per_release_oldest_first(client: Client) -> None:
    """G5: attestations are stored whole and listed per release in recording order."""
    first, second, other = attestation(value=0), attestation(value=3), attestation(release="R-2")

    def fn(tx: WriteTx) -> None:
        for a in (first, second, other):
            tx.insert_attestation(a)
        audit(tx, "gate.attest")

    client.ctx.store.write(fn)
    with client.ctx.store.read() as tx:
        assert tx.list_attestations("R-1") == [first, second]
        assert tx.list_attestations("R-2") == [other]
        assert tx.list_attestations("R-3") == []
    assert first.status is AttestationStatus.OK


def test_evidence_links_round_trip_and_are_unique(client: Client) -> None:
    """G4: a link is keyed by (release, kind, record); linking twice is a conflict."""
    link = EvidenceLink(
        release_id="R-1",
        kind=LinkKind.EVAL,
        record_id="sha256:" + "e" * 64,
        created_at=utc_now(),
        created_by="alice",
    )

    def fn(tx: WriteTx) -> None:
        tx.insert_evidence_link(link)
        audit(tx, "gate.link")

    client.ctx.store.write(fn)
    with client.ctx.store.read() as tx:
        assert tx.list_evidence_links("R-1") == [link]
    before = counts(client)
    with pytest.raises(ConflictError) as exc:
        client.ctx.store.write(fn)
    assert exc.value.reason is Reason.DUPLICATE_RECORD
    assert counts(client) == before


def test_approvals_round_trip_sealed(client: Client) -> None:
    """G6: an approval is stored with its seal intact and listed by issue time."""
    a1, a2 = approval(2), approval(1, role=Role.COMPLIANCE)
    other = approval(3, release="R-2")

    def fn(tx: WriteTx) -> None:
        for a in (a1, a2, other):
            tx.insert_approval(a)
        audit(tx, "gate.approve")

    client.ctx.store.write(fn)
    with client.ctx.store.read() as tx:
        listed = tx.list_approvals("R-1")
        assert listed == [a2, a1]
        assert all(a.seal_ok() for a in listed)
        assert tx.get_approval(a1.approval_id) == a1
        assert tx.get_approval("f" * 32) is None


def test_replayed_approval_is_refused_by_the_database(client: Client) -> None:
    """G6: the approval id is the primary key, so a replay fails even without the service's
    check, with APPROVAL_REPLAYED, and nothing of that transaction is kept."""
    a = approval(1)

    def fn(tx: WriteTx) -> None:
        tx.insert_approval(a)
        audit(tx, "gate.approve")

    client.ctx.store.write(fn)
    before = counts(client)
    replay = a.model_copy(update={"release_id": "R-2"}).sealed()

    def again(tx: WriteTx) -> None:
        tx.insert_attestation(attestation())  # would be kept if the transaction survived
        tx.insert_approval(replay)
        audit(tx, "gate.approve")

    with pytest.raises(ConflictError) as exc:
        client.ctx.store.write(again)
    assert exc.value.reason is Reason.APPROVAL_REPLAYED
    assert counts(client) == before


def test_waivers_round_trip(client: Client) -> None:
    """G3/G4: exceptions and risk acceptances keep their scope, controls and seal."""
    w1, w2 = waiver(1), waiver(2, WaiverKind.RISK_ACCEPTANCE)

    def fn(tx: WriteTx) -> None:
        tx.insert_waiver(w2)
        tx.insert_waiver(w1)
        audit(tx, "gate.exception")

    client.ctx.store.write(fn)
    with client.ctx.store.read() as tx:
        listed = tx.list_waivers("R-1")
    assert listed == [w1, w2]
    assert listed[1].compensating_controls == ["daily review"]
    assert all(w.seal_ok() for w in listed)


def test_decisions_round_trip_and_are_immutable(client: Client) -> None:
    """G4: a decision is stored once under its id; listing filters by release."""
    d1, d2, other = decision(), decision(outcome="limited_go"), decision(release="R-2")

    def fn(tx: WriteTx) -> None:
        for d in (d1, d2, other):
            tx.insert_decision(d)
        audit(tx, "gate.decide")

    client.ctx.store.write(fn)
    with client.ctx.store.read() as tx:
        assert tx.get_decision(d1.decision_id) == d1
        assert tx.get_decision("sha256:" + "0" * 64) is None
        assert {d.decision_id for d in tx.list_decisions("R-1")} == {d1.decision_id, d2.decision_id}
        assert len(tx.list_decisions()) == 3

    def dup(tx: WriteTx) -> None:
        tx.insert_decision(d1)
        audit(tx, "gate.decide")

    before = counts(client)
    with pytest.raises(ConflictError) as exc:
        client.ctx.store.write(dup)
    assert exc.value.reason is Reason.DUPLICATE_RECORD
    assert counts(client) == before


@pytest.mark.parametrize("insert", ["attestation", "link", "approval", "waiver", "decision"])
def test_gate_mutations_need_an_audit_entry(client: Client, insert: str) -> None:
    """'audit': every gate table write is refused without an audit entry in its transaction."""

    def fn(tx: WriteTx) -> None:
        if insert == "attestation":
            tx.insert_attestation(attestation())
        elif insert == "link":
            tx.insert_evidence_link(
                EvidenceLink(
                    release_id="R-1",
                    kind=LinkKind.VALIDATION,
                    record_id="sha256:" + "1" * 64,
                    created_at=utc_now(),
                    created_by="alice",
                )
            )
        elif insert == "approval":
            tx.insert_approval(approval(1))
        elif insert == "waiver":
            tx.insert_waiver(waiver(1))
        else:
            tx.insert_decision(decision())

    before = counts(client)
    with pytest.raises(RuntimeError, match="audit"):
        client.ctx.store.write(fn)
    assert counts(client) == before
