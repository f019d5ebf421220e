"""Routes: who gets a route's requests now (desired) and what the router applied (observed).

A route is the gateway name a release serves under (``fraud-scoring``), in one of two lanes:
staging (replayed and mock traffic) or production (shadow, canary, limited and scaled
production). Its *desired* traffic is what airel has decided — release → percent, shadow
copies, and the manifest each release runs under; its *observed* traffic is what the router
last applied, written only by the reconciler. ``version`` is the row version: every decision
is a compare-and-set on it, so two operators acting on the same version cannot both win;
``observed_version`` is the version the router applied (equal to ``version``: converged).

The transitions here are pure and total: each returns the next route (version + 1) or raises
with a stable reason code. Which releases a route may point at (only ones approved for the
lane) is the service's check, made with the records; the shape — shares that add up to 100 %,
no "latest", a rollout in progress on one candidate at a time — is checked here.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

from airel.domain.promotion.environments import Environment
from airel.errors import ConflictError, Reason, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=512)]


class Lane(StrEnum):
    """The traffic a route carries."""

    STAGING = "staging"  # replayed and mock traffic in the staging environment
    PRODUCTION = "production"  # real requests: shadow, canary, limited and scaled production


def lane_of(environment: Environment) -> Lane | None:
    """The lane an environment's deployments route in (None: no route — local, training)."""
    if environment is Environment.STAGING:
        return Lane.STAGING
    if environment.position > Environment.STAGING.position:
        return Lane.PRODUCTION
    return None


class RolloutStatus(StrEnum):
    """Where a route's rollout is."""

    STABLE = "stable"  # one approved release takes all the traffic; no rollout runs
    PROGRESSING = "progressing"  # a candidate moves through its plan's steps
    PAUSED = "paused"  # held by an operator: no step advances until it is resumed
    COMPLETED = "completed"  # the candidate passed the plan's last step
    ABORTED = "aborted"  # an operator stopped the rollout: traffic is back on the stable release
    ROLLED_BACK = "rolled_back"  # a stop condition or a rollback sent traffic to an approved one


ACTIVE = frozenset({RolloutStatus.PROGRESSING, RolloutStatus.PAUSED})


class Traffic(BaseModel):
    """Who gets the requests: shares that add up to 100, shadow copies, and manifests."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    weights: dict[Text, Annotated[float, Strict(False)]]  # release id → percent
    mirror: list[Text] = Field(default_factory=list)  # releases that get shadow copies
    manifests: dict[Text, Text] = Field(default_factory=dict)  # release → manifest digest

    @property
    def releases(self) -> list[str]:
        """Every release the route sends requests or copies to, largest share first."""
        live = sorted((r for r, s in self.weights.items() if s > 0), key=lambda r: -self.weights[r])
        return live + [r for r in self.mirror if r not in live]


class Route(BaseModel):
    """One route in one lane: desired and observed traffic, and the rollout that moves it."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    route: Text
    lane: Annotated[Lane, Strict(False)]
    version: int = Field(ge=1)
    status: Annotated[RolloutStatus, Strict(False)]
    environment: Annotated[Environment, Strict(False)]  # where the candidate (or stable) runs
    stable: Text  # the last-known-good release: what a rollback or an abort returns to
    candidate: Text | None = None  # the release being rolled out
    plan_digest: Text | None = None
    step: Text | None = None  # the plan step the candidate is in
    step_started_at: Text | None = None
    desired: Traffic
    observed: Traffic | None = None  # what the router applied last (None: never)
    observed_version: int = Field(default=0, ge=0)
    emergency: Text | None = None  # a component rollback's id: needs a restart gate decision
    updated_at: Text
    updated_by: Text

    @property
    def converged(self) -> bool:
        """The router runs what was decided."""
        return self.observed_version == self.version

    @property
    def key(self) -> str:
        """``route@lane``."""
        return f"{self.route}@{self.lane.value}"


