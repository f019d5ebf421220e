"""Use cases: records checked against the audit chain (C2; issue 18).

``verify_records`` is what ``airel audit verify`` runs after the chain itself: it streams the
``audit_records`` index beside the chain (every record digest an entry's hashed details vouch
for must be in the index, and nothing else), then re-hashes every live row of every record
table in batches and compares it with the latest digest the chain recorded for it (edited,
unaudited and deleted rows are all problems; a row whose latest entry recorded it as removed —
a draft that was frozen — is not). Memory stays bounded by the batch size.

``require_intact`` is what the gate engine runs before it counts a record: the records it read
are re-hashed and matched to the entry that vouches for them; any mismatch is an
:class:`~airel.errors.IntegrityError` naming the record — never a quiet pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from airel.domain.release.audit import AuditEntry
from airel.domain.release.records import (
    RECORDS_KEY,
    RecordProblem,
    RecordProblemKind,
    RecordRef,
    RecordTable,
    check_row,
    entry_records,
)
from airel.errors import IntegrityError, Reason
from airel.store.contract import ReadTx

MAX_PROBLEMS = 100


@dataclass
class IndexMatcher:
    """Compares, entry by entry, the records an entry vouches for with the index rows."""

    index: Iterator[tuple[int, str, str, str]]
    problems: list[RecordProblem]
    _peek: tuple[int, str, str, str] | None = None
    _started: bool = False

    def _next(self) -> tuple[int, str, str, str] | None:
        if not self._started:
            self._started = True
            self._peek = next(self.index, None)
        return self._peek

    def _pop(self) -> tuple[int, str, str, str] | None:
        row = self._next()
        self._peek = next(self.index, None)
        return row

    def entry(self, entry: AuditEntry) -> None:
        """Match one chain entry (in seq order) with the index rows of its seq."""
        vouched: list[tuple[str, str, str]] = []
        if f'"{RECORDS_KEY}":' in entry.details_json:
            vouched = entry_records(entry.details)
        indexed: list[tuple[str, str, str]] = []
        while (row := self._next()) is not None and row[0] <= entry.seq:
            self._pop()
            if row[0] < entry.seq:
                self._orphan(row)
            else:
                indexed.append(row[1:])
        if vouched != indexed:
            for table, key, _digest in sorted(set(vouched) ^ set(indexed)):
                self.problems.append(
                    RecordProblem(
                        table,
                        key,
                        RecordProblemKind.UNVOUCHED,
                        f"the audit_records index and entry {entry.seq} disagree",
                        entry.seq,
                    )
                )

    def finish(self) -> None:
        """Index rows past the last entry name entries that do not exist."""
        while (row := self._pop()) is not None:
            self._orphan(row)

    def _orphan(self, row: tuple[int, str, str, str]) -> None:
        seq, table, key, _digest = row
        why = f"indexed under entry {seq}, which does not vouch for it"
        self.problems.append(RecordProblem(table, key, RecordProblemKind.UNVOUCHED, why, seq))


def tap(entries: Iterable[AuditEntry], matcher: IndexMatcher) -> Iterator[AuditEntry]:
    """Pass entries through to chain verification while matching them with the index."""
    for entry in entries:
        matcher.entry(entry)
        yield entry
    matcher.finish()


def verify_live_records(tx: ReadTx, problems: list[RecordProblem]) -> int:
    """Re-hash every live record row; compare with the chain. Returns the rows checked."""
    checked = 0
    for table in RecordTable:
        matched = 0  # live rows whose key the index names
        for batch in tx.iter_record_digests(table):
            checked += len(batch)
            audited = tx.audited_digests(table, [k for k, _ in batch])
            matched += sum(1 for key, _ in batch if key in audited)
            for key, digest in batch:
                problem = check_row(table.value, key, digest, audited.get(key))
                if problem is not None:
                    problems.append(problem)
            if len(problems) >= MAX_PROBLEMS:
                return checked
        if matched == tx.count_audited_keys(table):
            continue  # every key the chain names has its live row: nothing can be missing
        for keys in tx.iter_audited_keys(table):
            live = tx.live_keys(table, [k for k, _ in keys])
            gone = [key for key, _seq in keys if key not in live]
            # A row is gone legitimately only when its latest entry recorded it as removed.
            latest = tx.audited_digests(table, gone)
            for key in gone:
                problem = check_row(table.value, key, None, latest.get(key))
                if problem is not None:
                    problems.append(problem)
            if len(problems) >= MAX_PROBLEMS:
                return checked
    return checked


def require_intact(tx: ReadTx, refs: Sequence[RecordRef], *, purpose: str) -> None:
    """Refuse to use records that do not match the audit chain."""
    problems = tx.check_records(refs)
    if problems:
        first = problems[0]
        raise IntegrityError(
            Reason.RECORD_TAMPERED,
            f"{purpose}: {first.table}{first.key} is {first.kind.value} ({first.detail})"
            + (f", and {len(problems) - 1} more record(s)" if len(problems) > 1 else ""),
            fix="run `airel audit verify` and investigate; a record that does not match the "
            "audit chain is never counted",
            details={"problems": [p.to_dict() for p in problems]},
        )
