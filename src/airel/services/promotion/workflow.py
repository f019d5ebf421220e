"""Use case: ``airel release status RELEASE`` — the §5.8 workflow of one release (SPEC P2).

:func:`release_status` reads every record that proves a step in ONE read transaction — the
frozen bundle (or its draft), lineage edges, artifacts, attestations, evidence links and the
eval records they name, approvals, gate decisions, promotions, route events, rollbacks and the
route the release is on — turns them into a plain :class:`~airel.domain.promotion.workflow.
Facts` and lets the pure :func:`~airel.domain.promotion.workflow.assess` decide each step.
Nothing is written; an unknown release is RELEASE_NOT_FOUND.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airel.domain.gate.records import LinkKind
from airel.domain.promotion.route import EventKind, Lane, lane_of
from airel.domain.promotion.workflow import (
    Entry,
    EvalResult,
    Facts,
    Reading,
    Record,
    StepStatus,
    Stop,
    Verdict,
    assess,
    next_step,
    render_markdown,
)
from airel.domain.release.bundle import FrozenBundle, release_node
from airel.domain.release.components import ComponentKey
from airel.errors import NotFoundError, Reason
from airel.services.kernel.context import Context
from airel.store.contract import ReadTx

# The bundle paths whose component is a candidate artifact (§5.8 step 5).
CANDIDATE_PATHS = ("model", "prompt_policy.prompt_version", "rag.index_version")
# What step 3 locks, by the bundle path that records it.
LOCK_PATHS = {
    "data snapshot": "data.training_snapshot",
    "feature version": "features.feature_view",
    "prompt version": "prompt_policy.prompt_version",
}
STOP_KINDS = {EventKind.STOP: "stop", EventKind.ABORT: "abort", EventKind.ROLLBACK: "rollback"}


@dataclass(frozen=True)
class ReleaseStatus:
    """The §5.8 workflow of one release: every step, and the first one not done."""

    release_id: str
    steps: list[StepStatus]

    @property
    def next(self) -> StepStatus | None:
        """The first step not done (None: every step is done)."""
        return next_step(self.steps)

    def markdown(self) -> str:
        """The workflow as Markdown."""
        return render_markdown(self.release_id, self.steps)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the steps and the next one's number."""
        following = self.next
        return {
            "release_id": self.release_id,
            "next_step": following.step.number if following else None,
            "next_fix": following.fix if following else None,
            "steps": [
                {
                    "number": s.step.number,
                    "owner": s.step.owner,
                    "action": s.step.action,
                    "state": s.state.value,
                    "code": s.code.value,
                    "detail": s.detail,
                    "evidence": [vars(r) for r in s.evidence],
                    "fix": s.fix,
                }
                for s in self.steps
            ],
        }


def release_status(ctx: Context, release_id: str) -> ReleaseStatus:
    """Every §5.8 step of ``release_id``, from the records only (one read transaction)."""
    with ctx.store.read() as tx:
        facts = gather(tx, release_id)
    return ReleaseStatus(release_id, assess(facts))


def gather(tx: ReadTx, release_id: str) -> Facts:
    """The facts of one release (RELEASE_NOT_FOUND when neither frozen nor drafted)."""
    bundle = tx.get_bundle(release_id)
    if bundle is None:
        draft = tx.get_draft(release_id)
        if draft is None:
            raise NotFoundError(
                Reason.RELEASE_NOT_FOUND,
                f"release {release_id} is neither frozen nor drafted in this store",
                fix="list releases with `airel bundle list`",
                details={"release_id": release_id},
            )
        note = f"draft v{draft.version}"
        record = Record("draft", draft.spec_digest, draft.created_at, draft.created_by, note)
        return Facts(release_id, record, frozen=False, risk_tier=str(draft.risk_tier.value))
    return Facts(
        release_id,
        Record("bundle", bundle.digest, bundle.created_at, bundle.created_by, "frozen"),
        frozen=True,
        **_bundle_facts(tx, bundle),
        **_gate_facts(tx, bundle),
        **_rollout_facts(tx, release_id),
    )


