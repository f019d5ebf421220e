"""Use case: roll a release back by component (P6, §5.7), in one audited write transaction.

* **route** — the route's traffic goes to the target (default: the bundle's rollback target),
  which must be another frozen release of the same use case approved for the route's
  environment; a re-run on a route already rolled back to it changes nothing.
* **model / prompt / index / feature / policy / tool** — the release keeps its share under a
  new manifest: the named components swapped for the target's versions (or write tools
  switched to read / draft). Every version in it was part of an approved release; the manifest
  says which (``composed_from``). The route records the rollback as an *emergency change*: the
  rollout pauses, and the release may not move on before a restart gate decision.
* **batch** — the batch run's outputs are quarantined (``is_quarantined`` answers downstream
  consumers); **compensation** — reversals, remediation and regulator notes are recorded.

Every refusal (unknown target, another use case, never approved there, nothing to roll back)
writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airel.domain.promotion import route as rules
from airel.domain.promotion.manifest import DeploymentManifest, ToolMode, check_manifest
from airel.domain.promotion.rollback import (
    RECORD_ONLY,
    Compensation,
    Rollback,
    RollbackComponent,
    parse_component,
    refuse,
    rollback_id_of,
    swap,
    tools_down,
)
from airel.domain.promotion.route import EventKind, Lane, Route
from airel.domain.release.bundle import FrozenBundle, release_node
from airel.errors import NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.services.promotion import routes
from airel.store.contract import ReadTx, WriteTx


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback stored (``changed`` False: the route was already there)."""

    rollback: Rollback
    route: Route | None
    manifest: DeploymentManifest | None
    changed: bool


def _bundle(tx: ReadTx, release_id: str, role: str = "release") -> FrozenBundle:
    bundle = tx.get_bundle(release_id)
    if bundle is None:
        raise NotFoundError(
            Reason.RELEASE_NOT_FOUND if role == "release" else Reason.ROLLBACK_TARGET_NOT_FOUND,
            f"no frozen {role} {release_id}",
            fix="name a frozen release (`airel bundle list`)",
            details={"release_id": release_id, "role": role},
        )
    return bundle


def _route_of(tx: ReadTx, release_id: str, route: str | None, lane: Lane) -> Route:
    if route is not None:
        return routes.get_route(tx, route, lane)
    running = [
        r
        for r in tx.list_routes()
        if r.lane is lane and (release_id in r.desired.releases or r.candidate == release_id)
    ]
    if len(running) != 1:
        raise refuse(
            f"{release_id} runs on {len(running)} route(s) in the {lane.value} lane",
            "name the route with --route (`airel rollout status` lists them)",
            release_id=release_id,
            lane=lane.value,
        )
    return running[0]


def _target(tx: ReadTx, bundle: FrozenBundle, to: str | None, route: Route) -> FrozenBundle:
    """The approved release to roll back to: same use case, approved for the environment."""
    section = bundle.bundle_spec().deployment
    name = to or (section.rollback_target if section else None)
    if name is None and route.stable != bundle.release_id:
        name = route.stable
    if name is None:
        raise refuse(
            f"{bundle.release_id} names no rollback target",
            "give --to RELEASE, or set deployment.rollback_target in the bundle",
            field="to",
        )
    if name == bundle.release_id:
        raise refuse(
            f"{name} cannot be rolled back to itself",
            "roll back to a previously approved release",
            field="to",
        )
    target = _bundle(tx, name, role="rollback target")
    if target.use_case_id != bundle.use_case_id:
        raise refuse(
            f"--to: {name} is a release of {target.use_case_id}, not {bundle.use_case_id}",
            f"roll back to a release of {bundle.use_case_id}",
            field="to",
            use_case_id=target.use_case_id,
        )
    routes.require_approved(tx, name, route.environment, role="rollback target")
    return target


def _store(tx: WriteTx, ctx: Context, rollback: Rollback) -> None:
    tx.insert_rollback(rollback)
    tx.append_audit(
        actor=ctx.actor,
        action="rollback.create",
        subject=release_node(rollback.release_id),
        before=None,
        after=rollback.rollback_id,
        details={"component": rollback.component.value, "target": rollback.target,
                 "route": rollback.route, "emergency": rollback.emergency},
    )  # fmt: skip


