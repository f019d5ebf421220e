"""``promote`` end to end on SQLite and PostgreSQL (P1, P5, R6, §8.2): only as far as the latest
gate decision allows, forward only, with a manifest built from the records, and nothing written
when refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airel.client import Client
from airel.domain.promotion.environments import Environment
from airel.errors import AirelError, Reason
from airel.services.promotion import promotions
from gate_fixtures import (
    V1,
    V2,
    adopt_v1,
    approve_all,
    freeze_pair,
    now,
    ready_through_g4,
    ready_through_g9,
)

PLAN = """\
plan_id: FRAUD-ROLLOUT-1
use_case_id: {use_case}
segments: {{vulnerable: {{}}}}
steps:
  - {{name: shadow, environment: shadow, traffic_percent: 0}}
  - name: canary
    environment: canary
    traffic_percent: 5
    exclude_segments: [vulnerable]
    stop: [{{metric: canary_critical_failures, op: ">", value: 0}}]
"""
DEPLOYMENT = """\
tools: {case-lookup: read}
monitoring:
  dashboard: grafana/fraud
  auto_rollback: [any critical failure]
change_approval: CHG-1182
"""


@pytest.fixture
def release(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Client:
    freeze_pair(fraud_registry, bundle_yaml, write)
    return fraud_registry


def files(release: Client, write: Any) -> tuple[Path, Path]:
    use_case = release.bundles.get(V2).use_case_id
    return write("plan.yaml", PLAN.format(use_case=use_case)), write("deploy.yaml", DEPLOYMENT)


def audit_count(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def refused(client: Client, **kwargs: Any) -> AirelError:
    before = audit_count(client)
    with pytest.raises(AirelError) as info:
        promotions.promote(client.ctx, V2, **kwargs)
    assert audit_count(client) == before  # nothing written
    return info.value


def test_no_decision_no_promotion(release: Client) -> None:
    error = refused(release, target="staging")
    assert error.reason is Reason.PROMOTION_NOT_ALLOWED
    assert "gate check" in (error.fix or "")


def test_a_limited_go_to_staging_reaches_staging_and_no_further(
    release: Client, write: Any
) -> None:
    ready_through_g4(release)
    assert release.gates.check(V2, through="G4", now=now()).record.decision == "limited_go"
    plan, deploy = files(release, write)
    result = promotions.promote(release.ctx, V2, target="staging", deployment=deploy)
    assert result.promotion.target is Environment.STAGING
    assert result.promotion.source is None
    assert result.deployment.traffic == {V2: 100.0}
    assert result.deployment.route == "fraud-score-prod"
    assert result.deployment.change_approval == "CHG-1182"
    assert any(ref.startswith("model/") for ref in result.deployment.components.values())
    error = refused(release, target="shadow", plan=plan, deployment=deploy)
    assert error.reason is Reason.PROMOTION_BEYOND_DECISION
    again = refused(release, target="staging", deployment=deploy)
    assert again.reason is Reason.PROMOTION_NOT_ALLOWED  # not forward


def test_a_go_walks_shadow_then_canary_with_the_plan(release: Client, write: Any) -> None:
    ready_through_g9(release)
    when = now()
    approve_all(release, when=when)
    go = release.gates.check(V2, now=when + timedelta(minutes=1)).record
    assert go.decision == "go", go.body["outcome"]["reasons"]
    adopt_v1(release)
    plan, deploy = files(release, write)
    shadow = promotions.promote(release.ctx, V2, target="shadow", plan=plan, deployment=deploy)
    assert shadow.deployment.traffic == {V1: 100.0}
    assert shadow.deployment.mirror == [V2]
    assert shadow.promotion.decision_id == go.decision_id
    assert shadow.plan is not None
    assert shadow.promotion.plan_digest == shadow.plan.digest
    canary = promotions.promote(release.ctx, V2, target="canary", plan=plan, deployment=deploy)
    assert canary.promotion.source is Environment.SHADOW
    assert canary.deployment.traffic == {V1: 95.0, V2: 5.0}
    stored = promotions.list_promotions(release.ctx, V2)
    assert [p.target for p in stored] == [Environment.SHADOW, Environment.CANARY]
    assert stored[-1].expires_at <= (when + timedelta(days=14, minutes=2)).isoformat()
    deployments = promotions.list_deployments(release.ctx, route="fraud-score-prod")
    assert [d.digest for d in deployments] == [shadow.deployment.digest, canary.deployment.digest]
    assert promotions.get_deployment(release.ctx, canary.deployment.digest[:20]).manifest == (
        canary.deployment
    )
    with release.ctx.store.read() as tx:
        actions = [e.action for e in tx.iter_audit()]
    assert actions[-4:] == ["promotion.create", "route.promote"] * 2
    assert release.verify_audit().ok


def test_canary_without_monitoring_is_refused_and_nothing_written(
    release: Client, write: Any
) -> None:
    ready_through_g9(release)
    when = now()
    approve_all(release, when=when)
    release.gates.check(V2, now=when + timedelta(minutes=1))
    adopt_v1(release)
    plan, _ = files(release, write)
    bare = write("bare.yaml", "tools: {case-lookup: read}\n")
    error = refused(release, target="canary", plan=plan, deployment=bare)
    assert error.reason is Reason.FORBIDDEN_ACTION
    assert error.details["action"] == "unmonitored_expansion"
    assert promotions.list_deployments(release.ctx) == []
    writer = write("writer.yaml", "tools: {sar-filing: write}\n")
    assert refused(release, target="shadow", plan=plan, deployment=writer).details == {
        "field": "tools.sar-filing",
        "action": "write_tools",
    }


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"target": "production"}, Reason.PLAN_UNKNOWN_STAGE),
        ({"target": "canary"}, Reason.MISSING_FIELD),  # a live step needs a plan
        ({"target": "staging", "expires_in_days": 0}, Reason.INVALID_VALUE),
    ],
)
def test_bad_input_is_refused(release: Client, kwargs: dict[str, Any], reason: Reason) -> None:
    ready_through_g9(release)
    when = now()
    approve_all(release, when=when)
    release.gates.check(V2, now=when + timedelta(minutes=1))
    assert refused(release, **kwargs).reason is reason


def test_a_plan_of_another_use_case_is_refused(release: Client, write: Any) -> None:
    ready_through_g4(release)
    release.gates.check(V2, through="G4", now=now())
    other = write("other.yaml", PLAN.format(use_case="mortgage-advice"))
    error = refused(release, target="staging", plan=other)
    assert error.reason is Reason.INVALID_VALUE
    assert error.details["field"] == "use_case_id"


def test_the_promotion_card_comes_from_the_records(release: Client, write: Any) -> None:
    """§8.2: every row from the promotion, its manifest and its decision; gaps say so."""
    ready_through_g9(release)
    when = now()
    approve_all(release, when=when)
    release.gates.check(V2, now=when + timedelta(minutes=1))
    adopt_v1(release)
    plan, deploy = files(release, write)
    promotions.promote(release.ctx, V2, target="shadow", plan=plan, deployment=deploy)
    canary = promotions.promote(release.ctx, V2, target="canary", plan=plan, deployment=deploy)
    card = release.promotions.card(canary.promotion.promotion_id[:16])
    rows = dict(
        line[2:-2].split(" | ", 1)
        for line in card.splitlines()
        if line.startswith("| ") and not line.startswith(("| Field", "|---"))
    )
    assert card.startswith(f"# Model Promotion Card — {V2}")
    assert rows["From stage"] == "shadow"
    assert rows["To stage"] == "canary"
    assert rows["Baseline"] == V1
    assert rows["Release bundle"] == V2
    assert ":2.0.0" in rows["Model"]
    assert rows["Candidate benefit"] == "not recorded"
    assert rows["Required controls"] == "auto rollback: any critical failure"
    assert rows["Decision"].startswith("go: promote to canary at ")
    assert f"{V2} 5%" in rows["Decision"]
    assert canary.promotion.expires_at in rows["Expiry"]
    with pytest.raises(AirelError) as info:
        release.promotions.card("sha256:" + "0" * 64)
    assert info.value.reason is Reason.EVIDENCE_NOT_FOUND
