"""When gate evidence goes stale (G5): the age rule shared by evidence collection and the
decision's validity window, and the parsing of stored timestamps.

Evidence older than the tier's ``max_evidence_age_days`` is *stale* from
``created_at + max_age`` on; the frozen bundle and its rollback target never age.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

AGELESS_EVIDENCE = frozenset({"bundle", "rollback_target"})  # frozen records never go stale


def is_stale(created_at: str, now: datetime, max_age: timedelta) -> bool:
    """Evidence created at ``created_at`` is stale from ``created_at + max_age`` on."""
    return parse_stamp(created_at) + max_age <= now


def parse_stamp(text: str) -> datetime:
    """A stored ISO-8601 timestamp (``…Z`` or with an offset) as an aware datetime; one
    without an offset is UTC (airel stores UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
