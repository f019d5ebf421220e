"""What every service needs, passed explicitly: the store, the blob store, who acts, limits,
and where the roles each identity holds come from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from airel.adapters.blobs import BlobStore
from airel.adapters.documents import ParseLimits
from airel.domain.clock import Clock, SystemClock, stamp
from airel.domain.roles import AuthMethod, Role
from airel.store.contract import ReadTx, Store


class Identity(Protocol):
    """Who holds which approver roles (G6), read inside the caller's transaction so a check
    and the write it guards see the same grants."""

    def roles_of(self, name: str, tx: ReadTx) -> frozenset[Role]:
        """The approver roles ``name`` holds (empty when none)."""
        ...


@dataclass(frozen=True)
class Context:
    """The dependencies of a service call."""

    store: Store
    blobs: BlobStore
    actor: str
    identity: Identity  # where the roles come from (the store's grants: StoreIdentities)
    limits: ParseLimits = field(default_factory=ParseLimits)
    # how ``actor`` was established: embedded mode trusts the local actor (the REST API will
    # pass its token / OIDC method); recorded on every approval and waiver made as ``actor``
    auth: AuthMethod = AuthMethod.UNAUTHENTICATED_LOCAL
    clock: Clock = field(default_factory=SystemClock)  # what "now" is (tests: FixedClock)

    def stamp(self) -> str:
        """Now, by this context's clock, as the stored ISO-8601 UTC text."""
        return stamp(self.clock.now())
