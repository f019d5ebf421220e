"""REST API tokens (issue 13): ``api_tokens``.

One row per token: the identity it authenticates, what it is for, the SHA-256 of its secret
(never the secret), who created it, when it expires, and its revocation. A record table bound
to the audit chain like ``role_grants`` and ``signing_keys``: a row inserted or edited behind
airel is refused when presented.

Revision ID: 0010_api_tokens
Revises: 0009_traces
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_api_tokens"
down_revision = "0009_traces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("identity", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("secret_digest", sa.String(71), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_api_tokens_identity", "api_tokens", ["identity"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_identity", "api_tokens")
    op.drop_table("api_tokens")
