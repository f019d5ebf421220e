"""The clock: what "now" is, as a value the services are given rather than a global they read.

Every stored time is an ISO-8601 UTC string with microseconds and a ``Z``
(``2026-12-03T13:07:42.123456Z``): it sorts as text and parses back exactly. Services ask their
:class:`~airel.services.kernel.context.Context` for the time (``ctx.stamp()``), so a test, a
replay or the coming gateway can pass a :class:`FixedClock` and get reproducible records;
nothing outside the store and this module formats a time for storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["STAMP_FORMAT", "Clock", "FixedClock", "SystemClock", "stamp", "utc_now"]

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class Clock(Protocol):
    """A source of the current time (always timezone-aware UTC)."""

    def now(self) -> datetime:
        """The current time."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock that always reads ``at`` (tests, replays)."""

    at: datetime

    def now(self) -> datetime:
        """``at``, in UTC."""
        return self.at.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """``moment`` as the stored ISO-8601 UTC text (a naive time is taken to be UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(STAMP_FORMAT)


def utc_now() -> str:
    """Now, by the machine's clock, as stored text (for the store and scripts; services use
    ``ctx.stamp()``)."""
    return stamp(SystemClock().now())
