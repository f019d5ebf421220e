"""The promotion tables of the Store contract on SQLite and PostgreSQL alike (P1, P5, R6, C2).

Traffic plans and deployment manifests are content-addressed (a second write of the same
content changes nothing), promotions are unique, all are listed in write order, written only
with an audit entry, and bound to the chain: an edited row is caught by ``audit verify``.
"""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest
import sqlalchemy as sa

from airel.adapters.documents.parse import parse_yaml
from airel.client import Client
from airel.domain.promotion.environments import Environment
from airel.domain.promotion.manifest import DeploymentManifest, Monitoring, ToolMode
from airel.domain.promotion.promotion import Promotion, promotion_id_of
from airel.domain.promotion.traffic_plan import TrafficPlan, parse_traffic_plan
from airel.errors import ConflictError, Reason
from airel.store import schema
from airel.store.contract import WriteTx
from airel.store.sql import SqlStore

AT = "2026-12-03T12:00:00+00:00"
DECISION = "sha256:" + "d" * 64
PLAN = """\
plan_id: FRAUD-ROLLOUT-1
segments: {vulnerable: {}}
steps:
  - {name: shadow, environment: shadow, traffic_percent: 0}
  - name: canary
    environment: canary
    traffic_percent: 2
    exclude_segments: [vulnerable]
    stop: [{metric: canary_critical_failures, op: ">", value: 0}]
"""


def plan() -> TrafficPlan:
    return parse_traffic_plan(copy.deepcopy(dict(parse_yaml(PLAN).data)))


def manifest(share: float = 2.0, release: str = "FRAUD-002") -> DeploymentManifest:
    return DeploymentManifest(
        release_id=release,
        environment=Environment.CANARY,
        route="fraud-scoring",
        traffic={"FRAUD-001": 100.0 - share, release: share},
        components={"model": "fraud-model:3.4.2"},
        tools={"case-lookup": ToolMode.READ},
        monitoring=Monitoring(dashboard="d", auto_rollback=["any critical failure"]),
        decision_id=DECISION,
    )


def promotion(m: DeploymentManifest, at: str = AT) -> Promotion:
    return Promotion(
        promotion_id=promotion_id_of(m.release_id, m.environment, DECISION, m.digest, at),
        release_id=m.release_id,
        source=Environment.SHADOW,
        target=m.environment,
        decision_id=DECISION,
        plan_digest=plan().digest,
        deployment_digest=m.digest,
        expires_at="2026-12-17T12:00:00+00:00",
        created_at=at,
        created_by="rm",
        body={"baseline": "FRAUD-001", "controls": ["threshold rollback"]},
    )


def audited(fn: Any) -> Any:
    def run(tx: WriteTx) -> Any:
        out = fn(tx)
        tx.append_audit(actor="rm", action="promotion.test", subject="x", before=None, after=None)
        return out

    return run


def counts(client: Client) -> dict[str, int]:
    engine = cast(SqlStore, client.ctx.store).engine
    with engine.connect() as conn:
        return {
            n: conn.execute(
                sa.select(sa.func.count()).select_from(schema.metadata.tables[n])
            ).scalar_one()
            for n in ("traffic_plans", "deployments", "promotions", "audit_log")
        }


def test_plans_round_trip_and_are_content_addressed(client: Client) -> None:
    p = plan()
    store = client.ctx.store
    assert store.write(
        audited(lambda tx: tx.insert_traffic_plan(p, created_at=AT, created_by="rm"))
    )
    assert not store.write(
        audited(lambda tx: tx.insert_traffic_plan(p, created_at=AT, created_by="other"))
    )
    with store.read() as tx:
        back = tx.get_traffic_plan(p.digest)
        assert tx.get_traffic_plan("sha256:" + "0" * 64) is None
    assert back == p
    assert back is not None
    assert back.digest == p.digest
    assert counts(client)["traffic_plans"] == 1


