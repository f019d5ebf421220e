"""Use cases: the §8.6 runbook of a release, and a drill that executes it in staging (P6).

``drill`` needs the release on a staging route. It runs the nine steps in order, timing each:
step 1 declares the drill (and pauses a staging rollout, if one runs), step 2 is a real route
rollback to the bundle's rollback target in the staging lane — its own audited transaction —
followed by the router applying it (the time from the first step to this point is the time
back to last-known-good), steps 3–9 confirm and record what the runbook asks, and afterwards
the staging route is restored to the release. The drill record and its evidence — a
``rollback_drill`` attestation the gate reads (G6) — are stored in one audited transaction.

A step that cannot be done is *failed* (e.g. no fallback workflow recorded), one that does not
apply is *skipped* with the reason; a failed step fails the drill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from airel.adapters.router import EmbeddedRouter, Router
from airel.domain.gate.records import Attestation, AttestationStatus
from airel.domain.kernel.canonical import digest_of
from airel.domain.promotion import route as rules
from airel.domain.promotion.environments import Environment
from airel.domain.promotion.rollback import refuse
from airel.domain.promotion.route import EventKind, Lane, Route
from airel.domain.promotion.runbook import (
    Drill,
    DrillStep,
    RunbookStep,
    StepStatus,
    render_runbook,
    runbook_for,
)
from airel.domain.release.bundle import FrozenBundle, release_node
from airel.errors import NotFoundError, Reason
from airel.services.kernel.context import Context
from airel.services.promotion import reconciler, rollbacks, rollouts, routes
from airel.store.contract import ReadTx, WriteTx


def _bundle(tx: ReadTx, release_id: str) -> FrozenBundle:
    bundle = tx.get_bundle(release_id)
    if bundle is None:
        raise NotFoundError(
            Reason.RELEASE_NOT_FOUND,
            f"no frozen release {release_id}",
            fix="`airel bundle list` shows releases",
            details={"release_id": release_id},
        )
    return bundle


def _steps(tx: ReadTx, bundle: FrozenBundle) -> list[RunbookStep]:
    spec = bundle.bundle_spec()
    target_name = spec.deployment.rollback_target
    target = tx.get_bundle(target_name) if target_name else None
    return runbook_for(
        bundle.release_id,
        {r.path: r.node for r in bundle.resolutions},
        rollback_target=target_name,
        target_components={r.path: r.node for r in target.resolutions} if target else {},
        route=spec.deployment.route,
        fallback=spec.scope.human_role,
    )


def runbook(ctx: Context, release_id: str) -> tuple[list[RunbookStep], str]:
    """The release's nine steps and their §8.6 Markdown."""
    with ctx.store.read() as tx:
        steps = _steps(tx, _bundle(tx, release_id))
    return steps, render_runbook(release_id, steps)


@dataclass
class _Clock:
    """Times each step from the drill's start (monotonic)."""

    started: float
    stamp: str
    steps: list[DrillStep]

    def record(self, step: RunbookStep, status: StepStatus, evidence: str, t0: float,
               at: str) -> None:  # fmt: skip
        self.steps.append(
            DrillStep(number=step.row.number, owner=step.row.owner, action=step.row.action,
                      status=status, started_at=at, seconds=time.perf_counter() - t0,
                      evidence=evidence)
        )  # fmt: skip


def _staging_route(tx: ReadTx, release_id: str, route: str | None) -> Route:
    found: Route | None
    if route is not None:
        found = routes.get_route(tx, route, Lane.STAGING)
    else:
        running = [r for r in tx.list_routes()
                   if r.lane is Lane.STAGING and release_id in r.desired.releases]  # fmt: skip
        found = running[0] if len(running) == 1 else None
    if found is None or release_id not in found.desired.releases:
        raise refuse(
            f"{release_id} runs on no staging route: a drill rolls back in staging",
            f"promote it to staging first (`airel promote {release_id} --to staging`)",
            release_id=release_id,
        )
    return found


