"""Experiment / eval registry (R5, issue 4): eval runs and baseline-vs-candidate comparisons.

Revision ID: 0003_eval_registry
Revises: 0002_validation_evidence
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_eval_registry"
down_revision = "0002_validation_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_records",
        sa.Column("record_id", sa.String(71), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=True),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_eval_records_subject", "eval_records", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_eval_records_subject", "eval_records")
    op.drop_table("eval_records")