def test_manifests_round_trip_in_write_order(client: Client) -> None:
    store = client.ctx.store
    a, b, c = manifest(2.0), manifest(10.0), manifest(5.0, release="FRAUD-003")
    for m in (a, b, c):
        assert store.write(
            audited(lambda tx, m=m: tx.insert_deployment(m, created_at=AT, created_by="rm"))
        )
    assert not store.write(
        audited(lambda tx: tx.insert_deployment(a, created_at=AT, created_by="x"))
    )
    with store.read() as tx:
        every = tx.list_deployments()
        of_002 = tx.list_deployments(release_id="FRAUD-002")
        of_route = tx.list_deployments(route="fraud-scoring")
        one = tx.get_deployment(b.digest)
        assert tx.list_deployments(route="other") == []
    assert [d.digest for d in every] == [a.digest, b.digest, c.digest]
    assert [d.digest for d in of_002] == [a.digest, b.digest]
    assert len(of_route) == 3
    assert one is not None
    assert one.manifest == b
    assert one.created_by == "rm"
    assert one.manifest.traffic == {"FRAUD-001": 90.0, "FRAUD-002": 10.0}


def test_promotions_round_trip_and_are_unique(client: Client) -> None:
    store = client.ctx.store
    m = manifest()
    first, second = promotion(m), promotion(m, at="2026-12-03T13:00:00+00:00")
    store.write(audited(lambda tx: tx.insert_promotion(first)))
    store.write(audited(lambda tx: tx.insert_promotion(second)))
    before = counts(client)
    with pytest.raises(ConflictError) as exc:
        store.write(audited(lambda tx: tx.insert_promotion(first)))
    assert exc.value.reason is Reason.DUPLICATE_RECORD
    assert counts(client) == before
    with store.read() as tx:
        listed = tx.list_promotions(release_id="FRAUD-002")
        back = tx.get_promotion(first.promotion_id)
        assert tx.list_promotions(release_id="FRAUD-009") == []
    assert [p.promotion_id for p in listed] == [first.promotion_id, second.promotion_id]
    assert back == first


@pytest.mark.parametrize("insert", ["plan", "deployment", "promotion"])
def test_promotion_writes_need_an_audit_entry(client: Client, insert: str) -> None:
    def fn(tx: WriteTx) -> None:
        if insert == "plan":
            tx.insert_traffic_plan(plan(), created_at=AT, created_by="rm")
        elif insert == "deployment":
            tx.insert_deployment(manifest(), created_at=AT, created_by="rm")
        else:
            tx.insert_promotion(promotion(manifest()))

    before = counts(client)
    with pytest.raises(RuntimeError, match="audit"):
        client.ctx.store.write(fn)
    assert counts(client) == before


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("traffic_plans", "plan_id", "OTHER-PLAN"),
        ("deployments", "body_json", None),  # None: the split edited inside the JSON
        ("promotions", "target", "scaled_production"),
    ],
)
def test_an_edited_promotion_row_is_caught_by_audit_verify(
    client: Client, table: str, column: str, value: str | None
) -> None:
    m = manifest()
    client.ctx.store.write(
        audited(
            lambda tx: (
                tx.insert_traffic_plan(plan(), created_at=AT, created_by="rm"),
                tx.insert_deployment(m, created_at=AT, created_by="rm"),
                tx.insert_promotion(promotion(m)),
            )
        )
    )
    assert client.verify_audit().ok
    tbl = schema.metadata.tables[table]
    engine = cast(SqlStore, client.ctx.store).engine
    with engine.begin() as conn:
        row = conn.execute(sa.select(tbl)).mappings().one()
        new = value if value is not None else row[column].replace('"FRAUD-002":2', '"FRAUD-002":20')
        assert new != row[column]
        conn.execute(tbl.update().values(**{column: new}))
    report = client.verify_audit()
    assert not report.ok
    assert report.problems == ()
    assert table in {p["table"] for p in report.record_problems}
