"""Use case: the reconciler — converge each route's router to the decided traffic (R6, P5).

``reconcile`` applies each route whose observed version lags its desired one to the router
and records the observation (once per version: a re-run after a crash re-applies, which is
idempotent, and writes the observation once — compare-and-set on the observed version). With
``analyse`` it also fires the stop conditions of progressing routes (the automatic-rollback
rule §5.1 requires), and with ``auto_advance`` it advances the ones whose analysis passed; each
such move is :func:`airel.services.promotion.rollouts.advance`, one step, one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from airel.adapters.router import Router
from airel.domain.promotion import route as rules
from airel.domain.promotion.route import EventKind, Route
from airel.domain.promotion.traffic_plan import StepVerdict
from airel.errors import ConflictError, Reason
from airel.services.kernel.context import Context
from airel.services.promotion import routes
from airel.services.promotion.rollouts import advance, analyse, list_routes
from airel.store.contract import WriteTx


def observe(ctx: Context, route: Route, router: Router) -> Route | None:
    """Apply ``route``'s desired traffic and record it (None: it moved meanwhile, or another
    reconciler recorded it first — the next pass picks it up)."""
    router.apply(route)

    def write(tx: WriteTx) -> Route | None:
        current = tx.get_route(route.route, route.lane)
        if current is None or current.version != route.version or current.converged:
            return None
        at = ctx.stamp()
        after = rules.observe(current, at=at, by=ctx.actor)
        body = {"router": router.name}
        routes.move(tx, ctx, current, after, EventKind.OBSERVE, current.candidate, body, at=at,
                    expected_observed=current.observed_version)  # fmt: skip
        return after

    # an observation keeps the version: compare-and-set on the observed version instead
    return ctx.store.write(write)


@dataclass(frozen=True)
class ReconcileReport:
    """One pass of the reconciler."""

    stopped: list[str]  # routes a stop condition rolled back
    advanced: list[str]  # routes whose candidate took the next step
    applied: list[str]  # routes the router now serves as decided

    def to_dict(self) -> dict[str, list[str]]:
        """JSON form."""
        return {"stopped": self.stopped, "advanced": self.advanced, "applied": self.applied}


def reconcile(
    ctx: Context, router: Router, *, analyse: bool = True, auto_advance: bool = False
) -> ReconcileReport:
    """One pass over every route (see the module docstring)."""
    stopped: list[str] = []
    advanced: list[str] = []
    applied: list[str] = []
    for r in list_routes(ctx):
        if analyse and r.status is rules.RolloutStatus.PROGRESSING and r.step is not None:
            outcome = _reconcile_step(ctx, r, auto_advance=auto_advance)
            if outcome == "stop":
                stopped.append(r.key)
            elif outcome in ("advance", "complete"):
                advanced.append(r.key)
    for r in list_routes(ctx):
        if not r.converged and observe(ctx, r, router) is not None:
            applied.append(r.key)
    return ReconcileReport(stopped, advanced, applied)


def _reconcile_step(ctx: Context, r: Route, *, auto_advance: bool) -> str:
    found = analyse(ctx, r.route, lane=r.lane)
    verdict = found.analysis.verdict if found.analysis else None
    if verdict is StepVerdict.STOP or (verdict is StepVerdict.ADVANCE and auto_advance):
        try:
            return advance(ctx, r.route, lane=r.lane, expected_version=r.version).verdict
        except ConflictError as exc:  # another writer moved it first: the next pass sees it
            if exc.reason is Reason.STALE_VERSION:
                return "conflict"
            raise
    return "analysed"  # nothing to act on (or advancing is left to an operator)
