"""Bundle drafts in the SQL store (B1): read, save under compare-and-set, remove on freeze.

One part of the transaction classes of :mod:`airel.store.sql`, like the data tables; they mix
these in, so every write shares the connection, the audit-or-refuse rule and the record
binding. A draft's ``version`` is its compare-and-set token: a save names the version it read
(None: the draft must not exist yet) and a stale one raises ``STALE_VERSION``, so concurrent
editors never lose an update. Removal records the row as removed in the next audit entry.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airel.domain.kernel.canonical import canonical_bytes
from airel.domain.kernel.tiers import PipelineType, RiskTier
from airel.domain.release.bundle import BundleDraft, DraftSummary
from airel.domain.release.records import RecordTable
from airel.errors import ConflictError, Reason
from airel.store import schema as t
from airel.store.sql.records import RecordWrites

_D = t.bundle_drafts.c


class DraftReads:
    """Reads of ``bundle_drafts``."""

    conn: Connection

    def get_draft(self, release_id: str) -> BundleDraft | None:
        row = self.conn.execute(
            sa.select(t.bundle_drafts).where(_D.release_id == release_id)
        ).first()
        return _draft(row) if row else None

    def list_drafts(
        self, *, use_case_id: str | None = None, limit: int = 1000
    ) -> list[BundleDraft]:
        query = sa.select(t.bundle_drafts)
        if use_case_id is not None:
            query = query.where(_D.use_case_id == use_case_id)
        query = query.order_by(_D.created_at, _D.release_id).limit(limit)
        return [_draft(r) for r in self.conn.execute(query)]


class DraftWrites(RecordWrites):
    """Draft mutations (each counted as a mutation needing an audit entry)."""

    conn: Connection
    mutations: int

    def save_draft(self, draft: BundleDraft, *, expected_version: int | None) -> None:
        self.mutations += 1
        values = {
            "use_case_id": draft.use_case_id,
            "risk_tier": int(draft.risk_tier),
            "pipeline_type": draft.pipeline_type.value if draft.pipeline_type else None,
            "spec_json": canonical_bytes(draft.spec).decode("utf-8"),
            "spec_digest": draft.spec_digest,
            "summary_json": canonical_bytes(draft.summary.model_dump(mode="json")).decode("utf-8"),
            "version": draft.version,
            "updated_at": draft.updated_at,
            "updated_by": draft.updated_by,
        }
        if expected_version is None:
            exists = self.conn.execute(
                sa.select(_D.version).where(_D.release_id == draft.release_id)
            ).first()
            if exists is not None:
                raise _stale(draft.release_id, None, int(exists[0]))
            self.conn.execute(
                t.bundle_drafts.insert().values(
                    release_id=draft.release_id,
                    created_at=draft.created_at,
                    created_by=draft.created_by,
                    **values,
                )
            )
        else:
            result = self.conn.execute(
                t.bundle_drafts.update()
                .where(_D.release_id == draft.release_id, _D.version == expected_version)
                .values(**values)
            )
            if result.rowcount != 1:
                raise _stale(draft.release_id, expected_version, self._version(draft.release_id))
        self.bind(RecordTable.BUNDLE_DRAFTS, draft.release_id)

    def remove_draft(self, release_id: str, *, expected_version: int) -> None:
        self.mutations += 1
        result = self.conn.execute(
            t.bundle_drafts.delete().where(
                _D.release_id == release_id, _D.version == expected_version
            )
        )
        if result.rowcount != 1:
            raise _stale(release_id, expected_version, self._version(release_id))
        self.unbind(RecordTable.BUNDLE_DRAFTS, release_id)

    def _version(self, release_id: str) -> int | None:
        row = self.conn.execute(sa.select(_D.version).where(_D.release_id == release_id)).first()
        return int(row[0]) if row else None


def _draft(row: sa.Row[Any]) -> BundleDraft:
    return BundleDraft(
        release_id=row.release_id,
        use_case_id=row.use_case_id,
        risk_tier=RiskTier(row.risk_tier),
        pipeline_type=PipelineType(row.pipeline_type) if row.pipeline_type else None,
        spec=json.loads(row.spec_json),
        spec_digest=row.spec_digest,
        summary=DraftSummary.model_validate_json(row.summary_json),
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _stale(release_id: str, expected: int | None, current: int | None) -> ConflictError:
    now = "no draft" if current is None else f"version {current}"
    was = "none (a new draft)" if expected is None else f"version {expected}"
    return ConflictError(
        Reason.STALE_VERSION,
        f"draft {release_id} changed since it was read: expected {was}, the store has {now}",
        fix=f"re-read it (`airel bundle show {release_id}`) and retry with its current version",
        details={"release_id": release_id, "expected_version": expected, "version": current},
    )
