"""Use cases: move a route's rollout one step at a time (P5), and converge the router (R6).

Each command is ONE audited write transaction and a compare-and-set on the route's version:
``expected_version`` (what the operator saw) makes two operators acting at once conflict —
one wins, the other gets STALE_VERSION — and ``to_step`` makes a re-run after a crash a no-op
instead of a second step. Nothing is half-written: a crash before the commit leaves the route
as it was; after it, the re-run finds the step done.

``advance`` analyses the candidate's current step from the attestations recorded since the
step started (``airel evidence add`` or the gateway): a stop condition rolls the route back to
its stable release at once; a missing metric is inconclusive and never advances; a step that
has not earned the next one holds. Entering another environment is a promotion under the
release's latest gate decision, with the same checks as ``airel promote``.

The reconciler (:mod:`airel.services.promotion.reconciler`) converges the router to the
decided state and can fire stop conditions on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from airel.domain.gate.records import Attestation, AttestationStatus
from airel.domain.promotion import route as rules
from airel.domain.promotion.environments import Environment
from airel.domain.promotion.manifest import DeploymentManifest, check_manifest
from airel.domain.promotion.promotion import (
    Promotion,
    check_promotion,
    promotion_expiry,
    promotion_id_of,
)
from airel.domain.promotion.route import EventKind, Lane, Route, RouteEvent, Traffic
from airel.domain.promotion.traffic_plan import (
    ROLLOUT_METRICS,
    PlanStep,
    StepAnalysis,
    StepVerdict,
    TrafficPlan,
    analyse_step,
)
from airel.domain.release.bundle import release_node
from airel.domain.release.records import RecordRef, RecordTable
from airel.errors import NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.services.promotion import routes
from airel.services.promotion.promotions import decision_view
from airel.services.release.record_integrity import require_intact
from airel.store.contract import ReadTx, WriteTx

# The request count a step's minimum volume reads, by environment.
REQUESTS_METRIC = {
    Environment.SHADOW: "shadow_requests",
    Environment.CANARY: "canary_requests",
    Environment.LIMITED_PRODUCTION: "ramp_requests",
    Environment.SCALED_PRODUCTION: "ramp_requests",
}


@dataclass(frozen=True)
class StepOutcome:
    """What ``advance`` did: the verdict, the analysis and the route after."""

    verdict: str  # advance | complete | stop | hold | inconclusive | done (already there)
    route: Route
    analysis: StepAnalysis | None
    attestations: tuple[str, ...]  # the attestation ids the analysis read

    @property
    def moved(self) -> bool:
        """The route changed."""
        return self.verdict in ("advance", "complete", "stop")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "verdict": self.verdict,
            "route": self.route.model_dump(mode="json"),
            "analysis": self.analysis.to_dict() if self.analysis else None,
            "attestations": list(self.attestations),
        }


def _plan(tx: ReadTx, route: Route) -> TrafficPlan:
    plan = tx.get_traffic_plan(route.plan_digest) if route.plan_digest else None
    if plan is None:
        raise ValidationError(
            Reason.ROLLOUT_STATE,
            f"route {route.key} runs without a traffic plan: there is no step to analyse",
            fix="promote with --plan FILE (docs/specs.md: traffic plans)",
            details={"route": route.route},
        )
    return plan


def _observed(
    tx: ReadTx, route: Route, step: PlanStep
) -> tuple[dict[str, object], int | None, tuple[str, ...]]:
    """The step's metrics from the candidate's attestations recorded since the step began:
    the latest conclusive one of each kind (errored or inconclusive ones prove nothing)."""
    assert route.candidate is not None
    assert route.step_started_at is not None
    since = route.step_started_at
    latest: dict[str, Attestation] = {}
    for a in tx.list_attestations(route.candidate):
        if a.created_at >= since and a.status is AttestationStatus.OK:
            latest[a.kind] = a
    wanted = {c.metric for c in (*step.stop, *step.success)}
    count = REQUESTS_METRIC.get(step.environment)
    if count:
        wanted.add(count)
    kinds = {ROLLOUT_METRICS[m].source.value for m in wanted if m in ROLLOUT_METRICS}
    used = [latest[k] for k in sorted(kinds) if k in latest]
    require_intact(
        tx,
        [RecordRef(RecordTable.ATTESTATIONS, (a.attestation_id,)) for a in used],
        purpose=f"analysis of {route.key} step {step.name}",
    )
    values: dict[str, object] = {}
    for a in used:
        values.update({m: v for m, v in a.metrics.items() if m in wanted})
    requests = values.get(count) if count else None
    return (
        values,
        requests if isinstance(requests, int) else None,
        tuple(a.attestation_id for a in used),
    )


def analyse(ctx: Context, route: str, *, lane: Lane = Lane.PRODUCTION) -> StepOutcome:
    """The current step's verdict, without moving anything."""
    with ctx.store.read() as tx:
        current = routes.get_route(tx, route, lane)
        return _analyse(tx, ctx, current)


