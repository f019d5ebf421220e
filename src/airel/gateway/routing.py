"""Which release answers a request: the route's weights, applied sticky by key (T2).

A request's key (customer, session, or the field the traffic plan names) is hashed with the
route into one of 10,000 buckets; the route's releases own consecutive bucket ranges in
basis points, candidates first (by id) and the stable release last. So:

- the same key lands on the same release for as long as the weights stand (stickiness);
- when a candidate's share grows (canary 1 % → 5 % → 20 %), every key already on it stays on
  it — the ranges only extend — and when it is rolled back, everyone returns to the stable;
- a request in an excluded segment (or outside the included ones) goes to the stable release,
  whatever its bucket.

A request without a key gets a random bucket: split by weight, not sticky.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from airel.domain.monitoring.serving import ServedRoute, normal_segment

BUCKETS = 10_000
__all__ = ["BUCKETS", "Choice", "bucket", "choose", "normal_segment", "shadows", "shares"]


def bucket(route: str, key: str | None) -> int:
    """The key's bucket on ``route`` (0–9,999); random without a key."""
    if key is None:
        return secrets.randbelow(BUCKETS)
    digest = hashlib.sha256(f"{route}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


@dataclass(frozen=True)
class Choice:
    """Where a request goes and why."""

    release_id: str
    bucket: int
    held_back: str | None = None  # the segment rule that kept it on the stable release


def _ranges(route: ServedRoute) -> list[tuple[int, str]]:
    """(upper bound in basis points, release) — candidates first, the stable release last."""
    live = {r: w for r, w in route.weights.items() if w > 0}
    order = sorted(r for r in live if r != route.stable)
    if route.stable in live:
        order.append(route.stable)
    out: list[tuple[int, str]] = []
    total = 0.0
    for r in order:
        total += live[r]
        out.append((round(total * BUCKETS / 100), r))
    if out:
        out[-1] = (BUCKETS, out[-1][1])  # rounding never leaves a bucket unowned
    return out


def choose(route: ServedRoute, key: str | None, segments: Iterable[str]) -> Choice:
    """The release that answers a request with ``key`` in ``segments`` on ``route``."""
    b = bucket(route.key, key)
    names = {normal_segment(s) for s in segments}
    excluded = sorted(names & {normal_segment(s) for s in route.exclude_segments})
    if excluded:
        return Choice(route.stable, b, f"excluded segment {excluded[0]}")
    include = {normal_segment(s) for s in route.include_segments}
    for upper, release in _ranges(route):
        if b < upper:
            if include and release != route.stable and not names & include:
                return Choice(route.stable, b, "outside the included segments")
            return Choice(release, b)
    return Choice(route.stable, b)


def shadows(route: ServedRoute, answered_by: str) -> list[str]:
    """The releases that get a shadow copy of a request ``answered_by`` answered."""
    return [r for r in route.mirror if r != answered_by and r in route.releases]


def shares(route: ServedRoute) -> Mapping[str, float]:
    """Each live release's share in percent (for metrics)."""
    return {r: float(w) for r, w in route.weights.items()}
