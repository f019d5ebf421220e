"""Environments, the stage graph and traffic plans (P1, P5; playbook §5.1, §5.6, §8.5).

Bad plans are refused with the reason code and the field that is wrong; a step's analysis
never advances on a missing metric and stops on any stop condition that holds.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airel.adapters.documents.parse import parse_yaml
from airel.domain.gate.stack import GateId, Stage
from airel.domain.promotion.environments import (
    ENVIRONMENT_OF_STAGE,
    ENVIRONMENTS,
    Action,
    Environment,
    is_forward,
    parse_environment,
    within_stage_cap,
)
from airel.domain.promotion.traffic_plan import (
    ROLLOUT_METRICS,
    StepVerdict,
    TrafficPlan,
    analyse_step,
    parse_traffic_plan,
)
from airel.errors import Reason, ValidationError

PLAN_YAML = """\
plan_id: FRAUD-ROLLOUT-1
use_case_id: fraud-scoring
sticky_by: customer_id
segments:
  vulnerable: {description: customers tagged vulnerable}
  complaint: {description: open complaint}
  hardship: {}
steps:
  - name: shadow
    environment: shadow
    traffic_percent: 0
    min_requests: 1000
    success: [{metric: shadow_side_effects, op: "==", value: 0}]
    stop: [{metric: shadow_side_effects, op: ">", value: 0}]
  - name: canary-1
    environment: canary
    traffic_percent: 2
    exclude_segments: [vulnerable, complaint, hardship]
    min_duration_hours: 120
    success:
      - {metric: canary_critical_failures, op: "==", value: 0}
      - {metric: canary_override_rate, op: "<=", value: 0.05}
    stop:
      - {metric: canary_critical_failures, op: ">", value: 0}
      - {metric: canary_latency_p95_ms, op: ">", value: 800}
  - name: canary-2
    environment: canary
    traffic_percent: 10
    exclude_segments: [vulnerable]
    stop: [{metric: canary_error_rate, op: ">", value: 0.02}]
  - name: ramp
    environment: limited-production
    traffic_percent: 50
    stop: [{metric: aged_issues, op: ">", value: 3}]
  - name: full
    environment: scaled_production
    traffic_percent: 100
    stop: [{metric: open_incidents, op: ">", value: 0}]
"""


def plan_data() -> dict[str, Any]:
    doc = parse_yaml(PLAN_YAML, source="plan.yaml")
    return copy.deepcopy(dict(doc.data))


def refused(data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_traffic_plan(data, source="plan.yaml")
    return info.value


# -- environments and the stage graph (P1) ------------------------------------------------------


def test_nine_environments_in_playbook_order() -> None:
    """§5.1: the line local → … → post-release review, each with its purpose and forbidden acts."""
    assert [e.value for e in Environment] == [
        "local",
        "experiment",
        "training_pipeline",
        "staging",
        "shadow",
        "canary",
        "limited_production",
        "scaled_production",
        "post_release_review",
    ]
    for env, d in ENVIRONMENTS.items():
        assert d.environment is env
        assert d.purpose
        assert d.allowed
        assert d.forbidden
        assert Action.ROUTE_TO_LATEST in d.forbids or not d.takes_releases


def test_entry_gates_reuse_the_stage_prerequisites() -> None:
    """The gate to enter an environment is its rollout Stage's prerequisite (G4 … G8)."""
    assert ENVIRONMENTS[Environment.LOCAL].entry_gate is None
    assert ENVIRONMENTS[Environment.TRAINING_PIPELINE].takes_releases is False
    for stage, env in ENVIRONMENT_OF_STAGE.items():
        if stage is not Stage.STAFF_PILOT:
            assert ENVIRONMENTS[env].entry_gate is stage.prerequisite
    assert ENVIRONMENTS[Environment.SHADOW].entry_gate is GateId.G5
    assert ENVIRONMENTS[Environment.SCALED_PRODUCTION].entry_gate is GateId.G8
    assert ENVIRONMENTS[Environment.POST_RELEASE_REVIEW].entry_gate is GateId.G8


