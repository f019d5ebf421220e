"""Bundle drafts (issue 18 point 4; B1, B2): a release is edited as a draft and frozen on request.

* ``bundle_drafts``: the spec as written (canonical JSON), its digest, the completeness summary
  when last stored and a ``version`` for compare-and-set. A record table bound to the audit
  chain like the others; freezing deletes the row and inserts the frozen bundle in one audited
  transaction, whose entry records the row as removed.

Frozen bundles stay in ``bundles``, unchanged and immutable.

Revision ID: 0006_drafts
Revises: 0005_integrity
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_drafts"
down_revision = "0005_integrity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bundle_drafts",
        sa.Column("release_id", sa.String(128), primary_key=True),
        sa.Column("use_case_id", sa.String(128), nullable=False),
        sa.Column("risk_tier", sa.Integer, nullable=False),
        sa.Column("pipeline_type", sa.String(32), nullable=True),
        sa.Column("spec_json", sa.Text, nullable=False),
        sa.Column("spec_digest", sa.String(71), nullable=False),
        sa.Column("summary_json", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_bundle_drafts_use_case", "bundle_drafts", ["use_case_id"])


def downgrade() -> None:
    op.drop_index("ix_bundle_drafts_use_case", "bundle_drafts")
    op.drop_table("bundle_drafts")