def _bundle_facts(tx: ReadTx, bundle: FrozenBundle) -> dict[str, Any]:
    spec = bundle.bundle_spec()
    scope = spec.scope
    missing = [k for k in ("approved_use", "prohibited_use", "customer_impact", "human_role")
               if not getattr(scope, k)]  # fmt: skip
    by_path = {r.path: r for r in bundle.resolutions}
    locks: dict[str, str | None] = {"code commit": spec.code.repo_commit}
    locks |= {k: by_path[p].node if p in by_path else None for k, p in LOCK_PATHS.items()}
    candidates, absent = [], []
    for path in CANDIDATE_PATHS:
        found = by_path.get(path)
        if found is None or found.artifact is None:
            continue
        version = tx.get_component(ComponentKey.from_node(found.node))
        at, by = (version.created_at, version.created_by) if version else ("?", "?")
        candidates.append(Record("component", found.digest, at, by, found.node))
        if tx.get_artifact(found.artifact) is None:
            absent.append(found.artifact)
    edges = tx.edges_from_children([release_node(bundle.release_id)])
    return {
        "risk_tier": str(bundle.risk_tier.value),
        "scope_missing": tuple(missing),
        "components": tuple(r.node for r in bundle.resolutions),
        "locks": locks,
        "candidates": tuple(candidates),
        "lineage": tuple(e.parent for e in edges),
        "artifacts_missing": tuple(absent),
    }


def _gate_facts(tx: ReadTx, bundle: FrozenBundle) -> dict[str, Any]:
    rid = bundle.release_id
    readings = tuple(
        Reading(Record("attestation", a.attestation_id, a.created_at, a.created_by,
                       f"{a.kind}, {a.status.value}"), a.kind, a.status.value, a.metrics)
        for a in tx.list_attestations(rid)
    )  # fmt: skip
    named = list(bundle.bundle_spec().eval.eval_run_ids)
    linked = [link.record_id for link in tx.list_evidence_links(rid) if link.kind is LinkKind.EVAL]
    evals, missing = [], []
    for record_id in dict.fromkeys([*linked, *named]):
        found = tx.get_eval_record(record_id)
        if found is None:
            missing.append(record_id)
            continue
        roles = tuple(str(d.get("role")) for d in found.body.get("datasets") or () if d.get("role"))
        record = Record("eval", found.record_id, found.created_at, found.created_by, found.kind)
        evals.append(EvalResult(record, found.passed, roles))
    approvals = tuple(
        Record("approval", a.approval_id, a.issued_at.isoformat(), a.approver, a.role.value)
        for a in tx.list_approvals(rid)
    )
    return {
        "readings": readings,
        "evals": tuple(evals),
        "evals_missing": tuple(missing),
        "approvals": approvals,
        "decisions": tuple(_verdict(d.decision_id, d.decision, d.created_at, d.created_by, d.body)
                           for d in tx.list_decisions(rid)),
    }  # fmt: skip


def _verdict(decision_id: str, kind: str, at: str, by: str, body: dict[str, Any]) -> Verdict:
    outcome = body.get("outcome") or {}
    failures = outcome.get("failures") or []
    deciding = [f for f in failures if f.get("deciding")] or failures
    failed = tuple(f"{f.get('gate')} {f.get('code') or f.get('reason')}" for f in deciding)
    return Verdict(Record("decision", decision_id, at, by, kind), kind,
                   outcome.get("max_stage"), failed)  # fmt: skip


def _rollout_facts(tx: ReadTx, release_id: str) -> dict[str, Any]:
    promotions = tx.list_promotions(release_id=release_id)
    entries = tuple(
        Entry(Record("promotion", p.promotion_id, p.created_at, p.created_by, p.target.value),
              p.target.value)
        for p in promotions
    )  # fmt: skip
    events = tx.list_route_events(release_id=release_id)
    restored = {(e.route, e.lane) for e in events if e.kind is EventKind.RESTORE}
    reasons = {b.rollback_id: b.reason for b in tx.list_rollbacks(release_id=release_id)}
    stops = []
    for e in events:
        kind = STOP_KINDS.get(e.kind)
        if kind is None or ((e.route, e.lane) in restored and e.lane is Lane.STAGING):
            continue  # a drill rolls a staging route back and restores it: not a failure
        rollback_id = str(e.body.get("rollback_id") or "")
        at_env = [p.target for p in promotions
                  if p.created_at <= e.created_at and lane_of(p.target) is e.lane]  # fmt: skip
        env = at_env[-1].value if at_env else None
        analysis = e.body.get("analysis")
        why = "; ".join(analysis.get("reasons") or []) if isinstance(analysis, dict) else ""
        record = Record(f"route {kind}", rollback_id or f"{e.route}@{e.lane.value} v{e.version}",
                        e.created_at, e.created_by, f"{e.route} v{e.version}")  # fmt: skip
        stops.append(Stop(record, kind, env, why or reasons.get(rollback_id, "")))
    on = [r for r in tx.list_routes() if release_id in (r.candidate, r.stable)]
    route = next((r for r in on if r.lane is Lane.PRODUCTION), on[0] if on else None)
    name, status = (events[-1].route if events else None), None
    if route is not None:
        name = route.route
        status = route.status.value if route.candidate == release_id else "stable"
    return {
        "entries": entries,
        "stops": tuple(stops),
        "route": name,
        "route_status": status,
    }
