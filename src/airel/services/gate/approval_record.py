"""Use case: the approval row of the §7.2 reproducibility report (R8), from gate records.

§7.2 asks the approval record for its decision maker, decision date, conditions, exceptions
and expiry. They live in the gate context — the latest stored decision of the release, the
approvals and the waivers bound to its frozen bundle — so the row is built here and handed
to the release context's report, which may not read a later context itself.

The row is *present* when the latest decision of the current bundle exists and at least one
approval of that bundle is still unexpired; *partial* when something is recorded but one of
those is missing or every approval has expired; *missing* when nothing is recorded.
"""

from __future__ import annotations

from datetime import datetime

from airel.domain.gate.stack import Conditions
from airel.services.gate.approvals import list_approvals, list_waivers
from airel.services.gate.decisions import list_decisions
from airel.services.kernel.context import Context
from airel.services.release.bundles import get_bundle
from airel.services.release.reproducibility import ReproItem, ReproReport, repro_item
from airel.services.release.reproducibility import reproducibility as release_report


def _conditions(body: dict[str, object]) -> str:
    outcome = body.get("outcome")
    raw = outcome.get("conditions") if isinstance(outcome, dict) else None
    if not isinstance(raw, dict):
        return "none"
    limits = Conditions.model_validate(raw, strict=False)
    shown = [
        f"{name} {', '.join(map(str, value)) if isinstance(value, list) else value}"
        for name, value in limits.model_dump(mode="json", exclude_defaults=True).items()
    ]
    return "; ".join(shown) or "none"


def approval_item(ctx: Context, release_id: str, *, now: datetime | None = None) -> ReproItem:
    """The §7.2 approval row of ``release_id``: who decided, when, under which conditions
    and exceptions, and until when."""
    bundle = get_bundle(ctx, release_id)
    when = now or ctx.clock.now()
    decisions = [d for d in list_decisions(ctx, release_id) if d.bundle_digest == bundle.digest]
    approvals = [a for a in list_approvals(ctx, release_id) if a.bundle_digest == bundle.digest]
    waivers = [w for w in list_waivers(ctx, release_id) if w.bundle_digest == bundle.digest]
    evidence: list[str] = []
    lacking: list[str] = []
    if decisions:
        latest = decisions[-1]
        evidence.append(
            f"decision {latest.decision_id[:19]} {latest.decision} on "
            f"{latest.decided_at or latest.created_at}, conditions: {_conditions(latest.body)}, "
            f"valid until {latest.valid_until or latest.expires_at}"
        )
    else:
        lacking.append("a gate decision (date, conditions)")
    live = [a for a in approvals if a.expires_at > when]
    evidence += [
        f"approved by {a.approver} ({a.role.value}) on {a.issued_at.isoformat()}, "
        f"expires {a.expires_at.isoformat()}"
        for a in approvals
    ]
    if not approvals:
        lacking.append("an approval naming its decision maker and expiry")
    elif not live:
        lacking.append("an unexpired approval (every recorded approval has expired)")
    evidence += [
        f"{w.kind.value} for {', '.join(w.rules)} by {w.approver} ({w.role.value}), "
        f"expires {w.expires_at.isoformat()}"
        for w in waivers
    ]
    return repro_item("approval", evidence, lacking)


def reproducibility(ctx: Context, release_id: str) -> ReproReport:
    """The whole §7.2 report of a release, its approval row read from the gate records."""
    return release_report(ctx, release_id, approval=approval_item(ctx, release_id))