def test_shadow_forbids_writes_and_visible_output_canary_needs_monitoring() -> None:
    assert {Action.WRITE_TOOLS, Action.CUSTOMER_VISIBLE_OUTPUT} <= ENVIRONMENTS[
        Environment.SHADOW
    ].forbids
    assert Action.WRITE_TOOLS in ENVIRONMENTS[Environment.STAGING].forbids
    assert Action.UNMONITORED_EXPANSION in ENVIRONMENTS[Environment.CANARY].forbids
    assert Action.UNGATED_CHANGE in ENVIRONMENTS[Environment.SCALED_PRODUCTION].forbids
    assert Action.UNGATED_CHANGE not in ENVIRONMENTS[Environment.CANARY].forbids


def test_graph_moves_forward_and_respects_the_stage_cap() -> None:
    assert is_forward(None, Environment.STAGING)
    assert is_forward(Environment.SHADOW, Environment.CANARY)
    assert not is_forward(Environment.CANARY, Environment.SHADOW)
    assert not is_forward(Environment.CANARY, Environment.CANARY)
    assert within_stage_cap(Environment.CANARY, Stage.CANARY)
    assert within_stage_cap(Environment.CANARY, Stage.STAFF_PILOT)
    assert not within_stage_cap(Environment.LIMITED_PRODUCTION, Stage.CANARY)
    assert within_stage_cap(Environment.SCALED_PRODUCTION, None)


def test_environment_names_are_forgiving_about_dashes_but_not_about_words() -> None:
    assert parse_environment("Limited-Production") is Environment.LIMITED_PRODUCTION
    with pytest.raises(ValidationError) as info:
        parse_environment("prod")
    assert info.value.reason is Reason.PLAN_UNKNOWN_STAGE


# -- traffic plans (P5) -------------------------------------------------------------------------


def test_the_example_plan_parses() -> None:
    plan = parse_traffic_plan(plan_data())
    assert isinstance(plan, TrafficPlan)
    assert [s.name for s in plan.steps] == ["shadow", "canary-1", "canary-2", "ramp", "full"]
    assert plan.steps[3].environment is Environment.LIMITED_PRODUCTION
    assert plan.next_step(None) is plan.steps[0]
    assert plan.next_step("ramp") is plan.steps[4]
    assert plan.next_step("full") is None
    with pytest.raises(ValidationError) as info:
        plan.step("canary-9")
    assert info.value.reason is Reason.PLAN_UNKNOWN_STAGE


@pytest.mark.parametrize(
    ("path", "value", "reason", "field"),
    [
        (("steps", 1, "traffic_percent"), 150, Reason.INVALID_VALUE, "traffic_percent"),
        (("steps", 1, "traffic_percent"), -1, Reason.INVALID_VALUE, "traffic_percent"),
        (("steps", 2, "traffic_percent"), 1, Reason.PLAN_TRAFFIC_INVALID, "steps[2] (canary-2)"),
        (("steps", 0, "traffic_percent"), 5, Reason.PLAN_TRAFFIC_INVALID, "steps[0] (shadow)"),
        (("steps", 1, "traffic_percent"), 0, Reason.PLAN_TRAFFIC_INVALID, "steps[1]"),
        (("steps", 1, "environment"), "production", Reason.PLAN_UNKNOWN_STAGE, "environment"),
        (("steps", 1, "environment"), "staging", Reason.PLAN_UNKNOWN_STAGE, "environment"),
        (("steps", 1, "environment"), "scaled_production", Reason.PLAN_ORDER_INVALID, "steps[2]"),
        (("steps", 1, "exclude_segments"), ["vip"], Reason.PLAN_UNKNOWN_SEGMENT, "vip"),
        (("steps", 1, "stop"), [], Reason.FORBIDDEN_ACTION, "steps[1] (canary-1).stop"),
        (("steps", 1, "success", 0, "metric"), "accuracy", Reason.PLAN_UNKNOWN_METRIC, "metric"),
        (("steps", 1, "success", 0, "value"), "zero", Reason.WRONG_TYPE, "value"),
        (("steps", 1, "success", 0, "op"), "=~", Reason.INVALID_VALUE, "op"),
        (("steps", 1, "name"), "shadow", Reason.INVALID_VALUE, "steps[1]"),
        (("steps", 1, "colour"), "red", Reason.UNKNOWN_FIELD, "colour"),
    ],
)
def test_bad_plans_are_refused_naming_the_field(
    path: tuple[Any, ...], value: Any, reason: Reason, field: str
) -> None:
    data = plan_data()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    error = refused(data)
    assert error.reason is reason
    assert field in str(error)
    assert error.fix


