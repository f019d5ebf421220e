"""What every service needs, passed explicitly: the store, the blob store, who acts, limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from airel.adapters.blobs import BlobStore
from airel.adapters.documents import ParseLimits
from airel.store.contract import Store


@dataclass(frozen=True)
class Context:
    """The dependencies of a service call."""

    store: Store
    blobs: BlobStore
    actor: str
    limits: ParseLimits = field(default_factory=ParseLimits)
