"""The one SQL implementation of the Store contract, for SQLite and PostgreSQL alike.

Queries are SQLAlchemy Core and shared; only engine set-up and error translation differ
(:mod:`airel.store.engines`). Each write transaction first locks the audit chain head — the
``BEGIN IMMEDIATE`` write lock on SQLite, ``SELECT … FOR UPDATE`` on PostgreSQL — so all writers
are serialised on the chain they must extend; alias moves additionally compare-and-set their
``row_version``. A transaction that mutates anything without appending an audit entry is
refused at commit.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from airel.domain.kernel.clock import utc_now
from airel.domain.release.alias import Alias, AliasMove
from airel.domain.release.artifact import ArtifactRef, ArtifactType
from airel.domain.release.audit import AuditEntry, canonical_details, hash_entry
from airel.domain.release.bundle import FrozenBundle
from airel.domain.release.components import ComponentKey, ComponentKind, ComponentVersion
from airel.domain.release.lineage import Edge, Relation
from airel.domain.release.records import RecordTable
from airel.errors import AirelError, ConflictError, Reason, StoreError
from airel.store import engines
from airel.store import schema as t
from airel.store.contract import ReadTx, WriteTx
from airel.store.sql_drafts import DraftReads, DraftWrites
from airel.store.sql_evidence import EvidenceReads, EvidenceWrites, dumps_json
from airel.store.sql_gates import GateReads, GateWrites
from airel.store.sql_identity import IdentityReads, IdentityWrites
from airel.store.sql_records import RecordReads, RecordWrites

T = TypeVar("T")

MAX_RETRIES = 30
_JITTER = secrets.SystemRandom()  # backoff jitter


class SqlReadTx(EvidenceReads, GateReads, IdentityReads, DraftReads, RecordReads):
    """Read methods over one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def store_id(self) -> str:
        row = self.conn.execute(
            sa.select(t.store_meta.c.value).where(t.store_meta.c.key == "store_id")
        ).first()
        return str(row[0]) if row else ""

    # -- components --
    @staticmethod
    def _component(row: sa.Row[Any], artifact: ArtifactRef | None) -> ComponentVersion:
        return ComponentVersion(
            kind=ComponentKind(row.kind),
            name=row.name,
            version=row.version,
            fields=json.loads(row.fields_json),
            artifact=artifact,
            parents=tuple(json.loads(row.parents_json)),
            digest=row.digest,
            created_at=row.created_at,
            created_by=row.created_by,
        )

    def _with_artifacts(self, rows: Sequence[sa.Row[Any]]) -> list[ComponentVersion]:
        digests = {r.artifact_digest for r in rows if r.artifact_digest}
        refs: dict[str, ArtifactRef] = {}
        if digests:
            for a in self.conn.execute(
                sa.select(t.artifacts).where(t.artifacts.c.digest.in_(sorted(digests)))
            ):
                refs[a.digest] = _artifact(a)
        return [
            self._component(r, refs.get(r.artifact_digest) if r.artifact_digest else None)
            for r in rows
        ]

    def get_component(self, key: ComponentKey) -> ComponentVersion | None:
        row = self.conn.execute(
            sa.select(t.components).where(
                t.components.c.kind == key.kind.value,
                t.components.c.name == key.name,
                t.components.c.version == key.version,
            )
        ).first()
        return self._with_artifacts([row])[0] if row else None

    def component_versions(self, kind: ComponentKind, name: str) -> list[ComponentVersion]:
        rows = self.conn.execute(
            sa.select(t.components)
            .where(t.components.c.kind == kind.value, t.components.c.name == name)
            .order_by(t.components.c.created_at, t.components.c.version)
        ).all()
        return self._with_artifacts(rows)

    def list_components(
        self, kind: ComponentKind | None = None, *, limit: int = 1000
    ) -> list[ComponentVersion]:
        query = sa.select(t.components)
        if kind is not None:
            query = query.where(t.components.c.kind == kind.value)
        query = query.order_by(
            t.components.c.kind, t.components.c.name, t.components.c.created_at
        ).limit(limit)
        return self._with_artifacts(self.conn.execute(query).all())

    # -- aliases --
    def get_alias(self, kind: ComponentKind, name: str, alias: str) -> Alias | None:
        row = self.conn.execute(
            sa.select(t.aliases).where(
                t.aliases.c.kind == kind.value,
                t.aliases.c.name == name,
                t.aliases.c.alias == alias,
            )
        ).first()
        return _alias(row) if row else None

    def list_aliases(self, kind: ComponentKind, name: str) -> list[Alias]:
        rows = self.conn.execute(
            sa.select(t.aliases)
            .where(t.aliases.c.kind == kind.value, t.aliases.c.name == name)
            .order_by(t.aliases.c.alias)
        )
        return [_alias(r) for r in rows]

    def alias_history(self, kind: ComponentKind, name: str, alias: str) -> list[AliasMove]:
        rows = self.conn.execute(
            sa.select(t.alias_moves)
            .where(
                t.alias_moves.c.kind == kind.value,
                t.alias_moves.c.name == name,
                t.alias_moves.c.alias == alias,
            )
            .order_by(t.alias_moves.c.seq)
        )
        return [
            AliasMove(
                kind=ComponentKind(r.kind),
                name=r.name,
                alias=r.alias,
                seq=r.seq,
                from_version=r.from_version,
                to_version=r.to_version,
                at=r.at,
                actor=r.actor,
                reason=r.reason,
            )
            for r in rows
        ]

    # -- bundles --
    def get_bundle(self, release_id: str) -> FrozenBundle | None:
        row = self.conn.execute(
            sa.select(t.bundles.c.body_json).where(t.bundles.c.release_id == release_id)
        ).first()
        return FrozenBundle.model_validate_json(row[0]) if row else None

    def list_bundles(
        self, *, use_case_id: str | None = None, limit: int = 1000
    ) -> list[FrozenBundle]:
        query = sa.select(t.bundles.c.body_json)
        if use_case_id is not None:
            query = query.where(t.bundles.c.use_case_id == use_case_id)
        query = query.order_by(t.bundles.c.created_at, t.bundles.c.release_id).limit(limit)
        return [FrozenBundle.model_validate_json(r[0]) for r in self.conn.execute(query)]

    # -- lineage --
    def _edges(self, column: sa.ColumnElement[str], nodes: Sequence[str]) -> list[Edge]:
        out: list[Edge] = []
        nodes = sorted(set(nodes))
        for start in range(0, len(nodes), 500):
            chunk = nodes[start : start + 500]
            for r in self.conn.execute(sa.select(t.lineage_edges).where(column.in_(chunk))):
                out.append(Edge(parent=r.parent, child=r.child, relation=Relation(r.relation)))
        return out

    def edges_from_parents(self, parents: Sequence[str]) -> list[Edge]:
        return self._edges(t.lineage_edges.c.parent, parents)

    def edges_from_children(self, children: Sequence[str]) -> list[Edge]:
        return self._edges(t.lineage_edges.c.child, children)

    # -- artifacts --
    def get_artifact(self, digest: str) -> ArtifactRef | None:
        row = self.conn.execute(
            sa.select(t.artifacts).where(t.artifacts.c.digest == digest)
        ).first()
        return _artifact(row) if row else None

    def list_artifacts(self) -> list[ArtifactRef]:
        return [
            _artifact(r)
            for r in self.conn.execute(sa.select(t.artifacts).order_by(t.artifacts.c.digest))
        ]

    # -- audit --
    def audit_head(self) -> tuple[int, str]:
        row = self.conn.execute(
            sa.select(t.audit_head.c.seq, t.audit_head.c.entry_hash).where(t.audit_head.c.id == 1)
        ).first()
        if row is None:
            raise StoreError(
                Reason.STORE_NOT_INITIALISED,
                "the audit chain head is missing",
                fix="run `airel db upgrade`; if it persists the store was tampered with",
            )
        return int(row[0]), str(row[1])

    def get_audit(self, seq: int) -> AuditEntry | None:
        row = self.conn.execute(sa.select(*_AUDIT_COLUMNS).where(t.audit_log.c.seq == seq)).first()
        return _audit(row) if row else None

    def iter_audit(self, *, batch: int = 10_000) -> Iterator[AuditEntry]:
        last = 0
        cols = t.audit_log.c
        while True:
            rows = self.conn.execute(
                sa.select(*_AUDIT_COLUMNS).where(cols.seq > last).order_by(cols.seq).limit(batch)
            ).all()
            if not rows:
                return
            for row in rows:
                yield _audit(row)
            last = rows[-1][0]


