"""Routes, rollouts, rollbacks by component and drills (``airel rollout``, ``airel reconcile``,
``airel rollback``).

A facet of :class:`airel.Client` (``client.rollouts``), loaded when first used; each method is
one service call with its arguments translated. Lanes are ``production`` (default) and
``staging``; ``expected_version`` is the route version the caller decided on (a conflict if
someone moved it since).
"""

from __future__ import annotations

import builtins
from pathlib import Path

from airel.adapters.router import EmbeddedRouter, FileRouter, Router
from airel.domain.promotion.manifest import ToolMode
from airel.domain.promotion.rollback import Compensation, Rollback, RollbackComponent
from airel.domain.promotion.route import Lane, Route, RouteEvent
from airel.domain.promotion.runbook import Drill, RunbookStep
from airel.sdk.facet import Facet
from airel.services.promotion import drills, reconciler, rollbacks, rollouts
from airel.services.promotion.reconciler import ReconcileReport
from airel.services.promotion.rollbacks import RollbackResult
from airel.services.promotion.rollouts import StepOutcome


def router_of(directory: Path | str | None) -> Router:
    """The file router writing into ``directory``, else the embedded one."""
    return FileRouter(Path(directory)) if directory is not None else EmbeddedRouter()


class Rollouts(Facet):
    """The ``client.rollouts`` facet (see the module docstring)."""

    def routes(self) -> builtins.list[Route]:
        """Every route, by name and lane."""
        return rollouts.list_routes(self.ctx)

    def route(self, route: str, *, lane: Lane | str = Lane.PRODUCTION) -> Route:
        """One route: desired and observed traffic, status, step."""
        return rollouts.get_route(self.ctx, route, lane=Lane(lane))

    def history(
        self, route: str, *, lane: Lane | str = Lane.PRODUCTION
    ) -> builtins.list[RouteEvent]:
        """What moved the route, oldest first."""
        return rollouts.route_history(self.ctx, route, lane=Lane(lane))

    def adopt(
        self,
        route: str,
        release_id: str,
        *,
        change_approval: str,
        deployment: Path | str | None = None,
    ) -> Route:
        """Record the release a production route ran before airel as its stable release
        (with ``deployment``: its manifest too, e.g. the endpoint the gateway calls)."""
        return rollouts.adopt(
            self.ctx,
            route,
            release_id=release_id,
            change_approval=change_approval,
            deployment=Path(deployment) if deployment is not None else None,
        )

    def analyse(self, route: str, *, lane: Lane | str = Lane.PRODUCTION) -> StepOutcome:
        """The current step's verdict from the evidence recorded since it began."""
        return rollouts.analyse(self.ctx, route, lane=Lane(lane))

    def advance(
        self,
        route: str,
        *,
        lane: Lane | str = Lane.PRODUCTION,
        expected_version: int | None = None,
        to_step: str | None = None,
    ) -> StepOutcome:
        """Analyse the step and act: advance, complete, stop (roll back) — or hold."""
        return rollouts.advance(
            self.ctx, route, lane=Lane(lane), expected_version=expected_version, to_step=to_step
        )

    def pause(
        self,
        route: str,
        *,
        lane: Lane | str = Lane.PRODUCTION,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> Route:
        """Hold the rollout."""
        return rollouts.pause(
            self.ctx, route, lane=Lane(lane), expected_version=expected_version, reason=reason
        )

    def resume(
        self,
        route: str,
        *,
        lane: Lane | str = Lane.PRODUCTION,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> Route:
        """Let a paused rollout move again."""
        return rollouts.resume(
            self.ctx, route, lane=Lane(lane), expected_version=expected_version, reason=reason
        )

    def abort(
        self,
        route: str,
        *,
        lane: Lane | str = Lane.PRODUCTION,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> Route:
        """Stop the rollout: the stable release takes all the traffic again."""
        return rollouts.abort(
            self.ctx, route, lane=Lane(lane), expected_version=expected_version, reason=reason
        )

    def reconcile(
        self,
        *,
        router_dir: Path | str | None = None,
        analyse: bool = True,
        auto_advance: bool = False,
    ) -> ReconcileReport:
        """One reconciler pass: stop conditions, optional advances, the router converged."""
        return reconciler.reconcile(
            self.ctx, router_of(router_dir), analyse=analyse, auto_advance=auto_advance
        )

    def rollback(
        self,
        release_id: str,
        component: RollbackComponent | str,
        *,
        route: str | None = None,
        lane: Lane | str = Lane.PRODUCTION,
        to: str | None = None,
        reason: str = "",
        tool_mode: ToolMode | str = ToolMode.READ,
        batch_run: str | None = None,
        compensation: Compensation | None = None,
        incident: str | None = None,
        expected_version: int | None = None,
    ) -> RollbackResult:
        """Roll a release back by component (route, model, prompt … compensation)."""
        return rollbacks.rollback(
            self.ctx,
            release_id,
            component,
            route=route,
            lane=Lane(lane),
            to=to,
            reason=reason,
            tool_mode=ToolMode(tool_mode),
            batch_run=batch_run,
            compensation=compensation,
            incident=incident,
            expected_version=expected_version,
        )

    def rollbacks(self, release_id: str | None = None) -> builtins.list[Rollback]:
        """Stored rollbacks, oldest first."""
        return rollbacks.list_rollbacks(self.ctx, release_id)

    def quarantined(self, batch_run: str) -> Rollback | None:
        """The quarantine of a batch run's outputs (None: consumers may use them)."""
        return rollbacks.is_quarantined(self.ctx, batch_run)

    def runbook(self, release_id: str) -> tuple[builtins.list[RunbookStep], str]:
        """The §8.6 runbook of a release: its steps and their Markdown."""
        return drills.runbook(self.ctx, release_id)

    def drill(
        self, release_id: str, *, route: str | None = None, router_dir: Path | str | None = None
    ) -> Drill:
        """Run the runbook in staging and store the drill as evidence."""
        return drills.drill(
            self.ctx, release_id, route=route, router=router_of(router_dir) if router_dir else None
        )

    def drills(self, release_id: str | None = None) -> builtins.list[Drill]:
        """Stored drills, oldest first."""
        return drills.list_drills(self.ctx, release_id)
