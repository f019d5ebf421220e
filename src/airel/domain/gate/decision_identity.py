"""A gate decision's identity (G5): the digest of the evidence set it read, the outcome without
its clock fields, and the window in which that outcome holds.

Two checks of unchanged evidence have the same :func:`inputs_digest` whatever the time; the
stored decision is reused while now lies before :func:`valid_until` — the first moment an
approval or waiver becomes valid or expires, evidence reaches its age limit, or the decision
itself expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airel.domain.gate.approvals import MAX_SKEW, Approval, Waiver
from airel.domain.gate.evidence_age import AGELESS_EVIDENCE, parse_stamp
from airel.domain.kernel.canonical import digest_of

if TYPE_CHECKING:
    from airel.domain.gate.decision import GateInputs

__all__ = ["TIME_FIELDS", "inputs_digest", "outcome_key", "valid_until"]

TIME_FIELDS = ("decided_at", "valid_until", "expires_at")


def outcome_key(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """An outcome (``Decision.to_dict()``) without its times: what identifies it."""
    return {k: v for k, v in outcome.items() if k not in TIME_FIELDS}


def valid_until(inputs: GateInputs, expires_at: datetime) -> datetime:
    """The end of the window in which the outcome holds for unchanged evidence.

    The earliest moment after ``inputs.now`` at which any status the engine reads can
    change: an approval or waiver for this bundle becomes valid (its issue time, less the
    allowed skew) or expires, evidence reaches its age limit, or the decision expires.
    """
    now = inputs.now
    moments = [expires_at]
    items: list[Approval | Waiver] = [*inputs.approvals, *inputs.waivers]
    for item in items:
        if not item.seal_ok() or item.bundle_digest != inputs.bundle_digest:
            continue  # void whatever the time
        moments += [item.issued_at - MAX_SKEW, item.expires_at]
    max_age = timedelta(days=inputs.policy.tier(inputs.tier).max_evidence_age_days)
    for e in inputs.evidence:
        if e.get("kind") not in AGELESS_EVIDENCE and e.get("created_at"):
            moments.append(parse_stamp(str(e["created_at"])) + max_age)
    return min((m for m in moments if m > now), default=expires_at)


def inputs_digest(inputs: GateInputs) -> str:
    """The digest of the evidence set the engine read — not the clock: two checks of the
    same evidence at different times have the same inputs digest (G5)."""
    return digest_of(
        {
            "format": "airel-gate-inputs/2",
            "release_id": inputs.release_id,
            "bundle_digest": inputs.bundle_digest,
            "tier": int(inputs.tier),
            "pipeline_type": inputs.pipeline_type.value if inputs.pipeline_type else None,
            "submitter": inputs.submitter,
            "rollback_target": inputs.rollback_target,
            "facts": {k: f.to_dict() for k, f in sorted(inputs.facts.items())},
            "evidence": list(inputs.evidence),
            "policy": inputs.policy.digest,
            "approvals": sorted(a.seal for a in inputs.approvals),
            "waivers": sorted(w.seal for w in inputs.waivers),
            "through": inputs.through.value if inputs.through else None,
        }
    )
