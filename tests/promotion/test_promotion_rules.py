"""Which promotions a gate decision allows (P1, P5, §4.5, §8.2): forward only, within the
decision's stage cap and conditions, never under an expired or refusing decision."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airel.adapters.documents.parse import parse_yaml
from airel.domain.gate.decision import DecisionKind
from airel.domain.gate.stack import Conditions, Stage
from airel.domain.promotion.environments import Environment
from airel.domain.promotion.promotion import (
    DecisionView,
    check_promotion,
    promotion_expiry,
    segment_key,
)
from airel.domain.promotion.traffic_plan import TrafficPlan, parse_traffic_plan
from airel.errors import Reason, ValidationError

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PLAN = """\
plan_id: AML-ROLLOUT-1
segments:
  vulnerable-customers: {}
  complaint: {}
steps:
  - {name: shadow, environment: shadow, traffic_percent: 0}
  - name: canary
    environment: canary
    traffic_percent: 5
    exclude_segments: [vulnerable-customers]
    stop: [{metric: canary_critical_failures, op: ">", value: 0}]
  - name: ramp
    environment: limited_production
    traffic_percent: 30
    stop: [{metric: aged_issues, op: ">", value: 3}]
"""


def plan(**step_changes: Any) -> TrafficPlan:
    data = copy.deepcopy(dict(parse_yaml(PLAN).data))
    for name, changes in step_changes.items():
        step = next(s for s in data["steps"] if s["name"] == name)
        step.update(changes)
    return parse_traffic_plan(data)


def decision(**changes: Any) -> DecisionView:
    base: dict[str, Any] = {
        "decision_id": "sha256:" + "d" * 64,
        "release_id": "AML-002",
        "kind": DecisionKind.GO,
        "max_stage": None,
        "conditions": Conditions(),
        "expires_at": NOW + timedelta(days=30),
    }
    return DecisionView(**{**base, **changes})


def refused(d: DecisionView, **kwargs: Any) -> ValidationError:
    args: dict[str, Any] = {"release_id": "AML-002", "source": None, "target": Environment.SHADOW}
    with pytest.raises(ValidationError) as info:
        check_promotion(d, now=NOW, **{**args, **kwargs})
    return info.value


def test_a_go_allows_any_forward_move() -> None:
    check_promotion(
        decision(), release_id="AML-002", source=None, target=Environment.STAGING, now=NOW
    )
    check_promotion(
        decision(),
        release_id="AML-002",
        source=Environment.SHADOW,
        target=Environment.SCALED_PRODUCTION,
        now=NOW,
        plan=plan(),
    )


@pytest.mark.parametrize("kind", [DecisionKind.NO_GO, DecisionKind.ROLLBACK])
def test_a_refusing_decision_allows_nothing(kind: DecisionKind) -> None:
    error = refused(decision(kind=kind))
    assert error.reason is Reason.PROMOTION_NOT_ALLOWED
    assert error.details["kind"] == kind.value


def test_an_expired_decision_allows_nothing() -> None:
    assert refused(decision(expires_at=NOW)).reason is Reason.DECISION_EXPIRED


def test_a_decision_of_another_release_allows_nothing() -> None:
    assert refused(decision(release_id="AML-001")).reason is Reason.PROMOTION_NOT_ALLOWED


@pytest.mark.parametrize(
    "target", [Environment.LOCAL, Environment.EXPERIMENT, Environment.TRAINING_PIPELINE]
)
def test_releases_never_enter_the_build_environments(target: Environment) -> None:
    error = refused(decision(), target=target)
    assert error.reason is Reason.PROMOTION_NOT_ALLOWED
    assert error.details["target"] == target.value


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Environment.CANARY, Environment.SHADOW),
        (Environment.CANARY, Environment.CANARY),
        (Environment.SCALED_PRODUCTION, Environment.STAGING),
    ],
)
def test_promotion_only_moves_forward(source: Environment, target: Environment) -> None:
    error = refused(decision(), source=source, target=target)
    assert error.reason is Reason.PROMOTION_NOT_ALLOWED
    assert "roll back" in (error.fix or "")


@pytest.mark.parametrize(
    ("cap", "allowed", "beyond"),
    [
        (Stage.SHADOW, Environment.SHADOW, Environment.CANARY),
        (Stage.STAFF_PILOT, Environment.CANARY, Environment.LIMITED_PRODUCTION),
        (Stage.LIMITED_RAMP, Environment.LIMITED_PRODUCTION, Environment.SCALED_PRODUCTION),
    ],
)
def test_the_stage_cap_of_the_decision_binds(
    cap: Stage, allowed: Environment, beyond: Environment
) -> None:
    for d in (decision(max_stage=cap), decision(conditions=Conditions(max_stage=cap))):
        check_promotion(d, release_id="AML-002", source=None, target=allowed, now=NOW)
        error = refused(d, target=beyond)
        assert error.reason is Reason.PROMOTION_BEYOND_DECISION
        assert error.details == {"cap": cap.value, "target": beyond.value}


def test_a_limited_go_traffic_ceiling_binds_the_plan() -> None:
    d = decision(kind=DecisionKind.LIMITED_GO, conditions=Conditions(traffic_cap_percent=10))
    check_promotion(
        d,
        release_id="AML-002",
        source=Environment.SHADOW,
        target=Environment.CANARY,
        now=NOW,
        plan=plan(),
    )
    error = refused(
        d, source=Environment.SHADOW, target=Environment.LIMITED_PRODUCTION, plan=plan()
    )
    assert error.reason is Reason.PROMOTION_BEYOND_DECISION
    assert error.details["field"] == "steps[2] (ramp).traffic_percent"


def test_segments_the_decision_keeps_back_must_be_excluded_by_every_live_step() -> None:
    d = decision(
        kind=DecisionKind.LIMITED_GO, conditions=Conditions(segments=["Vulnerable customers"])
    )
    check_promotion(
        d, release_id="AML-002", source=None, target=Environment.CANARY, now=NOW, plan=plan()
    )
    error = refused(d, target=Environment.LIMITED_PRODUCTION, plan=plan())
    assert error.details["field"] == "steps[2] (ramp).exclude_segments"
    assert error.details["segments"] == ["Vulnerable customers"]
    fixed = plan(ramp={"exclude_segments": ["vulnerable-customers"]})
    check_promotion(
        d,
        release_id="AML-002",
        source=None,
        target=Environment.LIMITED_PRODUCTION,
        now=NOW,
        plan=fixed,
    )


def test_a_segment_the_plan_cannot_name_is_not_excluded() -> None:
    d = decision(kind=DecisionKind.LIMITED_GO, conditions=Conditions(segments=["hardship"]))
    error = refused(d, target=Environment.CANARY, plan=plan())
    assert error.reason is Reason.PROMOTION_BEYOND_DECISION
    assert error.details["segments"] == ["hardship"]


def test_segment_keys() -> None:
    assert segment_key("Vulnerable customers") == "vulnerable-customers"
    assert segment_key("  complaint ") == "complaint"


def test_a_promotion_lapses_after_14_days_or_with_its_decision() -> None:
    assert promotion_expiry(NOW, NOW + timedelta(days=90)) == NOW + timedelta(days=14)
    assert promotion_expiry(NOW, NOW + timedelta(days=3)) == NOW + timedelta(days=3)
    assert promotion_expiry(NOW, NOW + timedelta(days=90), days=1) == NOW + timedelta(days=1)
    with pytest.raises(ValidationError) as info:
        promotion_expiry(NOW, NOW + timedelta(days=90), days=0)
    assert info.value.reason is Reason.INVALID_VALUE
