"""What every service needs, passed explicitly: the store, the blob store, who acts, limits,
and where the roles each identity holds come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from airel.adapters.blobs import BlobStore
from airel.adapters.documents import ParseLimits
from airel.domain.approvals import AuthMethod, Role
from airel.domain.identity import approver_roles
from airel.domain.records import RecordRef, RecordTable
from airel.services.record_integrity import require_intact
from airel.store.contract import ReadTx, Store


class Identity(Protocol):
    """Who holds which approver roles (G6), read inside the caller's transaction so a check
    and the write it guards see the same grants."""

    def roles_of(self, name: str, tx: ReadTx) -> frozenset[Role]:
        """The approver roles ``name`` holds (empty when none)."""
        ...


@dataclass(frozen=True)
class StoreIdentities:
    """Roles as granted in the store (``role_grants``, changed only by an administrator);
    a configuration file plays no part once the store is initialised. A grant row that does
    not match the audit chain (edited or inserted behind airel) is refused, not counted."""

    def roles_of(self, name: str, tx: ReadTx) -> frozenset[Role]:
        """The live approver-role grants of ``name`` (RECORD_TAMPERED if one was forged)."""
        grants = tx.list_role_grants(name, include_revoked=True)
        refs = [RecordRef(RecordTable.ROLE_GRANTS, (g.identity, g.role.value)) for g in grants]
        require_intact(tx, refs, purpose=f"the role grants of {name}")
        return approver_roles(grants)


@dataclass(frozen=True)
class Context:
    """The dependencies of a service call."""

    store: Store
    blobs: BlobStore
    actor: str
    limits: ParseLimits = field(default_factory=ParseLimits)
    identity: Identity = field(default_factory=StoreIdentities)
    # how ``actor`` was established: embedded mode trusts the local actor (the REST API will
    # pass its token / OIDC method); recorded on every approval and waiver made as ``actor``
    auth: AuthMethod = AuthMethod.UNAUTHENTICATED_LOCAL
