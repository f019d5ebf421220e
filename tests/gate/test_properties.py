"""No sequence of evidence updates, approvals, waivers, bundle edits and clock jumps lets a Tier 1
release reach **go** without its full evidence and five distinct, unexpired, digest-bound
approvals (G3, G4, G6).

A Hypothesis state machine drives the inputs of :func:`~airel.domain.gate.decision.decide`; after
every step the invariant re-derives, independently of the engine, what a go requires: every fact
read by the entry conditions and rules of the gates run is OK and holds its passing value, and
the five required roles can be filled by five different people — none the submitter — each with
an approval whose seal verifies, bound to the current bundle digest, issued (within the allowed
clock skew) and not expired.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import airel
from airel.domain.gate.approvals import MAX_SKEW, Approval, Waiver, WaiverKind
from airel.domain.gate.decision import Decision, DecisionKind, Fact, GateInputs, decide
from airel.domain.gate.metrics import METRICS, FactStatus
from airel.domain.gate.policy import build_policy
from airel.domain.gate.stack import Conditions, GateId
from airel.domain.kernel.roles import Role
from airel.domain.kernel.tiers import PipelineType, RiskTier

POLICY = build_policy(
    yaml.safe_load(
        (Path(airel.__file__).parent / "policies" / "default.yaml").read_text(encoding="utf-8")
    )
)
# hypothesis leaves this runner unannotated; give it a type for mypy --strict
run_machine: Callable[..., None] = run_state_machine_as_test
TIER = POLICY.tier(RiskTier.TIER_1)
REQUIRED_ROLES = tuple(TIER.approvers)
SUBMITTER = "sam.submitter"
PEOPLE = (SUBMITTER, "ann", "bob", "cat", "dan", "eve", "fay")
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULE_IDS = tuple(r.id for r in POLICY.rules)
NAMES = tuple(sorted(METRICS))

GOOD: dict[str, Any] = {m.name: m.sample() for m in METRICS.values()}
GOOD |= {"risk_tier": 1, "shadow_requests": 100, "rollback_drill_minutes": 5.0}
BAD: dict[str, Any] = {
    m.name: {"int": 1, "double": 1e6, "bool": False}[m.type] for m in METRICS.values()
}
BAD |= {
    "shadow_requests": 0,
    "eval_primary_delta_low": -1.0,
    "critical_feature_missing_rate": 0.5,
    "canary_error_rate": 0.5,
    "canary_override_rate": 0.5,
}
NOT_OK = (FactStatus.MISSING, FactStatus.STALE, FactStatus.ERRORED, FactStatus.INCONCLUSIVE)


def required_facts(pipeline: PipelineType, through: GateId | None) -> set[str]:
    """Every metric an entry condition or rule of the gates a Tier 1 run reaches reads."""
    last = through or GateId.G9
    names: set[str] = set()
    for gate in TIER.gates:
        gp = POLICY.gate(gate)
        if gate.position > last.position:
            continue
        if gp.pipeline_types is not None and pipeline not in gp.pipeline_types:
            continue
        names |= set(POLICY.reads.get(f"entry:{gate.value}", ()))
        for r in POLICY.rules:
            if r.gate is gate and r.applies(RiskTier.TIER_1, pipeline):
                names |= set(POLICY.reads[r.id])
    return names


def counts(a: Approval, digest: str, now: datetime) -> bool:
    """The approval may fill its role now, checked from first principles."""
    return (
        a.seal_ok()
        and a.bundle_digest == digest
        and a.approver != SUBMITTER
        and a.issued_at <= now + MAX_SKEW
        and now < a.expires_at
    )


def distinct_approvers_exist(approvals: list[Approval], digest: str, now: datetime) -> bool:
    """Five different people can fill the five required roles."""
    candidates = [
        sorted({a.approver for a in approvals if a.role is role and counts(a, digest, now)})
        for role in REQUIRED_ROLES
    ]
    return any(len(set(pick)) == len(pick) for pick in itertools.product(*candidates))


class GateMachine(RuleBasedStateMachine):
    """Random evidence, approvals, waivers, bundle edits and clock jumps for one release."""

    gos: ClassVar[int] = 0
    steps: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict[str, Fact] = {n: Fact(FactStatus.OK, GOOD[n], "sha256:e") for n in NAMES}
        self.approvals: list[Approval] = []
        self.waivers: list[Waiver] = []
        self.digest = "sha256:" + "0" * 64
        self.now = START
        self.pipeline = PipelineType.CLASSIFIER
        self.through: GateId | None = None
        self.ids = itertools.count(1)

    def _id(self) -> str:
        return f"{next(self.ids):032x}"

    def _approval(
        self, role: Role, who: str, issued: datetime, expires: datetime, digest: str
    ) -> Approval:
        return Approval(
            approval_id=self._id(),
            release_id="R-1",
            bundle_digest=digest,
            role=role,
            approver=who,
            issued_at=issued,
            expires_at=expires,
        ).sealed()

    @initialize(pipeline=st.sampled_from(PipelineType))
    def choose_pipeline(self, pipeline: PipelineType) -> None:
        self.pipeline = pipeline

    @rule(
        name=st.sampled_from(NAMES),
        state=st.sampled_from(("good", "bad", *NOT_OK)),
    )
    def set_fact(self, name: str, state: str | FactStatus) -> None:
        if isinstance(state, FactStatus):
            self.facts[name] = Fact(state)
        else:
            self.facts[name] = Fact(FactStatus.OK, (GOOD if state == "good" else BAD)[name], "x")

    @rule(name=st.sampled_from(NAMES))
    def drop_fact(self, name: str) -> None:
        self.facts.pop(name, None)

    @rule(
        role=st.sampled_from(Role),
        who=st.sampled_from(PEOPLE),
        skew=st.integers(-24 * 60, 24 * 60),
        ttl=st.integers(-48 * 60, 40 * 24 * 60),
        old_digest=st.booleans(),
    )
    def approve(self, role: Role, who: str, skew: int, ttl: int, old_digest: bool) -> None:
        issued = self.now + timedelta(minutes=skew)
        digest = "sha256:" + "f" * 64 if old_digest else self.digest
        self.approvals.append(
            self._approval(role, who, issued, issued + timedelta(minutes=ttl), digest)
        )

    @rule(role=st.sampled_from(REQUIRED_ROLES))
    def approve_properly(self, role: Role) -> None:
        who = f"{role.value}.{next(self.ids)}"
        self.approvals.append(
            self._approval(role, who, self.now, self.now + timedelta(days=10), self.digest)
        )

    @rule(index=st.integers(0, 100), field=st.sampled_from(("approver", "expires_at", "role")))
    def tamper(self, index: int, field: str) -> None:
        if not self.approvals:
            return
        i = index % len(self.approvals)
        a = self.approvals[i]
        change: dict[str, Any] = {
            "approver": "mallory",
            "expires_at": a.expires_at + timedelta(days=365),
            "role": Role.MODEL_RISK if a.role is not Role.MODEL_RISK else Role.COMPLIANCE,
        }
        self.approvals[i] = a.model_copy(update={field: change[field]})  # seal not recomputed

    @rule(index=st.integers(0, 100))
    def replay(self, index: int) -> None:
        if self.approvals:
            self.approvals.append(self.approvals[index % len(self.approvals)])

    @rule(
        rules=st.lists(st.sampled_from(RULE_IDS), min_size=1, max_size=4),
        kind=st.sampled_from(WaiverKind),
        role=st.sampled_from(Role),
        who=st.sampled_from(PEOPLE),
        ttl=st.integers(-60, 30 * 24 * 60),
    )
    def add_waiver(
        self, rules: list[str], kind: WaiverKind, role: Role, who: str, ttl: int
    ) -> None:
        self.waivers.append(
            Waiver(
                waiver_id=self._id(),
                kind=kind,
                release_id="R-1",
                bundle_digest=self.digest,
                rules=rules,
                reason="generated",
                scope=Conditions(traffic_cap_percent=5),
                compensating_controls=["manual review"],
                approver=who,
                role=role,
                issued_at=self.now,
                expires_at=self.now + timedelta(minutes=ttl),
            ).sealed()
        )

    @rule()
    def edit_bundle(self) -> None:
        self.digest = "sha256:" + f"{next(self.ids):064x}"

    @rule(minutes=st.integers(-3 * 24 * 60, 30 * 24 * 60))
    def jump_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(through=st.sampled_from((None, GateId.G4, GateId.G5, GateId.G7, GateId.G8)))
    def run_through(self, through: GateId | None) -> None:
        self.through = through

    @rule()
    def make_ready(self) -> None:
        """All evidence good and every missing role approved properly (makes go reachable)."""
        self.facts = {n: Fact(FactStatus.OK, GOOD[n], "sha256:e") for n in NAMES}
        for role in REQUIRED_ROLES:
            self.approve_properly(role)

    def decision(self) -> Decision:
        return decide(
            GateInputs(
                release_id="R-1",
                bundle_digest=self.digest,
                tier=RiskTier.TIER_1,
                pipeline_type=self.pipeline,
                submitter=SUBMITTER,
                rollback_target="R-0",
                facts=dict(self.facts),
                evidence=(),
                policy=POLICY,
                approvals=tuple(self.approvals),
                waivers=tuple(self.waivers),
                now=self.now,
                through=self.through,
            )
        )

    @invariant()
    def go_needs_full_evidence_and_distinct_valid_approvals(self) -> None:
        d = self.decision()
        type(self).steps += 1
        body = d.to_dict()
        for g in body["gates"]:
            for r in [g["entry"], *g["rules"]] if g["entry"] else g["rules"]:
                if any(v in {s.value for s in NOT_OK} for v in r["facts"].values()):
                    # unreadable evidence never passes, whatever waivers exist
                    assert r["status"] not in ("pass", "excepted", "accepted"), r
        if d.decision is not DecisionKind.GO:
            return
        type(self).gos += 1
        for name in required_facts(self.pipeline, self.through):
            fact = self.facts.get(name)
            assert fact is not None, f"go with {name} missing"
            assert fact.status is FactStatus.OK, f"go with {name} {fact.status}"
            assert fact.value == GOOD[name], f"go with {name}={fact.value!r}"
        assert distinct_approvers_exist(self.approvals, self.digest, self.now)
        assert d.waivers_used == []
        assert d.conditions.is_empty()
        valid = d.approvals["valid"]
        assert set(valid) == {r.value for r in REQUIRED_ROLES}
        assert len(set(valid.values())) == len(REQUIRED_ROLES)
        assert SUBMITTER not in valid.values()
        for role, who in valid.items():
            assert any(
                a.role.value == role and a.approver == who and counts(a, self.digest, self.now)
                for a in self.approvals
            )
        assert all(
            g["status"] == "passed" for g in body["gates"] if g["status"] != "not_applicable"
        )
        assert d.expires_at > self.now


def test_tier_1_go_needs_full_evidence_and_valid_approvals() -> None:
    GateMachine.gos = GateMachine.steps = 0
    run_machine(
        GateMachine,
        settings=settings(
            max_examples=80,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    assert GateMachine.steps > 0
    assert GateMachine.gos > 0, "the machine never reached go: the invariant was not exercised"
