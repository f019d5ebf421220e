"""Crash test (issue 11): the process is killed (``os._exit``, no clean-up, no rollback) at
every SQL statement inside an advance-and-reconcile and inside a route rollback-and-reconcile —
more than 50 kill points in all. After the "restart" the operator re-runs the same command and
the reconciler runs: the route converges to exactly the state of an uninterrupted run, with no
duplicate event or audit entry, the router file matches, and the audit chain verifies.

SQLite (the embedded default), where a killed writer leaves a hot journal to recover from.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from airel.adapters.router import FileRouter
from airel.client import Client
from airel.config import load_settings
from airel.domain.promotion.route import Lane
from airel.services.kernel.context import Context
from airel.services.promotion import reconciler, rollbacks, rollouts
from gate_fixtures import ROUTE, V2
from rollout_helpers import MovingClock, ready_rollout, to_shadow

Op = Callable[[Context, FileRouter], None]


def advance_op(ctx: Context, router: FileRouter) -> None:
    """The operator's command, as a re-run after a crash would repeat it, then the reconciler."""
    rollouts.advance(ctx, ROUTE, to_step="canary-1")
    reconciler.reconcile(ctx, router, analyse=False)


def rollback_op(ctx: Context, router: FileRouter) -> None:
    rollbacks.rollback(ctx, V2, "route", reason="crash drill")
    reconciler.reconcile(ctx, router, analyse=False)


@dataclasses.dataclass
class Store:
    """A prepared SQLite store file and the clock time its context runs at."""

    project: Path
    template: Path
    at: Any

    def open(self, db: Path) -> tuple[Client, Context]:
        client = Client(
            load_settings(
                {"database_url": f"sqlite:///{db}", "actor": "ops"}, cwd=self.project, environ={}
            )
        )
        return client, dataclasses.replace(client.ctx, clock=MovingClock(self.at))

    def copy(self, name: str) -> Path:
        db = self.project / f"{name}.db"
        shutil.copyfile(self.template, db)
        return db


def statements(store: Store, op: Op) -> int:
    """How many SQL statements the uninterrupted operation runs."""
    client, ctx = store.open(store.copy("count"))
    seen = [0]
    engine = ctx.store.engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.__setitem__(0, seen[0] + 1))
    op(ctx, FileRouter(store.project / "routes-count"))
    client.close()
    return seen[0]


def killed_at(store: Store, op: Op, db: Path, routes: Path, point: int) -> int:
    """Run ``op`` in a forked child that dies at SQL statement ``point``; its exit status."""
    pid = os.fork()
    if pid == 0:  # the child: no pytest clean-up, no rollback — the process just ends
        try:
            _client, ctx = store.open(db)
            count = [0]

            def bomb(*_: Any) -> None:
                count[0] += 1
                if count[0] == point:
                    os._exit(137)

            sa.event.listen(ctx.store.engine, "before_cursor_execute", bomb)  # type: ignore[attr-defined]
            op(ctx, FileRouter(routes))
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def outcome(ctx: Context, router: FileRouter) -> dict[str, Any]:
    """What an operator and an auditor compare: the route, its events, the audit actions."""
    route = rollouts.get_route(ctx, ROUTE)
    with ctx.store.read() as tx:
        actions = [e.action for e in tx.iter_audit()]
        events = [(e.version, e.kind.value) for e in tx.list_route_events(lane=Lane.PRODUCTION)]
    served = router.read(route)
    return {
        "version": route.version,
        "observed_version": route.observed_version,
        "status": route.status.value,
        "step": route.step,
        "weights": route.desired.weights,
        "observed": route.observed.weights if route.observed else None,
        "events": events,
        "actions": actions,
        "router": served["weights"] if served else None,
    }


@pytest.fixture
def prepared(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any, project: Path
) -> Callable[[str], Store]:
    r = ready_rollout(fraud_registry, bundle_yaml, write)
    stores: dict[str, Store] = {}

    def snapshot(name: str) -> None:
        template = project / f"{name}-template.db"
        fraud_registry.close()
        shutil.copyfile(project / ".airel" / "airel.db", template)
        stores[name] = Store(project, template, r.clock.at)

    to_shadow(r)
    r.attest("shadow", shadow_side_effects=0, shadow_requests=500)
    snapshot("advance")  # the shadow step has passed: the next advance enters canary
    rollouts.advance(r.ctx, ROUTE)
    snapshot("rollback")  # in canary at 5 %: a rollback sends everything back
    return stores.__getitem__


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("name", ["advance", "rollback"])
def test_a_kill_at_any_statement_converges_after_a_rerun(
    prepared: Callable[[str], Store], name: str
) -> None:
    store = prepared(name)
    op = advance_op if name == "advance" else rollback_op
    client, ctx = store.open(store.copy("reference"))
    op(ctx, FileRouter(store.project / "routes-ref"))
    reference = outcome(ctx, FileRouter(store.project / "routes-ref"))
    client.close()
    total = statements(store, op)
    assert total >= 25, total  # every statement of the operation is a kill point
    for point in range(1, total + 1):
        db, routes = store.copy(f"{name}-{point}"), store.project / f"routes-{name}-{point}"
        assert killed_at(store, op, db, routes, point) == 137, point
        client, ctx = store.open(db)  # the restart
        op(ctx, FileRouter(routes))  # the operator re-runs the command; the reconciler runs
        after = outcome(ctx, FileRouter(routes))
        assert after == reference, point
        assert client.verify_audit().ok, point
        client.close()
