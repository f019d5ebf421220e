"""Use case: promote a frozen release to an environment, and read promotions back (P1, P5, R6).

``promote`` runs in ONE audited write transaction:

1. the release's bundle and its latest stored gate decision are read (none: refused);
2. :func:`~airel.domain.promotion.promotion.check_promotion` decides whether the decision lets
   the release move from where it runs now (its latest promotion) to the target, and whether a
   traffic plan stays within a limited go's conditions;
3. the deployment manifest is built from the records — the route (the deployment file's or the
   bundle's), the traffic split (the plan's first step in the target environment beside the
   bundle's rollback target; shadow mirrors the release at 0 %), the bundle's components and the
   decision — and checked against what its environment forbids, including the previous
   manifest of the route (scaled production: no ungated model or policy change);
4. the plan, the manifest and the promotion are stored, with one audit entry.

Bad input (unknown environment, a bad plan or deployment file) is refused before anything is
read; every refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from airel.adapters.documents.parse import load_document
from airel.domain.gate.decision import DecisionKind
from airel.domain.gate.records import DecisionRecord
from airel.domain.gate.stack import Conditions, Stage
from airel.domain.promotion import route as route_rules
from airel.domain.promotion.environments import Environment, parse_environment
from airel.domain.promotion.manifest import (
    DeploymentManifest,
    DeploymentSpec,
    StoredDeployment,
    check_manifest,
    parse_deployment_spec,
)
from airel.domain.promotion.promotion import (
    DEFAULT_PROMOTION_DAYS,
    DecisionView,
    Promotion,
    check_promotion,
    promotion_expiry,
    promotion_id_of,
)
from airel.domain.promotion.promotion_card import render_promotion_card
from airel.domain.promotion.route import EventKind, Route, Traffic, lane_of
from airel.domain.promotion.traffic_plan import TrafficPlan, parse_traffic_plan
from airel.domain.release.bundle import FrozenBundle, release_node
from airel.errors import NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.services.promotion import routes
from airel.store.contract import ReadTx, WriteTx


@dataclass(frozen=True)
class PromotionResult:
    """What ``promote`` stored."""

    promotion: Promotion
    deployment: DeploymentManifest
    plan: TrafficPlan | None
    route: Route | None = None  # the route it moved (None: an environment without routes)


def load_plan(ctx: Context, path: Path) -> TrafficPlan:
    """A traffic plan file, parsed strictly (every problem listed)."""
    doc = load_document(path, ctx.limits)
    return parse_traffic_plan(doc.data, source=doc.source, lines=doc.lines)


def load_deployment(ctx: Context, path: Path) -> DeploymentSpec:
    """A deployment file, parsed strictly."""
    doc = load_document(path, ctx.limits)
    return parse_deployment_spec(doc.data, source=doc.source, lines=doc.lines)


def decision_view(record: DecisionRecord) -> DecisionView:
    """What a promotion reads of a stored decision."""
    outcome: dict[str, Any] = record.body.get("outcome") or {}
    stage = outcome.get("max_stage")
    return DecisionView(
        decision_id=record.decision_id,
        release_id=record.release_id,
        kind=DecisionKind(record.decision),
        max_stage=Stage(stage) if stage else None,
        conditions=Conditions.model_validate(outcome.get("conditions") or {}),
        expires_at=datetime.fromisoformat(record.expires_at),
    )


def _bundle(tx: ReadTx, release_id: str) -> FrozenBundle:
    bundle = tx.get_bundle(release_id)
    if bundle is None:
        raise NotFoundError(
            Reason.RELEASE_NOT_FOUND,
            f"no frozen release {release_id}",
            fix="freeze it first (`airel bundle freeze`); `airel bundle list` shows releases",
            details={"release_id": release_id},
        )
    return bundle


def current_environment(tx: ReadTx, release_id: str) -> Environment | None:
    """Where the release runs now: the target of its latest promotion that still holds
    (None: nowhere yet). A promotion onto a route stops holding once the route no longer
    carries the release (an abort, a stop condition, a route rollback): the release is back
    where it ran before, and may enter again (after a rollback, under a restart decision)."""
    for promotion in reversed(tx.list_promotions(release_id=release_id)):
        lane = lane_of(promotion.target)
        stored = tx.get_deployment(promotion.deployment_digest)
        if lane is None or stored is None:
            return promotion.target
        route = tx.get_route(stored.manifest.route, lane)
        if route is None or release_id in route.desired.releases:
            return promotion.target
    return None


def _split(
    target: Environment, plan: TrafficPlan | None, release_id: str, baseline: str | None
) -> tuple[dict[str, float], list[str]]:
    """(traffic, mirror) of a deployment of ``release_id`` to ``target``."""
    if target is Environment.STAGING:
        return {release_id: 100.0}, []  # replayed and mock traffic only
    step = next((s for s in plan.steps if s.environment is target), None) if plan else None
    if target is Environment.SHADOW:
        share = 0.0
    elif step is not None:
        share = step.traffic_percent
    elif target in (Environment.SCALED_PRODUCTION, Environment.POST_RELEASE_REVIEW):
        share = 100.0
    else:
        raise ValidationError(
            Reason.MISSING_FIELD,
            f"a promotion to {target.value} needs a traffic plan with a {target.value} step",
            fix="give --plan FILE (docs/specs.md: traffic plans)",
            details={"field": "plan", "target": target.value},
        )
    if share >= 100.0:
        return {release_id: 100.0}, []
    if baseline is None:
        raise ValidationError(
            Reason.MISSING_FIELD,
            f"{release_id} has no rollback target to run beside in {target.value}",
            fix="set deployment.rollback_target in the bundle to the release it replaces",
            details={"field": "deployment.rollback_target"},
        )
    if target is Environment.SHADOW:
        return {baseline: 100.0}, [release_id]
    return {baseline: 100.0 - share, release_id: share}, []


def _route_to(
    tx: WriteTx,
    ctx: Context,
    existing: Route | None,
    manifest: DeploymentManifest,
    promotion: Promotion,
    plan: TrafficPlan | None,
    baseline: str | None,
    at: str,
) -> Route:
    """The route after the promotion: the candidate on it under the manifest's split, in the
    plan's first step of the target environment (compare-and-set, with its event)."""
    lane = lane_of(manifest.environment)
    assert lane is not None
    release_id = manifest.release_id
    whole = manifest.traffic.get(release_id, 0.0) >= 100.0
    stable = release_id if whole or baseline is None else baseline
    manifests = {release_id: manifest.digest}
    if existing is not None and stable in existing.desired.manifests:
        manifests[stable] = existing.desired.manifests[stable]
    step = (
        next((s for s in plan.steps if s.environment is manifest.environment), None)
        if plan
        else None
    )
    after = route_rules.start(
        existing,
        route=manifest.route,
        lane=lane,
        environment=manifest.environment,
        candidate=release_id,
        stable=stable,
        traffic=Traffic(weights=manifest.traffic, mirror=manifest.mirror, manifests=manifests),
        plan_digest=plan.digest if plan else None,
        step=step.name if step else None,
        at=at,
        by=ctx.actor,
    )
    body = {"promotion": promotion.promotion_id, "deployment": manifest.digest}
    routes.move(tx, ctx, existing, after, EventKind.PROMOTE, release_id, body, at=at)
    return after


