"""The first schema: components, artifacts, aliases, bundles, lineage, audit chain.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "sha256:" + "0" * 64


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "components",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("fields_json", sa.Text, nullable=False),
        sa.Column("artifact_digest", sa.String(71), nullable=True),
        sa.Column("parents_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_components_name", "components", ["name"])
    op.create_table(
        "artifacts",
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "aliases",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "alias_moves",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("from_version", sa.String(64), nullable=True),
        sa.Column("to_version", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_table(
        "bundles",
        sa.Column("release_id", sa.String(128), primary_key=True),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("spec_digest", sa.String(71), nullable=False),
        sa.Column("use_case_id", sa.String(128), nullable=False),
        sa.Column("risk_tier", sa.Integer, nullable=False),
        sa.Column("pipeline_type", sa.String(32), nullable=True),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_bundles_use_case", "bundles", ["use_case_id"])
    op.create_table(
        "lineage_edges",
        sa.Column("parent", sa.String(300), primary_key=True),
        sa.Column("child", sa.String(300), primary_key=True),
        sa.Column("relation", sa.String(32), primary_key=True),
    )
    op.create_index("ix_lineage_child", "lineage_edges", ["child"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("prev_hash", sa.String(71), nullable=False),
        sa.Column("entry_hash", sa.String(71), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("before_digest", sa.String(71), nullable=True),
        sa.Column("after_digest", sa.String(71), nullable=True),
        sa.Column("details_json", sa.Text, nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("entry_hash", sa.String(71), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": GENESIS}])


def downgrade() -> None:
    for table in (
        "audit_head",
        "audit_log",
        "lineage_edges",
        "bundles",
        "alias_moves",
        "aliases",
        "artifacts",
        "components",
        "store_meta",
    ):
        op.drop_table(table)
