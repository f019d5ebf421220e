"""Records bound to the audit chain (issue 18): the SQL side of :mod:`airel.domain.release.records`.

Every write method of the store calls :meth:`RecordWrites.bind` with the row it wrote; the
row is read back (so the digest covers every column exactly as stored, defaults included) and
its digest queued (a deleted row, :meth:`RecordWrites.unbind`, is queued as removed). The
next ``append_audit`` of the transaction puts the queue into the entry's hashed details and
into the ``audit_records`` index; a transaction that writes a record after its last audit
entry is refused at commit.

Reads: :meth:`RecordReads.check_records` verifies named records the way the gate engine
needs (row digest = latest indexed digest, the indexed entry's own hash intact, its hashed
details listing the record, and the next entry linking to it); ``iter_record_digests`` and
``audited_digests`` let ``audit verify`` stream every live row and compare it in batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.release.audit import AuditEntry, recompute
from airel.domain.release.records import (
    RECORDS_KEY,
    REMOVED,
    RecordProblem,
    RecordProblemKind,
    RecordRef,
    RecordTable,
    check_row,
    entry_records,
    record_key,
    row_digest,
)
from airel.store import schema as t

TABLES: Mapping[RecordTable, sa.Table] = {r: t.metadata.tables[r.value] for r in RecordTable}


def dumps_json(value: object) -> str:
    """Compact, key-sorted JSON text for the store's JSON columns."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def next_seq(table: sa.Table) -> sa.ScalarSelect[int]:
    """The next write sequence number of ``table`` (writers hold the audit head lock)."""
    return sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0) + 1).scalar_subquery()


def _pk(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns)


