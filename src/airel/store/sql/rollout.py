"""Rollout tables of the SQL store (issue 11), a part of :mod:`airel.store.sql`'s transactions.

A route row keeps its model as canonical JSON beside the columns a query or a compare-and-set
needs (version, observed version, status). ``put_route`` updates ``WHERE version = expected``
(and ``observed_version = expected_observed`` for an observation): a writer that read an older
version changes nothing and gets STALE_VERSION — on SQLite writers are serialised anyway, on
PostgreSQL the row lock and the predicate make the second one lose.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.kernel.canonical import canonical_bytes
from airel.domain.release.records import RecordTable
from airel.errors import ConflictError, Reason
from airel.store import schema as t
from airel.store.sql.records import RecordWrites, dumps_json, next_seq

if TYPE_CHECKING:  # the models load when a rollout record is read (issue 10)
    from airel.domain.promotion.rollback import Rollback
    from airel.domain.promotion.route import Lane, Route, RouteEvent
    from airel.domain.promotion.runbook import Drill


def _canonical(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def _route(body: str) -> Route:
    from airel.domain.promotion.route import Route  # noqa: PLC0415

    return Route.model_validate_json(body, strict=False)


def _event(row: sa.Row[Any]) -> RouteEvent:
    from airel.domain.promotion.route import RouteEvent  # noqa: PLC0415

    r = row._mapping
    return RouteEvent(
        route=r["route"], lane=r["lane"], version=r["version"], kind=r["kind"],
        release_id=r["release_id"], body=json.loads(r["body_json"]),
        created_at=r["created_at"], created_by=r["created_by"],
    )  # fmt: skip


def _rollback(body: str) -> Rollback:
    from airel.domain.promotion.rollback import Rollback  # noqa: PLC0415

    return Rollback.model_validate_json(body, strict=False)


def _drill(body: str) -> Drill:
    from airel.domain.promotion.runbook import Drill  # noqa: PLC0415

    return Drill.model_validate_json(body)


class RolloutReads:
    """Reads of the rollout records."""

    conn: Connection

    def get_route(self, route: str, lane: Lane) -> Route | None:
        c = t.routes.c
        row = self.conn.execute(
            sa.select(c.body_json).where(c.route == route, c.lane == lane.value)
        ).first()
        return _route(row[0]) if row else None

    def list_routes(self) -> list[Route]:
        c = t.routes.c
        rows = self.conn.execute(sa.select(c.body_json).order_by(c.route, c.lane))
        return [_route(r[0]) for r in rows]

    def list_route_events(
        self, *, route: str | None = None, lane: Lane | None = None, release_id: str | None = None
    ) -> list[RouteEvent]:
        c = t.route_events.c
        query = sa.select(t.route_events).order_by(c.seq)
        if route is not None:
            query = query.where(c.route == route)
        if lane is not None:
            query = query.where(c.lane == lane.value)
        if release_id is not None:
            query = query.where(c.release_id == release_id)
        return [_event(r) for r in self.conn.execute(query)]

    def get_rollback(self, rollback_id: str) -> Rollback | None:
        c = t.rollbacks.c
        row = self.conn.execute(sa.select(c.body_json).where(c.rollback_id == rollback_id)).first()
        return _rollback(row[0]) if row else None

    def list_rollbacks(self, *, release_id: str | None = None) -> list[Rollback]:
        c = t.rollbacks.c
        query = sa.select(c.body_json).order_by(c.seq, c.rollback_id)
        if release_id is not None:
            query = query.where(c.release_id == release_id)
        return [_rollback(r[0]) for r in self.conn.execute(query)]

    def get_drill(self, drill_id: str) -> Drill | None:
        c = t.drills.c
        row = self.conn.execute(sa.select(c.body_json).where(c.drill_id == drill_id)).first()
        return _drill(row[0]) if row else None

    def list_drills(self, *, release_id: str | None = None) -> list[Drill]:
        c = t.drills.c
        query = sa.select(c.body_json).order_by(c.seq, c.drill_id)
        if release_id is not None:
            query = query.where(c.release_id == release_id)
        return [_drill(r[0]) for r in self.conn.execute(query)]


def _stale(route: Route, expected: int | None) -> ConflictError:
    return ConflictError(
        Reason.STALE_VERSION,
        f"route {route.key} changed since it was read (expected version {expected})",
        fix="re-read it (`airel rollout status`) and decide again on the current version",
        details={"route": route.route, "lane": route.lane.value, "expected": expected},
    )


class RolloutWrites(RecordWrites, RolloutReads):
    """Writes of the rollout records (each a mutation that needs an audit entry)."""

    conn: Connection
    mutations: int

    def put_route(
        self, route: Route, *, expected_version: int | None, expected_observed: int | None = None
    ) -> None:
        c = t.routes.c
        values = {
            "version": route.version,
            "observed_version": route.observed_version,
            "status": route.status.value,
            "body_json": _canonical(route.model_dump(mode="json")),
            "updated_at": route.updated_at,
            "updated_by": route.updated_by,
        }
        self.mutations += 1
        if expected_version is None:
            if self.get_route(route.route, route.lane) is not None:
                raise _stale(route, None)
            self.conn.execute(
                t.routes.insert().values(route=route.route, lane=route.lane.value, **values)
            )
        else:
            query = sa.update(t.routes).where(
                c.route == route.route, c.lane == route.lane.value, c.version == expected_version
            )
            if expected_observed is not None:
                query = query.where(c.observed_version == expected_observed)
            if self.conn.execute(query.values(**values)).rowcount != 1:
                raise _stale(route, expected_version)
        self.bind(RecordTable.ROUTES, route.route, route.lane.value)

    def insert_route_event(self, event: RouteEvent) -> None:
        c = t.route_events.c
        key = (event.route, event.lane.value, event.version, event.kind.value)
        found = self.conn.execute(
            sa.select(c.version).where(
                c.route == key[0], c.lane == key[1], c.version == key[2], c.kind == key[3]
            )
        ).first()
        if found is not None:
            raise ConflictError(
                Reason.DUPLICATE_RECORD,
                f"route {event.route}@{event.lane.value} already has a {event.kind.value} event "
                f"at version {event.version}",
                fix="re-read the route: another writer moved it",
                details={"route": event.route, "version": event.version},
            )
        self.mutations += 1
        self.conn.execute(
            t.route_events.insert().values(
                route=event.route,
                lane=event.lane.value,
                version=event.version,
                kind=event.kind.value,
                release_id=event.release_id,
                body_json=dumps_json(event.body),
                created_at=event.created_at,
                created_by=event.created_by,
                seq=next_seq(t.route_events),
            )
        )
        self.bind(
            RecordTable.ROUTE_EVENTS, event.route, event.lane.value, event.version, event.kind.value
        )

    def insert_rollback(self, rollback: Rollback) -> None:
        if self.get_rollback(rollback.rollback_id) is not None:
            raise ConflictError(
                Reason.DUPLICATE_RECORD,
                f"rollback {rollback.rollback_id[:19]}… is already stored",
                fix="a rollback is recorded once",
                details={"rollback_id": rollback.rollback_id},
            )
        self.mutations += 1
        self.conn.execute(
            t.rollbacks.insert().values(
                rollback_id=rollback.rollback_id,
                release_id=rollback.release_id,
                component=rollback.component.value,
                route=rollback.route,
                lane=rollback.lane,
                body_json=_canonical(rollback.model_dump(mode="json")),
                created_at=rollback.created_at,
                created_by=rollback.created_by,
                seq=next_seq(t.rollbacks),
            )
        )
        self.bind(RecordTable.ROLLBACKS, rollback.rollback_id)

    def insert_drill(self, drill: Drill) -> None:
        if self.get_drill(drill.drill_id) is not None:
            raise ConflictError(
                Reason.DUPLICATE_RECORD,
                f"drill {drill.drill_id[:19]}… is already stored",
                fix="a drill is recorded once; run another",
                details={"drill_id": drill.drill_id},
            )
        self.mutations += 1
        self.conn.execute(
            t.drills.insert().values(
                drill_id=drill.drill_id,
                release_id=drill.release_id,
                body_json=_canonical(drill.model_dump(mode="json")),
                created_at=drill.created_at,
                created_by=drill.created_by,
                seq=next_seq(t.drills),
            )
        )
        self.bind(RecordTable.DRILLS, drill.drill_id)
