"""The gate policy as code (G2, G3, G5): the shipped default encodes §4.2 and §4.4, and every
kind of bad policy is refused with its reason code in ``problems``."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

import airel
from airel.domain.gate.policy import MAX_EXTENDS, Policy, build_policy, merge_docs, resolve_extends
from airel.domain.gate.stack import GateId, Stage
from airel.domain.kernel.roles import Role
from airel.domain.kernel.tiers import PipelineType, RiskTier
from airel.errors import Reason, ValidationError

DEFAULT_FILE = Path(airel.__file__).parent / "policies" / "default.yaml"
RAW: dict[str, Any] = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
ALL_GATES = list(GateId)
G = GateId

Mutation = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return build_policy(RAW)


def raw() -> dict[str, Any]:
    """A fresh deep copy of the default policy document."""
    return copy.deepcopy(RAW)


def problems_of(doc: Mapping[str, Any]) -> tuple[ValidationError, list[dict[str, Any]]]:
    with pytest.raises(ValidationError) as info:
        build_policy(doc)
    return info.value, list(info.value.problems)


def mutated(mutation: Mutation) -> dict[str, Any]:
    doc = raw()
    mutation(doc)
    return doc


def add_rule(**rule: Any) -> Mutation:
    rule = {"id": "extra", "gate": "G4", "reason": "EXTRA_RULE", **rule}
    return lambda doc: doc["rules"].append(rule)


def reasons(problems: list[dict[str, Any]]) -> set[str]:
    return {p["reason"] for p in problems}


# -- the shipped default ----------------------------------------------------------------------


def test_default_policy_loads(policy: Policy) -> None:
    assert policy.ref == "airel-default:1.0"
    assert policy.digest.startswith("sha256:")
    assert set(policy.tiers) == set(RiskTier)
    assert build_policy(raw()).digest == policy.digest  # content-addressed, stable


def test_tier_0_never_reaches_production(policy: Policy) -> None:
    t0 = policy.tier(RiskTier.TIER_0)
    assert t0.production is False
    assert t0.rollout == []
    assert t0.approvers == []


def test_tier_1_runs_the_full_stack(policy: Policy) -> None:
    t1 = policy.tier(RiskTier.TIER_1)
    assert t1.production is True
    assert t1.gates == ALL_GATES
    assert t1.rollout == [
        Stage.SHADOW,
        Stage.STAFF_PILOT,
        Stage.CANARY,
        Stage.LIMITED_RAMP,
        Stage.FULL,
    ]
    assert set(t1.approvers) == {
        Role.BUSINESS_OWNER,
        Role.MODEL_RISK,
        Role.COMPLIANCE,
        Role.SECURITY,
        Role.DATA_OWNER,
    }
    assert t1.approval_gate is G.G5
    assert t1.acceptance_roles  # a Tier 1 risk acceptance is possible, by a named role
    # data, feature, eval, security, privacy, model risk, business sign-off (§4.2)
    tier1_rules = {r.id for r in policy.rules if r.applies(RiskTier.TIER_1, None)}
    assert {"privacy-review", "model-risk-validation", "high-risk-slice-coverage"} <= tier1_rules


def test_tier_2_runs_the_standard_gates(policy: Policy) -> None:
    t2 = policy.tier(RiskTier.TIER_2)
    # CI, data quality, eval, owner approval, monitoring; no shadow stage
    assert t2.gates == [G.G0, G.G1, G.G2, G.G3, G.G4, G.G5, G.G7, G.G8, G.G9]
    assert t2.rollout == [Stage.CANARY, Stage.LIMITED_RAMP, Stage.FULL]  # staging -> canary -> ramp
    assert set(t2.approvers) == {Role.PRODUCT_OWNER, Role.PLATFORM, Role.DATA_OWNER}


def test_tier_3_runs_light_gates(policy: Policy) -> None:
    t3 = policy.tier(RiskTier.TIER_3)
    # security, data classification, basic eval, usage monitoring
    assert t3.gates == [G.G0, G.G1, G.G2, G.G4, G.G5, G.G9]
    assert t3.rollout == [Stage.LIMITED_RAMP, Stage.FULL]  # direct limited release
    assert t3.approvers == [Role.PRODUCT_OWNER]
    tier3_rules = {r.id for r in policy.rules if r.applies(RiskTier.TIER_3, None)}
    assert {"no-secrets-in-logs", "data-governed", "eval-hard-thresholds"} <= tier3_rules


def test_gate_strength_decreases_with_tier(policy: Policy) -> None:
    t1, t2, t3 = (policy.tier(RiskTier(n)) for n in (1, 2, 3))
    assert set(t3.gates) <= set(t2.gates) <= set(t1.gates)
    assert len(t1.approvers) > len(t2.approvers) > len(t3.approvers)
    assert t1.thresholds["max_critical_missing_rate"] < t2.thresholds["max_critical_missing_rate"]


HARD_44 = {
    "CRITICAL_FAILURE": None,
    "PII_LEAK": {PipelineType.RAG_ASSISTANT, PipelineType.LLM_PROMPT, PipelineType.AGENT},
    "UNAUTHORISED_TOOL_ACTION": {PipelineType.AGENT},
    "WRONG_CUSTOMER_COMMITMENT": {
        PipelineType.RAG_ASSISTANT,
        PipelineType.LLM_PROMPT,
        PipelineType.AGENT,
    },
    "UNSUPPORTED_REGULATED_CLAIM": {
        PipelineType.RAG_ASSISTANT,
        PipelineType.LLM_PROMPT,
        PipelineType.AGENT,
    },
    "CRITICAL_FEATURE_MISSING": None,
    "TRAINING_SERVING_SCHEMA_MISMATCH": None,
    "HIGH_RISK_SLICE_UNCOVERED": None,
    "WRITE_TOOL_APPROVAL_MISSING": None,
    "SECRETS_IN_LOGS": None,
    "NO_TRACE_BY_RELEASE_ID": None,
    "NO_EXECUTABLE_ROLLBACK_TARGET": None,
}
SOFT_44 = [
    "FEATURE_FRESHNESS_DELAY",
    "CVE_WITHOUT_PATCH_PLAN",
    "SLICE_UNCOVERED",
    "DASHBOARD_TILE_STALE",
    "ROLLBACK_DRILL_SLOW",
]


@pytest.mark.parametrize("code", sorted(HARD_44))
def test_every_44_hard_item_is_a_hard_rule_for_tier_1(policy: Policy, code: str) -> None:
    rules = [r for r in policy.rules if r.reason == code]
    assert rules, code
    assert all(r.hard and not r.acceptable for r in rules)
    assert any(r.applies(RiskTier.TIER_1, None) for r in rules)
    pipes = HARD_44[code]
    if pipes is not None:
        assert {p for r in rules for p in r.pipeline_types or PipelineType} == pipes


@pytest.mark.parametrize("code", SOFT_44)
def test_every_44_soft_item_is_a_soft_rule(policy: Policy, code: str) -> None:
    rules = [r for r in policy.rules if r.reason == code]
    assert rules, code
    assert not any(r.hard for r in rules)


def test_high_risk_slice_coverage_is_hard_for_tier_1_soft_below(policy: Policy) -> None:
    cover = [r for r in policy.rules if "eval_uncovered_slices" in r.expr]
    by_tier = {
        t: {r.hard for r in cover if r.applies(t, None)}
        for t in (RiskTier.TIER_1, RiskTier.TIER_2, RiskTier.TIER_3)
    }
    assert by_tier == {RiskTier.TIER_1: {True}, RiskTier.TIER_2: {False}, RiskTier.TIER_3: {False}}


def test_every_rule_reads_known_metrics_only(policy: Policy) -> None:
    for rule in policy.rules:
        assert rule.id in policy.programs
        assert policy.reads[rule.id], rule.id  # every rule reads evidence


# -- bad policies ---------------------------------------------------------------------------


def test_unknown_metric_in_a_rule() -> None:
    err, problems = problems_of(mutated(add_rule(expr="no_such_metric == 0")))
    assert err.reason is Reason.POLICY_UNKNOWN_METRIC
    assert problems == [
        {
            "reason": "POLICY_UNKNOWN_METRIC",
            "field": "extra",
            "message": "unknown metric(s) ['no_such_metric']",
        }
    ]


def test_unknown_metric_in_an_entry_condition() -> None:
    doc = mutated(lambda d: d["gates"].update({"G4": {"entry": "artifact_built"}}))
    _, problems = problems_of(doc)
    assert [(p["reason"], p["field"]) for p in problems] == [("POLICY_UNKNOWN_METRIC", "entry:G4")]


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        (lambda d: d["gates"].update({"G10": {"entry": "true"}}), "gates.G10"),
        (lambda d: d["tiers"]["Tier 2"]["gates"].append("G12"), "tiers.Tier 2.gates"),
        (lambda d: d["tiers"]["Tier 1"].update(approval_gate="G5b"), "tiers.Tier 1.approval_gate"),
        (add_rule(gate="G11", expr="eval_pii_leaks == 0"), "rules[{n}].gate"),
    ],
    ids=["gates", "tier-gates", "approval-gate", "rule-gate"],
)
def test_unknown_gate(mutation: Mutation, field: str) -> None:
    err, problems = problems_of(mutated(mutation))
    assert err.reason is Reason.POLICY_UNKNOWN_GATE
    assert [(p["reason"], p["field"]) for p in problems] == [
        ("POLICY_UNKNOWN_GATE", field.format(n=len(RAW["rules"])))
    ]


@pytest.mark.parametrize(
    "mutation",
    [
        add_rule(expr="eval_pii_leaks == "),
        add_rule(expr="eval_pii_leaks = 0"),
        lambda d: d["gates"].update({"G4": {"entry": "((("}}),
    ],
    ids=["rule-truncated", "rule-assignment", "entry"],
)
def test_cel_syntax_error(mutation: Mutation) -> None:
    err, problems = problems_of(mutated(mutation))
    assert err.reason is Reason.POLICY_RULE_SYNTAX
    assert reasons(problems) == {"POLICY_RULE_SYNTAX"}
    assert "Syntax error" in problems[0]["message"]


def test_non_boolean_rule_is_refused_for_every_tier_it_runs_in() -> None:
    _, problems = problems_of(mutated(add_rule(expr="eval_pii_leaks + 1")))
    assert reasons(problems) == {"POLICY_RULE_TYPE"}
    assert sorted(p["message"].split(":")[0] for p in problems) == ["Tier 1", "Tier 2", "Tier 3"]
    assert all("not a bool" in p["message"] for p in problems)


def test_rule_reading_a_threshold_its_tier_lacks() -> None:
    # Tier 3 runs G4 but defines no latency threshold
    rule = add_rule(expr="eval_latency_p95_ms <= threshold.max_latency_p95_ms")
    _, problems = problems_of(mutated(rule))
    assert problems == [
        {
            "reason": "POLICY_RULE_TYPE",
            "field": "extra",
            "message": "Tier 3: reads threshold 'max_latency_p95_ms', which the tier does not "
            "define",
        }
    ]


def test_rule_reading_a_threshold_is_fine_when_its_tiers_define_it() -> None:
    rule = add_rule(expr="eval_latency_p95_ms <= threshold.max_latency_p95_ms", tiers=[1, 2])
    assert build_policy(mutated(rule)).programs["extra"]


@pytest.mark.parametrize(
    "expr",
    [
        "eval_pii_leaks + 0.5 > 1.0",  # int + double
        "eval_latency_p95_ms * 2 <= 600.0",  # double * int
        "critical_feature_missing_rate + threshold.min_primary_delta_int < 1.0",
    ],
)
def test_int_double_mix_is_a_type_error(expr: str) -> None:
    def mutation(doc: dict[str, Any]) -> None:
        for tier in ("Tier 1", "Tier 2", "Tier 3"):
            doc["tiers"][tier]["thresholds"]["min_primary_delta_int"] = 0
        add_rule(expr=expr)(doc)

    _, problems = problems_of(mutated(mutation))
    assert reasons(problems) == {"POLICY_RULE_TYPE"}


@pytest.mark.parametrize(
    "expr",
    [
        "eval_pii_leaks / eval_errored_items == 0",  # 0 / 0 on the trial values
        "eval_pii_leaks % eval_errored_items == 0",
        "[1, 2][eval_pii_leaks + 5] == 1",
    ],
    ids=["division", "modulo", "index"],
)
def test_rule_that_raises_on_trial_is_a_type_error_not_a_crash(expr: str) -> None:
    _, problems = problems_of(mutated(add_rule(expr=expr)))
    assert reasons(problems) == {"POLICY_RULE_TYPE"}


def test_every_problem_is_collected_at_once() -> None:
    def mutation(doc: dict[str, Any]) -> None:
        add_rule(id="a", expr="nope == 0")(doc)
        add_rule(id="b", expr="eval_pii_leaks ==")(doc)
        add_rule(id="c", expr="eval_pii_leaks")(doc)

    _, problems = problems_of(mutated(mutation))
    assert {(p["field"], p["reason"]) for p in problems} == {
        ("a", "POLICY_UNKNOWN_METRIC"),
        ("b", "POLICY_RULE_SYNTAX"),
        ("c", "POLICY_RULE_TYPE"),
    }


def test_bad_field_values_are_validation_errors() -> None:
    with pytest.raises(ValidationError):
        build_policy(mutated(lambda d: d["tiers"]["Tier 1"]["approvers"].append("janitor")))
    with pytest.raises(ValidationError):
        build_policy(mutated(add_rule(expr="eval_pii_leaks == 0", reason="lower-case")))
    with pytest.raises(ValidationError):
        build_policy(mutated(lambda d: d.update(surprise=True)))


# -- contradictions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutation", "field", "words"),
    [
        (lambda d: d["tiers"]["Tier 0"].update(production=True), "tiers.0", "Tier 0 never"),
        (
            lambda d: d["tiers"]["Tier 0"].update(rollout=["canary"]),
            "tiers.0",
            "Tier 0 never",
        ),
        (lambda d: d["rules"].append(dict(d["rules"][0])), "rules.scope-recorded", "used twice"),
        (
            add_rule(gate="G6", expr="eval_pii_leaks == 0", tiers=[2, 3]),
            "rules.extra",
            "run by no tier",
        ),
        (
            lambda d: d["tiers"]["Tier 2"].update(approval_gate="G6"),
            "tiers.2",
            "which the tier does not run",
        ),
        (
            add_rule(expr="eval_pii_leaks == 0", conditions={"notes": ["x"]}),
            "rules.extra",
            "conditions apply to soft rules",
        ),
        (
            add_rule(expr="eval_pii_leaks == 0", hard=False, acceptable=True),
            "rules.extra",
            "acceptable is for hard rules",
        ),
        (
            add_rule(expr="eval_pii_leaks == 0", acceptable=True, tiers=[3]),
            "rules.extra",
            "no tier it runs in names acceptance_roles",
        ),
        (
            lambda d: d["tiers"]["Tier 2"].update(gates=["G1", "G0", "G2", "G5"]),
            "tiers.2",
            "in stack order",
        ),
        (
            lambda d: d["tiers"]["Tier 2"].update(rollout=["full", "canary"]),
            "tiers.2",
            "rollout stages must be in order",
        ),
        (
            lambda d: d["tiers"]["Tier 3"].update(rollout=[]),
            "tiers.3",
            "needs a rollout strategy",
        ),
        (
            lambda d: d["tiers"]["Tier 3"].update(approvers=["product_owner", "product_owner"]),
            "tiers.3",
            "listed twice",
        ),
    ],
    ids=[
        "tier0-production",
        "tier0-rollout",
        "duplicate-rule-id",
        "gate-no-tier-runs",
        "approvers-at-skipped-gate",
        "hard-rule-with-conditions",
        "acceptable-soft-rule",
        "acceptable-without-roles",
        "gates-out-of-order",
        "rollout-out-of-order",
        "production-without-rollout",
        "approver-twice",
    ],
)
def test_contradictions(mutation: Mutation, field: str, words: str) -> None:
    err, problems = problems_of(mutated(mutation))
    assert err.reason is Reason.POLICY_CONTRADICTION
    hits = [p for p in problems if p["field"] == field and words in p["message"]]
    assert hits, problems
    assert reasons(problems) == {"POLICY_CONTRADICTION"}


def test_missing_tier_is_reported() -> None:
    err, problems = problems_of(mutated(lambda d: d["tiers"].pop("Tier 3")))
    assert err.reason is Reason.MISSING_FIELD
    assert problems == [
        {"reason": "MISSING_FIELD", "field": "tiers", "message": "no policy for Tier 3"}
    ]


def test_bad_tier_name_is_reported() -> None:
    _, problems = problems_of(
        mutated(lambda d: d["tiers"].update({"Tier 7": copy.deepcopy(d["tiers"]["Tier 3"])}))
    )
    assert ("INVALID_VALUE", "tiers.Tier 7") in {(p["reason"], p["field"]) for p in problems}


# -- extends --------------------------------------------------------------------------------


def child_doc(**extra: Any) -> dict[str, Any]:
    return {"policy": "bank", "version": "2", "extends": "airel-default:1.0", **extra}


def loader(docs: Mapping[str, Mapping[str, Any]]) -> Callable[[str], Mapping[str, Any]]:
    def load(ref: str) -> Mapping[str, Any]:
        return copy.deepcopy(dict(docs[ref]))

    return load


BASE = {"airel-default:1.0": RAW}


def test_extends_overrides_a_threshold_and_keeps_the_rest() -> None:
    child = child_doc(tiers={"Tier 1": {"thresholds": {"max_latency_p95_ms": 250.0}}})
    policy = build_policy(resolve_extends(child, loader(BASE)))
    t1 = policy.tier(RiskTier.TIER_1)
    assert t1.thresholds["max_latency_p95_ms"] == 250.0
    assert t1.thresholds["max_error_rate"] == RAW["tiers"]["Tier 1"]["thresholds"]["max_error_rate"]
    assert t1.gates == ALL_GATES  # the rest of the tier is inherited
    assert policy.ref == "bank:2"
    assert policy.doc.extends == "airel-default:1.0"
    assert policy.digest != build_policy(RAW).digest


def test_extends_replaces_a_rule_by_id_and_removes_rules() -> None:
    stricter = {
        "id": "eval-no-errors",
        "gate": "G4",
        "expr": "eval_errored_items == 0 && eval_critical_failures == 0",
        "reason": "EVAL_ITEMS_ERRORED",
    }
    child = child_doc(rules=[stricter], remove_rules=["open-incidents", "aged-issues"])
    policy = build_policy(resolve_extends(child, loader(BASE)))
    by_id = {r.id: r for r in policy.rules}
    assert by_id["eval-no-errors"].expr == stricter["expr"]
    assert "open-incidents" not in by_id
    assert "aged-issues" not in by_id
    assert len(policy.rules) == len(RAW["rules"]) - 2
    assert [r.id for r in policy.rules].count("eval-no-errors") == 1


def test_extends_chain_of_three() -> None:
    middle = child_doc(tiers={"Tier 2": {"thresholds": {"max_error_rate": 0.015}}})
    top = {
        "policy": "team",
        "version": "1",
        "extends": "bank:2",
        "tiers": {"Tier 2": {"decision_ttl_days": 7}},
    }
    docs = {**BASE, "bank:2": middle}
    policy = build_policy(resolve_extends(top, loader(docs)))
    t2 = policy.tier(RiskTier.TIER_2)
    assert (t2.thresholds["max_error_rate"], t2.decision_ttl_days) == (0.015, 7)
    assert t2.thresholds["max_latency_p95_ms"] == 1000.0


def test_extends_child_can_introduce_an_error() -> None:
    child = child_doc(rules=[{"id": "x", "gate": "G4", "expr": "nope", "reason": "X_X_X"}])
    _, problems = problems_of(resolve_extends(child, loader(BASE)))
    assert reasons(problems) == {"POLICY_UNKNOWN_METRIC"}


@pytest.mark.parametrize(
    "docs",
    [
        {"a:1": {"policy": "a", "version": "1", "extends": "a:1"}},
        {
            "a:1": {"policy": "a", "version": "1", "extends": "b:1"},
            "b:1": {"policy": "b", "version": "1", "extends": "a:1"},
        },
        {
            "a:1": {"policy": "a", "version": "1", "extends": "b:1"},
            "b:1": {"policy": "b", "version": "1", "extends": "c:1"},
            "c:1": {"policy": "c", "version": "1", "extends": "b:1"},
        },
    ],
    ids=["self", "two", "tail"],
)
def test_cyclic_extends(docs: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(ValidationError) as info:
        resolve_extends(docs["a:1"], loader(docs))
    assert info.value.reason is Reason.POLICY_CYCLE


def test_too_deep_extends_chain() -> None:
    docs = {
        f"p{i}:1": {"policy": f"p{i}", "version": "1", "extends": f"p{i + 1}:1"}
        for i in range(MAX_EXTENDS + 3)
    }
    with pytest.raises(ValidationError) as info:
        resolve_extends(docs["p0:1"], loader(docs))
    assert info.value.reason is Reason.POLICY_CYCLE


def test_merge_docs_with_a_non_mapping_rule_is_a_validation_error() -> None:
    merged = merge_docs(RAW, {"policy": "x", "version": "1", "rules": ["not a rule"]})
    with pytest.raises(ValidationError):
        build_policy(merged)
