"""The trigger tables of the Store contract on SQLite and PostgreSQL alike (P4, §8.7, C2).

Trigger records and incidents are unique by id, listed in write order (and by use case or
release), written only with an audit entry, and bound to the chain: an edited row is caught by
``audit verify``.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
import sqlalchemy as sa

from airel.client import Client
from airel.domain.kernel.tiers import RiskTier
from airel.domain.promotion.ct_trigger import (
    CtTrigger,
    Incident,
    TriggerDecision,
    TriggerKind,
    release_rule,
    trigger_incident,
)
from airel.errors import ConflictError, Reason
from airel.store import schema
from airel.store.contract import WriteTx
from airel.store.sql import SqlStore

AT = "2026-12-03T12:00:00+00:00"


def trigger(trigger_id: str, use_case: str = "FRAUD-SCORING", **changes: Any) -> CtTrigger:
    body: dict[str, Any] = {
        "trigger_id": trigger_id,
        "use_case_id": use_case,
        "kind": TriggerKind.PERFORMANCE_DEGRADATION,
        "source": "alerting",
        "condition": "precision at 1% FPR fell below 0.6",
        "candidate_action": "retrain on the last 90 days",
        "release_rule": release_rule(TriggerKind.PERFORMANCE_DEGRADATION, RiskTier.TIER_2),
        "required_evals": ("precision",),
        "owner": "Fraud Analytics Lead",
        "risk_tier": RiskTier.TIER_2,
        "decision": TriggerDecision.RECORDED,
        "decision_text": "trigger recorded; no candidate built",
        "incident_id": f"INC-{trigger_id}",
        "spec_digest": "sha256:" + "c" * 64,
        "created_at": AT,
        "created_by": "ct-bot",
    }
    return CtTrigger.model_validate({**body, **changes})


def incident(t: CtTrigger, release: str | None = "FRAUD-2026-001") -> Incident:
    return trigger_incident(t, release_id=release, severity="sev2")


def audited(fn: Any) -> Any:
    def run(tx: WriteTx) -> Any:
        out = fn(tx)
        tx.append_audit(actor="ct-bot", action="ct.test", subject="x", before=None, after=None)
        return out

    return run


def counts(client: Client) -> dict[str, int]:
    engine = cast(SqlStore, client.ctx.store).engine
    with engine.connect() as conn:
        return {
            n: conn.execute(
                sa.select(sa.func.count()).select_from(schema.metadata.tables[n])
            ).scalar_one()
            for n in ("ct_triggers", "incidents", "audit_log")
        }


def test_triggers_round_trip_in_write_order_and_are_unique(client: Client) -> None:
    store = client.ctx.store
    a, b = trigger("CT-FRAUD-2"), trigger("CT-FRAUD-1", candidate_release_id="FRAUD-2026-002")
    c = trigger("CT-CHURN-1", use_case="CHURN")
    for t in (a, b, c):
        store.write(audited(lambda tx, t=t: tx.insert_ct_trigger(t)))
    before = counts(client)
    with pytest.raises(ConflictError) as exc:
        store.write(audited(lambda tx: tx.insert_ct_trigger(a)))
    assert exc.value.reason is Reason.DUPLICATE_RECORD
    assert counts(client) == before
    with store.read() as tx:
        every = tx.list_ct_triggers()
        fraud = tx.list_ct_triggers(use_case_id="FRAUD-SCORING")
        back = tx.get_ct_trigger("CT-FRAUD-1")
        assert tx.get_ct_trigger("CT-NONE-1") is None
        assert tx.list_ct_triggers(use_case_id="OTHER") == []
    assert [t.trigger_id for t in every] == ["CT-FRAUD-2", "CT-FRAUD-1", "CT-CHURN-1"]
    assert [t.trigger_id for t in fraud] == ["CT-FRAUD-2", "CT-FRAUD-1"]
    assert back == b


def test_incidents_round_trip_by_release_and_use_case(client: Client) -> None:
    store = client.ctx.store
    one, two = incident(trigger("CT-FRAUD-1")), incident(trigger("CT-FRAUD-2"), release=None)
    three = incident(trigger("CT-CHURN-1", use_case="CHURN"), release="CHURN-7")
    for i in (one, two, three):
        store.write(audited(lambda tx, i=i: tx.insert_incident(i)))
    with pytest.raises(ConflictError) as exc:
        store.write(audited(lambda tx: tx.insert_incident(one)))
    assert exc.value.reason is Reason.DUPLICATE_RECORD
    with store.read() as tx:
        assert [i.incident_id for i in tx.list_incidents()] == [
            one.incident_id,
            two.incident_id,
            three.incident_id,
        ]
        assert tx.list_incidents(release_id="FRAUD-2026-001") == [one]
        assert tx.list_incidents(use_case_id="CHURN") == [three]
        assert tx.get_incident(two.incident_id) == two
        assert tx.get_incident("INC-NONE") is None


@pytest.mark.parametrize("insert", ["trigger", "incident"])
def test_trigger_writes_need_an_audit_entry(client: Client, insert: str) -> None:
    t = trigger("CT-FRAUD-1")

    def fn(tx: WriteTx) -> None:
        if insert == "trigger":
            tx.insert_ct_trigger(t)
        else:
            tx.insert_incident(incident(t))

    before = counts(client)
    with pytest.raises(RuntimeError, match="audit"):
        client.ctx.store.write(fn)
    assert counts(client) == before


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("ct_triggers", "candidate_release_id", "FRAUD-2026-009"),
        ("ct_triggers", "body_json", None),  # None: the decision edited inside the JSON
        ("incidents", "release_id", "FRAUD-2026-009"),
    ],
)
def test_an_edited_trigger_row_is_caught_by_audit_verify(
    client: Client, table: str, column: str, value: str | None
) -> None:
    t = trigger("CT-FRAUD-1")
    client.ctx.store.write(
        audited(lambda tx: (tx.insert_ct_trigger(t), tx.insert_incident(incident(t))))
    )
    assert client.verify_audit().ok
    tbl = schema.metadata.tables[table]
    engine = cast(SqlStore, client.ctx.store).engine
    with engine.begin() as conn:
        row = conn.execute(sa.select(tbl)).mappings().one()
        new = value if value is not None else row[column].replace('"recorded"', '"candidate_held"')
        assert new != row[column]
        conn.execute(tbl.update().values(**{column: new}))
    report = client.verify_audit()
    assert not report.ok
    assert table in {p["table"] for p in report.record_problems}
