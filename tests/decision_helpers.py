"""Helpers for the gate engine tests (tests/gate/test_decision*.py): the default policy,
a clock, passing facts, sealed approvals, exceptions and risk acceptances, and shortcuts to
run ``decide`` and read its gates and rules."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

import airel
from airel.domain.gate.approvals import Approval, Waiver, WaiverKind
from airel.domain.gate.decision import Decision, Fact, GateInputs, decide
from airel.domain.gate.metrics import METRICS, FactStatus
from airel.domain.gate.policy import Policy, build_policy
from airel.domain.gate.stack import Conditions, GateId
from airel.domain.kernel.roles import Role
from airel.domain.kernel.tiers import PipelineType, RiskTier

RAW: dict[str, Any] = yaml.safe_load(
    (Path(airel.__file__).parent / "policies" / "default.yaml").read_text(encoding="utf-8")
)
POLICY = build_policy(RAW)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "b" * 64
OTHER_DIGEST = "sha256:" + "c" * 64
SUBMITTER = "sam.submitter"
RELEASE = "AIREL-FRAUD-2026-007"
G = GateId
P = PipelineType
T1, T2, T3 = RiskTier.TIER_1, RiskTier.TIER_2, RiskTier.TIER_3
GOOD_VALUES: dict[str, Any] = {
    "risk_tier": 1,
    "shadow_requests": 5000,
    "rollback_drill_minutes": 6.0,
    "eval_primary_delta_low": 0.002,
    "eval_latency_p95_ms": 120.0,
    "canary_latency_p95_ms": 150.0,
    "canary_error_rate": 0.001,
    "canary_override_rate": 0.01,
    "critical_feature_missing_rate": 0.001,
}
_ids = itertools.count(1)


def good_facts(**overrides: Any) -> dict[str, Fact]:
    """Every metric present and passing; ``overrides`` are OK facts or whole Facts."""
    facts = {
        m.name: Fact(FactStatus.OK, GOOD_VALUES.get(m.name, m.sample()), f"sha256:{m.source}")
        for m in METRICS.values()
    }
    for name, value in overrides.items():
        facts[name] = value if isinstance(value, Fact) else Fact(FactStatus.OK, value, "sha256:e")
    return facts


def approval(
    role: Role,
    approver: str,
    *,
    digest: str = DIGEST,
    issued: datetime = NOW - timedelta(hours=1),
    expires: datetime = NOW + timedelta(days=20),
) -> Approval:
    return Approval(
        approval_id=f"{next(_ids):032x}",
        release_id=RELEASE,
        bundle_digest=digest,
        role=role,
        approver=approver,
        issued_at=issued,
        expires_at=expires,
    ).sealed()


def approvals_for(tier: RiskTier = T1, **kw: Any) -> tuple[Approval, ...]:
    """One distinct approver per required role of ``tier``."""
    return tuple(approval(r, f"{r.value}.person", **kw) for r in POLICY.tier(tier).approvers)


def waiver(
    rules: Iterable[str],
    *,
    kind: WaiverKind = WaiverKind.EXCEPTION,
    role: Role = Role.MODEL_RISK,
    approver: str = "mira.modelrisk",
    scope: Conditions | None = None,
    expires: datetime = NOW + timedelta(days=7),
    digest: str = DIGEST,
) -> Waiver:
    return Waiver(
        waiver_id=f"{next(_ids):032x}",
        kind=kind,
        release_id=RELEASE,
        bundle_digest=digest,
        rules=list(rules),
        reason="accepted for a limited rollout",
        scope=scope or Conditions(users=["15 trained fraud analysts"], traffic_cap_percent=5),
        compensating_controls=["daily review of every flagged case"],
        approver=approver,
        role=role,
        issued_at=NOW - timedelta(hours=2),
        expires_at=expires,
    ).sealed()


def inputs(
    *,
    tier: RiskTier = T1,
    pipeline: PipelineType | None = P.CLASSIFIER,
    facts: Mapping[str, Fact] | None = None,
    approvals: Iterable[Approval] = (),
    waivers: Iterable[Waiver] = (),
    now: datetime = NOW,
    through: GateId | None = None,
    digest: str = DIGEST,
    policy: Policy = POLICY,
    rollback_target: str | None = "AIREL-FRAUD-2026-006",
) -> GateInputs:
    facts = dict(facts if facts is not None else good_facts())
    facts.setdefault("risk_tier", Fact(FactStatus.OK, int(tier)))
    evidence = tuple(
        {"kind": kind, "ref": f"{kind}/1", "digest": f"sha256:{kind}", "created_at": "2026-11-20"}
        for kind in ("bundle", "validation", "eval", "ci")
    )
    return GateInputs(
        release_id=RELEASE,
        bundle_digest=digest,
        tier=tier,
        pipeline_type=pipeline,
        submitter=SUBMITTER,
        rollback_target=rollback_target,
        facts=facts,
        evidence=evidence,
        policy=policy,
        approvals=tuple(approvals),
        waivers=tuple(waivers),
        now=now,
        through=through,
    )


def run(**kw: Any) -> Decision:
    return decide(inputs(**kw))


def gate(d: Decision, gid: GateId) -> Any:
    return next(g for g in d.to_dict()["gates"] if g["gate"] == gid.value)


def rule(d: Decision, rule_id: str) -> dict[str, Any]:
    for g in d.to_dict()["gates"]:
        for r in g["rules"]:
            if r["rule"] == rule_id:
                return dict(r)
    raise AssertionError(f"rule {rule_id} did not run")


def rule_ids(d: Decision) -> set[str]:
    return {r["rule"] for g in d.to_dict()["gates"] for r in g["rules"]}


def acceptance(rules: list[str], **kw: Any) -> Waiver:
    scope = Conditions(segments=["high-risk entities excluded"], traffic_cap_percent=10)
    return waiver(rules, kind=WaiverKind.RISK_ACCEPTANCE, scope=scope, **kw)
