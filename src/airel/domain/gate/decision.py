"""The gate engine (G1, G3, G4): a pure function of bundle facts, evidence, policy and clock.

:func:`decide` runs the tier's gates in order. For each gate it checks the entry condition,
then every rule that applies; a rule reading a fact that is missing, stale, errored or
inconclusive takes that status and never passes. Outcomes:

* a hard failure at G0–G6 → **no-go**; at G7–G9 (the release is live) → **rollback**;
  an entry condition not met → **no-go** (a gate not entered is not live);
* a hard failure the policy marks ``acceptable`` and a valid risk acceptance covers →
  **risk acceptance** with the acceptance's scope and expiry;
* a soft failure with a valid exception → **limited go** with the rule's and the exception's
  conditions; without one → **no-go** (``SOFT_FAILURE_WITHOUT_EXCEPTION``);
* a waiver covers only a measured failure (never missing, stale, errored or inconclusive
  evidence) and counts only when given by a non-submitter in a role the tier names for it;
* missing approvals at the tier's approval gate → **no-go** (``APPROVAL_MISSING``);
* everything passed but the release may not yet reach the tier's last rollout stage (only
  gates up to ``through`` were run) → **limited go** capped at the furthest stage it may enter;
* everything passed through the tier's stack → **go**. Tier 0 is always **no-go**.

Every gate up to ``through`` is evaluated, even after one blocks: the decision follows the
first blocking gate (its failures are *deciding*), and every later failure is reported as
*also failing behind* that gate, so one check shows everything that must be fixed.

A failing rule carries the *causes* of the facts it read: a G1 entry not met because the
bundle lacks a training snapshot names the completeness code and its §3.3 risk.

Identity and time (G5): :func:`inputs_digest` covers the evidence set (bundle digest, facts,
evidence digests, policy, approvals, waivers, through) but not the clock, and
:func:`outcome_key` is the outcome without its times. The decision also records the window in
which it holds: ``decided_at`` (the clock) and ``valid_until``, the earliest moment after it
at which an approval or waiver becomes valid or expires, evidence passes its age limit, or
the decision itself expires (:func:`valid_until`). A re-check inside the window with the
same evidence gives the same outcome; the service returns the stored decision then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from airel.domain.gate.approvals import Approval, Waiver, WaiverKind, void_reason
from airel.domain.gate.decision_identity import valid_until
from airel.domain.gate.metrics import FactStatus
from airel.domain.gate.policy import Policy, RuleSpec, TierPolicy
from airel.domain.gate.stack import GATES, Conditions, FailureDecision, GateId, Stage
from airel.domain.kernel.tiers import PipelineType, RiskTier


class DecisionKind(StrEnum):
    """§4.5 release gate decisions."""

    GO = "go"  # every hard gate of the tier and scope passed
    LIMITED_GO = "limited_go"  # hard gates passed; users/segments/traffic/features limited
    NO_GO = "no_go"  # a critical failure, a regression, missing evidence or control
    ROLLBACK = "rollback"  # a live release broke a threshold: back to the rollback target
    RISK_ACCEPTANCE = "risk_acceptance"  # a known residual risk accepted with scope and expiry


class RuleStatus(StrEnum):
    """One rule's result."""

    PASSED = "pass"  # the expression held over fresh, conclusive evidence
    FAILED = "fail"  # the expression did not hold
    MISSING = "missing"  # a fact it reads has no evidence
    STALE = "stale"  # a fact it reads is older than the policy allows
    ERRORED = "errored"  # the evidence or the expression errored
    INCONCLUSIVE = "inconclusive"  # the evidence could not decide
    EXCEPTED = "excepted"  # a soft non-pass covered by a valid exception
    ACCEPTED = "accepted"  # a hard non-pass covered by a valid risk acceptance


class GateStatus(StrEnum):
    """One gate's result."""

    PASSED = "passed"  # entered, every rule passed
    PASSED_WITH_CONDITIONS = "passed_with_conditions"  # passed thanks to exceptions/acceptances
    FAILED = "failed"  # a rule did not pass and nothing covers it
    ENTRY_NOT_MET = "entry_not_met"  # the entry condition did not hold
    AWAITING_APPROVAL = "awaiting_approval"  # rules passed; required approvals missing
    NOT_APPLICABLE = "not_applicable"  # the gate does not apply to this pipeline type
    NOT_REACHED = "not_reached"  # decisions stored before every gate was evaluated (format 1)


