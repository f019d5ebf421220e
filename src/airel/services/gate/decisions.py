"""Use cases: run the release gates, store and explain decisions, record evidence (G1–G5).

``check`` loads the policy (a registry version), collects the release's evidence
(:mod:`airel.services.gate.evidence`), runs the pure engine
(:func:`airel.domain.gate.decision.decide`)
and stores the decision with everything it read, in one audited transaction (``gate.decide``).

A decision is identified by its evidence set and outcome and holds from ``decided_at`` until
``valid_until`` (the first moment an approval, waiver, evidence age or the decision's own
expiry can change a status). A re-check inside that window with the same evidence finds the
stored decision (same inputs digest, same outcome) and writes nothing; outside it a new
decision is taken, whose id also digests its ``decided_at``. ``recheck`` rebuilds the inputs
from the stored record and the policy, re-runs the engine at the stored time and says whether
the outcome is reproduced exactly. ``preview`` runs the engine and stores nothing.

Evidence is recorded and collected in :mod:`airel.services.gate.evidence`; approvals and
waivers live in :mod:`airel.services.gate.approvals`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airel.domain.gate.approvals import MAX_SKEW, Approval, Waiver
from airel.domain.gate.decision import Decision, Fact, GateInputs, decide
from airel.domain.gate.decision_identity import inputs_digest, outcome_key
from airel.domain.gate.policy import Policy
from airel.domain.gate.records import DECISION_FORMAT, DecisionRecord, decision_id_of
from airel.domain.gate.stack import GateId
from airel.domain.kernel.tiers import PipelineType, parse_risk_tier
from airel.domain.release.bundle import release_node
from airel.errors import InputError, NotFoundError, Reason, ValidationError
from airel.services.gate.evidence import collect, parse_time
from airel.services.gate.policy import load_policy, register_default
from airel.services.kernel.context import Context
from airel.store.contract import WriteTx


@dataclass(frozen=True)
class Checked:
    """A gate check: the stored decision record and whether this call stored it."""

    record: DecisionRecord
    created: bool


def _now(ctx: Context, now: datetime | None) -> datetime:
    clock = ctx.clock.now()
    if now is None:
        return clock
    if now.tzinfo is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "now must carry a time zone",
            fix="pass an aware time, e.g. datetime.now(UTC) or 2026-07-01T00:00:00Z",
        )
    if now < clock - MAX_SKEW:
        # A backdated decision would count approvals, waivers and evidence that have expired
        # or gone stale by now; a later time only makes them stricter.
        raise InputError(
            Reason.CLOCK_SKEW,
            f"a decision cannot be backdated to {now.isoformat()} (clock {clock.isoformat()})",
            fix="evaluate now or at a later time; `airel gate explain --recheck` replays a "
            "stored decision at its own time",
        )
    return now


def _facts_json(facts: Mapping[str, Fact]) -> dict[str, Any]:
    return {k: f.to_dict() for k, f in sorted(facts.items())}


def _body(
    ctx: Context, inputs: GateInputs, scope: dict[str, Any] | None, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "format": DECISION_FORMAT,
        **extra,
        "release_id": inputs.release_id,
        "risk_tier": inputs.tier.label,
        "pipeline_type": inputs.pipeline_type.value if inputs.pipeline_type else None,
        "bundle_digest": inputs.bundle_digest,
        "rollback_target": inputs.rollback_target,
        "submitter": inputs.submitter,
        "scope": scope,
        "through": inputs.through.value if inputs.through else None,
        "evaluated_at": inputs.now.isoformat(),
        "evaluated_by": ctx.actor,
        "inputs": {
            "facts": _facts_json(inputs.facts),
            "evidence": [dict(e) for e in inputs.evidence],
            "approvals": [a.model_dump(mode="json") for a in inputs.approvals],
            "waivers": [w.model_dump(mode="json") for w in inputs.waivers],
            "now": inputs.now.isoformat(),
            "through": inputs.through.value if inputs.through else None,
        },
    }


def inputs_now(
    ctx: Context,
    release_id: str,
    *,
    through: GateId | None = None,
    policy_ref: str | None = None,
    now: datetime | None = None,
) -> GateInputs:
    """What the engine would read for the release now (nothing is stored)."""
    loaded = load_policy(ctx, policy_ref)
    return collect(ctx, release_id, loaded.policy, now=_now(ctx, now), through=through).inputs


def preview(
    ctx: Context,
    release_id: str,
    *,
    through: GateId | None = None,
    policy_ref: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """Run the gates on the release's current evidence; nothing is stored."""
    return decide(inputs_now(ctx, release_id, through=through, policy_ref=policy_ref, now=now))


def _holds(record: DecisionRecord, key: dict[str, Any], when: datetime) -> bool:
    """The stored decision has this outcome and its window contains ``when``."""
    outcome = record.body.get("outcome") or {}
    start, end = outcome.get("decided_at"), outcome.get("valid_until")
    if not start or not end or outcome_key(outcome) != key:
        return False
    return parse_time(start) <= when < parse_time(end)


