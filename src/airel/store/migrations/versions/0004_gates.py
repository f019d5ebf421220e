"""Release gates (issue 5): attestations, evidence links, approvals, waivers, decisions.

Revision ID: 0004_gates
Revises: 0003_eval_registry
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_gates"
down_revision = "0003_eval_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_attestations",
        sa.Column("attestation_id", sa.String(71), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_index("ix_gate_attestations_release", "gate_attestations", ["release_id"])
    op.create_table(
        "evidence_links",
        sa.Column("release_id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("record_id", sa.String(71), primary_key=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("approval_id", sa.String(32), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=False),
        sa.Column("bundle_digest", sa.String(71), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("approver", sa.String(128), nullable=False),
        sa.Column("issued_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
    )
    op.create_index("ix_approvals_release", "approvals", ["release_id"])
    op.create_table(
        "waivers",
        sa.Column("waiver_id", sa.String(32), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("bundle_digest", sa.String(71), nullable=False),
        sa.Column("approver", sa.String(128), nullable=False),
        sa.Column("issued_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
    )
    op.create_index("ix_waivers_release", "waivers", ["release_id"])
    op.create_table(
        "gate_decisions",
        sa.Column("decision_id", sa.String(71), primary_key=True),
        sa.Column("release_id", sa.String(128), nullable=False),
        sa.Column("bundle_digest", sa.String(71), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("policy_ref", sa.String(200), nullable=False),
        sa.Column("policy_digest", sa.String(71), nullable=False),
        sa.Column("inputs_digest", sa.String(71), nullable=False),
        sa.Column("through", sa.String(2), nullable=True),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
    )
    op.create_index("ix_gate_decisions_release", "gate_decisions", ["release_id"])


def downgrade() -> None:
    op.drop_index("ix_gate_decisions_release", "gate_decisions")
    op.drop_table("gate_decisions")
    op.drop_index("ix_waivers_release", "waivers")
    op.drop_table("waivers")
    op.drop_index("ix_approvals_release", "approvals")
    op.drop_table("approvals")
    op.drop_table("evidence_links")
    op.drop_index("ix_gate_attestations_release", "gate_attestations")
    op.drop_table("gate_attestations")