def _analyse(tx: ReadTx, ctx: Context, current: Route) -> StepOutcome:
    plan = _plan(tx, current)
    if current.step is None:
        raise ValidationError(
            Reason.ROLLOUT_STATE,
            f"route {current.key} is not in a plan step",
            fix="promote the candidate into the plan's first environment",
            details={"route": current.route},
        )
    step = plan.step(current.step)
    values, requests, used = _observed(tx, current, step)
    started = datetime.fromisoformat(current.step_started_at or ctx.stamp())
    hours = max(0.0, (ctx.clock.now() - started).total_seconds() / 3600)
    analysis = analyse_step(step, values, elapsed_hours=hours, requests=requests)
    return StepOutcome(analysis.verdict.value, current, analysis, used)


def _step_traffic(route: Route, step: PlanStep, candidate: str, manifest: str) -> Traffic:
    stable = route.stable
    manifests = {candidate: manifest}
    if stable in route.desired.manifests:
        manifests[stable] = route.desired.manifests[stable]
    if step.is_shadow:
        return Traffic(weights={stable: 100.0}, mirror=[candidate], manifests=manifests)
    if step.traffic_percent >= 100.0:
        return Traffic(weights={candidate: 100.0}, manifests={candidate: manifest})
    share = step.traffic_percent
    return Traffic(weights={stable: 100.0 - share, candidate: share}, manifests=manifests)


def _enter(
    tx: WriteTx, ctx: Context, route: Route, plan: TrafficPlan, step: PlanStep, analysis: str
) -> tuple[Traffic, DeploymentManifest]:
    """The candidate's manifest for ``step`` (and, entering another environment, a promotion
    under its latest decision with the checks of ``airel promote``)."""
    candidate = route.candidate
    assert candidate is not None
    stored = tx.get_deployment(route.desired.manifests.get(candidate, ""))
    if stored is None:
        raise NotFoundError(
            Reason.EVIDENCE_NOT_FOUND,
            f"route {route.key} names no stored manifest for {candidate}",
            fix="run `airel audit verify`: a record of this store is missing",
            details={"route": route.route},
        )
    decisions = tx.list_decisions(candidate)
    latest = decisions[-1] if decisions else None
    routes.check_restart_gate(tx, route, candidate, latest)
    draft = _step_traffic(route, step, candidate, "pending")
    manifest = stored.manifest.model_copy(
        update={
            "environment": step.environment,
            "traffic": draft.weights,
            "mirror": draft.mirror,
            "decision_id": latest.decision_id if latest else stored.manifest.decision_id,
            "canary_result": analysis,
        }
    )
    check_manifest(manifest, previous=stored.manifest)
    now, at = ctx.clock.now(), ctx.stamp()
    if step.environment is not route.environment:
        if latest is None:
            raise ValidationError(
                Reason.PROMOTION_NOT_ALLOWED,
                f"{candidate} has no gate decision",
                fix=f"run `airel gate check {candidate}` first",
                details={"release_id": candidate},
            )
        view = decision_view(latest)
        check_promotion(view, release_id=candidate, source=route.environment,
                        target=step.environment, now=now, plan=plan)  # fmt: skip
        tx.insert_deployment(manifest, created_at=at, created_by=ctx.actor)
        promotion = Promotion(
            promotion_id=promotion_id_of(
                candidate, step.environment, latest.decision_id, manifest.digest, at
            ),
            release_id=candidate,
            source=route.environment,
            target=step.environment,
            decision_id=latest.decision_id,
            plan_digest=plan.digest,
            deployment_digest=manifest.digest,
            expires_at=promotion_expiry(now, view.expires_at).isoformat(),
            created_at=at,
            created_by=ctx.actor,
            body={"baseline": route.stable, "decision": view.kind.value, "step": step.name},
        )
        tx.insert_promotion(promotion)
        tx.append_audit(
            actor=ctx.actor,
            action="promotion.create",
            subject=release_node(candidate),
            before=route.environment.value,
            after=promotion.promotion_id,
            details={"target": step.environment.value, "deployment": manifest.digest},
        )
    else:
        tx.insert_deployment(manifest, created_at=at, created_by=ctx.actor)
    return _step_traffic(route, step, candidate, manifest.digest), manifest


