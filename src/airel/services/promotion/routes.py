"""What every use case that moves a route shares: the compare-and-set write with its event and
audit entry, the approval check on every release a route may point at, and the restart gate.

A route may only send requests (or shadow copies) to a release that was approved for the
environment: a stored gate decision of that release admitted it (an expired one counts — a
rollback goes back to what was approved then), or the release was *adopted* as the route's
stable release (``airel rollout adopt``: the release that ran there before airel, recorded with
its change approval). :func:`require_approved` is the one place that rule is checked.
"""

from __future__ import annotations

from typing import Any

from airel.domain.gate.records import DecisionRecord
from airel.domain.gate.stack import Stage
from airel.domain.promotion.environments import Environment
from airel.domain.promotion.rollback import Approval, RollbackComponent, admits
from airel.domain.promotion.route import EventKind, Lane, Route, RouteEvent, lane_of
from airel.errors import NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.store.contract import ReadTx, WriteTx


def route_subject(route: Route) -> str:
    """The audit subject of a route."""
    return f"route/{route.route}@{route.lane.value}"


def move(
    tx: WriteTx,
    ctx: Context,
    before: Route | None,
    after: Route,
    kind: EventKind,
    release_id: str | None,
    body: dict[str, Any],
    *,
    at: str,
    expected_observed: int | None = None,
) -> RouteEvent:
    """Store ``after`` in place of ``before`` (compare-and-set on its version), with the event
    and one audit entry; a writer that read an older version loses with STALE_VERSION."""
    tx.put_route(
        after,
        expected_version=before.version if before is not None else None,
        expected_observed=expected_observed,
    )
    event = RouteEvent(
        route=after.route,
        lane=after.lane,
        version=after.version,
        kind=kind,
        release_id=release_id,
        body=body,
        created_at=at,
        created_by=ctx.actor,
    )
    tx.insert_route_event(event)
    tx.append_audit(
        actor=ctx.actor,
        action=f"route.{kind.value}",
        subject=route_subject(after),
        before=f"v{before.version}" if before is not None else None,
        after=f"v{after.version}",
        details={
            "status": after.status.value,
            "weights": after.desired.weights,
            "mirror": after.desired.mirror,
            "release_id": release_id,
            **{k: v for k, v in body.items() if isinstance(v, str | int | float | bool)},
        },
    )
    return event


def approvals_of(tx: ReadTx, release_id: str) -> list[Approval]:
    """What every stored decision of ``release_id`` allowed (kind and stage cap)."""
    out = []
    for record in tx.list_decisions(release_id):
        outcome: dict[str, Any] = record.body.get("outcome") or {}
        cap = outcome.get("max_stage") or (outcome.get("conditions") or {}).get("max_stage")
        out.append(Approval(record.decision, Stage(cap) if cap else None))
    return out


def adopted(tx: ReadTx, release_id: str) -> bool:
    """Whether ``release_id`` was adopted as a production route's stable release."""
    return any(
        e.kind is EventKind.ADOPT and e.lane is Lane.PRODUCTION
        for e in tx.list_route_events(release_id=release_id)
    )


def approved_for(tx: ReadTx, release_id: str, environment: Environment) -> bool:
    """Whether a route in ``environment`` may point at ``release_id`` (module docstring)."""
    if admits(approvals_of(tx, release_id), environment):
        return True
    return lane_of(environment) is not None and adopted(tx, release_id)


def require_approved(tx: ReadTx, release_id: str, environment: Environment, *, role: str) -> None:
    """Refuse (ROLLBACK_NOT_ALLOWED) a route to a release never approved for ``environment``."""
    if tx.get_bundle(release_id) is None:
        raise NotFoundError(
            Reason.ROLLBACK_TARGET_NOT_FOUND,
            f"the {role} {release_id} is not a frozen release",
            fix="name a frozen release (`airel bundle list`)",
            details={"release_id": release_id, "role": role},
        )
    if not approved_for(tx, release_id, environment):
        raise ValidationError(
            Reason.ROLLBACK_NOT_ALLOWED,
            f"the {role} {release_id} was never approved for {environment.value}",
            fix=(
                f"gate it (`airel gate check {release_id}`), or, if it ran there before airel, "
                f"adopt it (`airel rollout adopt ROUTE --release {release_id} "
                "--change-approval CHG-…`)"
            ),
            details={"release_id": release_id, "environment": environment.value, "role": role},
        )


def get_route(tx: ReadTx, route: str, lane: Lane) -> Route:
    """The stored route, or ROUTE_NOT_FOUND."""
    found = tx.get_route(route, lane)
    if found is None:
        raise NotFoundError(
            Reason.ROUTE_NOT_FOUND,
            f"no route {route} in the {lane.value} lane",
            fix="promote a release onto it first; `airel rollout status` lists routes",
            details={"route": route, "lane": lane.value},
        )
    return found


def check_restart_gate(
    tx: ReadTx, route: Route | None, release_id: str, latest: DecisionRecord | None
) -> None:
    """After a rollback of ``release_id`` on ``route`` it may move on only under a gate
    decision taken after the rollback (§5.8): an emergency composition it still runs, or a
    route rollback (a stop condition, an operator) that took it off the route."""
    if route is None:
        return
    rollback = tx.get_rollback(route.emergency) if route.emergency else None
    if rollback is None or rollback.release_id != release_id:
        rollback = None
        if release_id not in route.desired.releases:
            rollback = next(
                (
                    r
                    for r in reversed(tx.list_rollbacks(release_id=release_id))
                    if r.route == route.route and r.lane == route.lane.value
                    and r.component is RollbackComponent.ROUTE
                ),
                None,
            )  # fmt: skip
    if rollback is None:
        return
    if latest is None or latest.created_at <= rollback.created_at:
        raise ValidationError(
            Reason.RESTART_GATE_REQUIRED,
            f"{release_id} was rolled back ({rollback.component.value}, "
            f"{rollback.rollback_id[:19]}…) on route {route.key}; it needs a restart gate "
            "decision taken after the rollback",
            fix=f"fix the cause, then run `airel gate check {release_id}` and try again",
            details={"release_id": release_id, "rollback_id": rollback.rollback_id},
        )
