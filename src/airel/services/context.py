"""What every service needs, passed explicitly: the store, the blob store, who acts, limits,
and which approver roles each identity holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from airel.adapters.blobs import BlobStore
from airel.adapters.documents import ParseLimits
from airel.domain.approvals import Role
from airel.store.contract import Store


class Identity(Protocol):
    """Who holds which approver roles (G6). Configuration provides it today; the REST API's
    authentication can supply its own implementation later."""

    def roles_of(self, name: str) -> frozenset[Role]:
        """The roles ``name`` holds (empty when none)."""
        ...


@dataclass(frozen=True)
class ConfiguredIdentities:
    """Roles per identity as configured in ``airel.toml`` ``[identities]``."""

    roles: Mapping[str, frozenset[Role]] = field(default_factory=dict)

    def roles_of(self, name: str) -> frozenset[Role]:
        """The configured roles of ``name``."""
        return self.roles.get(name, frozenset())


@dataclass(frozen=True)
class Context:
    """The dependencies of a service call."""

    store: Store
    blobs: BlobStore
    actor: str
    limits: ParseLimits = field(default_factory=ParseLimits)
    identity: Identity = field(default_factory=ConfiguredIdentities)