def _stop(tx: WriteTx, ctx: Context, current: Route, outcome: StepOutcome, at: str) -> Route:
    """A stop condition held: every request back to the stable release, recorded as a route
    rollback with the analysis that fired it."""
    from airel.services.promotion.rollbacks import record_route_rollback  # noqa: PLC0415

    assert outcome.analysis is not None
    after = rules.back_to(
        current,
        target=current.stable,
        manifest=current.desired.manifests.get(current.stable),
        status=rules.RolloutStatus.ROLLED_BACK,
        at=at,
        by=ctx.actor,
    )
    reason = "; ".join(outcome.analysis.reasons)
    rollback_id = record_route_rollback(tx, ctx, current, after, reason=reason, at=at)
    body = {
        "analysis": outcome.analysis.to_dict(),
        "attestations": list(outcome.attestations),
        "rollback_id": rollback_id,
    }
    routes.move(tx, ctx, current, after, EventKind.STOP, current.candidate, body, at=at)
    return after


def advance(
    ctx: Context,
    route: str,
    *,
    lane: Lane = Lane.PRODUCTION,
    expected_version: int | None = None,
    to_step: str | None = None,
) -> StepOutcome:
    """Analyse the current step and act on the verdict (see the module docstring)."""

    def write(tx: WriteTx) -> StepOutcome:
        current = routes.get_route(tx, route, lane)
        plan = _plan(tx, current)
        if to_step is not None:
            plan.step(to_step)  # an unknown step is bad input, whatever the route does
            if current.step == to_step and current.status is not rules.RolloutStatus.STABLE:
                return StepOutcome("done", current, None, ())
        rules.expect_version(current, expected_version)
        rules.require_status(current, "advance", rules.RolloutStatus.PROGRESSING)
        outcome = _analyse(tx, ctx, current)
        at = ctx.stamp()
        assert outcome.analysis is not None
        if outcome.analysis.verdict is StepVerdict.STOP:
            return StepOutcome("stop", _stop(tx, ctx, current, outcome, at), outcome.analysis,
                               outcome.attestations)  # fmt: skip
        if outcome.analysis.verdict is not StepVerdict.ADVANCE:
            return outcome
        body: dict[str, Any] = {
            "analysis": outcome.analysis.to_dict(),
            "attestations": list(outcome.attestations),
            "from_step": current.step,
        }
        following = plan.next_step(current.step)
        if following is None:
            after = rules.complete(current, at=at, by=ctx.actor)
            routes.move(tx, ctx, current, after, EventKind.COMPLETE, current.candidate, body, at=at)
            return StepOutcome("complete", after, outcome.analysis, outcome.attestations)
        if to_step is not None and following.name != to_step:
            raise ValidationError(
                Reason.ROLLOUT_STATE,
                f"the step after {current.step} is {following.name}, not {to_step}",
                fix="advance one step at a time (`airel rollout status` shows the next one)",
                details={"route": route, "step": current.step, "to_step": to_step},
            )
        summary = f"{current.step}: {outcome.analysis.verdict.value} (route v{current.version})"
        traffic, manifest = _enter(tx, ctx, current, plan, following, summary)
        after = rules.advance(current, step=following.name, traffic=traffic,
                              environment=following.environment, at=at, by=ctx.actor)  # fmt: skip
        body |= {"to_step": following.name, "deployment": manifest.digest}
        routes.move(tx, ctx, current, after, EventKind.ADVANCE, current.candidate, body, at=at)
        return StepOutcome("advance", after, outcome.analysis, outcome.attestations)

    return ctx.store.write(write)


def _simple(
    ctx: Context,
    route: str,
    lane: Lane,
    expected_version: int | None,
    kind: EventKind,
    reason: str | None,
) -> Route:
    def write(tx: WriteTx) -> Route:
        current = routes.get_route(tx, route, lane)
        rules.expect_version(current, expected_version)
        at = ctx.stamp()
        if kind is EventKind.PAUSE:
            after = rules.pause(current, at=at, by=ctx.actor)
        elif kind is EventKind.RESUME:
            if current.candidate is not None:
                decisions = tx.list_decisions(current.candidate)
                latest = decisions[-1] if decisions else None
                routes.check_restart_gate(tx, current, current.candidate, latest)
            after = rules.resume(current, at=at, by=ctx.actor).model_copy(
                update={"emergency": None}
            )
        else:
            after = rules.abort(
                current, manifest=current.desired.manifests.get(current.stable), at=at,
                by=ctx.actor,
            )  # fmt: skip
        body = {"reason": reason} if reason else {}
        routes.move(tx, ctx, current, after, kind, current.candidate, body, at=at)
        return after

    return ctx.store.write(write)