def check(
    ctx: Context,
    release_id: str,
    *,
    through: GateId | None = None,
    policy_ref: str | None = None,
    now: datetime | None = None,
) -> Checked:
    """Run the gates for a release and store the decision — or return the stored one when
    the same evidence gives the same outcome inside its window."""
    when = _now(ctx, now)
    loaded = load_policy(ctx, policy_ref)
    collected = collect(ctx, release_id, loaded.policy, now=when, through=through)
    inputs = collected.inputs
    decision = decide(inputs)
    outcome = _jsonable(decision.to_dict())
    key = outcome_key(outcome)
    digest = inputs_digest(inputs)
    decision_id = decision_id_of(digest, key, when.isoformat())
    scope = collected.bundle.spec.get("scope")  # the canonical spec omits an empty scope
    body = _body(
        ctx,
        inputs,
        scope,
        {"decision_id": decision_id, "use_case_id": collected.bundle.use_case_id},
    )
    body["components"] = collected.components
    body["policy"] = {"ref": loaded.ref, "digest": loaded.policy.digest}
    body["inputs_digest"] = digest
    body["outcome"] = outcome
    record = DecisionRecord(
        decision_id=decision_id,
        release_id=release_id,
        bundle_digest=inputs.bundle_digest,
        decision=decision.decision.value,
        policy_ref=loaded.ref,
        policy_digest=loaded.policy.digest,
        inputs_digest=digest,
        through=through.value if through else None,
        expires_at=decision.expires_at.isoformat(),
        created_at=ctx.stamp(),
        created_by=ctx.actor,
        body=body,
    )

    def write(tx: WriteTx) -> Checked:
        for existing in tx.list_decisions(release_id, inputs_digest=digest):
            if existing.decision_id == decision_id or _holds(existing, key, when):
                return Checked(existing, created=False)
        if loaded.uses_default:  # decisions point at registry versions, bases included
            register_default(tx, ctx.actor, ctx.stamp())
        tx.insert_decision(record)
        tx.append_audit(
            actor=ctx.actor,
            action="gate.decide",
            subject=release_node(release_id),
            before=None,
            after=decision_id,
            details={
                "decision": record.decision,
                "policy": f"{loaded.ref} {loaded.policy.digest}",
                "inputs_digest": digest,
                "through": record.through,
                "valid_until": outcome["valid_until"],
                "reasons": decision.reasons[:20],
            },
        )
        return Checked(record, created=True)

    return ctx.store.write(write)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """The value exactly as it reads back from the store (JSON round trip)."""
    out: dict[str, Any] = json.loads(json.dumps(value, sort_keys=True))
    return out


def explain(ctx: Context, ident: str) -> DecisionRecord:
    """A decision by id (or a unique id prefix), or the latest decision of a release."""
    with ctx.store.read() as tx:
        found = tx.get_decision(ident)
        if found is not None:
            return found
        of_release = tx.list_decisions(ident)
        if of_release:
            return of_release[-1]
        if ident.startswith("sha256:") and len(ident) >= 15:
            hits = [d for d in tx.list_decisions() if d.decision_id.startswith(ident)]
            if len(hits) == 1:
                return hits[0]
    raise NotFoundError(
        Reason.DECISION_NOT_FOUND,
        f"no gate decision {ident!r} (neither a decision id nor a release with decisions)",
        fix="run `airel gate check RELEASE` first, or list decisions with `airel gate list`",
    )


def list_decisions(ctx: Context, release_id: str | None = None) -> list[DecisionRecord]:
    """Stored decisions, oldest first."""
    with ctx.store.read() as tx:
        return tx.list_decisions(release_id)


@dataclass(frozen=True)
class Recheck:
    """Whether a stored decision is reproduced from its stored inputs and policy."""

    decision_id: str
    reproduced: bool  # the same inputs digest and exactly the same outcome
    policy_matches: bool
    inputs_digest_matches: bool
    outcome_matches: bool
    decision: str  # the decision the re-run gave


def inputs_from_body(body: Mapping[str, Any], policy: Policy) -> GateInputs:
    """Rebuild the engine's inputs from a stored decision body."""
    stored = body["inputs"]
    facts = {k: Fact.from_dict(v) for k, v in stored["facts"].items()}
    return GateInputs(
        release_id=body["release_id"],
        bundle_digest=body["bundle_digest"],
        tier=parse_risk_tier(body["risk_tier"]),
        pipeline_type=PipelineType(body["pipeline_type"]) if body.get("pipeline_type") else None,
        submitter=body["submitter"],
        rollback_target=body.get("rollback_target"),
        facts=facts,
        evidence=tuple(stored["evidence"]),
        policy=policy,
        approvals=tuple(Approval.model_validate(a) for a in stored["approvals"]),
        waivers=tuple(Waiver.model_validate(w) for w in stored["waivers"]),
        now=parse_time(stored["now"]),
        through=GateId(stored["through"]) if stored.get("through") else None,
    )


def recheck(ctx: Context, ident: str) -> Recheck:
    """Re-run the engine on a stored decision's inputs and its policy version."""
    record = explain(ctx, ident)
    body = record.body
    loaded = load_policy(ctx, body["policy"]["ref"])
    inputs = inputs_from_body(body, loaded.policy)
    decision: Decision = decide(inputs)
    outcome = _jsonable(decision.to_dict())
    policy_ok = loaded.policy.digest == body["policy"]["digest"]
    digest_ok = inputs_digest(inputs) == record.inputs_digest
    outcome_ok = outcome == body["outcome"]
    return Recheck(
        decision_id=record.decision_id,
        reproduced=policy_ok and digest_ok and outcome_ok,
        policy_matches=policy_ok,
        inputs_digest_matches=digest_ok,
        outcome_matches=outcome_ok,
        decision=decision.decision.value,
    )