def test_a_plan_needs_steps() -> None:
    data = plan_data()
    data["steps"] = []
    assert refused(data).reason is Reason.INVALID_VALUE
    del data["steps"]
    assert refused(data).reason is Reason.MISSING_FIELD


def test_criteria_only_read_rollout_metrics() -> None:
    """Rollout criteria read the G6–G9 evidence metrics, so a step's outcome is gate evidence."""
    assert "canary_critical_failures" in ROLLOUT_METRICS
    assert "shadow_side_effects" in ROLLOUT_METRICS
    assert "roc_auc" not in ROLLOUT_METRICS
    assert "ci_passed" not in ROLLOUT_METRICS


# -- analysing a step ---------------------------------------------------------------------------


def canary_1() -> Any:
    return parse_traffic_plan(plan_data()).step("canary-1")


GOOD = {
    "canary_critical_failures": 0,
    "canary_override_rate": 0.01,
    "canary_latency_p95_ms": 420.0,
}


def test_all_criteria_met_after_the_minimum_advances() -> None:
    result = analyse_step(canary_1(), GOOD, elapsed_hours=121, requests=10)
    assert result.verdict is StepVerdict.ADVANCE
    assert result.reasons == ()
    assert all(r.holds is not None for r in result.results)


def test_too_early_or_too_few_holds() -> None:
    early = analyse_step(canary_1(), GOOD, elapsed_hours=10, requests=0)
    assert early.verdict is StepVerdict.HOLD
    assert early.reasons == ("DURATION:10h<120h",)
    shadow = parse_traffic_plan(plan_data()).step("shadow")
    few = analyse_step(shadow, {"shadow_side_effects": 0}, elapsed_hours=1, requests=999)
    assert few.verdict is StepVerdict.HOLD
    assert few.reasons == ("REQUESTS:999<1000",)


def test_a_success_criterion_not_met_holds() -> None:
    result = analyse_step(
        canary_1(), {**GOOD, "canary_override_rate": 0.2}, elapsed_hours=200, requests=0
    )
    assert result.verdict is StepVerdict.HOLD
    assert result.reasons == ("NOT_MET:canary_override_rate <= 0.05",)


def test_any_stop_condition_stops_even_with_missing_metrics() -> None:
    result = analyse_step(canary_1(), {"canary_critical_failures": 2}, elapsed_hours=0, requests=0)
    assert result.verdict is StepVerdict.STOP
    assert result.reasons == ("STOP:canary_critical_failures > 0",)


@pytest.mark.parametrize(
    "observed",
    [
        {k: v for k, v in GOOD.items() if k != "canary_latency_p95_ms"},  # a stop metric unread
        {k: v for k, v in GOOD.items() if k != "canary_override_rate"},  # a success metric unread
        {**GOOD, "canary_override_rate": "low"},  # wrong type: unread, not a pass
        {**GOOD, "canary_critical_failures": True},  # a bool is not an int count
        {},
    ],
)
def test_missing_or_wrong_typed_metrics_are_inconclusive_never_advance(
    observed: dict[str, Any],
) -> None:
    result = analyse_step(canary_1(), observed, elapsed_hours=500, requests=10**6)
    assert result.verdict is StepVerdict.INCONCLUSIVE
    assert all(r.startswith("MISSING:") for r in result.reasons)
    assert result.to_dict()["verdict"] == "inconclusive"