def pause(ctx: Context, route: str, *, lane: Lane = Lane.PRODUCTION,
          expected_version: int | None = None, reason: str | None = None) -> Route:  # fmt: skip
    """Hold the rollout where it is (no step advances until it is resumed)."""
    return _simple(ctx, route, lane, expected_version, EventKind.PAUSE, reason)


def resume(ctx: Context, route: str, *, lane: Lane = Lane.PRODUCTION,
           expected_version: int | None = None, reason: str | None = None) -> Route:  # fmt: skip
    """Let a paused rollout move again (after an emergency change: a restart decision first)."""
    return _simple(ctx, route, lane, expected_version, EventKind.RESUME, reason)


def abort(ctx: Context, route: str, *, lane: Lane = Lane.PRODUCTION,
          expected_version: int | None = None, reason: str | None = None) -> Route:  # fmt: skip
    """Stop the rollout: the stable release takes all the traffic again."""
    return _simple(ctx, route, lane, expected_version, EventKind.ABORT, reason)


def adopt(
    ctx: Context,
    route: str,
    *,
    release_id: str,
    change_approval: str,
    deployment: Path | None = None,
) -> Route:
    """Record the release that runs on a production route from before airel as its stable,
    approved release (once per route, with the change approval that put it there). With a
    ``deployment`` file its manifest (endpoint, tools, monitoring) is stored beside it, so the
    gateway can serve it."""
    from airel.services.promotion.promotions import load_deployment  # noqa: PLC0415

    spec = load_deployment(ctx, deployment) if deployment is not None else None
    if not change_approval.strip():
        raise ValidationError(
            Reason.MISSING_FIELD,
            "adopting a release needs the change approval that put it in production",
            fix="give --change-approval CHG-… (the ticket of the original change)",
            details={"field": "change_approval"},
        )

    def write(tx: WriteTx) -> Route:
        if tx.get_bundle(release_id) is None:
            raise NotFoundError(
                Reason.RELEASE_NOT_FOUND,
                f"no frozen release {release_id}",
                fix="freeze it first (`airel bundle freeze`)",
                details={"release_id": release_id},
            )
        if tx.get_route(route, Lane.PRODUCTION) is not None:
            raise ValidationError(
                Reason.ROLLOUT_STATE,
                f"route {route} already has a stable release",
                fix="adoption is for a route airel has not seen; promote or roll back instead",
                details={"route": route},
            )
        at = ctx.stamp()
        manifests: dict[str, str] = {}
        if spec is not None:
            bundle = tx.get_bundle(release_id)
            assert bundle is not None
            components = {r.path: r.node for r in bundle.resolutions}
            manifest = DeploymentManifest(
                release_id=release_id, environment=Environment.SCALED_PRODUCTION, route=route,
                traffic={release_id: 100.0}, components=components,
                feature_flags=spec.feature_flags, env_digest=spec.env_digest, tools=spec.tools,
                customer_visible=spec.customer_visible, monitoring=spec.monitoring,
                change_approval=change_approval.strip(), incidents=spec.incidents,
                endpoint=spec.endpoint,
            )  # fmt: skip
            tx.insert_deployment(manifest, created_at=at, created_by=ctx.actor)
            manifests[release_id] = manifest.digest
        after = Route(
            route=route, lane=Lane.PRODUCTION, version=1,
            status=rules.RolloutStatus.STABLE, environment=Environment.SCALED_PRODUCTION,
            stable=release_id, desired=Traffic(weights={release_id: 100.0}, manifests=manifests),
            updated_at=at, updated_by=ctx.actor,
        )  # fmt: skip
        body = {"change_approval": change_approval.strip()}
        routes.move(tx, ctx, None, after, EventKind.ADOPT, release_id, body, at=at)
        return after

    return ctx.store.write(write)


def list_routes(ctx: Context) -> list[Route]:
    """Every route."""
    with ctx.store.read() as tx:
        return tx.list_routes()


def route_history(ctx: Context, route: str, *, lane: Lane = Lane.PRODUCTION) -> list[RouteEvent]:
    """The route's events, oldest first."""
    with ctx.store.read() as tx:
        routes.get_route(tx, route, lane)
        return tx.list_route_events(route=route, lane=lane)


def get_route(ctx: Context, route: str, *, lane: Lane = Lane.PRODUCTION) -> Route:
    """One route."""
    with ctx.store.read() as tx:
        return routes.get_route(tx, route, lane)
