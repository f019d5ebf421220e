"""Request traces as OpenTelemetry spans (T1, T4): one span per :class:`Trace`, in the GenAI
semantic conventions plus airel's release lineage under ``airel.*``.

A span carries what a trace backend needs to find and group requests — the operation, the
model, the HTTP status, the error type, and which release, gate decision, manifest and
component versions answered — and nothing a customer said or was scored on: input and output
text (even masked), feature values, retrieved evidence, policy decisions, tool arguments and the
sticky-key digest stay in airel's own store, behind its access controls. The span's start is
``Trace.at``, its end ``at + latency_ms``; a trace with an ``error`` has status ERROR.

:class:`SpanEmitter` exports spans through the OpenTelemetry SDK (a :class:`BatchSpanProcessor`
over an OTLP/HTTP exporter, or an exporter given for tests). Without an endpoint it is a no-op:
the SDK is not even imported. The SDK spends ~0.1–0.25 ms of CPU per span on this project's
2-vCPU machine (mostly checking attribute values), so a busy gateway samples: ``sample_ratio``
keeps that share of requests, chosen by request id (a request's live and shadow spans are kept
or dropped together), and every span of a failed request (error, fallback, critical failure)
is kept whatever the ratio.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zlib import crc32

from airel.domain.monitoring.trace import ToolOutcome, Trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import SpanKind, Status, Tracer
    from opentelemetry.util.types import AttributeValue

__all__ = [
    "SERVICE_NAME",
    "SpanEmitter",
    "Usage",
    "sampled",
    "span_attributes",
    "span_name",
    "span_times",
]

SERVICE_NAME = "airel-gateway"
TRACES_PATH = "/v1/traces"  # the OTLP/HTTP path appended to an endpoint given without one

# GenAI semantic conventions (still "incubating" in opentelemetry-semantic-conventions, whose
# module for them is private: the names are spelled out here).
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
ERROR_TYPE = "error.type"

# The §7.3 lineage copied to ``airel.<field>`` when set (identifiers and versions, never text).
_LINEAGE = (
    "request_id",
    "release_id",
    "use_case_id",
    "risk_tier",
    "deployment_route",
    "eval_gate_id",
    "manifest_digest",
    "model_version",
    "prompt_version",
    "policy_version",
    "feature_view_version",
    "dataset_or_index_version",
    "tool_schema_version",
)
# Lists of labels copied to ``airel.<field>`` when not empty.
_LABELS = ("segments", "monitoring_tags", "quality_flags", "input_classes")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts the upstream reported (None: not reported, so not on the span)."""

    input_tokens: int | None = None
    output_tokens: int | None = None


def span_name(trace: Trace, operation: str = "chat") -> str:
    """``{operation} {model}`` as the GenAI conventions name a span (the operation alone when
    the release names no model)."""
    return f"{operation} {trace.model_version}" if trace.model_version else operation


