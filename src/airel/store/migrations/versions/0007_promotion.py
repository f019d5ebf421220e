"""Promotion records (issue 11; P1, P5, R6): traffic plans, deployment manifests, promotions.

* ``traffic_plans``: content-addressed §5.6 plans (canonical JSON), cited by promotions.
* ``deployments``: immutable R6 manifests, content-addressed; ``seq`` keeps write order.
* ``promotions``: one move of a release along the stage graph: source and target environment,
  the gate decision that admitted it, the plan and the manifest, and its expiry.

All three are record tables bound to the audit chain, like every table but the chain itself.

Revision ID: 0007_promotion
Revises: 0006_drafts
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_promotion"
down_revision = "0006_drafts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "traffic_plans",
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_traffic_plans_plan", "traffic_plans", ["plan_id"])
    op.create_table(
        "deployments",
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=False),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("route", sa.String(512), nullable=False),
        sa.Column("decision_id", sa.String(71), nullable=True),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_deployments_release", "deployments", ["release_id"])
    op.create_index("ix_deployments_route", "deployments", ["route"])
    op.create_table(
        "promotions",
        sa.Column("promotion_id", sa.String(71), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("decision_id", sa.String(71), nullable=False),
        sa.Column("plan_digest", sa.String(71), nullable=True),
        sa.Column("deployment_digest", sa.String(71), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_promotions_release", "promotions", ["release_id"])


def downgrade() -> None:
    op.drop_index("ix_promotions_release", "promotions")
    op.drop_table("promotions")
    op.drop_index("ix_deployments_route", "deployments")
    op.drop_index("ix_deployments_release", "deployments")
    op.drop_table("deployments")
    op.drop_index("ix_traffic_plans_plan", "traffic_plans")
    op.drop_table("traffic_plans")
