"""Tamper suite (issue 18; SPEC C2, G5, G6, B2), on SQLite and PostgreSQL.

For every record table, one row is edited directly in the database the way an insider with
database access would — recomputing any local seal or content id so that the row is
self-consistent — and both ``audit verify`` and (for the records the gates count) the gate
engine must catch it. The two cases from the field are pinned by name: a CI attestation whose
failed-test count went from 3 to 0 (a no-go that became a limited go), and an approval rewritten
to another approver with its seal recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa

from airel.client import Client
from airel.domain.gate.approvals import Approval, Waiver
from airel.domain.gate.records import Attestation
from airel.domain.kernel.canonical import digest_of
from airel.errors import AirelError, Reason
from airel.store import schema as t
from airel.store.sql import SqlStore
from gate_fixtures import (
    CI_OK,
    V2,
    as_actor,
    comparison_body,
    freeze_pair,
    now,
    ready_through_g4,
    store_eval,
)


def engine(client: Client) -> sa.Engine:
    return cast(SqlStore, client.ctx.store).engine


@pytest.fixture
def scene(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any, project: Any
) -> Client:
    """A release with every kind of record: CI (3 failed tests), validation, eval, an
    approval, an exception, a decision, an alias with history, a profile, role grants and a
    signing key."""
    c = fraud_registry
    freeze_pair(c, bundle_yaml, write)
    ready_through_g4(c)
    c.gates.add_evidence(V2, "ci", {**CI_OK, "ci_tests_failed": 3})
    c.gates.add_evidence(V2, "ci", {**CI_OK, "ci_unplanned_low_cves": 1, "ci_tests_failed": 3})
    when = now()
    bob = as_actor(c, "bob", "model_risk")
    bob.gates.approve(V2, "model_risk", expires="7d", now=when)
    bob.close()
    c.identity.register_key("bob", c.identity.generate_signing_key(project / "bob.pem"))
    c.registry.set_alias("model", "fraud-score", "production", "1.0.0", reason="first")
    c.registry.set_alias("model", "fraud-score", "production", "2.0.0", reason="second")
    c.data.profile(project / "data" / "train.csv")
    assert c.gates.check(V2, through="G4", now=when).record.decision == "no_go"
    c.gates.link_evidence(V2, eval=store_eval(c, comparison_body(delta_low=0.02)))
    mrm = as_actor(c, "mia", "model_risk")
    c.gates.add_evidence(V2, "ci", {**CI_OK, "ci_unplanned_low_cves": 1})
    mrm.gates.add_exception(
        V2, ["low-cves-planned"], reason="patch planned", expires="7d", now=when
    )
    mrm.close()
    c.gates.add_evidence(V2, "ci", {**CI_OK, "ci_unplanned_low_cves": 1, "ci_tests_failed": 3})
    report = c.audit.verify()
    assert report.ok, report.record_problems
    return c


def first_row(client: Client, table: sa.Table, where: Any = None) -> dict[str, Any]:
    with engine(client).connect() as conn:
        query = sa.select(table)
        if where is not None:
            query = query.where(where)
        row = conn.execute(query.limit(1)).mappings().first()
    assert row is not None, f"no row in {table.name}"
    return dict(row)


def replace_row(client: Client, table: sa.Table, old: dict[str, Any], new: dict[str, Any]) -> None:
    pk = list(table.primary_key.columns)
    with engine(client).begin() as conn:
        cond = sa.and_(*(c == old[c.name] for c in pk))
        assert conn.execute(table.update().where(cond).values(**new)).rowcount == 1


def body_edit(row: dict[str, Any], column: str, fn: Callable[[dict[str, Any]], None]) -> str:
    data = json.loads(row[column])
    fn(data)
    return json.dumps(data)


# -- the cases from the field --------------------------------------------------------------------


def latest_ci(client: Client) -> dict[str, Any]:
    with engine(client).connect() as conn:
        c = t.gate_attestations.c
        row = (
            conn.execute(
                sa.select(t.gate_attestations)
                .where(c.release_id == V2, c.kind == "ci")
                .order_by(c.seq.desc())
            )
            .mappings()
            .first()
        )
    assert row is not None
    return dict(row)


def test_a_ci_attestation_edited_with_its_id_recomputed_is_caught(scene: Client) -> None:
    """G5: failed tests 3 → 0 and the content id recomputed: the gate refuses to count it
    (RECORD_TAMPERED) instead of turning the no-go into a limited go; verify reports it."""
    assert scene.gate_check(V2, through="G4", now=now()).record.decision == "no_go"
    row = latest_ci(scene)
    att = Attestation.model_validate_json(row["body_json"])
    content = att.model_dump(mode="json", exclude={"attestation_id"})
    content["metrics"]["ci_tests_failed"] = 0
    forged = Attestation(attestation_id=Attestation.identify(content), **content)
    replace_row(
        scene,
        t.gate_attestations,
        row,
        {"attestation_id": forged.attestation_id, "body_json": forged.model_dump_json()},
    )
    with pytest.raises(AirelError) as exc:
        scene.gate_check(V2, through="G4", now=now())
    assert exc.value.reason is Reason.RECORD_TAMPERED
    assert "gate_attestations" in exc.value.message
    report = scene.verify_audit()
    assert not report.ok
    kinds = {(p["table"], p["kind"]) for p in report.record_problems}
    assert ("gate_attestations", "unaudited") in kinds  # the forged id was never written
    assert ("gate_attestations", "deleted") in kinds  # the real one is gone


def test_an_approval_rewritten_to_another_approver_is_caught(scene: Client) -> None:
    """G6: the approval row rewritten to another approver, seal recomputed: not counted."""
    row = first_row(scene, t.approvals)
    approval = Approval.model_validate_json(row["body_json"])
    forged = approval.model_copy(update={"approver": "lena-vos"}).sealed()
    assert forged.seal_ok()
    replace_row(
        scene, t.approvals, row, {"approver": "lena-vos", "body_json": forged.model_dump_json()}
    )
    with pytest.raises(AirelError) as exc:
        scene.gate_check(V2, through="G4", now=now())
    assert exc.value.reason is Reason.RECORD_TAMPERED
    assert exc.value.details["problems"][0]["table"] == "approvals"
    report = scene.verify_audit()
    assert [(p["table"], p["kind"]) for p in report.record_problems] == [("approvals", "edited")]


# -- every record table ----------------------------------------------------------------------------


def _waiver(row: dict[str, Any]) -> dict[str, Any]:
    w = Waiver.model_validate_json(row["body_json"])
    forged = w.model_copy(update={"expires_at": w.expires_at + timedelta(days=365)}).sealed()
    return {"body_json": forged.model_dump_json(), "expires_at": forged.expires_at.isoformat()}


def _validation(row: dict[str, Any]) -> dict[str, Any]:
    def clear(d: dict[str, Any]) -> None:
        d["findings"], d["hard"], d["soft"] = [], 0, 0

    return {"body_json": body_edit(row, "body_json", clear)}


def _eval(row: dict[str, Any]) -> dict[str, Any]:
    def clear(d: dict[str, Any]) -> None:
        d["body"]["critical_failures"]["count"] = 0

    return {"body_json": body_edit(row, "body_json", clear)}


def _bundle(row: dict[str, Any]) -> dict[str, Any]:
    def submitter(d: dict[str, Any]) -> None:
        d["created_by"] = "mallory"  # would let the real submitter approve their own release

    return {"body_json": body_edit(row, "body_json", submitter), "created_by": "mallory"}


def _component(row: dict[str, Any]) -> dict[str, Any]:
    def owner(d: dict[str, Any]) -> None:
        d["owner"] = "nobody"

    return {"fields_json": body_edit(row, "fields_json", owner)}


LATEST_EVAL = digest_of(comparison_body(delta_low=0.02))  # the eval record the gate reads

# table, row filter, edit, whether the gate reads it for V2
CASES: list[tuple[sa.Table, Any, Callable[[dict[str, Any]], dict[str, Any]], bool]] = [
    (t.gate_attestations, t.gate_attestations.c.kind == "ci",
     lambda r: {"status": "ok", "created_by": "mallory"}, True),
    (t.evidence_links, t.evidence_links.c.kind == "eval",
     lambda r: {"created_by": "mallory"}, True),
    (t.approvals, None, lambda r: {"role": "compliance"}, True),
    (t.waivers, None, _waiver, True),
    (t.validation_runs, None, _validation, True),
    (t.eval_records, t.eval_records.c.record_id == LATEST_EVAL, _eval, True),
    (t.bundles, t.bundles.c.release_id == V2, _bundle, True),
    (t.components, t.components.c.kind == "dataset", _component, True),
    (t.gate_decisions, None, lambda r: {"decision": "go"}, False),
    (t.aliases, None, lambda r: {"version": "1.0.0"}, False),
    (t.alias_moves, None, lambda r: {"reason": "nothing to see"}, False),
    (t.artifacts, None, lambda r: {"size": int(r["size"]) + 1}, False),
    (t.profiles, None, lambda r: {"rows": int(r["rows"]) + 1}, False),
    (t.lineage_edges, None, lambda r: {"relation": "bundles"}, False),
    (t.role_grants, t.role_grants.c.identity == "bob",
     lambda r: {"revoked_at": None, "granted_by": "mallory"}, False),
    (t.signing_keys, None, lambda r: {"identity": "mallory"}, False),
]  # fmt: skip


@pytest.mark.parametrize(("table", "where", "edit", "gated"), CASES, ids=[c[0].name for c in CASES])
def test_every_record_table_is_bound_to_the_chain(
    scene: Client,
    table: sa.Table,
    where: Any,
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    gated: bool,
) -> None:
    """C2: an edited row of any record table is caught by `audit verify` (which still finds
    the chain itself intact), and by the gate when the gate reads it."""
    row = first_row(scene, table, where)
    change = edit(row)
    if table is t.lineage_edges and row["relation"] == "bundles":
        change = {"relation": "derived_from"}
    replace_row(scene, table, row, change)
    report = scene.verify_audit()
    assert not report.ok
    assert report.problems == ()  # the chain is intact: only the record changed
    assert table.name in {p["table"] for p in report.record_problems}
    assert scene.verify_audit(records=False).ok  # what `audit verify` used to say
    if gated:
        with pytest.raises(AirelError) as exc:
            scene.gate_check(V2, through="G4", now=now())
        assert exc.value.reason is Reason.RECORD_TAMPERED
        assert table.name in {p["table"] for p in exc.value.details["problems"]}


def test_a_deleted_record_and_an_inserted_one_are_caught(scene: Client) -> None:
    """C2: deleting the newest CI attestation (so an older one becomes "latest") or inserting
    a row behind airel's back is caught."""
    row = latest_ci(scene)
    with engine(scene).begin() as conn:
        conn.execute(
            t.gate_attestations.delete().where(
                t.gate_attestations.c.attestation_id == row["attestation_id"]
            )
        )
    report = scene.verify_audit()
    assert ("gate_attestations", "deleted") in {
        (p["table"], p["kind"]) for p in report.record_problems
    }
    with engine(scene).begin() as conn:
        conn.execute(t.gate_attestations.insert().values(**row))  # put it back: intact again
    assert scene.verify_audit().ok
    with engine(scene).begin() as conn:
        conn.execute(
            t.store_meta.insert().values(key="x", value="y")
        )  # not a record table: ignored
        conn.execute(
            t.lineage_edges.insert().values(
                parent="dataset/X:1", child="model/Y:1", relation="trains"
            )
        )
    kinds = {(p["table"], p["kind"]) for p in scene.verify_audit().record_problems}
    assert kinds == {("lineage_edges", "unaudited")}
