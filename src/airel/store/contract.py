"""The Store contract: what services may ask of storage, and nothing about how.

Every mutation happens inside :meth:`Store.write`, which runs a function in ONE transaction
that must also append to the audit chain; the implementation refuses to commit a mutation
without an audit entry. Writers are serialised on the audit chain head (a hash chain has a
total order anyway), and every row that can change carries a version for compare-and-set.
A transaction that fails with a serialization failure or deadlock is retried from the start,
which is why ``write`` takes a function rather than being a context manager.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from airel.domain.data.evidence import ProfileRecord, ValidationRun
from airel.domain.eval.record import EvalRecord
from airel.domain.gate.approvals import Approval, Waiver
from airel.domain.gate.records import Attestation, DecisionRecord, EvidenceLink
from airel.domain.kernel.roles import GrantRole, RoleGrant, SigningKey
from airel.domain.release.alias import Alias, AliasMove
from airel.domain.release.artifact import ArtifactRef
from airel.domain.release.audit import AuditEntry
from airel.domain.release.bundle import BundleDraft, FrozenBundle
from airel.domain.release.components import ComponentKey, ComponentKind, ComponentVersion
from airel.domain.release.lineage import Edge
from airel.domain.release.records import RecordProblem, RecordRef, RecordTable

T = TypeVar("T")


class ReadTx(Protocol):
    """Reads inside one consistent transaction."""

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

    def get_profile(self, source_digest: str, options_key: str) -> ProfileRecord | None:
        """The stored profile of some content under some options, if computed before."""
        ...

    def get_validation_run(self, run_id: str) -> ValidationRun | None: ...

    def list_validation_runs(self, *, current: str | None = None) -> list[ValidationRun]:
        """Runs, oldest first; optionally only those whose current dataset is ``current``."""
        ...

    def get_eval_record(self, record_id: str) -> EvalRecord | None: ...

    def list_eval_records(self, *, kind: str | None = None) -> list[EvalRecord]:
        """Eval runs and comparisons, oldest first."""
        ...

    # -- release gates --
    def list_attestations(self, release_id: str) -> list[Attestation]:
        """A release's attestations, oldest first."""
        ...

    def list_evidence_links(self, release_id: str) -> list[EvidenceLink]:
        """Validation runs and eval records linked to a release, oldest link first."""
        ...

    def get_approval(self, approval_id: str) -> Approval | None: ...

    def list_approvals(self, release_id: str) -> list[Approval]:
        """Every approval presented for a release (valid or not), oldest first."""
        ...

    def list_waivers(self, release_id: str) -> list[Waiver]:
        """Every exception and risk acceptance recorded for a release, oldest first."""
        ...

    def get_decision(self, decision_id: str) -> DecisionRecord | None: ...

    def list_decisions(
        self, release_id: str | None = None, *, inputs_digest: str | None = None
    ) -> list[DecisionRecord]:
        """Stored gate decisions (optionally of one release), oldest first."""
        ...

    # -- identities: role grants and signing keys (issue 18) --
    def list_role_grants(
        self, identity: str | None = None, *, include_revoked: bool = False
    ) -> list[RoleGrant]:
        """Role grants (live ones unless ``include_revoked``), by identity and role."""
        ...

    def get_signing_key(self, key_id: str) -> SigningKey | None: ...

    def list_signing_keys(self, identity: str | None = None) -> list[SigningKey]:
        """Registered keys (revoked ones too), oldest first."""
        ...

    # -- records bound to the audit chain (issue 18) --
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


class WriteTx(ReadTx, Protocol):
    """Reads plus mutations inside one serialised write transaction."""

    def set_store_id(self, store_id: str) -> None:
        """Record the store's id once, at initialisation."""
        ...

    def insert_component(self, version: ComponentVersion) -> None: ...

    def insert_profile(self, record: ProfileRecord) -> None: ...

    def insert_validation_run(self, run: ValidationRun) -> None: ...

    def insert_eval_record(self, record: EvalRecord) -> None: ...

    def insert_attestation(self, attestation: Attestation) -> None: ...

    def insert_evidence_link(self, link: EvidenceLink) -> None: ...

    def insert_approval(self, approval: Approval) -> None:
        """Record a sealed approval; a second use of its id raises APPROVAL_REPLAYED."""
        ...

    def insert_waiver(self, waiver: Waiver) -> None: ...

    def insert_decision(self, record: DecisionRecord) -> None: ...

    def grant_role(self, identity: str, role: GrantRole, *, at: str, by: str) -> RoleGrant:
        """Grant a role (a revoked grant is granted anew); the caller checks it is not live."""
        ...

    def revoke_role(self, identity: str, role: GrantRole, *, at: str, by: str) -> RoleGrant:
        """Mark a live grant revoked (kept as a record)."""
        ...

    def insert_signing_key(self, key: SigningKey) -> None: ...

    def revoke_signing_key(self, key_id: str, *, at: str, by: str) -> SigningKey:
        """Mark a registered key revoked (kept as a record)."""
        ...

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


class Store(Protocol):
    """A metadata store; SQL implementation in :mod:`airel.store.sql`."""

    url: str

    def read(self) -> AbstractContextManager[ReadTx]: ...

    def write(self, fn: Callable[[WriteTx], T]) -> T:
        """Run ``fn`` in one write transaction; retry on serialization failure; commit."""
        ...

    def close(self) -> None: ...