def check_traffic(traffic: Traffic) -> Traffic:
    """``traffic`` when its shares are 0–100 and add up to 100; else PLAN_TRAFFIC_INVALID."""
    for release, share in traffic.weights.items():
        if not math.isfinite(share) or not 0 <= share <= 100:
            raise ValidationError(
                Reason.PLAN_TRAFFIC_INVALID,
                f"weights.{release}: {share!r}% is not a share between 0 and 100",
                fix="give each release a percentage between 0 and 100",
                details={"field": f"weights.{release}"},
            )
    total = sum(traffic.weights.values())
    if not traffic.weights or abs(total - 100.0) > 1e-6:
        raise ValidationError(
            Reason.PLAN_TRAFFIC_INVALID,
            f"weights add up to {total:g}%, not 100%",
            fix="split the route's traffic so the shares add up to exactly 100",
            details={"field": "weights", "total": total},
        )
    return traffic


def expect_version(route: Route, expected: int | None) -> None:
    """Refuse (ROUTE_CONFLICT) when the caller acted on a version that is no longer current."""
    if expected is not None and expected != route.version:
        raise ConflictError(
            Reason.STALE_VERSION,
            f"route {route.key} is at version {route.version}, not {expected}: someone else "
            "changed it",
            fix="re-read it (`airel rollout status`) and decide again on the current version",
            details={"route": route.route, "lane": route.lane.value, "version": route.version},
        )


def _next(route: Route, at: str, by: str, **changes: object) -> Route:
    return route.model_copy(
        update={"version": route.version + 1, "updated_at": at, "updated_by": by, **changes}
    )


def require_status(route: Route, action: str, *allowed: RolloutStatus) -> None:
    if route.status not in allowed:
        raise ValidationError(
            Reason.ROLLOUT_STATE,
            f"cannot {action} route {route.key}: its rollout is {route.status.value}",
            fix="`airel rollout status` shows what it is doing; "
            + ("resume it first" if route.status is RolloutStatus.PAUSED else "promote first"),
            details={"route": route.route, "status": route.status.value, "action": action},
        )


def start(
    existing: Route | None,
    *,
    route: str,
    lane: Lane,
    environment: Environment,
    candidate: str,
    stable: str,
    traffic: Traffic,
    plan_digest: str | None,
    step: str | None,
    at: str,
    by: str,
) -> Route:
    """A route running ``candidate`` under ``traffic`` (a promotion into the lane or forward)."""
    check_traffic(traffic)
    if existing is None:
        return Route(
            route=route, lane=lane, version=1, environment=environment, stable=stable,
            candidate=candidate, plan_digest=plan_digest, step=step, step_started_at=at,
            desired=traffic, updated_at=at, updated_by=by,
            status=_status_of(traffic, candidate, step),
        )  # fmt: skip
    if existing.status in ACTIVE and existing.candidate not in (None, candidate):
        raise ValidationError(
            Reason.ROLLOUT_STATE,
            f"route {existing.key} is rolling out {existing.candidate}",
            fix=f"finish or abort that rollout first (`airel rollout abort {existing.route}`)",
            details={"route": existing.route, "candidate": existing.candidate},
        )
    if existing.status is RolloutStatus.PAUSED:
        require_status(existing, "promote on", RolloutStatus.PROGRESSING)
    return _next(
        existing, at, by, environment=environment, stable=stable, candidate=candidate,
        plan_digest=plan_digest, step=step, step_started_at=at, desired=traffic,
        status=_status_of(traffic, candidate, step), emergency=None,
    )  # fmt: skip


def _status_of(traffic: Traffic, candidate: str, step: str | None) -> RolloutStatus:
    if traffic.weights.get(candidate, 0.0) >= 100.0 and step is None:
        return RolloutStatus.STABLE
    return RolloutStatus.PROGRESSING


def advance(route: Route, *, step: str, traffic: Traffic, environment: Environment,
            at: str, by: str) -> Route:  # fmt: skip
    """The candidate moves to the plan's next step (its analysis said advance)."""
    require_status(route, "advance", RolloutStatus.PROGRESSING)
    check_traffic(traffic)
    return _next(
        route, at, by, step=step, step_started_at=at, desired=traffic, environment=environment
    )


