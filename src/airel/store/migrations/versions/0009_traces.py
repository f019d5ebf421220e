"""Request traces (issue 12; T1): traces, their ingest batches, and feedback.

* ``traces``: one row per (request, release) the gateway served or copied to a shadow, with
  the §7.3 lineage in ``body_json`` and the columns an impacted-population query filters on.
  Append-only; too many for one audit entry each, so each row carries the digest of its body
  and its place in an ingest batch.
* ``trace_batches``: one row per committed ingest batch — the count and the root (sha256 over
  the traces' digests in order) — bound to the audit chain like every record, one audit entry
  per batch. ``airel traces verify`` recomputes every root.
* ``trace_feedback``: human overrides and complaints against a request id (record table).

Revision ID: 0009_traces
Revises: 0008_rollout
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_traces"
down_revision = "0008_rollout"
branch_labels = None
depends_on = None

VERSIONS = (
    "model_version",
    "prompt_version",
    "policy_version",
    "feature_view_version",
    "dataset_or_index_version",
    "tool_schema_version",
)


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("release_id", sa.String(128), primary_key=True),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("route", sa.String(530), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("use_case_id", sa.String(128), nullable=True),
        sa.Column("key_digest", sa.String(64), nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("critical", sa.Boolean, nullable=False),
        sa.Column("error", sa.String(64), nullable=True),
        sa.Column("cost", sa.Float, nullable=True),
        sa.Column("quality_failure", sa.Boolean, nullable=False),  # any online quality rule failed
        sa.Column("override", sa.Boolean, nullable=False),  # a human overrode the answer in-flow
        sa.Column("segments", sa.String(2048), nullable=False),  # comma-joined segment tags
        *(sa.Column(name, sa.String(512), nullable=True) for name in VERSIONS),
        sa.Column("batch_id", sa.BigInteger, nullable=False),
        sa.Column("pos", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
    )
    op.create_index("ix_traces_release_at", "traces", ["release_id", "at"])
    op.create_index("ix_traces_route_at", "traces", ["route", "at"])
    op.create_index("ix_traces_batch", "traces", ["batch_id", "pos"])
    op.create_table(
        "trace_batches",
        sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("root", sa.String(71), nullable=False),
        sa.Column("first_at", sa.String(32), nullable=False),
        sa.Column("last_at", sa.String(32), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "trace_feedback",
        sa.Column("feedback_id", sa.String(71), primary_key=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("ix_trace_feedback_request", "trace_feedback", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_trace_feedback_request", "trace_feedback")
    op.drop_table("trace_feedback")
    op.drop_table("trace_batches")
    op.drop_index("ix_traces_batch", "traces")
    op.drop_index("ix_traces_route_at", "traces")
    op.drop_index("ix_traces_release_at", "traces")
    op.drop_table("traces")
