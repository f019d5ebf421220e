"""What the gateway serves: each route@lane as the reconciler applied it, with the endpoint,
lineage and tool modes of every release on it (T2). Built from the records by
:func:`airel.services.monitoring.serving.serving_table`; read by the gateway on every request
from memory, never from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_ALIASES = {
    "vulnerable_customer": "vulnerable", "vulnerable_customers": "vulnerable",
    "complaints": "complaint",
}  # fmt: skip


def normal_segment(name: str) -> str:
    """A segment or input-class name in the one form the gateway and the canary analysis
    compare (``Vulnerable-Customer`` → ``vulnerable``)."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key, key).replace("_", "-")


@dataclass(frozen=True)
class ServedRelease:
    """One release on a route, as the gateway calls and traces it."""

    release_id: str
    endpoint: str | None  # None: the manifest names none — requests to it fail clearly
    manifest_digest: str | None
    decision_id: str | None
    use_case_id: str | None
    risk_tier: int | None
    versions: dict[str, str] = field(default_factory=dict)  # §7.3 field → "name:version"
    tools: dict[str, str] = field(default_factory=dict)  # tool → read | draft | write | disabled
    customer_visible: bool = False


@dataclass(frozen=True)
class ServedRoute:
    """One route@lane as applied by the reconciler."""

    route: str
    lane: str
    version: int  # the route version the weights come from
    stable: str
    weights: dict[str, float]
    mirror: list[str]
    releases: dict[str, ServedRelease]
    sticky_by: str | None = None  # the request field that keeps a customer on one release
    exclude_segments: list[str] = field(default_factory=list)  # kept on the stable release
    include_segments: list[str] = field(default_factory=list)  # only these reach the candidate
    candidate: str | None = None
    step: str | None = None
    unavailable: str | None = None  # why the route cannot be served (never reconciled …)

    @property
    def key(self) -> str:
        return f"{self.route}@{self.lane}"
