"""Feature transform of the fraud-auth-features view (version 11).

This file is the *transform code* registered with the feature view: airel hashes it, so a
change to how a feature is computed is a new transform hash and a visible change in the
release bundle. The serving path and the training path must both run exactly this code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class PastAuthorisation:
    """One earlier authorisation of the same customer."""

    event_time: datetime
    amount_eur: float  # gross amount: serving and training must both use gross
    merchant_id: str


def velocity_features(
    event_time: datetime, amount_eur: float, history: Sequence[PastAuthorisation]
) -> dict[str, float]:
    """Counts and sums over the customer's authorisations in the hour / day before this one."""
    last_hour = [h for h in history if event_time - h.event_time <= timedelta(hours=1)]
    last_day = [h for h in history if event_time - h.event_time <= timedelta(hours=24)]
    return {
        "txn_count_1h": float(len(last_hour)),
        "txn_count_24h": float(len(last_day)),
        "amount_sum_24h": sum(h.amount_eur for h in last_day) + amount_eur,
        "distinct_merchants_24h": float(len({h.merchant_id for h in last_day})),
    }
