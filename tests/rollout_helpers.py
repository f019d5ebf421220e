"""Shared set-up of the rollout tests (issue 11): V1 adopted on the production route, V2 with a
go decision, a three-step plan, and a service context whose clock the test moves."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airel.client import Client
from airel.domain.promotion.route import Lane, Route
from airel.services.gate import evidence
from airel.services.kernel.context import Context
from airel.services.promotion import promotions, rollouts
from gate_fixtures import ROUTE, V2, adopt_v1, approve_all, freeze_pair, now, ready_through_g9

PLAN = """\
plan_id: FRAUD-ROLLOUT-2
use_case_id: {use_case}
segments: {{vulnerable: {{}}}}
steps:
  - name: shadow
    environment: shadow
    traffic_percent: 0
    min_requests: 100
    success: [{{metric: shadow_side_effects, op: "==", value: 0}}]
    stop: [{{metric: shadow_side_effects, op: ">", value: 0}}]
  - name: canary-1
    environment: canary
    traffic_percent: 5
    exclude_segments: [vulnerable]
    min_duration_hours: 24
    success: [{{metric: canary_critical_failures, op: "==", value: 0}}]
    stop: [{{metric: canary_critical_failures, op: ">", value: 0}}]
  - name: canary-2
    environment: canary
    traffic_percent: 20
    exclude_segments: [vulnerable]
    success: [{{metric: canary_critical_failures, op: "==", value: 0}}]
    stop: [{{metric: canary_critical_failures, op: ">", value: 0}}]
"""
DEPLOYMENT = """\
tools: {{case-lookup: read, case-note: {tool}}}
monitoring:
  dashboard: grafana/fraud
  auto_rollback: [any critical failure]
change_approval: CHG-1182
"""


@dataclass
class MovingClock:
    """A clock the test moves forward."""

    at: datetime

    def now(self) -> datetime:
        return self.at

    def tick(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@dataclass
class Rollout:
    """What the rollout tests act on."""

    client: Client
    ctx: Context
    clock: MovingClock
    plan: Path
    deployment: Path

    def route(self, lane: Lane = Lane.PRODUCTION) -> Route:
        return rollouts.get_route(self.ctx, ROUTE, lane=lane)

    def attest(self, kind: str, **metrics: Any) -> None:
        self.clock.tick(seconds=1)
        evidence.add_attestation(self.ctx, V2, kind, metrics)

    def audit_seq(self) -> int:
        with self.ctx.store.read() as tx:
            return tx.audit_head()[0]

    def as_actor(self, name: str) -> Context:
        return dataclasses.replace(self.ctx, actor=name)


def ready_rollout(
    client: Client,
    bundle_yaml: Callable[..., str],
    write: Callable[..., Path],
    *,
    tool: str = "draft",
) -> Rollout:
    """V1 adopted, V2 gated go, the plan and deployment files; the clock an hour ahead."""
    freeze_pair(client, bundle_yaml, write)
    ready_through_g9(client)
    when = now()
    approve_all(client, when=when)
    go = client.gates.check(V2, now=when + timedelta(minutes=1)).record
    assert go.decision == "go", go.body["outcome"]["reasons"]
    adopt_v1(client)
    clock = MovingClock(when + timedelta(hours=1))
    ctx = dataclasses.replace(client.ctx, clock=clock)
    use_case = client.bundles.get(V2).use_case_id
    plan = write("plan.yaml", PLAN.format(use_case=use_case))
    deployment = write("deploy.yaml", DEPLOYMENT.format(tool=tool))
    return Rollout(client, ctx, clock, plan, deployment)


def to_shadow(r: Rollout) -> Route:
    """V2 promoted into the plan's shadow step."""
    result = promotions.promote(r.ctx, V2, target="shadow", plan=r.plan, deployment=r.deployment)
    assert result.route is not None
    return result.route


def to_canary(r: Rollout) -> Route:
    """V2 through shadow into canary-1 (5 %)."""
    to_shadow(r)
    r.attest("shadow", shadow_side_effects=0, shadow_requests=500)
    outcome = rollouts.advance(r.ctx, ROUTE)
    assert outcome.verdict == "advance", outcome.to_dict()
    return outcome.route
