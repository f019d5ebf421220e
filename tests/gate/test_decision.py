"""The gate engine (G1, G3, G4): the stack in order with each tier's gates and stage cap,
one test per §4.4 hard item, evidence that cannot be read never passing, entry conditions and
rollback (§4.5), and reproducibility of the decision and its inputs digest.

Soft items, exceptions and risk acceptances are in test_decision_waivers.py; approvals with
segregation of duties (G6) in test_decision_approvals.py."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from airel.domain.gate.decision import Decision, DecisionKind, Fact, GateStatus, decide
from airel.domain.gate.decision_identity import inputs_digest, outcome_key
from airel.domain.gate.metrics import FactStatus
from airel.domain.gate.policy import build_policy
from airel.domain.gate.stack import GateId, Stage
from airel.domain.kernel.roles import Role
from airel.domain.kernel.tiers import PipelineType, RiskTier
from decision_helpers import (
    NOW,
    OTHER_DIGEST,
    POLICY,
    RAW,
    T1,
    T2,
    T3,
    G,
    P,
    acceptance,
    approval,
    approvals_for,
    gate,
    good_facts,
    inputs,
    rule,
    rule_ids,
    run,
    waiver,
)

# -- baseline -------------------------------------------------------------------------------


def test_everything_passing_through_g4_is_a_limited_go_capped_at_staging() -> None:
    d = run(through=G.G4)
    assert d.decision is DecisionKind.LIMITED_GO
    assert d.max_stage is Stage.STAGING
    assert d.conditions.max_stage is Stage.STAGING
    assert d.reasons == ["STAGE_CAPPED:staging"]
    assert [g.gate for g in d.gates] == [G.G0, G.G1, G.G2, G.G3, G.G4]
    assert all(g.status is GateStatus.PASSED for g in d.gates)
    assert d.to_dict()["max_stage"] == "staging"


def test_all_approvals_give_a_tier_1_go_through_g9() -> None:
    d = run(approvals=approvals_for(T1))
    assert d.decision is DecisionKind.GO, d.reasons
    assert d.reasons == []
    assert d.max_stage is Stage.FULL
    assert d.conditions.is_empty()
    assert [g.gate for g in d.gates] == list(GateId)
    assert {g.status for g in d.gates} == {GateStatus.PASSED}
    assert d.approvals["missing"] == []
    assert set(d.approvals["valid"]) == {r.value for r in POLICY.tier(T1).approvers}
    assert len(set(d.approvals["valid"].values())) == 5


@pytest.mark.parametrize(
    ("through", "stage"),
    [(G.G5, Stage.SHADOW), (G.G6, Stage.CANARY), (G.G7, Stage.LIMITED_RAMP)],
)
def test_tier_1_stage_follows_the_last_gate_passed(through: GateId, stage: Stage) -> None:
    d = run(through=through, approvals=approvals_for(T1))
    assert d.decision is DecisionKind.LIMITED_GO
    assert d.max_stage is stage
    assert d.reasons == [f"STAGE_CAPPED:{stage.value}"]


def test_tier_2_standard_gates_through_g5_reach_canary() -> None:
    d = run(tier=T2, through=G.G5, approvals=approvals_for(T2))
    assert d.decision is DecisionKind.LIMITED_GO
    assert d.max_stage is Stage.CANARY  # staging -> canary -> ramp, no shadow stage
    assert G.G6 not in [g.gate for g in d.gates]
    assert d.approvals["required"] == ["product_owner", "platform", "data_owner"]


def test_tier_3_light_gates_go_with_one_product_owner() -> None:
    d = run(tier=T3, approvals=approvals_for(T3))
    assert d.decision is DecisionKind.GO, d.reasons
    assert [g.gate for g in d.gates] == [G.G0, G.G1, G.G2, G.G4, G.G5, G.G9]
    assert "privacy-review" not in rule_ids(d)


def test_tier_0_is_always_no_go() -> None:
    d = run(tier=RiskTier.TIER_0, approvals=approvals_for(T1))
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons[0] == "TIER_NOT_FOR_PRODUCTION"
    assert d.max_stage is None
    assert [g.gate for g in d.gates] == [G.G0]
    for through in (G.G0, G.G4, G.G9):
        assert run(tier=RiskTier.TIER_0, through=through).decision is DecisionKind.NO_GO


# -- §4.4 hard items --------------------------------------------------------------------------


def assert_hard_no_go(d: Decision, gid: GateId, code: str, rule_id: str) -> None:
    assert d.decision is DecisionKind.NO_GO
    assert f"{gid.value}:{code}:{rule_id}" in d.reasons
    assert gate(d, gid)["status"] == "failed"
    result = rule(d, rule_id)
    assert (result["status"], result["hard"], result["reason"]) == ("fail", True, code)
    later = [g for g in d.gates if g.gate.position > gid.position]
    assert all(g.behind is gid for g in later)  # still evaluated (G4: all failures at once)
    assert d.deciding_gate is gid
    assert all(f.deciding == (f.gate is gid) for f in d.failures)


def test_critical_failure_is_a_hard_no_go() -> None:
    d = run(through=G.G4, facts=good_facts(eval_critical_failures=1))
    assert_hard_no_go(d, G.G4, "CRITICAL_FAILURE", "zero-critical-failures")
    assert rule(d, "zero-critical-failures")["facts"] == {"eval_critical_failures": 1}
    # approvals do not help
    full = run(facts=good_facts(eval_critical_failures=1), approvals=approvals_for(T1))
    assert full.decision is DecisionKind.NO_GO


LLM = [P.RAG_ASSISTANT, P.LLM_PROMPT, P.AGENT]


@pytest.mark.parametrize(
    ("metric", "code", "rule_id", "pipelines"),
    [
        ("eval_pii_leaks", "PII_LEAK", "pii-leak", LLM),
        ("eval_unauthorised_tool_actions", "UNAUTHORISED_TOOL_ACTION",
         "unauthorised-tool-action", [P.AGENT]),
        ("eval_wrong_commitments", "WRONG_CUSTOMER_COMMITMENT", "wrong-commitment", LLM),
        ("eval_unsupported_claims", "UNSUPPORTED_REGULATED_CLAIM", "unsupported-claim", LLM),
    ],
)  # fmt: skip
def test_llm_critical_failures_have_their_own_reason_codes(
    metric: str, code: str, rule_id: str, pipelines: list[PipelineType]
) -> None:
    for pipeline in pipelines:
        for tier in (T1, T2, T3):
            d = run(tier=tier, pipeline=pipeline, through=G.G4, facts=good_facts(**{metric: 2}))
            assert_hard_no_go(d, G.G4, code, rule_id)
    for pipeline in set(PipelineType) - set(pipelines):
        d = run(pipeline=pipeline, through=G.G4, facts=good_facts(**{metric: 2}))
        assert rule_id not in rule_ids(d)  # the classifier counts them in critical failures


def test_critical_feature_missing_rate_above_the_tier_threshold() -> None:
    facts = good_facts(critical_feature_missing_rate=0.02)
    d = run(through=G.G4, facts=facts)  # Tier 1 allows 1%
    assert_hard_no_go(d, G.G3, "CRITICAL_FEATURE_MISSING", "critical-feature-missing")
    assert run(tier=T2, through=G.G4, facts=facts).decision is DecisionKind.LIMITED_GO  # 5%
    at = run(through=G.G4, facts=good_facts(critical_feature_missing_rate=0.01))
    assert at.decision is DecisionKind.LIMITED_GO  # the threshold itself passes


def test_training_serving_schema_mismatch() -> None:
    d = run(through=G.G4, facts=good_facts(schema_mismatches=1))
    assert_hard_no_go(d, G.G3, "TRAINING_SERVING_SCHEMA_MISMATCH", "schema-parity")


def test_high_risk_slice_without_coverage_is_hard_for_tier_1() -> None:
    facts = good_facts(eval_uncovered_slices=1)
    d = run(through=G.G4, facts=facts)
    assert_hard_no_go(d, G.G4, "HIGH_RISK_SLICE_UNCOVERED", "high-risk-slice-coverage")
    excepted = run(through=G.G4, facts=facts, waivers=[waiver(["high-risk-slice-coverage"])])
    assert excepted.decision is DecisionKind.NO_GO  # a hard rule takes no exception


@pytest.mark.parametrize("tier", [T2, T3])
def test_uncovered_slice_is_soft_for_tiers_2_and_3(tier: RiskTier) -> None:
    facts = good_facts(eval_uncovered_slices=1)
    d = run(tier=tier, through=G.G4, facts=facts)
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == ["G4:SOFT_FAILURE_WITHOUT_EXCEPTION:slice-coverage"]
    assert rule(d, "slice-coverage")["hard"] is False
    w = waiver(["slice-coverage"], role=Role.PRODUCT_OWNER, approver="pat.product")
    ok = run(tier=tier, through=G.G4, facts=facts, waivers=[w])
    assert ok.decision is DecisionKind.LIMITED_GO
    assert "no ramp for uncovered intents" in ok.conditions.notes
    assert rule(ok, "slice-coverage")["status"] == "excepted"


def test_missing_write_tool_approval() -> None:
    d = run(
        pipeline=P.AGENT,
        through=G.G5,
        facts=good_facts(write_tools_without_approval=1),
        approvals=approvals_for(T1),
    )
    assert_hard_no_go(d, G.G5, "WRITE_TOOL_APPROVAL_MISSING", "write-tool-approval")


def test_secrets_in_logs() -> None:
    for tier in (T1, T2, T3):
        d = run(
            tier=tier,
            through=G.G5,
            facts=good_facts(secrets_in_logs=1),
            approvals=approvals_for(tier),
        )
        assert_hard_no_go(d, G.G5, "SECRETS_IN_LOGS", "no-secrets-in-logs")


def test_no_trace_by_release_id() -> None:
    d = run(through=G.G6, facts=good_facts(traces_by_release_id=False), approvals=approvals_for())
    assert_hard_no_go(d, G.G6, "NO_TRACE_BY_RELEASE_ID", "trace-by-release-id")


def test_no_executable_rollback_target() -> None:
    d = run(through=G.G4, facts=good_facts(rollback_target_executable=False))
    assert_hard_no_go(d, G.G2, "NO_EXECUTABLE_ROLLBACK_TARGET", "rollback-target")


def test_a_hard_failure_stops_the_stack_and_reports_every_failed_rule_of_its_gate() -> None:
    d = run(through=G.G4, facts=good_facts(schema_mismatches=2, validation_hard_failures=3))
    assert d.reasons == [
        "G3:TRAINING_SERVING_SCHEMA_MISMATCH:schema-parity",
        "G3:VALIDATION_HARD_FAILURE:validation-hard",
    ]
    assert gate(d, G.G4)["status"] == "passed"  # evaluated behind G3, nothing failing there
    assert gate(d, G.G4)["behind"] == "G3"
    assert [(f.gate, f.rule, f.deciding) for f in d.failures] == [
        (G.G3, "schema-parity", True),
        (G.G3, "validation-hard", True),
    ]


def test_every_gate_is_evaluated_and_later_failures_are_reported_behind_the_first() -> None:
    """G4 (issue 17): a soft failure at G3 decides; a material slice regression at G4 is
    reported at once as also failing behind G3, and changes neither reasons nor outcome."""
    d = run(through=G.G4, facts=good_facts(freshness_findings=1, eval_material_regressions=2))
    assert d.decision is DecisionKind.NO_GO
    assert d.deciding_gate is G.G3
    assert all(r.startswith("G3:") for r in d.reasons)
    failures = {f.rule: f for f in d.failures}
    g3 = [f for f in d.failures if f.gate is G.G3]
    assert g3
    assert all(f.deciding and f.behind is None for f in g3)
    behind = failures["no-material-slice-regression"]
    assert (behind.gate, behind.deciding, behind.behind) == (G.G4, False, G.G3)
    assert behind.code == "SOFT_FAILURE_WITHOUT_EXCEPTION"
    out = d.to_dict()
    assert [f["gate"] for f in out["failures"]] == sorted(f["gate"] for f in out["failures"])
    assert out["deciding_gate"] == "G3"
    assert gate(d, G.G4)["status"] == "failed"
    # the same G4 failure alone decides
    alone = run(through=G.G4, facts=good_facts(eval_material_regressions=2))
    assert alone.deciding_gate is G.G4
    assert [f.deciding for f in alone.failures] == [True]


def test_a_waiver_behind_the_blocking_gate_admits_nothing() -> None:
    """Conditions and used waivers come only from gates up to the deciding one."""
    facts = good_facts(schema_mismatches=1, eval_material_regressions=1)
    exc = waiver(["no-material-slice-regression"])
    d = run(through=G.G4, facts=facts, waivers=[exc])
    assert d.decision is DecisionKind.NO_GO
    assert rule(d, "no-material-slice-regression")["status"] == "excepted"
    assert d.waivers_used == []
    assert d.conditions.is_empty()


# -- evidence that cannot be read never passes ------------------------------------------------

NOT_OK = [FactStatus.MISSING, FactStatus.STALE, FactStatus.ERRORED, FactStatus.INCONCLUSIVE]


@pytest.mark.parametrize("status", NOT_OK)
def test_unreadable_evidence_never_passes(status: FactStatus) -> None:
    facts = good_facts(schema_mismatches=Fact(status))
    d = run(through=G.G4, facts=facts)
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == ["G3:TRAINING_SERVING_SCHEMA_MISMATCH:schema-parity"]
    r = rule(d, "schema-parity")
    assert r["status"] == status.value
    assert r["facts"] == {"schema_mismatches": status.value}
    assert r["detail"] == f"{status.value} evidence: schema_mismatches"


def test_an_absent_fact_is_missing() -> None:
    facts = good_facts()
    del facts["eval_critical_failures"]
    d = run(through=G.G4, facts=facts)
    assert rule(d, "zero-critical-failures")["status"] == "missing"
    assert d.decision is DecisionKind.NO_GO


def test_the_worst_status_wins() -> None:
    facts = good_facts(
        ci_tests_failed=Fact(FactStatus.MISSING), ci_container_built=Fact(FactStatus.ERRORED)
    )
    assert rule(run(through=G.G4, facts=facts), "ci-tests")["status"] == "errored"


@pytest.mark.parametrize("status", NOT_OK)
def test_unreadable_entry_evidence_keeps_the_gate_closed(status: FactStatus) -> None:
    d = run(through=G.G4, facts=good_facts(candidate_present=Fact(status)))
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == ["G4:GATE_ENTRY_NOT_MET"]
    assert gate(d, G.G4)["status"] == "entry_not_met"
    assert gate(d, G.G4)["entry"]["status"] == status.value


@pytest.mark.parametrize("status", NOT_OK)
def test_an_exception_does_not_cover_unreadable_evidence(status: FactStatus) -> None:
    facts = good_facts(freshness_findings=Fact(status))
    d = run(through=G.G4, facts=facts, waivers=[waiver(["feature-freshness"])])
    assert d.decision is DecisionKind.NO_GO
    assert rule(d, "feature-freshness")["status"] == status.value


@pytest.mark.parametrize("status", NOT_OK)
def test_a_risk_acceptance_does_not_cover_unreadable_evidence(status: FactStatus) -> None:
    facts = good_facts(security_high_findings=Fact(status))
    d = run(
        through=G.G5,
        facts=facts,
        approvals=approvals_for(),
        waivers=[acceptance(["security-findings"])],
    )
    assert d.decision is DecisionKind.NO_GO


def test_a_rule_that_errors_at_run_time_never_passes() -> None:
    raw = copy.deepcopy(RAW)
    raw["rules"].append(
        {"id": "ratio", "gate": "G4", "reason": "RATIO_X", "expr": "eval_pii_leaks * 4 >= 0"}
    )
    policy = build_policy(raw)
    d = run(through=G.G4, policy=policy, facts=good_facts(eval_pii_leaks=2**62))
    assert d.decision is DecisionKind.NO_GO
    assert rule(d, "ratio")["status"] == "errored"
    assert "expression error" in rule(d, "ratio")["detail"]


# -- entry conditions, rollback -----------------------------------------------------------------


def test_g7_hard_failure_is_a_rollback() -> None:
    d = run(facts=good_facts(canary_critical_failures=1), approvals=approvals_for())
    assert d.decision is DecisionKind.ROLLBACK
    assert d.reasons == ["G7:CANARY_CRITICAL_FAILURE:canary-critical"]
    assert [gate(d, g)["status"] for g in (G.G7, G.G8, G.G9)] == ["failed", "passed", "passed"]
    assert [gate(d, g)["behind"] for g in (G.G7, G.G8, G.G9)] == [None, "G7", "G7"]
    assert d.max_stage is None
    latency = run(facts=good_facts(canary_latency_p95_ms=900.0), approvals=approvals_for())
    assert latency.decision is DecisionKind.ROLLBACK
    assert latency.reasons == ["G7:CANARY_LATENCY:canary-latency"]


def test_g8_hard_failure_is_a_rollback() -> None:
    d = run(facts=good_facts(ramp_capacity_ok=False), approvals=approvals_for())
    assert d.decision is DecisionKind.ROLLBACK
    assert d.reasons == ["G8:RAMP_NOT_READY:ramp-capacity"]


def test_soft_canary_failure_is_a_no_go_not_a_rollback() -> None:
    d = run(facts=good_facts(canary_override_rate=0.2), approvals=approvals_for())
    assert d.decision is DecisionKind.NO_GO
    w = waiver(["canary-overrides"])
    capped = run(facts=good_facts(canary_override_rate=0.2), approvals=approvals_for(), waivers=[w])
    assert capped.decision is DecisionKind.LIMITED_GO
    assert capped.conditions.traffic_cap_percent == 5


def test_a_release_not_yet_in_canary_is_not_rolled_back() -> None:
    facts = good_facts(has_canary_evidence=False)
    d = run(facts=facts, approvals=approvals_for())
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == ["G7:GATE_ENTRY_NOT_MET"]


def test_gate_not_applicable_to_the_pipeline_type_is_skipped() -> None:
    d = run(pipeline=P.LLM_PROMPT, through=G.G4, facts=good_facts(schema_mismatches=5))
    assert gate(d, G.G3)["status"] == "not_applicable"
    assert d.decision is DecisionKind.LIMITED_GO


def test_g0_entry_not_met() -> None:
    d = run(through=G.G4, facts=good_facts(use_case_registered=False))
    assert d.decision is DecisionKind.NO_GO
    assert d.reasons == ["G0:GATE_ENTRY_NOT_MET"]
    assert [g["status"] for g in d.to_dict()["gates"]][1:] == ["passed"] * 4
    assert [g["behind"] for g in d.to_dict()["gates"]][1:] == ["G0"] * 4
    assert [(f.rule, f.code, f.deciding) for f in d.failures] == [
        ("entry:G0", "GATE_ENTRY_NOT_MET", True)
    ]


# -- reproducibility ------------------------------------------------------------------------------


def test_same_inputs_give_the_same_decision() -> None:
    approvals = approvals_for(T1)
    waivers = [waiver(["feature-freshness"])]
    facts = good_facts(freshness_findings=1)
    a = inputs(facts=facts, approvals=approvals, waivers=waivers, through=G.G6)
    b = inputs(
        facts=copy.deepcopy(facts),
        approvals=[x.model_copy() for x in reversed(approvals)],
        waivers=[w.model_copy() for w in waivers],
        through=G.G6,
        policy=build_policy(copy.deepcopy(RAW)),
    )
    da, db = decide(a), decide(b)
    assert da.to_dict() == db.to_dict()
    assert da.decision is DecisionKind.LIMITED_GO
    assert inputs_digest(a) == inputs_digest(b)
    assert decide(a).to_dict() == da.to_dict()


def test_a_later_clock_past_an_expiry_changes_the_decision_and_the_digest() -> None:
    approvals = list(approvals_for(T1))
    approvals[0] = approval(
        approvals[0].role, approvals[0].approver, expires=NOW + timedelta(days=1)
    )
    a = inputs(approvals=approvals)
    b = inputs(approvals=approvals, now=NOW + timedelta(days=1, minutes=1))
    assert decide(a).decision is DecisionKind.GO
    assert decide(b).decision is DecisionKind.NO_GO
    assert decide(a).to_dict() != decide(b).to_dict()
    # the evidence set is the same (the clock is not part of it): the outcome differs
    assert inputs_digest(a) == inputs_digest(b)
    assert outcome_key(decide(a).to_dict()) != outcome_key(decide(b).to_dict())


@pytest.mark.parametrize(
    "change",
    [
        {"facts": good_facts(eval_soft_thresholds_failed=1)},
        {"digest": OTHER_DIGEST},
        {"through": G.G6},
        {"pipeline": P.RAG_ASSISTANT},
        {"policy": build_policy({**RAW, "version": "1.1"})},
    ],
    ids=["fact", "digest", "through", "pipeline", "policy"],
)
def test_every_input_is_in_the_inputs_digest(change: dict[str, Any]) -> None:
    assert inputs_digest(inputs()) != inputs_digest(inputs(**change))


def test_decision_to_dict_is_json_ready() -> None:
    import json

    d = run(approvals=approvals_for(T1), through=G.G6, facts=good_facts(freshness_findings=1))
    body = d.to_dict()
    assert json.loads(json.dumps(body)) == body
    assert body["decision"] == "no_go"
    assert body["gates"][3]["rules"][3]["rule"] == "feature-freshness"
