"""The gate engine (G6): approvals by role with segregation of duties — missing, self,
one person in two roles, expired, for another bundle, tampered, not yet valid, duplicate —
and a decision that expires with its earliest approval."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airel.domain.gate.approvals import Approval
from airel.domain.gate.decision import Decision, DecisionKind
from airel.domain.kernel.roles import Role
from decision_helpers import (
    NOW,
    OTHER_DIGEST,
    POLICY,
    SUBMITTER,
    T1,
    G,
    approval,
    approvals_for,
    gate,
    run,
)

# -- approvals ----------------------------------------------------------------------------------


def required_but(role: Role, **kw: Any) -> tuple[Approval, ...]:
    """Valid approvals for every Tier 1 role but ``role``."""
    return tuple(a for a in approvals_for(T1, **kw) if a.role is not role)


def assert_missing(d: Decision, role: Role, why: str | None) -> None:
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == [f"G5:APPROVAL_MISSING:{role.value}"]
    assert gate(d, G.G5)["status"] == "awaiting_approval"
    assert d.approvals["missing"] == [role.value]
    if why is not None:
        assert [v["why"] for v in d.approvals["void"]] == [why]


def test_missing_approvals_are_listed_per_role() -> None:
    d = run(through=G.G5)
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == [f"G5:APPROVAL_MISSING:{r.value}" for r in POLICY.tier(T1).approvers]
    assert_missing(run(approvals=required_but(Role.COMPLIANCE)), Role.COMPLIANCE, None)


def test_self_approval_is_not_counted() -> None:
    own = approval(Role.SECURITY, SUBMITTER)
    assert_missing(
        run(approvals=[*required_but(Role.SECURITY), own]), Role.SECURITY, "self_approval"
    )


def test_one_person_cannot_fill_two_roles() -> None:
    others = required_but(Role.DATA_OWNER)
    again = approval(Role.DATA_OWNER, others[0].approver, issued=NOW - timedelta(minutes=5))
    d = run(approvals=[*others, again])
    assert_missing(d, Role.DATA_OWNER, "approver_fills_another_role")


def test_expired_approval_is_not_counted() -> None:
    old = approval(Role.MODEL_RISK, "mo.risk", expires=NOW)
    assert_missing(run(approvals=[*required_but(Role.MODEL_RISK), old]), Role.MODEL_RISK, "expired")


def test_approval_for_another_bundle_digest_is_not_counted() -> None:
    other = approval(Role.BUSINESS_OWNER, "bo", digest=OTHER_DIGEST)
    d = run(approvals=[*required_but(Role.BUSINESS_OWNER), other])
    assert_missing(d, Role.BUSINESS_OWNER, "other_bundle")


def test_bundle_edit_voids_every_approval() -> None:
    d = run(approvals=approvals_for(T1), digest=OTHER_DIGEST)
    assert d.decision is DecisionKind.NO_GO
    assert len(d.approvals["missing"]) == 5
    assert {v["why"] for v in d.approvals["void"]} == {"other_bundle"}


def test_approval_with_a_broken_seal_is_not_counted() -> None:
    forged = approval(Role.COMPLIANCE, "cc").model_copy(update={"approver": "cora"})
    d = run(approvals=[*required_but(Role.COMPLIANCE), forged])
    assert_missing(d, Role.COMPLIANCE, "seal_broken")
    moved = approval(Role.COMPLIANCE, "cc").model_copy(update={"bundle_digest": OTHER_DIGEST})
    assert_missing(run(approvals=[*required_but(Role.COMPLIANCE), moved]), Role.COMPLIANCE, None)


def test_approval_from_the_future_is_not_counted() -> None:
    early = approval(Role.SECURITY, "sec", issued=NOW + timedelta(hours=1))
    d = run(approvals=[*required_but(Role.SECURITY), early])
    assert_missing(d, Role.SECURITY, "not_yet_valid")


def test_a_second_approval_for_a_filled_role_is_not_counted_twice() -> None:
    extra = approval(Role.SECURITY, "sec.second", issued=NOW - timedelta(minutes=1))
    d = run(approvals=[*approvals_for(T1), extra])
    assert d.decision is DecisionKind.GO
    assert d.approvals["void"] == [
        {"approval_id": extra.approval_id, "role": "security", "why": "role_already_filled"}
    ]
    assert d.approvals["valid"]["security"] == "security.person"


def test_decision_expires_with_its_earliest_approval() -> None:
    approvals = list(approvals_for(T1))
    approvals[2] = approval(
        approvals[2].role, approvals[2].approver, expires=NOW + timedelta(days=2)
    )
    d = run(approvals=approvals)
    assert d.decision is DecisionKind.GO
    assert d.expires_at == NOW + timedelta(days=2)
    assert run(approvals=approvals_for(T1)).expires_at == NOW + timedelta(days=14)  # policy TTL