def span_attributes(
    trace: Trace, *, operation: str = "chat", usage: Usage | None = None
) -> dict[str, AttributeValue]:
    """The span attributes of ``trace``: GenAI conventions, HTTP status, error type, and the
    release lineage under ``airel.``. No text, feature value or evidence is included."""
    attrs: dict[str, AttributeValue] = {GEN_AI_OPERATION_NAME: operation}
    if trace.model_version:
        attrs[GEN_AI_REQUEST_MODEL] = trace.model_version
        attrs[GEN_AI_RESPONSE_MODEL] = trace.model_version
    if usage is not None:
        if usage.input_tokens is not None:
            attrs[GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
        if usage.output_tokens is not None:
            attrs[GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
    if trace.status:  # 0: no answer came back
        attrs[HTTP_RESPONSE_STATUS_CODE] = trace.status
    if trace.error:
        attrs[ERROR_TYPE] = trace.error
    for name in _LINEAGE:
        value = getattr(trace, name)
        if value is not None:
            attrs[f"airel.{name}"] = value
    attrs["airel.mode"] = trace.mode.value
    attrs["airel.human_review_status"] = trace.human_review_status.value
    attrs["airel.fallback"] = trace.fallback
    attrs["airel.critical_failure"] = trace.critical_failure
    attrs["airel.human_override"] = trace.human_override
    attrs["airel.customer_impact"] = trace.customer_impact
    for name in _LABELS:
        values: list[str] = [str(v) for v in getattr(trace, name)]
        if values:
            attrs[f"airel.{name}"] = tuple(values)
    if trace.cost is not None:
        attrs["airel.cost"] = trace.cost
    if trace.tool_calls:
        attrs["airel.tool_calls"] = len(trace.tool_calls)
        attrs["airel.tool_calls.refused"] = sum(
            1 for c in trace.tool_calls if c.outcome is ToolOutcome.REFUSED
        )
    return attrs


def span_times(trace: Trace) -> tuple[int, int]:
    """(start, end) in nanoseconds since the epoch: ``at`` and ``at + latency_ms`` (a time
    without a zone is UTC). ValueError when ``at`` is not ISO-8601."""
    try:
        at = datetime.fromisoformat(trace.at)
    except ValueError:
        raise ValueError(f"trace {trace.request_id}: at {trace.at!r} is not ISO-8601") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    start = (at - _EPOCH) // timedelta(microseconds=1) * 1000
    return start, start + round(trace.latency_ms * 1_000_000)


def sampled(trace: Trace, ratio: float) -> bool:
    """Whether ``trace`` is exported at ``ratio``: always when it failed, else when its request
    id falls in the kept share (the same answer for every trace of one request)."""
    if ratio >= 1.0 or trace.error or trace.fallback or trace.critical_failure:
        return True
    return crc32(trace.request_id.encode("utf-8")) < ratio * 0x1_0000_0000


def _traces_url(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the OTLP endpoint {endpoint!r} is not an http(s) URL")
    return endpoint if parts.path not in ("", "/") else endpoint.rstrip("/") + TRACES_PATH


@dataclass(frozen=True, slots=True)
class _Export:
    """The SDK objects of an enabled emitter."""

    provider: TracerProvider
    tracer: Tracer
    kind: SpanKind
    error: Callable[[str], Status]  # the ERROR status with its description


class SpanEmitter:
    """Exports one span per trace, batched on the SDK's thread; a no-op without a target.

    ``endpoint`` is an OTLP/HTTP collector (``http://collector:4318``; ``/v1/traces`` is added
    when the URL has no path); ``exporter`` is any SDK exporter instead (tests pass an
    ``InMemorySpanExporter``). Give one or neither. ``sample_ratio`` (0–1) is the share of
    successful requests exported (see :func:`sampled`).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        exporter: SpanExporter | None = None,
        operation: str = "chat",
        sample_ratio: float = 1.0,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        max_queue_size: int = 8192,
        schedule_delay_ms: float = 1000.0,
    ) -> None:
        if endpoint is not None and exporter is not None:
            raise ValueError("give the SpanEmitter an OTLP endpoint or an exporter, not both")
        if not 0.0 <= sample_ratio <= 1.0:
            raise ValueError(f"sample_ratio {sample_ratio} is not between 0 and 1")
        self.operation = operation
        self.sample_ratio = sample_ratio
        self._export: _Export | None = None
        if endpoint is None and exporter is None:
            return
        # The SDK (and the OTLP exporter, with its HTTP stack) is loaded only when spans are
        # exported: a gateway without a collector does not pay ~0.3 s of imports for it.
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
        from opentelemetry.trace import SpanKind, Status, StatusCode  # noqa: PLC0415

        if exporter is None:
            assert endpoint is not None
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
                OTLPSpanExporter,
            )

            exporter = OTLPSpanExporter(
                endpoint=_traces_url(endpoint), headers=dict(headers or {}), timeout=timeout_s
            )
        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter, max_queue_size=max_queue_size, schedule_delay_millis=schedule_delay_ms
            )
        )
        self._export = _Export(
            provider=provider,
            tracer=provider.get_tracer("airel.gateway"),
            kind=SpanKind.CLIENT,  # the gateway calling the release's model endpoint
            error=lambda error: Status(StatusCode.ERROR, error),
        )

    @property
    def enabled(self) -> bool:
        """Whether spans are exported (an endpoint or an exporter was given, not shut down)."""
        return self._export is not None

    def emit(self, trace: Trace, *, usage: Usage | None = None) -> None:
        """Queue the span of ``trace`` for export (nothing when disabled or not sampled)."""
        export = self._export
        if export is None or not sampled(trace, self.sample_ratio):
            return
        start, end = span_times(trace)
        span = export.tracer.start_span(
            span_name(trace, self.operation),
            kind=export.kind,
            attributes=span_attributes(trace, operation=self.operation, usage=usage),
            start_time=start,
        )
        if trace.error:
            span.set_status(export.error(trace.error))
        span.end(end_time=end)

    def force_flush(self, timeout_ms: int = 30_000) -> bool:
        """Export every queued span now; False when it did not finish within the timeout."""
        return self._export.provider.force_flush(timeout_ms) if self._export else True

    def shutdown(self) -> None:
        """Export what is queued and stop (the gateway calls it on shutdown); idempotent."""
        export, self._export = self._export, None
        if export is not None:
            export.provider.shutdown()