def _new(
    ctx: Context,
    release_id: str,
    component: RollbackComponent,
    *,
    route: Route | None,
    target: str | None,
    reason: str,
    emergency: bool,
    body: dict[str, Any],
    at: str,
) -> Rollback:
    return Rollback(
        rollback_id=rollback_id_of(release_id, component, body, at),
        release_id=release_id,
        component=component,
        route=route.route if route else None,
        lane=route.lane.value if route else None,
        target=target,
        reason=reason,
        emergency=emergency,
        created_at=at,
        created_by=ctx.actor,
        body=body,
    )


def record_route_rollback(
    tx: WriteTx, ctx: Context, before: Route, after: Route, *, reason: str, at: str
) -> str:
    """Store the rollback a stop condition made (the caller moves the route)."""
    release = before.candidate or before.stable
    body = {"from": before.desired.weights, "to": after.desired.weights, "automatic": True}
    rollback = _new(ctx, release, RollbackComponent.ROUTE, route=before, target=after.stable,
                    reason=reason, emergency=False, body=body, at=at)  # fmt: skip
    _store(tx, ctx, rollback)
    return rollback.rollback_id


def _compose(
    tx: WriteTx,
    ctx: Context,
    current: Route,
    bundle: FrozenBundle,
    component: RollbackComponent,
    target: FrozenBundle | None,
    tool_mode: ToolMode,
) -> tuple[DeploymentManifest, dict[str, Any]]:
    release = bundle.release_id
    stored = tx.get_deployment(current.desired.manifests.get(release, ""))
    if stored is None:
        raise refuse(
            f"route {current.key} names no manifest for {release}",
            "roll back the route instead (`--component route`)",
            route=current.route,
        )
    base = stored.manifest
    changes: dict[str, Any]
    if component is RollbackComponent.TOOL:
        tools = tools_down(base.tools, tool_mode)
        changes = {name: [base.tools[name].value, mode.value] for name, mode in tools.items()
                   if base.tools[name] is not mode}  # fmt: skip
        manifest = base.model_copy(update={"tools": tools})
    else:
        assert target is not None
        routes.require_approved(tx, release, current.environment, role="release")
        theirs = {r.path: r.node for r in target.resolutions}
        components, diff = swap(component, base.components, theirs,
                                target_release=target.release_id)  # fmt: skip
        composed = {**base.composed_from, **dict.fromkeys(diff, target.release_id)}
        manifest = base.model_copy(update={"components": components, "composed_from": composed})
        changes = {p: list(v) for p, v in diff.items()}
    check_manifest(manifest)
    tx.insert_deployment(manifest, created_at=ctx.stamp(), created_by=ctx.actor)
    return manifest, {"changes": changes, "deployment": manifest.digest, "from": base.digest}


def rollback(
    ctx: Context,
    release_id: str,
    component: str | RollbackComponent,
    *,
    route: str | None = None,
    lane: Lane = Lane.PRODUCTION,
    to: str | None = None,
    reason: str = "",
    tool_mode: ToolMode = ToolMode.READ,
    batch_run: str | None = None,
    compensation: Compensation | None = None,
    incident: str | None = None,
    expected_version: int | None = None,
) -> RollbackResult:
    """Roll ``release_id`` back by ``component`` (see the module docstring)."""
    kind = component if isinstance(component, RollbackComponent) else parse_component(component)
    why = reason.strip() or "not given"
    if kind is RollbackComponent.BATCH and not (batch_run or "").strip():
        raise ValidationError(
            Reason.MISSING_FIELD,
            "a batch quarantine needs the batch run whose outputs are quarantined",
            fix="give --batch-run RUN_ID",
            details={"field": "batch_run"},
        )
    if kind is RollbackComponent.COMPENSATION:
        (compensation or Compensation()).check()

    def write(tx: WriteTx) -> RollbackResult:
        bundle = _bundle(tx, release_id)
        at = ctx.stamp()
        if kind in RECORD_ONLY:
            return _record_only(tx, ctx, bundle, kind, why, batch_run, compensation, incident, at)
        current = _route_of(tx, release_id, route, lane)
        rules.expect_version(current, expected_version)
        target = None if kind is RollbackComponent.TOOL else _target(tx, bundle, to, current)
        if kind is RollbackComponent.ROUTE:
            assert target is not None
            return _route_back(tx, ctx, current, bundle, target, why, incident, at)
        manifest, body = _compose(tx, ctx, current, bundle, kind, target, tool_mode)
        body["incident"] = incident
        rollback = _new(ctx, release_id, kind, route=current,
                        target=target.release_id if target else None, reason=why,
                        emergency=True, body=body, at=at)  # fmt: skip
        _store(tx, ctx, rollback)
        after = rules.recompose(current, release=release_id, manifest=manifest.digest,
                                rollback_id=rollback.rollback_id, at=at, by=ctx.actor)  # fmt: skip
        event = {"rollback_id": rollback.rollback_id, "component": kind.value}
        routes.move(tx, ctx, current, after, EventKind.ROLLBACK, release_id, event, at=at)
        return RollbackResult(rollback, after, manifest, True)

    return ctx.store.write(write)


