"""The store contract of the promotion context's triggers records (issue 11)."""

from __future__ import annotations

from typing import Protocol


class TriggerReads(Protocol):
    """Reads of the triggers records."""


class TriggerWrites(Protocol):
    """Mutations of the triggers records (inside :meth:`Store.write`)."""