class SqlWriteTx(EvidenceWrites, GateWrites, IdentityWrites, DraftWrites, RecordWrites, SqlReadTx):
    """Mutations; every one is counted so a transaction without an audit entry is refused."""

    def __init__(self, conn: Connection, head: tuple[int, str]) -> None:
        super().__init__(conn)
        self._head = head
        self.mutations = 0
        self.audits = 0
        self.pending = []

    def set_store_id(self, store_id: str) -> None:
        self.mutations += 1
        self.conn.execute(t.store_meta.insert().values(key="store_id", value=store_id))

    def insert_component(self, version: ComponentVersion) -> None:
        self.mutations += 1
        self.conn.execute(
            t.components.insert().values(
                kind=version.kind.value,
                name=version.name,
                version=version.version,
                digest=version.digest,
                fields_json=dumps_json(version.fields),
                artifact_digest=version.artifact.digest if version.artifact else None,
                parents_json=dumps_json(list(version.parents)),
                created_at=version.created_at,
                created_by=version.created_by,
            )
        )
        self.bind(RecordTable.COMPONENTS, version.kind.value, version.name, version.version)

    def put_artifact(self, ref: ArtifactRef) -> bool:
        if self.get_artifact(ref.digest) is not None:
            return False
        self.mutations += 1
        self.conn.execute(
            t.artifacts.insert().values(
                digest=ref.digest,
                type=ref.type.value,
                size=ref.size,
                files=ref.files,
                created_at=utc_now(),
            )
        )
        self.bind(RecordTable.ARTIFACTS, ref.digest)
        return True

    def set_alias(self, alias: Alias, *, expected_row_version: int | None) -> None:
        self.mutations += 1
        values = {
            "version": alias.version,
            "row_version": alias.row_version,
            "updated_at": alias.updated_at,
            "updated_by": alias.updated_by,
        }
        if expected_row_version is None:
            if self.get_alias(alias.kind, alias.name, alias.alias) is not None:
                raise _stale(alias, None)
            self.conn.execute(
                t.aliases.insert().values(
                    kind=alias.kind.value, name=alias.name, alias=alias.alias, **values
                )
            )
            self.bind(RecordTable.ALIASES, alias.kind.value, alias.name, alias.alias)
            return
        result = self.conn.execute(
            t.aliases.update()
            .where(
                t.aliases.c.kind == alias.kind.value,
                t.aliases.c.name == alias.name,
                t.aliases.c.alias == alias.alias,
                t.aliases.c.row_version == expected_row_version,
            )
            .values(**values)
        )
        if result.rowcount != 1:
            raise _stale(alias, expected_row_version)
        self.bind(RecordTable.ALIASES, alias.kind.value, alias.name, alias.alias)

    def insert_alias_move(self, move: AliasMove) -> None:
        self.mutations += 1
        self.conn.execute(
            t.alias_moves.insert().values(
                kind=move.kind.value,
                name=move.name,
                alias=move.alias,
                seq=move.seq,
                from_version=move.from_version,
                to_version=move.to_version,
                at=move.at,
                actor=move.actor,
                reason=move.reason,
            )
        )
        self.bind(RecordTable.ALIAS_MOVES, move.kind.value, move.name, move.alias, move.seq)

    def insert_bundle(self, bundle: FrozenBundle) -> None:
        self.mutations += 1
        self.conn.execute(
            t.bundles.insert().values(
                release_id=bundle.release_id,
                digest=bundle.digest,
                spec_digest=bundle.spec_digest,
                use_case_id=bundle.use_case_id,
                risk_tier=int(bundle.risk_tier),
                pipeline_type=bundle.pipeline_type.value if bundle.pipeline_type else None,
                body_json=bundle.model_dump_json(),
                created_at=bundle.created_at,
                created_by=bundle.created_by,
            )
        )
        self.bind(RecordTable.BUNDLES, bundle.release_id)

    def add_edges(self, edges: Sequence[Edge]) -> None:
        unique = sorted({(e.parent, e.child, e.relation.value) for e in edges})
        if not unique:
            return
        existing = {
            (e.parent, e.child, e.relation.value)
            for e in self.edges_from_children([c for _, c, _ in unique])
        }
        new = [u for u in unique if u not in existing]
        if new:
            self.mutations += 1
            self.conn.execute(
                t.lineage_edges.insert(),
                [{"parent": p, "child": c, "relation": r} for p, c, r in new],
            )
            for p, c, r in new:
                self.bind(RecordTable.LINEAGE_EDGES, p, c, r)

    def append_audit(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        before: str | None,
        after: str | None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        seq, prev = self._head
        seq += 1
        at = utc_now()
        body = self.attach_records(seq, dict(details or {}))
        details_json = canonical_details(body)
        entry_hash = hash_entry(seq, prev, at, actor, action, subject, before, after, details_json)
        self.conn.execute(
            t.audit_log.insert().values(
                seq=seq,
                prev_hash=prev,
                entry_hash=entry_hash,
                at=at,
                actor=actor,
                action=action,
                subject=subject,
                before_digest=before,
                after_digest=after,
                details_json=details_json,
            )
        )
        self.conn.execute(
            t.audit_head.update()
            .where(t.audit_head.c.id == 1)
            .values(seq=seq, entry_hash=entry_hash)
        )
        self._head = (seq, entry_hash)
        self.audits += 1
        return AuditEntry(
            seq=seq,
            prev_hash=prev,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            before=before,
            after=after,
            details_json=details_json,
            entry_hash=entry_hash,
        )


class SqlStore:
    """The SQL store. ``url`` is a SQLAlchemy URL (sqlite:/// or postgresql+psycopg://)."""

    def __init__(self, url: str, *, engine: Engine | None = None, busy_timeout_s: float = 5.0):
        self.url = url
        self.engine = engine or engines.create_engine(url, busy_timeout_s=busy_timeout_s)
        self._sqlite = engines.is_sqlite(url)

    def close(self) -> None:
        self.engine.dispose()

    def _connect(self, *, write: bool) -> Connection:
        try:
            conn = self.engine.connect()
        except sa.exc.DBAPIError as exc:
            raise self._translate(exc) from None
        if write:
            conn = conn.execution_options(**{engines.WRITE_OPTION: True})
        return conn

    def _translate(self, exc: sa.exc.DBAPIError) -> AirelError:
        return engines.translate(exc, self.url) or StoreError(
            Reason.STORE_UNAVAILABLE,
            f"database error: {getattr(exc, 'orig', exc)}",
            fix="check the database and retry; report it if it persists",
        )

    @contextmanager
    def _read(self) -> Iterator[ReadTx]:
        conn = self._connect(write=False)
        try:
            with conn.begin():
                yield SqlReadTx(conn)
        except sa.exc.DBAPIError as exc:
            raise self._translate(exc) from None
        finally:
            conn.close()

    def read(self) -> AbstractContextManager[ReadTx]:
        return self._read()

    def write(self, fn: Callable[[WriteTx], T]) -> T:
        delay = 0.01
        for attempt in range(MAX_RETRIES):
            conn = self._connect(write=True)
            try:
                with conn.begin():
                    head_query = sa.select(t.audit_head.c.seq, t.audit_head.c.entry_hash).where(
                        t.audit_head.c.id == 1
                    )
                    if not self._sqlite:
                        head_query = head_query.with_for_update()
                    row = conn.execute(head_query).first()
                    if row is None:
                        raise StoreError(
                            Reason.STORE_NOT_INITIALISED,
                            "the audit chain head is missing",
                            fix="run `airel init`",
                        )
                    tx = SqlWriteTx(conn, (int(row[0]), str(row[1])))
                    result = fn(tx)
                    if tx.mutations and not tx.audits:
                        raise RuntimeError(
                            "refusing to commit a state change without an audit entry"
                        )
                    if tx.pending:
                        raise RuntimeError(
                            "refusing to commit records written after their transaction's "
                            "last audit entry: "
                            + ", ".join(f"{r['table']}{r['key']}" for r in tx.pending)
                        )
                return result
            except sa.exc.DBAPIError as exc:
                if engines.is_retryable(exc) and attempt < MAX_RETRIES - 1:
                    time.sleep(delay * (1 + _JITTER.random()))
                    delay = min(delay * 2, 0.5)
                    continue
                raise self._translate(exc) from None
            finally:
                conn.close()
        raise StoreError(  # pragma: no cover - the loop always returns or raises
            Reason.STORE_LOCKED,
            "gave up after repeated serialization failures",
            fix="other writers kept the store busy; run the command again (nothing was written)",
        )


def _artifact(row: sa.Row[Any]) -> ArtifactRef:
    return ArtifactRef(
        digest=row.digest, type=ArtifactType(row.type), size=row.size, files=row.files
    )


def _alias(row: sa.Row[Any]) -> Alias:
    return Alias(
        kind=ComponentKind(row.kind),
        name=row.name,
        alias=row.alias,
        version=row.version,
        row_version=row.row_version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


_AUDIT_COLUMNS = (
    t.audit_log.c.seq,
    t.audit_log.c.prev_hash,
    t.audit_log.c.at,
    t.audit_log.c.actor,
    t.audit_log.c.action,
    t.audit_log.c.subject,
    t.audit_log.c.before_digest,
    t.audit_log.c.after_digest,
    t.audit_log.c.details_json,
    t.audit_log.c.entry_hash,
)


def _audit(r: Sequence[Any]) -> AuditEntry:
    # Positional, unvalidated: verification recomputes every hash from these very fields.
    return AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9])


def _stale(alias: Alias, expected: int | None) -> ConflictError:
    return ConflictError(
        Reason.STALE_VERSION,
        f"alias {alias.name}@{alias.alias} changed since it was read "
        f"(expected row version {expected})",
        fix="re-read the alias (`airel alias history`) and retry with the current version",
        details={"expected_row_version": expected},
    )