def complete(route: Route, *, at: str, by: str) -> Route:
    """The candidate passed the last step; at 100 % it becomes the last-known-good."""
    require_status(route, "complete", RolloutStatus.PROGRESSING)
    whole = route.candidate is not None and route.desired.weights.get(route.candidate) == 100.0
    stable = route.candidate if whole and route.candidate else route.stable
    return _next(route, at, by, status=RolloutStatus.COMPLETED, stable=stable)


def pause(route: Route, *, at: str, by: str) -> Route:
    """Hold the rollout where it is."""
    require_status(route, "pause", RolloutStatus.PROGRESSING)
    return _next(route, at, by, status=RolloutStatus.PAUSED)


def resume(route: Route, *, at: str, by: str) -> Route:
    """Let a paused rollout move again (its step's clock restarts)."""
    require_status(route, "resume", RolloutStatus.PAUSED)
    return _next(route, at, by, status=RolloutStatus.PROGRESSING, step_started_at=at)


def back_to(
    route: Route,
    *,
    target: str,
    manifest: str | None,
    status: RolloutStatus,
    at: str,
    by: str,
) -> Route:
    """All traffic to ``target`` (the stable release on an abort, an approved one on a
    rollback); shadow copies stop."""
    manifests = {target: manifest} if manifest else {}
    traffic = Traffic(weights={target: 100.0}, manifests=manifests)
    return _next(
        route, at, by, status=status, stable=target, desired=traffic, step=None,
        step_started_at=None, emergency=None,
    )  # fmt: skip


def abort(route: Route, *, manifest: str | None, at: str, by: str) -> Route:
    """Stop the rollout: the stable release takes all the traffic again."""
    require_status(route, "abort", *ACTIVE)
    return back_to(
        route, target=route.stable, manifest=manifest, status=RolloutStatus.ABORTED, at=at, by=by
    )


def recompose(route: Route, *, release: str, manifest: str, rollback_id: str,
              at: str, by: str) -> Route:  # fmt: skip
    """``release`` keeps its share but runs under another manifest (a component rollback):
    an emergency change that needs a restart gate decision before it may move on."""
    if release not in route.desired.releases:
        raise ValidationError(
            Reason.ROLLBACK_NOT_ALLOWED,
            f"route {route.key} does not run {release}",
            fix="roll back a release the route runs (`airel rollout status`)",
            details={"route": route.route, "release_id": release},
        )
    manifests = {**route.desired.manifests, release: manifest}
    desired = route.desired.model_copy(update={"manifests": manifests})
    status = RolloutStatus.PAUSED if route.status in ACTIVE else route.status
    return _next(route, at, by, desired=desired, emergency=rollback_id, status=status)


def observe(route: Route, *, at: str, by: str) -> Route:
    """The router applied the desired traffic (the version does not move)."""
    return route.model_copy(
        update={"observed": route.desired, "observed_version": route.version,
                "updated_at": at, "updated_by": by}
    )  # fmt: skip


class EventKind(StrEnum):
    """What moved a route (one event per route version, plus the router's observations)."""

    ADOPT = "adopt"  # a release that ran there before airel recorded as the stable one
    PROMOTE = "promote"  # a promotion put a candidate on the route
    ADVANCE = "advance"  # the step's analysis passed: the candidate took the next step
    COMPLETE = "complete"  # the candidate passed the plan's last step
    STOP = "stop"  # a stop condition held: traffic went back to the stable release
    PAUSE = "pause"  # an operator held the rollout
    RESUME = "resume"  # an operator let it move again
    ABORT = "abort"  # an operator stopped it: traffic back on the stable release
    ROLLBACK = "rollback"  # a rollback by component (route, model, prompt …)
    RESTORE = "restore"  # a drill put the release back after rolling it back in staging
    OBSERVE = "observe"  # the router applied the version


class RouteEvent(BaseModel):
    """One stored change of a route, with why (a step's analysis, a rollback's id …)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    route: str
    lane: Annotated[Lane, Strict(False)]
    version: int
    kind: Annotated[EventKind, Strict(False)]
    release_id: str | None
    body: dict[str, object] = Field(default_factory=dict)
    created_at: str
    created_by: str
