"""The gateway's telemetry: Prometheus metrics and OpenTelemetry spans behind one object
(the gateway's ``Telemetry`` protocol, :mod:`airel.gateway.app`).

Spans are exported only when an OTLP endpoint is configured: ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), the OpenTelemetry SDK's own variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from airel.adapters.telemetry.otel import SpanEmitter
from airel.adapters.telemetry.prometheus import GatewayMetrics
from airel.domain.monitoring.serving import ServedRoute
from airel.domain.monitoring.trace import Trace

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


class GatewayTelemetry:
    """Metrics for ``/metrics`` and a span per trace."""

    def __init__(self, metrics: GatewayMetrics | None = None, spans: SpanEmitter | None = None):
        self.metrics = metrics or GatewayMetrics()
        self.spans = spans or SpanEmitter()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> GatewayTelemetry:
        """Spans to the OTLP endpoint the standard variables name (none: metrics only)."""
        env = os.environ if environ is None else environ
        endpoint = next((env[v] for v in ENDPOINT_VARS if env.get(v)), None)
        return cls(spans=SpanEmitter(endpoint) if endpoint else SpanEmitter())

    def observe(self, trace: Trace) -> None:
        """One traced request: counters, latency, and its span."""
        self.metrics.observe_trace(trace)
        self.spans.emit(trace)

    def observe_commit(self, n: int, seconds: float) -> None:
        """One trace group commit (the writer's ``on_commit``)."""
        self.metrics.observe_commit(n, seconds)

    def set_routes(self, routes: Mapping[str, ServedRoute], pending: int) -> None:
        """The live splits and the trace queue depth, at each reload and scrape."""
        for key, route in routes.items():
            self.metrics.set_weights(key, route.weights, shadow=route.mirror)
        self.metrics.set_queue_depth(pending)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus exposition and its content type."""
        return self.metrics.render()

    def close(self) -> None:
        """Export the spans still queued."""
        self.spans.shutdown()
