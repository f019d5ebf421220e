"""The store contract of the promotion context: traffic plans, deployment manifests,
promotions; routes, their events, rollbacks and drills (the rollout records); continuous-
training trigger records and the incidents they, rollouts and rollbacks open.

Plans, manifests, promotions, events, rollbacks and drills are immutable once written. Plans
and manifests are content-addressed: writing one that is already stored changes nothing and
says so (``False``); a promotion id is unique. A route is the one mutable record:
:meth:`RolloutWrites.put_route` is a compare-and-set on its version (and, for the router's
observation, on the version it last observed), so two writers acting on what they read cannot
both win.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a contract names the models; importing it builds none (issue 10)
    from airel.domain.promotion.ct_trigger import CtTrigger, Incident
    from airel.domain.promotion.manifest import DeploymentManifest, StoredDeployment
    from airel.domain.promotion.promotion import Promotion
    from airel.domain.promotion.rollback import Rollback
    from airel.domain.promotion.route import Lane, Route, RouteEvent
    from airel.domain.promotion.runbook import Drill
    from airel.domain.promotion.traffic_plan import TrafficPlan


class PromotionReads(Protocol):
    """Reads of the promotion context."""

    def get_traffic_plan(self, digest: str) -> TrafficPlan | None: ...

    def get_deployment(self, digest: str) -> StoredDeployment | None: ...

    def list_deployments(
        self, *, release_id: str | None = None, route: str | None = None
    ) -> list[StoredDeployment]:
        """Manifests in the order they were written, optionally of one release or route."""
        ...

    def get_promotion(self, promotion_id: str) -> Promotion | None: ...

    def list_promotions(self, *, release_id: str | None = None) -> list[Promotion]:
        """Promotions in the order they were written, optionally of one release."""
        ...


class PromotionWrites(Protocol):
    """Mutations of the promotion context (inside :meth:`Store.write`)."""

    def insert_traffic_plan(self, plan: TrafficPlan, *, created_at: str, created_by: str) -> bool:
        """Store a plan under its digest; False when that plan is already stored."""
        ...

    def insert_deployment(
        self, manifest: DeploymentManifest, *, created_at: str, created_by: str
    ) -> bool:
        """Store a manifest under its digest; False when that manifest is already stored."""
        ...

    def insert_promotion(self, promotion: Promotion) -> None:
        """Store a promotion; a second one with the same id is DUPLICATE_RECORD."""
        ...


class RolloutReads(Protocol):
    """Reads of the rollout records."""

    def get_route(self, route: str, lane: Lane) -> Route | None: ...

    def list_routes(self) -> list[Route]:
        """Every route, by name and lane."""
        ...

    def list_route_events(
        self, *, route: str | None = None, lane: Lane | None = None, release_id: str | None = None
    ) -> list[RouteEvent]:
        """Events in the order they were written."""
        ...

    def get_rollback(self, rollback_id: str) -> Rollback | None: ...

    def list_rollbacks(self, *, release_id: str | None = None) -> list[Rollback]:
        """Rollbacks in the order they were written."""
        ...

    def get_drill(self, drill_id: str) -> Drill | None: ...

    def list_drills(self, *, release_id: str | None = None) -> list[Drill]: ...


class RolloutWrites(Protocol):
    """Mutations of the rollout records (inside :meth:`Store.write`)."""

    def put_route(
        self, route: Route, *, expected_version: int | None, expected_observed: int | None = None
    ) -> None:
        """Insert a new route (``expected_version`` None) or replace the stored one whose
        version (and observed version, when given) is the expected one; else STALE_VERSION."""
        ...

    def insert_route_event(self, event: RouteEvent) -> None: ...

    def insert_rollback(self, rollback: Rollback) -> None: ...

    def insert_drill(self, drill: Drill) -> None: ...


class TriggerReads(Protocol):
    """Reads of the trigger records."""

    def get_ct_trigger(self, trigger_id: str) -> CtTrigger | None: ...

    def list_ct_triggers(self, *, use_case_id: str | None = None) -> list[CtTrigger]:
        """Trigger records in the order they were written, optionally of one use case."""
        ...

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def list_incidents(
        self, *, release_id: str | None = None, use_case_id: str | None = None
    ) -> list[Incident]:
        """Incidents in the order they were opened, optionally of one release or use case."""
        ...


class TriggerWrites(Protocol):
    """Mutations of the trigger records (inside :meth:`Store.write`)."""

    def insert_ct_trigger(self, trigger: CtTrigger) -> None:
        """Store a trigger record; a second one with the same id is DUPLICATE_RECORD."""
        ...

    def insert_incident(self, incident: Incident) -> None:
        """Store an incident; a second one with the same id is DUPLICATE_RECORD."""
        ...