@dataclass(frozen=True)
class Fact:
    """A metric value, or why it cannot be read; ``source`` is the evidence digest.

    ``causes`` explain a value that makes rules fail, e.g. the completeness findings behind
    ``data_sources_registered = false``: ``{"code", "component", "risk"}`` each.
    """

    status: FactStatus
    value: Any = None
    source: str | None = None
    causes: tuple[Mapping[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the decision inputs)."""
        out: dict[str, Any] = {"status": self.status.value, "value": self.value}
        out["source"] = self.source
        if self.causes:
            out["causes"] = [dict(c) for c in self.causes]
        return out

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Fact:
        """The inverse of :meth:`to_dict`."""
        causes = tuple(dict(c) for c in data.get("causes") or ())
        return Fact(FactStatus(data["status"]), data.get("value"), data.get("source"), causes)


@dataclass(frozen=True)
class GateInputs:
    """Everything the engine reads."""

    release_id: str
    bundle_digest: str
    tier: RiskTier
    pipeline_type: PipelineType | None
    submitter: str
    rollback_target: str | None
    facts: Mapping[str, Fact]
    evidence: tuple[Mapping[str, Any], ...]  # {kind, ref, digest, created_at} read
    policy: Policy
    approvals: tuple[Approval, ...]
    waivers: tuple[Waiver, ...]
    now: datetime
    through: GateId | None = None  # None: the tier's whole stack


@dataclass
class RuleResult:
    """A rule's outcome with the facts it read."""

    rule: str
    gate: GateId
    status: RuleStatus
    hard: bool
    reason: str
    expr: str
    facts: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None
    waiver: str | None = None
    causes: list[dict[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Pass, or covered by a waiver."""
        return self.status in (RuleStatus.PASSED, RuleStatus.EXCEPTED, RuleStatus.ACCEPTED)


@dataclass
class GateResult:
    """A gate's outcome; ``behind`` names the blocking gate this one was evaluated after."""

    gate: GateId
    status: GateStatus
    entry: RuleResult | None = None
    rules: list[RuleResult] = field(default_factory=list)
    behind: GateId | None = None


@dataclass(frozen=True)
class Failure:
    """A rule (or entry condition, or approval requirement) that did not pass.

    ``deciding`` failures are at the gate the decision follows; the others are *also failing
    behind* that gate (``behind``). ``code`` is the reason code the decision reports (soft
    failures without an exception report ``SOFT_FAILURE_WITHOUT_EXCEPTION``), ``reason`` the
    rule's own code.
    """

    gate: GateId
    rule: str
    status: str
    hard: bool
    reason: str
    code: str
    deciding: bool
    behind: GateId | None
    detail: str | None = None
    causes: tuple[Mapping[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"gate": self.gate.value, "rule": self.rule}
        out |= {"status": self.status, "hard": self.hard, "reason": self.reason}
        out |= {"code": self.code, "deciding": self.deciding}
        out["behind"] = self.behind.value if self.behind else None
        out["detail"] = self.detail
        out["causes"] = [dict(c) for c in self.causes]
        return out


@dataclass
class Decision:
    """The engine's answer, with everything needed to explain and reproduce it."""

    decision: DecisionKind
    reasons: list[str]
    conditions: Conditions
    gates: list[GateResult]
    approvals: dict[str, Any]
    waivers_used: list[str]
    expires_at: datetime
    max_stage: Stage | None
    failures: list[Failure] = field(default_factory=list)
    decided_at: datetime | None = None
    valid_until: datetime | None = None

    @property
    def deciding_gate(self) -> GateId | None:
        """The gate the decision follows (its first blocking gate), if any."""
        return next((f.gate for f in self.failures if f.deciding), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the decision record)."""
        return {
            "decision": self.decision.value,
            "reasons": self.reasons,
            "conditions": self.conditions.model_dump(mode="json", exclude_defaults=True),
            "max_stage": self.max_stage.value if self.max_stage else None,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "expires_at": self.expires_at.isoformat(),
            "approvals": self.approvals,
            "waivers_used": self.waivers_used,
            "deciding_gate": g.value if (g := self.deciding_gate) else None,
            "failures": [f.to_dict() for f in self.failures],
            "gates": [
                {
                    "gate": g.gate.value,
                    "name": GATES[g.gate].name,
                    "status": g.status.value,
                    "behind": g.behind.value if g.behind else None,
                    "entry": _rule_dict(g.entry) if g.entry else None,
                    "rules": [_rule_dict(r) for r in g.rules],
                }
                for g in self.gates
            ],
        }


def _rule_dict(r: RuleResult) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": r.rule, "status": r.status.value, "hard": r.hard}
    out["reason"] = r.reason
    out |= {"expr": r.expr, "facts": r.facts}
    if r.detail:
        out["detail"] = r.detail
    if r.waiver:
        out["waiver"] = r.waiver
    if r.causes:
        out["causes"] = r.causes
    return out


def _causes(facts: Mapping[str, Fact]) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []
    for name in sorted(facts):
        for c in facts[name].causes:
            if dict(c) not in seen:
                seen.append(dict(c))
    return seen


_PRECEDENCE = (FactStatus.ERRORED, FactStatus.INCONCLUSIVE, FactStatus.STALE, FactStatus.MISSING)
_AS_RULE = {
    FactStatus.ERRORED: RuleStatus.ERRORED,
    FactStatus.INCONCLUSIVE: RuleStatus.INCONCLUSIVE,
    FactStatus.STALE: RuleStatus.STALE,
    FactStatus.MISSING: RuleStatus.MISSING,
}


def _run(key: str, inputs: GateInputs, tier: TierPolicy) -> _Run:
    reads = inputs.policy.reads[key]
    facts = {name: inputs.facts.get(name, Fact(FactStatus.MISSING)) for name in reads}
    status, shown, detail = _evaluate(key, facts, inputs, tier)
    causes = _causes(facts) if status is not RuleStatus.PASSED else []
    return _Run(status, shown, detail, causes)


@dataclass(frozen=True)
class _Run:
    status: RuleStatus
    facts: dict[str, Any]
    detail: str | None
    causes: list[dict[str, str]]


def _evaluate(
    key: str, facts: Mapping[str, Fact], inputs: GateInputs, tier: TierPolicy
) -> tuple[RuleStatus, dict[str, Any], str | None]:
    shown = {
        n: (f.value if f.status is FactStatus.OK else f.status.value) for n, f in facts.items()
    }
    for status in _PRECEDENCE:
        bad = sorted(n for n, f in facts.items() if f.status is status)
        if bad:
            return _AS_RULE[status], shown, f"{status.value} evidence: {', '.join(bad)}"
    ctx: dict[str, Any] = {n: f.value for n, f in facts.items()}
    ctx["threshold"] = dict(tier.thresholds)
    ctx["pipeline_type"] = inputs.pipeline_type.value if inputs.pipeline_type else ""
    try:
        result = inputs.policy.programs[key].execute(ctx)
    except (LookupError, TypeError, ValueError, RuntimeError, ArithmeticError) as exc:
        return RuleStatus.ERRORED, shown, f"expression error: {exc}"
    if not isinstance(result, bool):
        return RuleStatus.ERRORED, shown, f"expression returned {result!r}, not a bool"
    return (RuleStatus.PASSED if result else RuleStatus.FAILED), shown, None


def _cover(rule: RuleSpec, waivers: list[Waiver]) -> tuple[Waiver | None, RuleStatus | None]:
    want = WaiverKind.RISK_ACCEPTANCE if rule.hard else WaiverKind.EXCEPTION
    if rule.hard and not rule.acceptable:
        return None, None
    for w in waivers:
        if w.kind is want and rule.id in w.rules:
            status = RuleStatus.ACCEPTED if rule.hard else RuleStatus.EXCEPTED
            return w, status
    return None, None


def _approvals(inputs: GateInputs, tier: TierPolicy) -> dict[str, Any]:
    valid: dict[str, str] = {}
    void: list[dict[str, str]] = []
    why: str | None
    people: set[str] = set()
    for a in sorted(inputs.approvals, key=lambda a: (a.issued_at, a.approval_id)):
        why = void_reason(a, inputs.bundle_digest, inputs.now)
        if why is None and a.approver == inputs.submitter:
            why = "self_approval"
        if why is None and (a.approver in people and valid.get(a.role.value) != a.approver):
            why = "approver_fills_another_role"
        if why is None and a.role.value in valid:
            why = "role_already_filled"
        if why is None:
            valid[a.role.value] = a.approver
            people.add(a.approver)
        else:
            void.append({"approval_id": a.approval_id, "role": a.role.value, "why": why})
    missing = [r.value for r in tier.approvers if r.value not in valid]
    used = {r.value: valid[r.value] for r in tier.approvers if r.value in valid}
    ids = sorted(
        a.approval_id for a in inputs.approvals if used.get(a.role.value) == a.approver
        and void_reason(a, inputs.bundle_digest, inputs.now) is None
    )  # fmt: skip
    return {"required": [r.value for r in tier.approvers], "valid": used, "missing": missing,
            "void": void, "ids": ids}  # fmt: skip


def _max_stage(tier: TierPolicy, passed: set[GateId]) -> Stage | None:
    best: Stage | None = None
    for stage in [Stage.STAGING, *tier.rollout]:
        needed = [g for g in tier.gates if g.position <= stage.prerequisite.position]
        if all(g in passed for g in needed):
            best = stage
    return best


@dataclass
class _State:
    """What one pass over the stack accumulates.

    ``blocking`` is the first gate that set the outcome; gates after it are still evaluated,
    but their failures are reported behind it and change neither the outcome, the reasons,
    nor the conditions.
    """

    inputs: GateInputs
    tier: TierPolicy
    waivers: list[Waiver]
    approvals: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    conditions: Conditions = field(default_factory=Conditions)
    used: list[Waiver] = field(default_factory=list)
    passed: set[GateId] = field(default_factory=set)
    outcome: DecisionKind | None = None
    blocking: GateId | None = None
    failures: list[Failure] = field(default_factory=list)

    def fail(self, gate: GateId, rr: RuleResult, code: str, reason_entry: str) -> None:
        """Record a failure: deciding while no earlier gate blocks, else behind it."""
        deciding = self.blocking is None or self.blocking is gate
        if deciding:
            self.reasons.append(reason_entry)
        failure = Failure(
            gate=gate,
            rule=rr.rule,
            status=rr.status.value,
            hard=rr.hard,
            reason=rr.reason,
            code=code,
            deciding=deciding,
            behind=None if deciding else self.blocking,
            detail=rr.detail,
            causes=tuple(rr.causes),
        )
        self.failures.append(failure)

    def block(self, gate: GateId, outcome: DecisionKind) -> None:
        """The first gate that blocks sets the outcome."""
        if self.blocking is None:
            self.blocking, self.outcome = gate, outcome

    def rule(self, gate: GateId, rule: RuleSpec, result: GateResult) -> None:
        run = _run(rule.id, self.inputs, self.tier)
        rr = RuleResult(
            rule.id, gate, run.status, rule.hard, rule.reason, rule.expr, run.facts, run.detail
        )
        rr.causes = run.causes
        if run.status is not RuleStatus.PASSED:
            # a waiver covers a measured failure, never evidence that cannot be read
            failed = run.status is RuleStatus.FAILED
            waiver, covered = _cover(rule, self.waivers) if failed else (None, None)
            if waiver is not None and covered is not None:
                rr.status, rr.waiver = covered, waiver.waiver_id
                if self.blocking is None:  # behind a blocking gate nothing is admitted
                    self.used.append(waiver)
                    self.conditions = self.conditions.merge(waiver.scope)
                    if rule.conditions is not None:
                        self.conditions = self.conditions.merge(rule.conditions)
                if result.status is GateStatus.PASSED:
                    result.status = GateStatus.PASSED_WITH_CONDITIONS
            else:
                code = rule.reason if rule.hard else "SOFT_FAILURE_WITHOUT_EXCEPTION"
                self.fail(gate, rr, code, f"{gate.value}:{code}:{rule.id}")
                result.status = GateStatus.FAILED
        result.rules.append(rr)

    def gate(self, gate: GateId) -> GateResult:
        inputs, policy = self.inputs, self.inputs.policy
        gp = policy.gate(gate)
        behind = self.blocking
        if gp.pipeline_types is not None and inputs.pipeline_type not in (None, *gp.pipeline_types):
            self.passed.add(gate)
            return GateResult(gate, GateStatus.NOT_APPLICABLE, behind=behind)
        entry = None
        key = f"entry:{gate.value}"
        if key in policy.programs:
            run = _run(key, inputs, self.tier)
            entry = RuleResult(
                key, gate, run.status, True, "GATE_ENTRY_NOT_MET", gp.entry, run.facts, run.detail
            )
            entry.causes = run.causes
            if run.status is not RuleStatus.PASSED:
                code = "GATE_ENTRY_NOT_MET"
                self.fail(gate, entry, code, f"{gate.value}:{code}")
                self.block(gate, DecisionKind.NO_GO)  # not entered, so not live: no rollback
                return GateResult(gate, GateStatus.ENTRY_NOT_MET, entry, behind=behind)
        result = GateResult(gate, GateStatus.PASSED, entry, behind=behind)
        for rule in policy.rules:
            if rule.gate is gate and rule.applies(inputs.tier, inputs.pipeline_type):
                self.rule(gate, rule, result)
        missing = self.approvals["missing"]
        if result.status is GateStatus.FAILED:
            hard = any(r.hard and not r.passed for r in result.rules)
            self.block(gate, _failure(gate) if hard else DecisionKind.NO_GO)
        elif gate is self.tier.approval_gate and missing:
            result.status = GateStatus.AWAITING_APPROVAL
            for role in missing:
                rr = RuleResult(
                    f"approval:{role}", gate, RuleStatus.MISSING, True, "APPROVAL_MISSING",
                    "", {}, f"no valid approval in the role {role}",
                )  # fmt: skip
                self.fail(gate, rr, "APPROVAL_MISSING", f"{gate.value}:APPROVAL_MISSING:{role}")
            self.block(gate, DecisionKind.NO_GO)
        else:
            self.passed.add(gate)
        return result

    def finish(self) -> tuple[DecisionKind, Stage | None]:
        tier = self.tier
        max_stage = _max_stage(tier, self.passed) if self.outcome is None else None
        final_stage = tier.rollout[-1] if tier.rollout else None
        if self.inputs.tier is RiskTier.TIER_0 or not tier.production:
            self.reasons.insert(0, "TIER_NOT_FOR_PRODUCTION")
            return DecisionKind.NO_GO, None
        if self.outcome is not None:
            return self.outcome, None
        if max_stage is None:
            note = "the gates run so far passed; no rollout stage is reachable yet"
            self.conditions = self.conditions.merge(Conditions(notes=[note]))
            self.reasons.append("NO_STAGE_REACHABLE")
        elif max_stage != final_stage:
            self.conditions = self.conditions.merge(Conditions(max_stage=max_stage))
            self.reasons.append(f"STAGE_CAPPED:{max_stage.value}")
        if any(w.kind is WaiverKind.RISK_ACCEPTANCE for w in self.used):
            return DecisionKind.RISK_ACCEPTANCE, max_stage
        if self.used or max_stage != final_stage:
            return DecisionKind.LIMITED_GO, max_stage
        return DecisionKind.GO, max_stage

    def expiry(self) -> datetime:
        expiry = self.inputs.now + timedelta(days=self.tier.decision_ttl_days)
        ids = set(self.approvals["ids"])
        for a in self.inputs.approvals:
            if a.approval_id in ids:
                expiry = min(expiry, a.expires_at)
        for w in self.used:
            expiry = min(expiry, w.expires_at)
        return expiry


def decide(inputs: GateInputs) -> Decision:
    """Run the gate stack for one release; pure and deterministic."""
    tier = inputs.policy.tier(inputs.tier)
    live = [w for w in inputs.waivers if _waiver_counts(w, inputs, tier)]
    state = _State(inputs, tier, live, _approvals(inputs, tier))
    gates: list[GateResult] = []
    last = inputs.through or max(tier.gates, key=lambda g: g.position)
    for gate in sorted(tier.gates, key=lambda g: g.position):
        if gate.position > last.position:
            break
        gates.append(state.gate(gate))
    outcome, max_stage = state.finish()
    expires_at = state.expiry()
    return Decision(
        decision=outcome,
        reasons=state.reasons,
        conditions=state.conditions,
        gates=gates,
        approvals=state.approvals,
        waivers_used=sorted({w.waiver_id for w in state.used}),
        expires_at=expires_at,
        max_stage=max_stage,
        failures=state.failures,
        decided_at=inputs.now,
        valid_until=valid_until(inputs, expires_at),
    )


def _waiver_counts(w: Waiver, inputs: GateInputs, tier: TierPolicy) -> bool:
    """Valid now for this bundle, not by the submitter, and by a role the tier allows."""
    kind_roles = (
        tier.acceptance_roles if w.kind is WaiverKind.RISK_ACCEPTANCE else tier.exception_roles
    )
    return (
        void_reason(w, inputs.bundle_digest, inputs.now) is None
        and w.approver != inputs.submitter
        and w.role in kind_roles
    )


def _failure(gate: GateId) -> DecisionKind:
    on = GATES[gate].on_failure
    return DecisionKind.ROLLBACK if on is FailureDecision.ROLLBACK else DecisionKind.NO_GO
