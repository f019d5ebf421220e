"""Rollout records (issue 11; P1, P4, P6, §8.6, §8.7): routes, route events, rollbacks, drills,
continuous-training triggers and incidents.

* ``routes``: one row per (route, lane) holding the desired and the observed traffic; every
  change is compare-and-set on ``version``; ``observed_version`` is the version the router
  applied last (the reconciler converges it).
* ``route_events``: what moved a route and why, keyed by the version it made; a rollout step's
  analysis is kept here.
* ``rollbacks``: §5.7 rollbacks by component, including batch quarantines and compensation.
* ``drills``: §8.6 runbook drills with each step's timing.
* ``ct_triggers``: §8.7 trigger records (a trigger registers a candidate, never promotes).
* ``incidents``: opened by a stop condition, a rollback or a performance-degradation trigger.

All are record tables bound to the audit chain.

Revision ID: 0008_rollout
Revises: 0007_promotion
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_rollout"
down_revision = "0007_promotion"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routes",
        sa.Column("route", sa.String(512), primary_key=True),
        sa.Column("lane", sa.String(16), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("observed_version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "route_events",
        sa.Column("route", sa.String(512), primary_key=True),
        sa.Column("lane", sa.String(16), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=True),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_route_events_release", "route_events", ["release_id"])
    op.create_table(
        "rollbacks",
        sa.Column("rollback_id", sa.String(71), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=False),
        sa.Column("component", sa.String(32), nullable=False),
        sa.Column("route", sa.String(512), nullable=True),
        sa.Column("lane", sa.String(16), nullable=True),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_rollbacks_release", "rollbacks", ["release_id"])
    op.create_table(
        "drills",
        sa.Column("drill_id", sa.String(71), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_drills_release", "drills", ["release_id"])
    op.create_table(
        "ct_triggers",
        sa.Column("trigger_id", sa.String(128), primary_key=True),
        sa.Column("use_case_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("candidate_release_id", sa.String(128), nullable=True),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_ct_triggers_use_case", "ct_triggers", ["use_case_id"])
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(128), primary_key=True),
        sa.Column("use_case_id", sa.String(128), nullable=False),
        sa.Column("release_id", sa.String(128), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_incidents_release", "incidents", ["release_id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_release", "incidents")
    op.drop_table("incidents")
    op.drop_index("ix_ct_triggers_use_case", "ct_triggers")
    op.drop_table("ct_triggers")
    op.drop_index("ix_drills_release", "drills")
    op.drop_table("drills")
    op.drop_index("ix_rollbacks_release", "rollbacks")
    op.drop_table("rollbacks")
    op.drop_index("ix_route_events_release", "route_events")
    op.drop_table("route_events")
    op.drop_table("routes")
