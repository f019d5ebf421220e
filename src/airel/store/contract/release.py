"""The store contract of the release context.

Components, aliases, bundles and drafts, lineage edges, artifacts, the audit chain and the records
it binds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # a contract names the models; importing it builds none (issue 10)
    from airel.domain.release.alias import Alias, AliasMove
    from airel.domain.release.artifact import ArtifactRef
    from airel.domain.release.audit import AuditEntry
    from airel.domain.release.bundle import BundleDraft, FrozenBundle
    from airel.domain.release.components import ComponentKey, ComponentVersion
    from airel.domain.release.kinds import ComponentKind
    from airel.domain.release.lineage import Edge
    from airel.domain.release.records import RecordProblem, RecordRef, RecordTable


class ReleaseReads(Protocol):
    """Reads of the release context (see the module docstring)."""

    def store_id(self) -> str:
        """The random id given to this store at ``airel init`` (binds checkpoints to it)."""
        ...

    def get_component(self, key: ComponentKey) -> ComponentVersion | None: ...

    def component_versions(self, kind: ComponentKind, name: str) -> list[ComponentVersion]:
        """All versions of one component, oldest first."""
        ...

    def list_components(
        self, kind: ComponentKind | None = None, *, limit: int = 1000
    ) -> list[ComponentVersion]: ...

    def get_alias(self, kind: ComponentKind, name: str, alias: str) -> Alias | None: ...

    def list_aliases(self, kind: ComponentKind, name: str) -> list[Alias]: ...

    def alias_history(self, kind: ComponentKind, name: str, alias: str) -> list[AliasMove]: ...

    def get_bundle(self, release_id: str) -> FrozenBundle | None: ...

    def list_bundles(
        self, *, use_case_id: str | None = None, limit: int = 1000
    ) -> list[FrozenBundle]: ...

    def get_draft(self, release_id: str) -> BundleDraft | None:
        """The draft of a release not frozen yet (B1), if one is stored."""
        ...

    def list_drafts(
        self, *, use_case_id: str | None = None, limit: int = 1000
    ) -> list[BundleDraft]:
        """Stored drafts, oldest first."""
        ...

    def edges_from_parents(self, parents: Sequence[str]) -> list[Edge]:
        """Edges whose parent is one of ``parents`` (walk downstream)."""
        ...

    def edges_from_children(self, children: Sequence[str]) -> list[Edge]:
        """Edges whose child is one of ``children`` (walk upstream)."""
        ...

    def get_artifact(self, digest: str) -> ArtifactRef | None: ...

    def list_artifacts(self) -> list[ArtifactRef]: ...

    def audit_head(self) -> tuple[int, str]:
        """(seq, entry_hash) of the recorded chain head; (0, genesis) when empty."""
        ...

    def get_audit(self, seq: int) -> AuditEntry | None: ...

    def iter_audit(self, *, batch: int = 10_000) -> Iterator[AuditEntry]:
        """Every audit entry in seq order, streamed in batches."""
        ...

    def check_records(self, refs: Sequence[RecordRef]) -> list[RecordProblem]:
        """Re-hash the named records and match each to the entry that vouches for it."""
        ...

    def iter_record_digests(
        self, table: RecordTable, *, batch: int = 5_000
    ) -> Iterator[list[tuple[str, str]]]:
        """Every live row of a record table as (key, digest), in batches."""
        ...

    def audited_digests(
        self, table: RecordTable, keys: Sequence[str]
    ) -> dict[str, tuple[int, str]]:
        """The latest (entry seq, digest) the chain recorded for each key."""
        ...

    def iter_audited_keys(
        self, table: RecordTable, *, batch: int = 5_000
    ) -> Iterator[list[tuple[str, int]]]:
        """Every key the audit index names for a table, with its latest entry, in batches."""
        ...

    def count_audited_keys(self, table: RecordTable) -> int:
        """How many distinct keys of ``table`` the audit index names."""
        ...

    def live_keys(self, table: RecordTable, keys: Sequence[str]) -> set[str]:
        """Which keys name a live row."""
        ...

    def iter_index(self, *, batch: int = 10_000) -> Iterator[tuple[int, str, str, str]]:
        """The audit index as (seq, table, key, digest), in entry order."""
        ...

    def unaudited_rows(self) -> list[tuple[str, str, str]]:
        """(table, key, digest) of every live record row no audit entry vouches for."""
        ...


class ReleaseWrites(Protocol):
    """Mutations of the release context (inside :meth:`Store.write`)."""

    def set_store_id(self, store_id: str) -> None:
        """Record the store's id once, at initialisation."""
        ...

    def insert_component(self, version: ComponentVersion) -> None: ...

    def queue_records(self, rows: Sequence[tuple[str, str, str]]) -> None:
        """Queue (table, key, digest) rows for the next audit entry to vouch for."""
        ...

    def put_artifact(self, ref: ArtifactRef) -> bool:
        """Record an artifact; False when it was already recorded."""
        ...

    def set_alias(self, alias: Alias, *, expected_row_version: int | None) -> None:
        """Create (expected None) or move (expected = current row_version) an alias.

        Raises ConflictError(STALE_VERSION) when the stored row_version differs.
        """
        ...

    def insert_alias_move(self, move: AliasMove) -> None: ...

    def insert_bundle(self, bundle: FrozenBundle) -> None: ...

    def save_draft(self, draft: BundleDraft, *, expected_version: int | None) -> None:
        """Create (expected None) or update (expected = the stored ``version``) a draft.

        Raises ConflictError(STALE_VERSION) when the stored version differs.
        """
        ...

    def remove_draft(self, release_id: str, *, expected_version: int) -> None:
        """Delete a draft (when it is frozen); the next audit entry records it as removed.

        Raises ConflictError(STALE_VERSION) when the stored version differs.
        """
        ...

    def add_edges(self, edges: Sequence[Edge]) -> None: ...

    def append_audit(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        before: str | None,
        after: str | None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry: ...