def drill(
    ctx: Context, release_id: str, *, route: str | None = None, router: Router | None = None
) -> Drill:
    """Execute the runbook in staging and store the drill (see the module docstring)."""
    applied = router or EmbeddedRouter()
    with ctx.store.read() as tx:
        bundle = _bundle(tx, release_id)
        steps = _steps(tx, bundle)
        start = _staging_route(tx, release_id, route)
    spec = bundle.bundle_spec()
    target = spec.deployment.rollback_target
    clock = _Clock(time.perf_counter(), ctx.stamp(), [])
    back_at: float | None = None
    for step in steps:
        t0, at = time.perf_counter(), ctx.stamp()
        number = step.row.number
        if number == 1:
            if start.status is rules.RolloutStatus.PROGRESSING:
                rollouts.pause(ctx, start.route, lane=Lane.STAGING, reason="rollback drill")
            clock.record(step, StepStatus.DONE, f"drill declared on {start.key}", t0, at)
        elif number == 2:
            if target is None:
                clock.record(step, StepStatus.FAILED, "no rollback target recorded", t0, at)
                continue
            result = rollbacks.rollback(
                ctx, release_id, "route", route=start.route, lane=Lane.STAGING, to=target,
                reason="rollback drill",
            )  # fmt: skip
            assert result.route is not None
            reconciler.observe(ctx, result.route, applied)
            back_at = time.perf_counter()
            evidence = f"route {start.key} v{start.version} → v{result.route.version}: {target}"
            clock.record(step, StepStatus.DONE, evidence, t0, at)
        elif number == 3:
            with ctx.store.read() as tx:
                now = routes.get_route(tx, start.route, Lane.STAGING)
            ok = target is not None and now.desired.weights == {target: 100.0} and now.converged
            evidence = f"route v{now.version} serves {now.desired.releases} (router applied)"
            clock.record(step, StepStatus.DONE if ok else StepStatus.FAILED, evidence, t0, at)
        elif number == 6 and not step.applies:
            clock.record(step, StepStatus.FAILED, step.detail, t0, at)
        elif number == 8:
            clock.record(step, StepStatus.SKIPPED, "a drill has no failing cases to add", t0, at)
        else:
            status = StepStatus.DONE if step.applies else StepStatus.SKIPPED
            clock.record(step, status, step.detail, t0, at)
    minutes = ((back_at or time.perf_counter()) - clock.started) / 60
    return _finish(ctx, release_id, start, target, clock, minutes, back_at is not None)


def _finish(
    ctx: Context,
    release_id: str,
    start: Route,
    target: str | None,
    clock: _Clock,
    minutes: float,
    reached: bool,
) -> Drill:
    """Restore the staging route, then store the drill and its evidence in one transaction."""
    failed = sum(s.status is StepStatus.FAILED for s in clock.steps)

    def write(tx: WriteTx) -> Drill:
        at = ctx.stamp()
        now = routes.get_route(tx, start.route, Lane.STAGING)
        if reached and now.desired.releases != start.desired.releases:
            restored = rules.back_to(
                now, target=release_id, manifest=start.desired.manifests.get(release_id),
                status=rules.RolloutStatus.STABLE, at=at, by=ctx.actor,
            ).model_copy(update={"desired": start.desired, "stable": start.stable})  # fmt: skip
            body = {"drill": True, "to": start.desired.weights}
            routes.move(tx, ctx, now, restored, EventKind.RESTORE, release_id, body, at=at)
        content: dict[str, Any] = {
            "release_id": release_id, "route": start.route, "target": target or "-",
            "passed": failed == 0 and reached, "minutes_to_last_known_good": round(minutes, 6),
            "steps": [s.model_dump(mode="json") for s in clock.steps],
            "created_at": clock.stamp, "created_by": ctx.actor,
            "body": {"environment": Environment.STAGING.value, "route_version": start.version},
        }  # fmt: skip
        record = Drill(drill_id=digest_of({"format": "airel-drill/1", **content}), **content)
        tx.insert_drill(record)
        metrics = {"rollback_drill_minutes": record.minutes_to_last_known_good,
                   "rollback_drill_failed_steps": failed}  # fmt: skip
        evidence: dict[str, Any] = {
            "release_id": release_id, "kind": "rollback_drill",
            "status": AttestationStatus.OK.value, "metrics": metrics,
            "source": f"airel-drill:{record.drill_id}", "created_at": at, "created_by": ctx.actor,
        }  # fmt: skip
        tx.insert_attestation(
            Attestation(attestation_id=Attestation.identify(evidence), **evidence)
        )
        tx.append_audit(
            actor=ctx.actor,
            action="rollback.drill",
            subject=release_node(release_id),
            before=None,
            after=record.drill_id,
            details={"passed": record.passed, "minutes": record.minutes_to_last_known_good,
                     "failed_steps": failed},
        )  # fmt: skip
        return record

    return ctx.store.write(write)


def list_drills(ctx: Context, release_id: str | None = None) -> list[Drill]:
    """Stored drills, oldest first."""
    with ctx.store.read() as tx:
        return tx.list_drills(release_id=release_id)
