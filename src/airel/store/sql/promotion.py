"""Promotion-context tables of the SQL store: traffic plans, deployment manifests, promotions.

One part of the transaction classes in :mod:`airel.store.sql` (as the contract's
:mod:`airel.store.contract.promotion`): they mix it in, so the queries share the connection and
the audit-or-refuse rule of every write. Plans and manifests are stored as canonical JSON under
their digest, so the row is the record; ``seq`` keeps the order they were written in.
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

if TYPE_CHECKING:  # the promotion models load when a promotion record is read (issue 10)
    from airel.domain.promotion.manifest import DeploymentManifest, StoredDeployment
    from airel.domain.promotion.promotion import Promotion
    from airel.domain.promotion.traffic_plan import TrafficPlan


def _canonical(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def _deployment(row: sa.Row[Any]) -> StoredDeployment:
    from airel.domain.promotion.manifest import DeploymentManifest, StoredDeployment  # noqa: PLC0415

    manifest = DeploymentManifest.model_validate_json(row.body_json, strict=False)
    return StoredDeployment(manifest, row.created_at, row.created_by)


def _promotion(row: sa.Row[Any]) -> Promotion:
    from airel.domain.promotion.promotion import Promotion  # noqa: PLC0415

    r = row._mapping
    return Promotion(
        promotion_id=r["promotion_id"],
        release_id=r["release_id"],
        source=r["source"],
        target=r["target"],
        decision_id=r["decision_id"],
        plan_digest=r["plan_digest"],
        deployment_digest=r["deployment_digest"],
        expires_at=r["expires_at"],
        created_at=r["created_at"],
        created_by=r["created_by"],
        body=json.loads(r["body_json"]),
    )


class PromotionReads:
    """Reads of the promotion context."""

    conn: Connection

    def get_traffic_plan(self, digest: str) -> TrafficPlan | None:
        row = self.conn.execute(
            sa.select(t.traffic_plans.c.body_json).where(t.traffic_plans.c.digest == digest)
        ).first()
        from airel.domain.promotion.traffic_plan import TrafficPlan  # noqa: PLC0415

        return TrafficPlan.model_validate_json(row[0], strict=False) if row else None

    def get_deployment(self, digest: str) -> StoredDeployment | None:
        row = self.conn.execute(
            sa.select(t.deployments).where(t.deployments.c.digest == digest)
        ).first()
        return _deployment(row) if row else None

    def list_deployments(
        self, *, release_id: str | None = None, route: str | None = None
    ) -> list[StoredDeployment]:
        c = t.deployments.c
        query = sa.select(t.deployments).order_by(c.seq, c.digest)
        if release_id is not None:
            query = query.where(c.release_id == release_id)
        if route is not None:
            query = query.where(c.route == route)
        return [_deployment(r) for r in self.conn.execute(query)]

    def get_promotion(self, promotion_id: str) -> Promotion | None:
        row = self.conn.execute(
            sa.select(t.promotions).where(t.promotions.c.promotion_id == promotion_id)
        ).first()
        return _promotion(row) if row else None

    def list_promotions(self, *, release_id: str | None = None) -> list[Promotion]:
        c = t.promotions.c
        query = sa.select(t.promotions).order_by(c.seq, c.promotion_id)
        if release_id is not None:
            query = query.where(c.release_id == release_id)
        return [_promotion(r) for r in self.conn.execute(query)]


class PromotionWrites(RecordWrites, PromotionReads):
    """Inserts of the promotion context (each a mutation that needs an audit entry)."""

    conn: Connection
    mutations: int

    def insert_traffic_plan(self, plan: TrafficPlan, *, created_at: str, created_by: str) -> bool:
        digest = plan.digest
        if self.get_traffic_plan(digest) is not None:
            return False
        self.mutations += 1
        self.conn.execute(
            t.traffic_plans.insert().values(
                digest=digest,
                plan_id=plan.plan_id,
                body_json=_canonical(plan.model_dump(mode="json")),
                created_at=created_at,
                created_by=created_by,
            )
        )
        self.bind(RecordTable.TRAFFIC_PLANS, digest)
        return True

    def insert_deployment(
        self, manifest: DeploymentManifest, *, created_at: str, created_by: str
    ) -> bool:
        digest = manifest.digest
        if self.get_deployment(digest) is not None:
            return False
        self.mutations += 1
        self.conn.execute(
            t.deployments.insert().values(
                digest=digest,
                release_id=manifest.release_id,
                environment=manifest.environment.value,
                route=manifest.route,
                decision_id=manifest.decision_id,
                body_json=_canonical(manifest.model_dump(mode="json")),
                created_at=created_at,
                created_by=created_by,
                seq=next_seq(t.deployments),
            )
        )
        self.bind(RecordTable.DEPLOYMENTS, digest)
        return True

    def insert_promotion(self, promotion: Promotion) -> None:
        if self.get_promotion(promotion.promotion_id) is not None:
            raise ConflictError(
                Reason.DUPLICATE_RECORD,
                f"promotion {promotion.promotion_id[:19]}… is already stored",
                fix="a promotion is recorded once; promote again for a new one",
                details={"promotion_id": promotion.promotion_id},
            )
        self.mutations += 1
        self.conn.execute(
            t.promotions.insert().values(
                promotion_id=promotion.promotion_id,
                release_id=promotion.release_id,
                source=promotion.source.value if promotion.source else None,
                target=promotion.target.value,
                decision_id=promotion.decision_id,
                plan_digest=promotion.plan_digest,
                deployment_digest=promotion.deployment_digest,
                expires_at=promotion.expires_at,
                body_json=dumps_json(promotion.body),
                created_at=promotion.created_at,
                created_by=promotion.created_by,
                seq=next_seq(t.promotions),
            )
        )
        self.bind(RecordTable.PROMOTIONS, promotion.promotion_id)
