"""Integrity (issues 17, 18): write order, records bound to the audit chain, roles and keys.

* ``audit_records``: the digest of every record row an audit entry wrote (also inside the
  entry's hashed details), so ``audit verify`` and the gates can re-hash live records.
* ``role_grants``: identity → role assignments, audited records changed by administrators.
* ``signing_keys``: approvers' Ed25519 public keys, for signed approvals.

And a write sequence on attestations, evidence links and decisions:

"The latest" attestation, evidence link or decision of a release used to be chosen by its
``created_at`` timestamp, which ties (same microsecond, clock skew between writers) and then
falls back to an id that says nothing about order. ``seq`` is assigned at insert from the
table's maximum plus one — writers are serialised by the audit head lock — so the order of
writes is a total key. Existing rows are numbered by (created_at, key), the old order.

Revision ID: 0005_record_order
Revises: 0004_gates
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_integrity"
down_revision = "0004_gates"
branch_labels = None
depends_on = None

# table -> its primary key columns, in the old order's tie-breaking sequence
TABLES = {
    "gate_attestations": ("attestation_id",),
    "evidence_links": ("release_id", "kind", "record_id"),
    "gate_decisions": ("decision_id",),
}


def upgrade() -> None:
    conn = op.get_bind()
    for table, keys in TABLES.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0"))
            )
        meta = sa.Table(
            table,
            sa.MetaData(),
            *(sa.Column(k, sa.String) for k in keys),
            sa.Column("created_at", sa.String),
            sa.Column("seq", sa.BigInteger),
        )
        rows = conn.execute(
            sa.select(*(meta.c[k] for k in keys)).order_by(
                meta.c.created_at, *(meta.c[k] for k in keys)
            )
        ).all()
        for i, row in enumerate(rows, start=1):
            cond = sa.and_(*(meta.c[k] == row[j] for j, k in enumerate(keys)))
            conn.execute(meta.update().where(cond).values(seq=i))
        op.create_index(f"ix_{table}_seq", table, ["seq"])
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("pos", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("table_name", sa.String(32), nullable=False),
        sa.Column("record_key", sa.String(600), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
    )
    op.create_index("ix_audit_records_record", "audit_records", ["table_name", "record_key", "seq"])
    op.create_table(
        "role_grants",
        sa.Column("identity", sa.String(128), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("granted_at", sa.String(32), nullable=False),
        sa.Column("granted_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
    )
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(71), primary_key=True),
        sa.Column("identity", sa.String(128), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.String(32), nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_signing_keys_identity", "signing_keys", ["identity"])


def downgrade() -> None:
    op.drop_table("signing_keys")
    op.drop_table("role_grants")
    op.drop_table("audit_records")
    for table in TABLES:
        op.drop_index(f"ix_{table}_seq", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("seq")
