"""What every service needs, passed explicitly: the store, the blob store, who acts, limits,
where the roles each identity holds come from, the clock, and the document parsers that later
contexts lend earlier ones.

``parsers`` keeps the context DAG one-way: the component registry (release) must refuse a
feature view whose validation spec is malformed, but the feature-spec rules are the data
context's. The composition root passes ``{"feature_spec": ...}``; the registry calls it by
name and never imports the data context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from airel.adapters.documents.parse import Document, ParseLimits
from airel.adapters.files.blobs import BlobStore
from airel.domain.kernel.clock import Clock, SystemClock, stamp
from airel.domain.kernel.roles import AuthMethod, Role
from airel.errors import Reason, StoreError
from airel.store.contract import ReadTx, Store

DocumentParser = Callable[[Document], dict[str, Any]]  # a parsed document → stored fields


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
    parsers: Mapping[str, DocumentParser] = field(default_factory=dict)  # by name, see above

    def stamp(self) -> str:
        """Now, by this context's clock, as the stored ISO-8601 UTC text."""
        return stamp(self.clock.now())

    def parser(self, name: str) -> DocumentParser:
        """The document parser ``name`` the composition root provided."""
        try:
            return self.parsers[name]
        except KeyError:
            raise StoreError(
                Reason.CONFIG_INVALID,
                f"no {name} parser was given to this service context",
                fix="build the context with airel.Client (or pass parsers={...} to Context)",
            ) from None