def promote(
    ctx: Context,
    release_id: str,
    *,
    target: str | Environment,
    plan: Path | None = None,
    deployment: Path | None = None,
    expires_in_days: int = DEFAULT_PROMOTION_DAYS,
) -> PromotionResult:
    """Promote ``release_id`` to ``target`` (see the module docstring)."""
    to = parse_environment(target, field="--to")
    traffic_plan = load_plan(ctx, plan) if plan is not None else None
    spec = load_deployment(ctx, deployment) if deployment is not None else DeploymentSpec()
    now, at = ctx.clock.now(), ctx.stamp()

    def write(tx: WriteTx) -> PromotionResult:
        bundle = _bundle(tx, release_id)
        decisions = tx.list_decisions(release_id)
        if not decisions:
            raise ValidationError(
                Reason.PROMOTION_NOT_ALLOWED,
                f"{release_id} has no gate decision",
                fix=f"run `airel gate check {release_id}` first",
                details={"release_id": release_id},
            )
        record = decisions[-1]
        view = decision_view(record)
        source = current_environment(tx, release_id)
        check_promotion(view, release_id=release_id, source=source, target=to, now=now,
                        plan=traffic_plan)  # fmt: skip
        if traffic_plan and traffic_plan.use_case_id not in (None, bundle.use_case_id):
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"plan {traffic_plan.plan_id} is for use case {traffic_plan.use_case_id}, "
                f"not {bundle.use_case_id}",
                fix="use the plan of this release's use case",
                details={"field": "use_case_id"},
            )
        section = bundle.bundle_spec().deployment
        route = spec.route or (section.route if section else None)
        if route is None:
            raise ValidationError(
                Reason.MISSING_FIELD,
                f"no route for {release_id}",
                fix="set route: in the deployment file or deployment.route in the bundle",
                details={"field": "route"},
            )
        lane = lane_of(to)
        existing = tx.get_route(route, lane) if lane is not None else None
        routes.check_restart_gate(tx, existing, release_id, record)
        baseline = section.rollback_target if section else None
        if existing is not None and existing.stable != release_id:
            baseline = existing.stable  # what runs there now is what the candidate runs beside
        traffic, mirror = _split(to, traffic_plan, release_id, baseline)
        for other in traffic:
            if other != release_id:
                routes.require_approved(tx, other, to, role="baseline")
        manifest = DeploymentManifest(
            release_id=release_id,
            environment=to,
            route=route,
            traffic=traffic,
            mirror=mirror,
            components={r.path: r.node for r in bundle.resolutions},
            feature_flags=spec.feature_flags,
            env_digest=spec.env_digest,
            tools=spec.tools,
            customer_visible=spec.customer_visible,
            monitoring=spec.monitoring,
            decision_id=record.decision_id,
            change_approval=spec.change_approval,
            incidents=spec.incidents,
            endpoint=spec.endpoint,
        )
        earlier = tx.list_deployments(route=route)
        check_manifest(manifest, previous=earlier[-1].manifest if earlier else None)
        if traffic_plan is not None:
            tx.insert_traffic_plan(traffic_plan, created_at=at, created_by=ctx.actor)
        tx.insert_deployment(manifest, created_at=at, created_by=ctx.actor)
        promotion = Promotion(
            promotion_id=promotion_id_of(release_id, to, record.decision_id, manifest.digest, at),
            release_id=release_id,
            source=source,
            target=to,
            decision_id=record.decision_id,
            plan_digest=traffic_plan.digest if traffic_plan else None,
            deployment_digest=manifest.digest,
            expires_at=promotion_expiry(now, view.expires_at, days=expires_in_days).isoformat(),
            created_at=at,
            created_by=ctx.actor,
            body={
                "baseline": baseline,
                "decision": view.kind.value,
                "conditions": view.conditions.model_dump(mode="json", exclude_defaults=True),
                "required_controls": list(spec.monitoring.auto_rollback),
                "use_case_id": bundle.use_case_id,
            },
        )
        tx.insert_promotion(promotion)
        tx.append_audit(
            actor=ctx.actor,
            action="promotion.create",
            subject=release_node(release_id),
            before=source.value if source else None,
            after=promotion.promotion_id,
            details={"target": to.value, "deployment": manifest.digest, "route": route},
        )
        moved = None
        if lane is not None:
            moved = _route_to(tx, ctx, existing, manifest, promotion, traffic_plan, baseline, at)
        return PromotionResult(promotion, manifest, traffic_plan, moved)

    return ctx.store.write(write)