class RecordReads:
    """Integrity reads over one connection."""

    conn: Connection

    def get_audit(self, seq: int) -> AuditEntry | None: ...  # provided by SqlReadTx

    def record_row(self, ref: RecordRef) -> dict[str, Any] | None:
        """The stored row of a record, every column, or None."""
        table = TABLES[ref.table]
        cols = _pk(table)
        cond = sa.and_(*(c == v for c, v in zip(cols, _typed(cols, ref.key), strict=True)))
        row = self.conn.execute(sa.select(table).where(cond)).mappings().first()
        return dict(row) if row is not None else None

    def latest_audited(self, table: RecordTable, key: str) -> tuple[int, str] | None:
        """The latest (entry seq, digest) recorded for a row."""
        c = t.audit_records.c
        row = self.conn.execute(
            sa.select(c.seq, c.digest)
            .where(c.table_name == table.value, c.record_key == key)
            .order_by(c.seq.desc(), c.pos.desc())
            .limit(1)
        ).first()
        return (int(row[0]), str(row[1])) if row else None

    def check_records(self, refs: Sequence[RecordRef]) -> list[RecordProblem]:
        """Every named record re-hashed and matched to the entry that vouches for it."""
        problems: list[RecordProblem] = []
        entries: dict[int, tuple[AuditEntry | None, AuditEntry | None]] = {}
        for ref in dict.fromkeys(refs):
            row = self.record_row(ref)
            live = row_digest(ref.table.value, row) if row is not None else None
            audited = self.latest_audited(ref.table, ref.key_text)
            problem = check_row(ref.table.value, ref.key_text, live, audited)
            if problem is None and audited is not None:
                seq, digest = audited
                if seq not in entries:
                    entries[seq] = (self.get_audit(seq), self.get_audit(seq + 1))
                problem = _vouched(ref, seq, digest, *entries[seq])
            if problem is not None:
                problems.append(problem)
        return problems

    def iter_record_digests(
        self, table: RecordTable, *, batch: int = 5_000
    ) -> Iterator[list[tuple[str, str]]]:
        """Every live row of ``table`` as (key, digest), in batches (keyset-paginated)."""
        tbl = TABLES[table]
        cols = _pk(tbl)
        last: tuple[Any, ...] | None = None
        while True:
            query = sa.select(tbl).order_by(*cols).limit(batch)
            if last is not None:
                query = query.where(sa.tuple_(*cols) > sa.tuple_(*last))
            rows = self.conn.execute(query).mappings().all()
            if not rows:
                return
            yield [
                (record_key([r[c.name] for c in cols]), row_digest(table.value, dict(r)))
                for r in rows
            ]
            last = tuple(rows[-1][c.name] for c in cols)

    def audited_digests(
        self, table: RecordTable, keys: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        """The latest (seq, digest) of each key that has one."""
        if not keys:
            return {}
        c = t.audit_records.c
        out: dict[str, tuple[int, str]] = {}
        rows = self.conn.execute(
            sa.select(c.record_key, c.seq, c.pos, c.digest)
            .where(c.table_name == table.value, c.record_key.in_(list(keys)))
            .order_by(c.seq, c.pos)
        )
        for key, seq, _pos, digest in rows:
            out[str(key)] = (int(seq), str(digest))  # ascending: the last one wins
        return out

    def iter_audited_keys(
        self, table: RecordTable, *, batch: int = 5_000
    ) -> Iterator[list[tuple[str, int]]]:
        """Every key the index names for ``table`` with its latest entry, in batches."""
        c = t.audit_records.c
        query = (
            sa.select(c.record_key, sa.func.max(c.seq))
            .where(c.table_name == table.value)
            .group_by(c.record_key)
            .order_by(c.record_key)
        )
        result = self.conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        chunk: list[tuple[str, int]] = []
        for key, seq in result:
            chunk.append((str(key), int(seq)))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def count_audited_keys(self, table: RecordTable) -> int:
        """How many distinct keys of ``table`` the index names (one index range count)."""
        c = t.audit_records.c
        query = sa.select(sa.func.count(sa.distinct(c.record_key))).where(
            c.table_name == table.value
        )
        return int(self.conn.execute(query).scalar_one())

    def live_keys(self, table: RecordTable, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` name a live row of ``table``.

        Looked up by primary key: ``col IN (...)`` for a one-column key, and an ``OR`` of
        key equalities for a composite one (SQLite does not use the primary-key index for a
        row-value ``IN``: every batch would scan the table)."""
        tbl = TABLES[table]
        cols = _pk(tbl)
        found: set[str] = set()
        tuples = [_typed(cols, tuple(json.loads(k))) for k in keys]
        for i in range(0, len(tuples), 200):
            part = tuples[i : i + 200]
            where: sa.ColumnElement[bool]
            if len(cols) == 1:
                where = cols[0].in_([k[0] for k in part])
            else:
                where = sa.or_(
                    *(sa.and_(*(c == v for c, v in zip(cols, k, strict=True))) for k in part)
                )
            query = sa.select(*cols).where(where)
            found.update(record_key(list(r)) for r in self.conn.execute(query))
        return found

    def unaudited_rows(self) -> list[tuple[str, str, str]]:
        """(table, key, digest) of every live row no audit entry vouches for."""
        out: list[tuple[str, str, str]] = []
        for table in RecordTable:
            for batch in self.iter_record_digests(table):
                audited = self.audited_digests(table, [k for k, _ in batch])
                out += [(table.value, k, d) for k, d in batch if k not in audited]
        return out

    def iter_index(self, *, batch: int = 10_000) -> Iterator[tuple[int, str, str, str]]:
        """The ``audit_records`` index as (seq, table, key, digest), in entry order."""
        c = t.audit_records.c
        last = (0, -1)
        while True:
            rows = self.conn.execute(
                sa.select(c.seq, c.pos, c.table_name, c.record_key, c.digest)
                .where(sa.tuple_(c.seq, c.pos) > sa.tuple_(*last))
                .order_by(c.seq, c.pos)
                .limit(batch)
            ).all()
            if not rows:
                return
            for seq, _pos, table, key, digest in rows:
                yield int(seq), str(table), str(key), str(digest)
            last = (int(rows[-1][0]), int(rows[-1][1]))


def _typed(cols: Sequence[sa.Column[Any]], values: Sequence[Any]) -> tuple[Any, ...]:
    """Key values in their column's Python type (integers stay integers)."""
    out = []
    for col, value in zip(cols, values, strict=True):
        is_int = isinstance(col.type, sa.Integer) and not isinstance(value, int)
        out.append(int(value) if is_int else value)
    return tuple(out)


def _vouched(
    ref: RecordRef, seq: int, digest: str, entry: AuditEntry | None, after: AuditEntry | None
) -> RecordProblem | None:
    """The entry that the index names must exist, be intact, list the record in its hashed
    details and be linked from the next entry."""

    def bad(why: str) -> RecordProblem:
        return RecordProblem(ref.table.value, ref.key_text, RecordProblemKind.UNVOUCHED, why, seq)

    if entry is None:
        return bad(f"the audit entry {seq} that wrote it is missing")
    if recompute(entry) != entry.entry_hash:
        return bad(f"the audit entry {seq} that wrote it was edited")
    if (ref.table.value, ref.key_text, digest) not in entry_records(entry.details):
        return bad(f"the audit entry {seq} does not vouch for this content")
    if after is not None and after.prev_hash != entry.entry_hash:
        return bad(f"the chain is broken after entry {seq}")
    return None


class RecordWrites:
    """Queue the digest of every row written; ``append_audit`` attaches the queue."""

    conn: Connection
    pending: list[dict[str, str]]

    def bind(self, table: RecordTable, *key: Any) -> None:
        """Read back the row just written and queue its digest for the next audit entry."""
        ref = RecordRef(table, tuple(key))
        tbl = TABLES[table]
        cols = _pk(tbl)
        cond = sa.and_(*(c == v for c, v in zip(cols, key, strict=True)))
        row = self.conn.execute(sa.select(tbl).where(cond)).mappings().one()
        self.pending.append(
            {
                "table": table.value,
                "key": ref.key_text,
                "digest": row_digest(table.value, dict(row)),
            }
        )

    def unbind(self, table: RecordTable, *key: Any) -> None:
        """Queue a row just deleted: the next audit entry records it as removed."""
        ref = RecordRef(table, tuple(key))
        tbl = TABLES[table]
        cols = _pk(tbl)
        cond = sa.and_(*(c == v for c, v in zip(cols, key, strict=True)))
        if self.conn.execute(sa.select(*cols).where(cond)).first() is not None:
            raise RuntimeError(f"{ref} is still present; only a deleted row is unbound")
        self.pending.append({"table": table.value, "key": ref.key_text, "digest": REMOVED})

    def queue_records(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Queue already-digested rows (a baseline of records older than the binding)."""
        self.pending += [{"table": a, "key": k, "digest": d} for a, k, d in rows]

    def attach_records(self, seq: int, details: dict[str, Any]) -> dict[str, Any]:
        """Move the queue into ``details`` (hashed) and the index; return the details."""
        if not self.pending:
            return details
        if RECORDS_KEY in details:
            raise ValueError(f"audit details may not use the reserved key {RECORDS_KEY!r}")
        records = self.pending
        self.pending = []
        self.conn.execute(
            t.audit_records.insert(),
            [
                {
                    "seq": seq,
                    "pos": i,
                    "table_name": r["table"],
                    "record_key": r["key"],
                    "digest": r["digest"],
                }
                for i, r in enumerate(records)
            ],
        )
        return {**details, RECORDS_KEY: records}
