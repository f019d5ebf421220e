"""The store contract of the promotion context's rollout records (issue 11)."""

from __future__ import annotations

from typing import Protocol


class RolloutReads(Protocol):
    """Reads of the rollout records."""


class RolloutWrites(Protocol):
    """Mutations of the rollout records (inside :meth:`Store.write`)."""