def list_promotions(ctx: Context, release_id: str | None = None) -> list[Promotion]:
    """Stored promotions, oldest first (optionally of one release)."""
    with ctx.store.read() as tx:
        return tx.list_promotions(release_id=release_id)


def list_deployments(
    ctx: Context, *, release_id: str | None = None, route: str | None = None
) -> list[StoredDeployment]:
    """Stored deployment manifests, oldest first."""
    with ctx.store.read() as tx:
        return tx.list_deployments(release_id=release_id, route=route)


T = TypeVar("T")


def _one(
    what: str,
    wanted: str,
    exact: T | None,
    every: Callable[[], Iterable[T]],
    key: Callable[[T], str],
) -> T:
    """``exact``, else the one record whose id starts with ``wanted`` (12+ characters)."""
    found = exact
    if found is None and len(wanted) >= 12:
        matches = [r for r in every() if key(r).startswith(wanted)]
        found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise NotFoundError(
            Reason.EVIDENCE_NOT_FOUND,
            f"no {what} {wanted}",
            fix=f"`airel {what} list` shows the stored ones (an id prefix must be unique)",
            details={what: wanted},
        )
    return found


def get_deployment(ctx: Context, digest: str) -> StoredDeployment:
    """One manifest by digest (a unique prefix of 12+ characters is enough)."""
    with ctx.store.read() as tx:
        return _one(
            "deployment", digest, tx.get_deployment(digest), tx.list_deployments, lambda d: d.digest
        )


def promotion_card(ctx: Context, promotion_id: str) -> str:
    """The §8.2 card of a stored promotion (a unique prefix of 12+ characters is enough)."""
    with ctx.store.read() as tx:
        found = _one(
            "promotion",
            promotion_id,
            tx.get_promotion(promotion_id),
            tx.list_promotions,
            lambda p: p.promotion_id,
        )
        deployment = tx.get_deployment(found.deployment_digest)
        decision = tx.get_decision(found.decision_id)
    if deployment is None:
        raise NotFoundError(
            Reason.EVIDENCE_NOT_FOUND,
            f"promotion {found.promotion_id[:19]}… names a manifest that is not stored",
            fix="run `airel audit verify`: a record of this store is missing",
            details={"deployment": found.deployment_digest},
        )
    return render_promotion_card(found, deployment.manifest, decision)
