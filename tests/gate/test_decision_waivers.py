"""The gate engine (G3, G4): one test per §4.4 soft item and the exception it needs, the
conditions an exception or a rule brings into a limited go, exceptions that do not count,
and risk acceptance of an acceptable hard rule (scope, expiry, controls, approver role)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from airel.domain.gate.approvals import Waiver, WaiverKind
from airel.domain.gate.decision import DecisionKind
from airel.domain.gate.stack import Conditions, GateId, Stage
from airel.domain.kernel.roles import Role
from decision_helpers import (
    DIGEST,
    NOW,
    OTHER_DIGEST,
    RELEASE,
    SUBMITTER,
    G,
    acceptance,
    approvals_for,
    gate,
    good_facts,
    rule,
    run,
    waiver,
)

# -- §4.4 soft items --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "gid", "rule_id", "code", "condition"),
    [
        ({"freshness_findings": 1}, G.G3, "feature-freshness", "FEATURE_FRESHNESS_DELAY",
         "feature freshness alert on"),
        ({"ci_unplanned_low_cves": 1}, G.G2, "low-cves-planned", "CVE_WITHOUT_PATCH_PLAN", None),
        ({"dashboard_tiles_stale": 2}, G.G6, "dashboard-tiles", "DASHBOARD_TILE_STALE", None),
        ({"rollback_drill_minutes": 40.0}, G.G6, "rollback-drill", "ROLLBACK_DRILL_SLOW", None),
    ],
    ids=["freshness-delay", "low-cve", "dashboard-tile", "rollback-drill"],
)  # fmt: skip
def test_soft_item_needs_an_exception(
    facts: dict[str, Any], gid: GateId, rule_id: str, code: str, condition: str | None
) -> None:
    base = {"through": gid, "approvals": approvals_for(), "facts": good_facts(**facts)}
    d = run(**base)
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == [f"{gid.value}:SOFT_FAILURE_WITHOUT_EXCEPTION:{rule_id}"]
    r = rule(d, rule_id)
    assert (r["status"], r["hard"], r["reason"]) == ("fail", False, code)

    exc = waiver([rule_id], expires=NOW + timedelta(days=3))
    limited = run(**base, waivers=[exc])
    assert limited.decision is DecisionKind.LIMITED_GO
    assert gate(limited, gid)["status"] == "passed_with_conditions"
    assert rule(limited, rule_id) | {"facts": None} == r | {
        "status": "excepted",
        "waiver": exc.waiver_id,
        "facts": None,
    }
    assert limited.waivers_used == [exc.waiver_id]
    assert limited.conditions.traffic_cap_percent == 5  # the exception's scope applies
    assert "15 trained fraud analysts" in limited.conditions.users
    if condition:
        assert condition in limited.conditions.notes  # and the rule's own conditions
    assert limited.expires_at == exc.expires_at  # a decision never outlives its exception

    expired = run(**base, waivers=[exc], now=NOW + timedelta(days=3))
    assert expired.decision is DecisionKind.NO_GO  # back to the gate
    assert expired.reasons == [f"{gid.value}:SOFT_FAILURE_WITHOUT_EXCEPTION:{rule_id}"]


def test_a_low_risk_cve_with_a_patch_plan_passes() -> None:
    d = run(through=G.G4, facts=good_facts(ci_unplanned_low_cves=0, ci_critical_cves=0))
    assert rule(d, "low-cves-planned")["status"] == "pass"
    assert d.decision is DecisionKind.LIMITED_GO


def test_rule_conditions_merge_into_the_decision() -> None:
    facts = good_facts(eval_material_regressions=1, eval_fairness_breaches=1)
    waivers = [waiver(["no-material-slice-regression", "fairness"])]
    d = run(through=G.G5, facts=facts, waivers=waivers, approvals=approvals_for())
    assert d.decision is DecisionKind.LIMITED_GO
    assert "regressed slices stay on the baseline" in d.conditions.notes
    assert d.conditions.human_review == "human review of decisions in the affected segment"
    assert d.conditions.max_stage is Stage.SHADOW


def test_an_exception_for_another_bundle_does_not_count() -> None:
    facts = good_facts(freshness_findings=1)
    d = run(through=G.G4, facts=facts, waivers=[waiver(["feature-freshness"], digest=OTHER_DIGEST)])
    assert d.decision is DecisionKind.NO_GO


def test_a_tampered_exception_does_not_count() -> None:
    w = waiver(["feature-freshness"]).model_copy(update={"rules": ["feature-freshness", "x"]})
    d = run(through=G.G4, facts=good_facts(freshness_findings=1), waivers=[w])
    assert d.decision is DecisionKind.NO_GO


def test_an_exception_by_the_submitter_or_an_unlisted_role_does_not_count() -> None:
    facts = good_facts(freshness_findings=1)
    by_submitter = waiver(["feature-freshness"], approver=SUBMITTER)
    by_security = waiver(["feature-freshness"], role=Role.SECURITY)  # Tier 1: model risk, compl.
    for w in (by_submitter, by_security):
        assert run(through=G.G4, facts=facts, waivers=[w]).decision is DecisionKind.NO_GO
    ok = waiver(["feature-freshness"], role=Role.COMPLIANCE, approver="cora.compliance")
    assert run(through=G.G4, facts=facts, waivers=[ok]).decision is DecisionKind.LIMITED_GO


def test_risk_acceptance_for_an_acceptable_hard_rule() -> None:
    facts = good_facts(security_high_findings=1)
    base = {"through": G.G5, "facts": facts, "approvals": approvals_for()}
    assert run(**base).reasons == ["G5:SECURITY_HIGH_FINDING:security-findings"]
    ra = acceptance(["security-findings"], expires=NOW + timedelta(days=5))
    d = run(**base, waivers=[ra])
    assert d.decision is DecisionKind.RISK_ACCEPTANCE
    assert rule(d, "security-findings")["status"] == "accepted"
    assert d.conditions.segments == ["high-risk entities excluded"]
    assert d.conditions.traffic_cap_percent == 10
    assert d.expires_at == ra.expires_at
    assert d.max_stage is Stage.SHADOW
    # an expired acceptance sends the release back to the gate
    later = run(**base, waivers=[ra], now=NOW + timedelta(days=5, seconds=1))
    assert later.decision is DecisionKind.NO_GO


def test_risk_acceptance_is_refused_for_a_non_acceptable_hard_rule() -> None:
    facts = good_facts(eval_critical_failures=1)
    d = run(through=G.G4, facts=facts, waivers=[acceptance(["zero-critical-failures"])])
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == ["G4:CRITICAL_FAILURE:zero-critical-failures"]
    assert d.waivers_used == []


def test_an_exception_cannot_stand_in_for_a_risk_acceptance() -> None:
    facts = good_facts(security_high_findings=1)
    d = run(
        through=G.G5,
        facts=facts,
        approvals=approvals_for(),
        waivers=[waiver(["security-findings"])],
    )
    assert d.decision is DecisionKind.NO_GO


def test_risk_acceptance_needs_the_acceptance_role() -> None:
    facts = good_facts(security_high_findings=1)
    wrong = acceptance(["security-findings"], role=Role.COMPLIANCE, approver="cora.compliance")
    d = run(through=G.G5, facts=facts, approvals=approvals_for(), waivers=[wrong])
    assert d.decision is DecisionKind.NO_GO


def test_risk_acceptance_without_controls_or_scope_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="compensating controls"):
        Waiver(
            waiver_id="0" * 32, kind=WaiverKind.RISK_ACCEPTANCE, release_id=RELEASE,
            bundle_digest=DIGEST, rules=["security-findings"], reason="r",
            scope=Conditions(traffic_cap_percent=5), approver="m", role=Role.MODEL_RISK,
            issued_at=NOW, expires_at=NOW + timedelta(days=1),
        )  # fmt: skip
    with pytest.raises(ValueError, match="needs a scope"):
        Waiver(
            waiver_id="0" * 32, kind=WaiverKind.RISK_ACCEPTANCE, release_id=RELEASE,
            bundle_digest=DIGEST, rules=["security-findings"], reason="r", scope=Conditions(),
            compensating_controls=["c"], approver="m", role=Role.MODEL_RISK,
            issued_at=NOW, expires_at=NOW + timedelta(days=1),
        )  # fmt: skip