def _route_back(
    tx: WriteTx,
    ctx: Context,
    current: Route,
    bundle: FrozenBundle,
    target: FrozenBundle,
    why: str,
    incident: str | None,
    at: str,
) -> RollbackResult:
    name = target.release_id
    if current.desired.weights == {name: 100.0} and not current.desired.mirror:
        earlier = [r for r in tx.list_rollbacks(release_id=bundle.release_id)
                   if r.route == current.route and r.target == name]  # fmt: skip
        if earlier:  # already there: the re-run of a rollback that committed
            return RollbackResult(earlier[-1], current, None, False)
    after = rules.back_to(current, target=name, manifest=current.desired.manifests.get(name),
                          status=rules.RolloutStatus.ROLLED_BACK, at=at, by=ctx.actor)  # fmt: skip
    body = {"from": current.desired.weights, "to": after.desired.weights, "incident": incident,
            "automatic": False}  # fmt: skip
    rollback = _new(ctx, bundle.release_id, RollbackComponent.ROUTE, route=current, target=name,
                    reason=why, emergency=False, body=body, at=at)  # fmt: skip
    _store(tx, ctx, rollback)
    event = {"rollback_id": rollback.rollback_id, "component": "route"}
    routes.move(tx, ctx, current, after, EventKind.ROLLBACK, bundle.release_id, event, at=at)
    return RollbackResult(rollback, after, None, True)


def _record_only(
    tx: WriteTx,
    ctx: Context,
    bundle: FrozenBundle,
    kind: RollbackComponent,
    why: str,
    batch_run: str | None,
    compensation: Compensation | None,
    incident: str | None,
    at: str,
) -> RollbackResult:
    if kind is RollbackComponent.BATCH:
        run = (batch_run or "").strip()
        found = _quarantine(tx, run)
        if found is not None:  # quarantined once is quarantined
            return RollbackResult(found, None, None, False)
        body: dict[str, Any] = {"batch_run": run, "status": "quarantined", "incident": incident}
    else:
        assert compensation is not None
        body = {**compensation.model_dump(mode="json"), "incident": incident}
    rollback = _new(ctx, bundle.release_id, kind, route=None, target=None, reason=why,
                    emergency=False, body=body, at=at)  # fmt: skip
    _store(tx, ctx, rollback)
    return RollbackResult(rollback, None, None, True)


def _quarantine(tx: ReadTx, batch_run: str) -> Rollback | None:
    return next(
        (r for r in tx.list_rollbacks()
         if r.component is RollbackComponent.BATCH and r.body.get("batch_run") == batch_run),
        None,
    )  # fmt: skip


def is_quarantined(ctx: Context, batch_run: str) -> Rollback | None:
    """The quarantine of a batch run's outputs (None: not quarantined) — for consumers."""
    with ctx.store.read() as tx:
        return _quarantine(tx, batch_run)


def list_rollbacks(ctx: Context, release_id: str | None = None) -> list[Rollback]:
    """Stored rollbacks, oldest first."""
    with ctx.store.read() as tx:
        return tx.list_rollbacks(release_id=release_id)
