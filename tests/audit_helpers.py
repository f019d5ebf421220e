"""Helpers shared by the audit-chain tests (tests/release/test_audit.py and
tests/release/test_audit_checkpoints.py).

Direct access to ``audit_log`` and ``audit_head`` the way an attacker with database access
would have it (SQLAlchemy Core on ``client.ctx.store.engine``), the recomputed hash of a stored
row, and the ``activity`` fixture (import ``activity_fixture``; the tests request it as
``activity``).
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
import sqlalchemy as sa

from airel.client import Client
from airel.domain.release.audit import (
    ChainProblemKind,
    ChainReport,
    entry_payload,
    hash_payload,
)
from airel.store import schema as t
from airel.store.sql import SqlStore

K = ChainProblemKind
log, head_table = t.audit_log, t.audit_head


def engine(client: Client) -> sa.Engine:
    return cast(SqlStore, client.ctx.store).engine


def rows(client: Client) -> list[dict[str, Any]]:
    with engine(client).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(log).order_by(log.c.seq))]


def head(client: Client) -> tuple[int, str]:
    with engine(client).connect() as conn:
        row = conn.execute(sa.select(head_table.c.seq, head_table.c.entry_hash)).one()
    return int(row[0]), str(row[1])


def problems(report: ChainReport) -> list[tuple[int, ChainProblemKind]]:
    return [(p.seq, p.kind) for p in report.problems]


def row_hash(row: dict[str, Any]) -> str:
    return hash_payload(
        entry_payload(
            row["seq"],
            row["prev_hash"],
            row["at"],
            row["actor"],
            row["action"],
            row["subject"],
            row["before_digest"],
            row["after_digest"],
            json.loads(row["details_json"]),
        )
    )


def execute(client: Client, *statements: Any) -> None:
    with engine(client).begin() as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture(name="activity")
def activity_fixture(fraud_registry: Client) -> Client:
    """A registry with real history: init, eight registrations, three alias moves."""
    for version in ("1.0.0", "2.0.0", "1.0.0"):
        fraud_registry.registry.set_alias(
            "model", "fraud-score", "production", version, reason="test"
        )
    report = fraud_registry.audit.verify()
    assert report.ok
    assert report.entries >= 10
    return fraud_registry
