"""The one SQL implementation of the Store contract, for SQLite and PostgreSQL alike.

Queries are SQLAlchemy Core and shared; only engine set-up and error translation differ
(:mod:`airel.store.engines`). Each write transaction first locks the audit chain head — the
``BEGIN IMMEDIATE`` write lock on SQLite, ``SELECT … FOR UPDATE`` on PostgreSQL — so all writers
are serialised on the chain they must extend; alias moves additionally compare-and-set their
``row_version``. A transaction that mutates anything without appending an audit entry is
refused at commit.

The implementation is split per bounded context as the contract is (:mod:`airel.store.contract`):
:mod:`.release` (components, artifacts, aliases, bundles, lineage), :mod:`.drafts`,
:mod:`.records` (the rows the chain binds), :mod:`.data`, :mod:`.eval`, :mod:`.gate`,
:mod:`.identity` (role grants, signing keys) and :mod:`.promotion` (plans, manifests,
promotions). Each part is a mixin over the one connection; the two transaction classes here
compose them and own the audit chain head.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from airel.domain.kernel.clock import utc_now
from airel.domain.release.audit import AuditEntry, canonical_details, hash_entry
from airel.errors import AirelError, Reason, StoreError
from airel.store import engines
from airel.store import schema as t
from airel.store.contract import ReadTx, WriteTx
from airel.store.sql.data import DataReads, DataWrites
from airel.store.sql.drafts import DraftReads, DraftWrites
from airel.store.sql.eval import EvalReads, EvalWrites
from airel.store.sql.gate import GateReads, GateWrites
from airel.store.sql.identity import IdentityReads, IdentityWrites
from airel.store.sql.monitoring import MonitoringReads, MonitoringWrites
from airel.store.sql.promotion import PromotionReads, PromotionWrites
from airel.store.sql.records import RecordReads, RecordWrites
from airel.store.sql.release import ReleaseReads, ReleaseWrites
from airel.store.sql.rollout import RolloutReads, RolloutWrites
from airel.store.sql.triggers import TriggerReads, TriggerWrites

T = TypeVar("T")

MAX_RETRIES = 30
_JITTER = secrets.SystemRandom()  # backoff jitter


class SqlReadTx(
    ReleaseReads,
    DraftReads,
    DataReads,
    EvalReads,
    GateReads,
    IdentityReads,
    PromotionReads,
    RolloutReads,
    TriggerReads,
    MonitoringReads,
    RecordReads,
):
    """Read methods over one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def store_id(self) -> str:
        row = self.conn.execute(
            sa.select(t.store_meta.c.value).where(t.store_meta.c.key == "store_id")
        ).first()
        return str(row[0]) if row else ""

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


class SqlWriteTx(
    ReleaseWrites,
    DraftWrites,
    DataWrites,
    EvalWrites,
    GateWrites,
    IdentityWrites,
    PromotionWrites,
    RolloutWrites,
    TriggerWrites,
    MonitoringWrites,
    RecordWrites,
    SqlReadTx,
):
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
