"""Helpers for the Store contract tests (tests/store/test_contract*.py): policy versions and
artifacts to write, an audit entry per mutation, the audit head and log, per-table row counts
and aliases, all through ``client.ctx.store``."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from airel.client import Client
from airel.domain.kernel.clock import utc_now
from airel.domain.release.alias import Alias
from airel.domain.release.artifact import ArtifactRef, ArtifactType
from airel.domain.release.audit import AuditEntry
from airel.domain.release.components import ComponentVersion, content_digest, text_hash
from airel.domain.release.kinds import ComponentKind
from airel.store import schema
from airel.store.contract import Store, WriteTx
from airel.store.sql import SqlStore

POLICY = ComponentKind.POLICY


def store_of(client: Client) -> Store:
    return client.ctx.store


def engine_of(client: Client) -> sa.Engine:
    return cast(SqlStore, client.ctx.store).engine


def policy(
    name: str, version: str, text: str = "allow\n", actor: str = "alice"
) -> ComponentVersion:
    fields = {"text": text, "text_hash": text_hash(text), "format": "text"}
    return ComponentVersion(
        kind=POLICY,
        name=name,
        version=version,
        fields=fields,
        artifact=None,
        parents=(),
        digest=content_digest(POLICY, name, version, fields, None, ()),
        created_at=utc_now(),
        created_by=actor,
    )


def artifact(n: int, *, tree: bool = False) -> ArtifactRef:
    return ArtifactRef(
        digest="sha256:" + f"{n:x}".rjust(64, "0"),
        type=ArtifactType.TREE if tree else ArtifactType.FILE,
        size=100 * n,
        files=3 if tree else 1,
    )


def audit(tx: WriteTx, action: str = "test.write", subject: str = "test") -> AuditEntry:
    return tx.append_audit(
        actor="alice", action=action, subject=subject, before=None, after=None, details={}
    )


def head(client: Client) -> tuple[int, str]:
    with store_of(client).read() as tx:
        return tx.audit_head()


def all_audit(client: Client) -> list[AuditEntry]:
    with store_of(client).read() as tx:
        return list(tx.iter_audit())


def table_counts(client: Client) -> dict[str, int]:
    """Row counts of every airel table (to prove a failed write left nothing behind)."""
    names = [
        "store_meta",
        "components",
        "artifacts",
        "aliases",
        "alias_moves",
        "bundles",
        "lineage_edges",
        "audit_log",
    ]
    with engine_of(client).connect() as conn:
        return {
            n: int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(schema.metadata.tables[n])
                ).scalar_one()
            )
            for n in names
        }


def new_alias(name: str, target: str, row_version: int, alias: str = "prod") -> Alias:
    return Alias(
        kind=POLICY,
        name=name,
        alias=alias,
        version=target,
        row_version=row_version,
        updated_at=utc_now(),
        updated_by="alice",
    )


def register_policies(client: Client, name: str, *versions: str) -> None:
    def fn(tx: WriteTx) -> None:
        for v in versions:
            tx.insert_component(policy(name, v, text=f"text of {v}\n"))
            audit(tx, "component.register", f"policy/{name}:{v}")

    store_of(client).write(fn)
