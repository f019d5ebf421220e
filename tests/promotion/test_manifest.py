"""Deployment manifests (R6) and the §5.1 forbidden actions airel enforces on them (P1).

Each refusal carries FORBIDDEN_ACTION (or ROUTE_TO_LATEST / PLAN_TRAFFIC_INVALID) with the
action and the field in its details, so an operator knows what to change.
"""

from __future__ import annotations

from typing import Any

import pytest

from airel.domain.promotion.environments import Action, Environment
from airel.domain.promotion.manifest import (
    DeploymentManifest,
    Monitoring,
    ToolMode,
    check_manifest,
    split_of,
)
from airel.errors import Reason, ValidationError

WATCHED = Monitoring(
    dashboard="grafana/fraud", alerts=["p95 > 800ms"], auto_rollback=["any critical failure"]
)


def manifest(**changes: Any) -> DeploymentManifest:
    base: dict[str, Any] = {
        "release_id": "FRAUD-002",
        "environment": Environment.CANARY,
        "route": "fraud-scoring",
        "traffic": {"FRAUD-001": 98.0, "FRAUD-002": 2.0},
        "components": {"model": "fraud-model:3.4.2", "policy": "fraud-threshold:7"},
        "tools": {"case-lookup": ToolMode.READ},
        "monitoring": WATCHED,
        "decision_id": "sha256:" + "a" * 64,
    }
    return DeploymentManifest(**{**base, **changes})


def refusal(m: DeploymentManifest, previous: DeploymentManifest | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        check_manifest(m, previous=previous)
    return info.value


def test_a_watched_canary_is_accepted_and_content_addressed() -> None:
    m = manifest()
    assert check_manifest(m) is m
    assert m.digest.startswith("sha256:")
    assert m.digest == manifest().digest
    assert manifest(feature_flags={"new_reason_codes": True}).digest != m.digest
    assert split_of(m.traffic) == "FRAUD-001 98% / FRAUD-002 2%"


def test_diff_names_every_changed_field() -> None:
    a, b = manifest(), manifest(traffic={"FRAUD-001": 90.0, "FRAUD-002": 10.0}, incidents=["INC-7"])
    assert set(a.diff(b)) == {"traffic", "incidents"}
    assert a.diff(b)["incidents"] == ([], ["INC-7"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"route": "latest"}, "route"),
        ({"traffic": {"FRAUD-001": 98.0, "latest": 2.0}}, "traffic.latest"),
        ({"components": {"model": "fraud-model:latest"}}, "components.model"),
        ({"components": {"model": "gpt-4o@LATEST"}}, "components.model"),
        ({"mirror": ["latest"]}, "mirror.latest"),
    ],
)
def test_nothing_may_point_at_latest(changes: dict[str, Any], field: str) -> None:
    error = refusal(manifest(**changes))
    assert error.reason is Reason.ROUTE_TO_LATEST
    assert error.details["field"] == field
    assert error.details["action"] == Action.ROUTE_TO_LATEST.value


def test_a_component_named_latest_something_is_fine() -> None:
    check_manifest(manifest(components={"model": "latest-fraud-model:1.0"}))


@pytest.mark.parametrize(
    "traffic",
    [{"FRAUD-001": 98.0, "FRAUD-002": 3.0}, {"FRAUD-001": 101.0, "FRAUD-002": -1.0}, {}],
)
def test_the_split_adds_up_to_100(traffic: dict[str, float]) -> None:
    assert refusal(manifest(traffic=traffic)).reason is Reason.PLAN_TRAFFIC_INVALID


@pytest.mark.parametrize("environment", [Environment.SHADOW, Environment.STAGING])
def test_write_tools_are_refused_before_canary(environment: Environment) -> None:
    m = manifest(
        environment=environment,
        traffic={"FRAUD-001": 100.0},
        mirror=["FRAUD-002"],
        tools={"case-lookup": ToolMode.READ, "sar-filing": ToolMode.WRITE},
    )
    error = refusal(m)
    assert error.reason is Reason.FORBIDDEN_ACTION
    assert error.details == {"field": "tools.sar-filing", "action": "write_tools"}
    draft = m.model_copy(update={"tools": {"sar-filing": ToolMode.DRAFT}})
    check_manifest(draft)


