"""Gate decisions keep their identity across re-checks, name their root cause and give the
same rule results on the same evidence (issue 17; SPEC G1, G4, G5), on both databases.

* A decision is its evidence set plus its outcome, and holds from ``decided_at`` until
  ``valid_until``: any re-check inside that window with unchanged evidence returns the stored
  decision and writes nothing; once an approval, waiver, evidence age limit or the decision's
  own expiry is crossed, a new decision is taken.
* A gate entry not met because the bundle is incomplete carries the completeness code and its
  §3.3 risk.
* "The latest" evidence is the last one written (a total order), never a tie broken by id.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airel.client import Client
from airel.domain.eval.record import EvalRecord
from airel.domain.gate.records import EvidenceLink, LinkKind
from airel.domain.kernel.canonical import digest_of
from airel.store.contract import WriteTx
from gate_fixtures import (
    SCOPE,
    V1,
    V2,
    as_actor,
    comparison_body,
    freeze_pair,
    now,
    ready_through_g4,
)


@pytest.fixture
def release(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Client:
    freeze_pair(fraud_registry, bundle_yaml, write)
    return fraud_registry


def audit_size(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def at(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


# -- identity across re-checks ------------------------------------------------------------------


def test_a_recheck_inside_the_window_returns_the_stored_decision(release: Client) -> None:
    """G5: two checks a second (or hours) apart on unchanged evidence: one decision, one
    audit entry; the window ends at the earliest approval/evidence/decision expiry."""
    ready_through_g4(release)
    t0 = now()
    bob = as_actor(release, "bob", "model_risk")
    approval = bob.gates.approve(V2, "model_risk", expires="2h", now=t0)
    bob.close()
    first = release.gates.check(V2, through="G4", now=t0)
    assert first.created
    record = first.record
    assert at(record.decided_at) == t0
    assert at(record.valid_until) == approval.expires_at  # the earliest status change
    size = audit_size(release)
    for offset in (timedelta(seconds=1), timedelta(minutes=59), timedelta(hours=1, minutes=59)):
        again = release.gates.check(V2, through="G4", now=t0 + offset)
        assert not again.created
        assert again.record.decision_id == record.decision_id
    assert audit_size(release) == size
    assert [d.decision_id for d in release.gates.decisions(V2)] == [record.decision_id]
    crossed = release.gates.check(V2, through="G4", now=approval.expires_at)
    assert crossed.created
    assert crossed.record.decision_id != record.decision_id
    assert crossed.record.inputs_digest == record.inputs_digest  # same evidence set
    assert audit_size(release) == size + 1
    assert release.gates.recheck(crossed.record.decision_id).reproduced
    assert release.gates.recheck(record.decision_id).reproduced


def test_evidence_age_and_the_decision_expiry_end_the_window(release: Client) -> None:
    """G5: without approvals, the window ends when evidence reaches the tier's age limit
    (Tier 1: 30 days) or the decision expires (Tier 1: 14 days), whichever comes first."""
    ready_through_g4(release)
    t0 = now()
    record = release.gates.check(V2, through="G4", now=t0).record
    outcome = record.body["outcome"]
    assert at(record.valid_until) == at(outcome["expires_at"])
    assert t0 + timedelta(days=14) == at(outcome["expires_at"])
    # new evidence is a new evidence set: a new decision, not the stored one
    release.gates.add_evidence(V2, "ci", {"ci_tests_failed": 0, "ci_container_built": True,
                                    "ci_critical_cves": 0, "ci_unplanned_low_cves": 0})  # fmt: skip
    later = release.gates.check(V2, through="G4", now=t0 + timedelta(seconds=1))
    assert later.created
    assert later.record.inputs_digest != record.inputs_digest
    # a check 20 days on: past the decision expiry of the first window
    far = release.gates.check(V2, through="G4", now=t0 + timedelta(days=20)).record
    assert at(far.valid_until) <= at(far.decided_at) + timedelta(days=14)
    created_at = min(e["created_at"] for e in far.body["inputs"]["evidence"] if e["kind"] == "ci")
    assert at(far.valid_until) <= at(created_at.replace("Z", "+00:00")) + timedelta(days=30)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    a=st.floats(0, 1, exclude_max=True),
    b=st.floats(0, 1, exclude_max=True),
    past=st.floats(0, 3600),
)
def test_property_same_evidence_same_id_inside_the_window_new_id_after(
    release: Client, a: float, b: float, past: float
) -> None:
    """G5 property: same evidence, any two times inside the window → the same id; a time
    past an expiry → a new id (nothing else changes in between)."""
    if not release.gates.decisions(V2):
        ready_through_g4(release)
        bob = as_actor(release, "bob", "model_risk")
        bob.gates.approve(V2, "model_risk", expires="3h", now=now())
        bob.close()
        release.gates.check(V2, through="G4", now=now())
    first = release.gates.decisions(V2)[0]
    start, end = at(first.decided_at), at(first.valid_until)
    span = end - start

    def inside(x: float) -> datetime:  # timedelta * float rounds to the microsecond
        return max(min(start + span * x, end - timedelta(microseconds=1)), now())

    one = release.gates.check(V2, through="G4", now=inside(a)).record
    two = release.gates.check(V2, through="G4", now=inside(b)).record
    assert one.decision_id == two.decision_id == first.decision_id
    beyond = release.gates.check(V2, through="G4", now=end + timedelta(seconds=past)).record
    assert beyond.decision_id != first.decision_id


# -- root cause ----------------------------------------------------------------------------------


def test_entry_not_met_names_the_incomplete_bundle_component_and_its_risk(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any
) -> None:
    """G1/B3: a Tier 1 classifier bundle without a training snapshot fails G1's entry; the
    decision, its explanation and the memo carry BUNDLE_NO_TRAINING_SNAPSHOT and its risk."""
    text = bundle_yaml().replace("  training_snapshot: FRAUD-TRAIN:1\n", "")
    text = text.replace("  validation_snapshot: FRAUD-TRAIN:1\n", "")
    fraud_registry.bundles.create(
        write("incomplete.yaml", text + SCOPE), freeze=True, allow_incomplete="under test"
    )
    record = fraud_registry.gates.check(V1, through="G4", now=now()).record
    outcome = record.body["outcome"]
    assert record.decision == "no_go"
    entry = next(f for f in outcome["failures"] if f["gate"] == "G1")
    assert (entry["rule"], entry["code"], entry["deciding"]) == (
        "entry:G1",
        "GATE_ENTRY_NOT_MET",
        True,
    )
    codes = {c["code"]: c for c in entry["causes"]}
    assert "BUNDLE_NO_TRAINING_SNAPSHOT" in codes
    assert codes["BUNDLE_NO_TRAINING_SNAPSHOT"]["component"] == "data.training_snapshot"
    assert "reproduc" in codes["BUNDLE_NO_TRAINING_SNAPSHOT"]["risk"]
    # the same cause behind G1: G2's completeness rule lists it too
    g2 = [f for f in outcome["failures"] if f["rule"] == "bundle-complete"]
    assert g2
    assert g2[0]["behind"] == "G1"
    assert "BUNDLE_NO_TRAINING_SNAPSHOT" in {c["code"] for c in g2[0]["causes"]}
    memo = fraud_registry.gates.memo(record.decision_id)
    assert "BUNDLE_NO_TRAINING_SNAPSHOT" in memo
    assert codes["BUNDLE_NO_TRAINING_SNAPSHOT"]["risk"][:30] in memo


# -- same evidence, same rule results -------------------------------------------------------------


def _store_eval_at(client: Client, body: dict[str, Any], created_at: str) -> str:
    record = EvalRecord(
        record_id=digest_of(body),
        kind="comparison",
        subject="v1 -> v2",
        passed=body.get("passed"),
        body=body,
        created_at=created_at,
        created_by="evaluator",
    )
    link = EvidenceLink(
        release_id=V2,
        kind=LinkKind.EVAL,
        record_id=record.record_id,
        created_at=created_at,
        created_by="evaluator",
    )

    def fn(tx: WriteTx) -> None:
        tx.insert_eval_record(record)
        tx.insert_evidence_link(link)
        tx.append_audit(actor="evaluator", action="eval.compare", subject=record.subject,
                        before=None, after=record.record_id)  # fmt: skip

    client.ctx.store.write(fn)
    return record.record_id


def _regressed(n: int) -> dict[str, Any]:
    body = comparison_body()
    for d in body["datasets"]:
        d["comparison"]["material_regressions"] = [
            {"slice": f"s{i}", "metric": "roc_auc"} for i in range(n)
        ]
    body["nonce"] = n
    return body


def test_tied_timestamps_pick_the_last_written_evidence_every_time(release: Client) -> None:
    """G4/G5: two eval comparisons linked in the same microsecond; the gate reads the one
    written last — whatever its id sorts as — and fifty re-checks of unchanged evidence give
    identical rule results."""
    ready_through_g4(release)
    stamp = "2026-12-03T10:00:00.000000Z"
    bodies = [_regressed(0), _regressed(2)]
    ids = [digest_of(b) for b in bodies]
    if ids[1] > ids[0]:  # make the last-written record sort first by id
        bodies.reverse()
    written = [_store_eval_at(release, copy.deepcopy(b), stamp) for b in bodies]
    expected = 2 if bodies[-1]["nonce"] == 2 else 0
    results = set()
    for _ in range(50):
        decision = release.gates.preview(V2, through="G4")
        g4 = next(g for g in decision.gates if g.gate.value == "G4")
        results.add(tuple((r.rule, r.status.value, str(r.facts)) for r in g4.rules))
        facts = {r.rule: r.facts for r in g4.rules}
    assert len(results) == 1
    assert facts["no-material-slice-regression"] == {"eval_material_regressions": expected}
    checked = release.gates.check(V2, through="G4", now=now()).record
    evidence = [e for e in checked.body["inputs"]["evidence"] if e["kind"] == "eval_comparison"]
    assert [e["ref"] for e in evidence] == [written[-1]]
