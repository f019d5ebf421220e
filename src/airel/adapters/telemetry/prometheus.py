"""The gateway's Prometheus metrics (T2, T4): what the alerting rules of
:mod:`airel.domain.monitoring.alert_rules` read, and the health of the trace writer.

=========================================  =========  ======================================
metric                                     type       labels
=========================================  =========  ======================================
``airel_gateway_requests_total``           counter    route, lane, release, mode, outcome
``airel_gateway_latency_seconds``          histogram  route, lane, release, mode
``airel_gateway_critical_failures_total``  counter    route, lane, release, mode
``airel_gateway_quality_failures_total``   counter    route, lane, release, mode
``airel_gateway_cost_total``               counter    route, lane, release, mode
``airel_route_weight``                     gauge      route, lane, release (percent of live)
``airel_traces_committed_total``           counter    —
``airel_trace_commit_seconds``             histogram  —
``airel_trace_queue_depth``                gauge      —
=========================================  =========  ======================================

The gateway metric names are the domain's (:data:`~airel.domain.monitoring.alert_rules
.REQUESTS`, :data:`~airel.domain.monitoring.alert_rules.LATENCY`, the metrics of
:data:`~airel.domain.monitoring.alert_rules.SIGNALS`) and so are the labels the rules select on:
a route is given as its key ``route@lane`` (``Trace.deployment_route``) and exported as the two
labels ``route`` and ``lane``. ``outcome`` is one of :class:`Outcome`, so a label never takes an
unbounded value. :meth:`GatewayMetrics.set_weights` also exports every counter at 0 for each
release on the route, because ``increase`` cannot see the first event of a series it has never
seen.

Each :class:`GatewayMetrics` owns its registry (never the process-global one), so two gateways
in one process, or two tests, do not share counts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from airel.domain.monitoring.alert_rules import LATENCY, REQUESTS, SIGNALS
from airel.domain.monitoring.trace import Mode, Trace

__all__ = [
    "COMMIT_BUCKETS",
    "LATENCY_BUCKETS",
    "GatewayMetrics",
    "Outcome",
    "outcome_of",
    "split_route",
]

CRITICAL_FAILURES = SIGNALS["canary_critical_failures"].metric
QUALITY_FAILURES = SIGNALS["canary_quality_failure_rate"].metric
COST = SIGNALS["canary_cost_per_request"].metric
TRACES_COMMITTED = "airel_traces_committed_total"
TRACE_COMMIT = "airel_trace_commit_seconds"
TRACE_QUEUE = "airel_trace_queue_depth"
ROUTE_WEIGHT = "airel_route_weight"

# 0.5 ms to 10 s: an in-process classifier answers in well under a millisecond, an LLM in seconds.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# One group commit: a fsync (~1 ms) up to a large batch on a busy disk.
COMMIT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Outcome(StrEnum):
    """How one request ended, as counted in ``airel_gateway_requests_total{outcome}`` (the
    alert rules' error rate counts ``alert_rules.FAILED_OUTCOMES``: error, timeout, fallback)."""

    OK = "ok"  # the release answered
    ERROR = "error"  # it failed (5xx, unreachable, invalid answer …)
    TIMEOUT = "timeout"  # it did not answer in time
    FALLBACK = "fallback"  # it failed and the stable release answered instead
    REFUSED = "refused"  # the gateway refused the request before calling the release


def outcome_of(trace: Trace) -> Outcome:
    """The outcome of ``trace``: fallback first (the candidate failed), then by ``error``
    (``TIMEOUT…`` timeout, ``REFUSED…`` refused, any other error), else ok."""
    if trace.fallback:
        return Outcome.FALLBACK
    if trace.error is None:
        return Outcome.OK
    error = trace.error.upper()
    if error.startswith("TIMEOUT"):
        return Outcome.TIMEOUT
    if error.startswith("REFUSED"):
        return Outcome.REFUSED
    return Outcome.ERROR


def split_route(route: str) -> tuple[str, str]:
    """``route@lane`` → (route, lane); ValueError without a lane."""
    name, at, lane = route.rpartition("@")
    if not at or not name or not lane:
        raise ValueError(f"{route!r} is not a route key route@lane")
    return name, lane


@dataclass(frozen=True, slots=True)
class _Series:
    """The bound children of one (route, lane, release, mode): labels resolved once."""

    requests: dict[Outcome, Counter]
    latency: Histogram
    critical: Counter
    quality: Counter
    cost: Counter


class GatewayMetrics:
    """The gateway's metrics in a registry of their own; thread-safe."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("route", "lane", "release", "mode")
        reg = self.registry
        self._requests = Counter(
            REQUESTS, "Requests by how they ended", [*labels, "outcome"], registry=reg
        )
        self._latency = Histogram(
            LATENCY, "Request latency in seconds", labels, buckets=LATENCY_BUCKETS, registry=reg
        )
        self._critical = Counter(
            CRITICAL_FAILURES, "Requests with a critical failure", labels, registry=reg
        )
        self._quality = Counter(
            QUALITY_FAILURES, "Requests with a quality flag", labels, registry=reg
        )
        self._cost = Counter(COST, "Cost of the requests", labels, registry=reg)
        self._weight = Gauge(
            ROUTE_WEIGHT, "Percent of live traffic", ("route", "lane", "release"), registry=reg
        )
        self._committed = Counter(TRACES_COMMITTED, "Traces committed", registry=reg)
        self._commit = Histogram(
            TRACE_COMMIT, "Seconds per trace group commit", buckets=COMMIT_BUCKETS, registry=reg
        )
        self._queue = Gauge(TRACE_QUEUE, "Traces queued, not yet committed", registry=reg)
        self._lock = threading.Lock()
        self._series: dict[tuple[str, str, str, str], _Series] = {}
        self._weighted: dict[tuple[str, str], set[str]] = {}

    def _bound(self, route: str, release: str, mode: Mode | str) -> _Series:
        name, lane = split_route(route)
        key = (name, lane, release, Mode(mode).value)
        series = self._series.get(key)
        if series is None:
            with self._lock:
                series = self._series.get(key)
                if series is None:
                    series = _Series(
                        requests={o: self._requests.labels(*key, o.value) for o in Outcome},
                        latency=self._latency.labels(*key),
                        critical=self._critical.labels(*key),
                        quality=self._quality.labels(*key),
                        cost=self._cost.labels(*key),
                    )
                    self._series[key] = series
        return series

    def observe_request(
        self,
        route: str,
        release: str,
        mode: Mode | str,
        outcome: Outcome | str,
        seconds: float,
    ) -> None:
        """Count one request on ``route`` (``route@lane``) and observe its latency."""
        series = self._bound(route, release, mode)
        series.requests[Outcome(outcome)].inc()
        series.latency.observe(seconds)

    def observe_trace(self, trace: Trace) -> None:
        """Count ``trace``'s request as :meth:`observe_request` does, and its critical
        failure, quality flags and cost."""
        series = self._bound(trace.deployment_route, trace.release_id, trace.mode)
        series.requests[outcome_of(trace)].inc()
        series.latency.observe(trace.latency_ms / 1000)
        if trace.critical_failure:
            series.critical.inc()
        if trace.quality_flags:
            series.quality.inc()
        if trace.cost:
            series.cost.inc(trace.cost)

    def observe_commit(self, n: int, seconds: float) -> None:
        """One trace group commit of ``n`` traces (``TraceWriter(on_commit=...)``)."""
        self._committed.inc(n)
        self._commit.observe(seconds)

    def set_queue_depth(self, depth: int) -> None:
        """The traces queued in the writer now."""
        self._queue.set(depth)

    def track_queue_depth(self, depth: Callable[[], float]) -> None:
        """Read the queue depth at every scrape (``lambda: writer.pending``)."""
        self._queue.set_function(depth)

    def set_weights(
        self, route: str, weights: Mapping[str, float], *, shadow: Iterable[str] = ()
    ) -> None:
        """The live split of ``route`` (``route@lane``; release → percent), replacing the last
        one: a release no longer in it loses its weight series. Every release on the route
        (``shadow`` ones in mode shadow) gets its request counters exported at 0."""
        name, lane = split_route(route)
        with self._lock:
            before = self._weighted.get((name, lane), set())
            for release in before - set(weights):
                self._weight.remove(name, lane, release)
            for release, percent in weights.items():
                self._weight.labels(name, lane, release).set(percent)
            self._weighted[(name, lane)] = set(weights)
        for release in weights:
            self._bound(route, release, Mode.LIVE)
        for release in shadow:
            self._bound(route, release, Mode.SHADOW)

    def render(self) -> tuple[bytes, str]:
        """The exposition (text format) and its content type, for ``GET /metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