@pytest.mark.parametrize("environment", [Environment.SHADOW, Environment.STAGING])
def test_customer_visible_output_is_refused_in_shadow_and_staging(
    environment: Environment,
) -> None:
    m = manifest(
        environment=environment,
        traffic={"FRAUD-001": 100.0},
        mirror=["FRAUD-002"],
        customer_visible=True,
    )
    assert refusal(m).details["action"] == "customer_visible_output"


def test_a_shadow_release_never_takes_live_traffic() -> None:
    m = manifest(environment=Environment.SHADOW, mirror=["FRAUD-002"])
    error = refusal(m)
    assert error.reason is Reason.FORBIDDEN_ACTION
    assert error.details["field"] == "traffic"


@pytest.mark.parametrize(
    ("monitoring", "field"),
    [
        (Monitoring(), "monitoring"),
        (Monitoring(dashboard="grafana/fraud"), "monitoring.auto_rollback"),
        (Monitoring(auto_rollback=["any PII leak"]), "monitoring"),
    ],
)
@pytest.mark.parametrize(
    "environment",
    [Environment.CANARY, Environment.LIMITED_PRODUCTION, Environment.SCALED_PRODUCTION],
)
def test_no_live_step_without_monitoring_and_automatic_rollback(
    monitoring: Monitoring, field: str, environment: Environment
) -> None:
    error = refusal(manifest(environment=environment, monitoring=monitoring))
    assert error.details == {"field": field, "action": "unmonitored_expansion"}


def test_shadow_does_not_need_auto_rollback() -> None:
    m = manifest(
        environment=Environment.SHADOW,
        traffic={"FRAUD-001": 100.0},
        mirror=["FRAUD-002"],
        monitoring=Monitoring(),
    )
    check_manifest(m)


def scaled(**changes: Any) -> DeploymentManifest:
    return manifest(
        environment=Environment.SCALED_PRODUCTION, traffic={"FRAUD-002": 100.0}, **changes
    )


@pytest.mark.parametrize("role", ["model", "policy"])
def test_scaled_production_refuses_a_vendor_or_policy_change_without_a_new_decision(
    role: str,
) -> None:
    previous = scaled()
    changed = dict(previous.components, **{role: f"{role}-v2:1"})
    error = refusal(scaled(components=changed), previous)
    assert error.details == {"field": f"components.{role}", "action": "ungated_change"}
    assert refusal(scaled(components=changed, decision_id=None), previous).reason is (
        Reason.FORBIDDEN_ACTION
    )
    check_manifest(scaled(components=changed, decision_id="sha256:" + "b" * 64), previous=previous)


def test_other_changes_in_scaled_production_need_no_new_decision() -> None:
    previous = scaled()
    check_manifest(scaled(feature_flags={"explanations": True}), previous=previous)
    check_manifest(
        scaled(components=dict(previous.components, prompt="fraud-notes:2")), previous=previous
    )


def test_canary_allows_a_model_change_under_the_same_decision() -> None:
    """The ungated-change rule is scaled production's; earlier stages run under their gates."""
    previous = manifest()
    check_manifest(manifest(components={"model": "fraud-model:3.4.3"}), previous=previous)


def test_gated_components_are_known_by_kind_too() -> None:
    """Manifests built from a bundle key components by path and name them ``kind/name:v``."""
    before = {"scoring.model": "model/fraud-model:3.4.2", "notes": "prompt/fraud-notes:1"}
    previous = scaled(components=before)
    vendor = dict(before, **{"scoring.model": "model/fraud-model:3.5.0"})
    assert refusal(scaled(components=vendor), previous).details["field"] == (
        "components.scoring.model"
    )
    check_manifest(scaled(components=dict(before, notes="prompt/fraud-notes:2")), previous=previous)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fraud-score-v2.internal:8080/score",
        "https://10.0.3.7/v1/score",
        "http://[::1]:9000/score",
    ],
)
def test_an_endpoint_is_an_http_url_and_part_of_the_address(endpoint: str) -> None:
    """T2/R6: the gateway's upstream is in the manifest; a manifest without one keeps the
    address it had before the field existed."""
    m = manifest(endpoint=endpoint)
    assert m.endpoint == endpoint
    assert m.digest != manifest().digest
    assert "endpoint" in m.diff(manifest())


@pytest.mark.parametrize(
    "endpoint",
    [
        "ftp://fraud/score",
        "http://user:secret@fraud/score",
        "http://fraud/score?token=x",
        "http://fraud/score#x",
        "file:///etc/passwd",
        "http://bad host/score",
    ],
)
def test_a_bad_endpoint_is_refused(endpoint: str) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        manifest(endpoint=endpoint)
