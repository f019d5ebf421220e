"""Validation evidence: stored profiles and validation runs (issue 3, V3).

Revision ID: 0002_validation_evidence
Revises: 0001_initial
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_validation_evidence"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("source_digest", sa.String(71), nullable=False),
        sa.Column("options_key", sa.String(512), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("dataset_node", sa.String(300), nullable=True),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.UniqueConstraint("source_digest", "options_key", name="uq_profiles_source_options"),
    )
    op.create_table(
        "validation_runs",
        sa.Column("run_id", sa.String(71), primary_key=True),
        sa.Column("current", sa.String(300), nullable=False),
        sa.Column("reference", sa.String(300), nullable=True),
        sa.Column("feature_view", sa.String(300), nullable=True),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_validation_runs_current", "validation_runs", ["current"])


def downgrade() -> None:
    op.drop_index("ix_validation_runs_current", "validation_runs")
    op.drop_table("validation_runs")
    op.drop_table("profiles")
