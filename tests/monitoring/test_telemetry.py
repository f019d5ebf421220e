"""Telemetry adapters (SPEC T1, T4): traces as OpenTelemetry spans, the gateway's Prometheus
metrics.

* A trace becomes one CLIENT span in the GenAI conventions with the release lineage under
  ``airel.*``; no text, feature value, evidence or key digest reaches a span attribute.
* A trace with an error has status ERROR and ``error.type``; one without has status UNSET.
* An emitter without an endpoint exports nothing, fails on nothing and loads no SDK; a
  sampling one keeps whole requests and every failure.
* The metrics parse back from their exposition with the labels the alert rules select on,
  each gateway its own registry; TraceWriter's ``on_commit`` feeds ``observe_commit``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from airel.adapters.telemetry.otel import (
    SERVICE_NAME,
    SpanEmitter,
    Usage,
    _traces_url,
    sampled,
    span_attributes,
    span_times,
)
from airel.adapters.telemetry.prometheus import (
    LATENCY_BUCKETS,
    GatewayMetrics,
    Outcome,
    outcome_of,
    split_route,
)
from airel.client import Client
from airel.domain.monitoring import alert_rules
from airel.domain.monitoring.trace import Mode, ToolCall, ToolOutcome, Trace
from airel.services.monitoring.writer import TraceWriter

SECRET_IN = "[EMAIL] asked to raise the card limit on [IBAN]"
SECRET_OUT = "Your limit was raised to 4,200 EUR"
FEATURE = "txn_amount_zscore_7d"


def trace(**kw: Any) -> Trace:
    base: dict[str, Any] = {
        "request_id": "req-00000042",
        "at": "2026-12-04T10:00:01.250000Z",
        "release_id": "CREDIT-2026-007",
        "use_case_id": "CREDIT-ASSIST",
        "risk_tier": 1,
        "model_version": "credit-llm:3.1.0",
        "prompt_version": "credit-system:12",
        "policy_version": "credit-guardrails:4",
        "feature_view_version": "credit-features:9",
        "dataset_or_index_version": "credit-policy-index:2026-11",
        "tool_schema_version": "credit-tools:3",
        "eval_gate_id": "sha256:" + "d" * 64,
        "deployment_route": "credit-assist@production",
        "manifest_digest": "sha256:" + "e" * 64,
        "monitoring_tags": ["canary-1"],
        "key_digest": "hmac-sha256:" + "f" * 32,
        "segments": ["retail", "eu"],
        "status": 200,
        "latency_ms": 812.5,
        "cost": 0.0031,
        "quality_flags": [],
        "input_classes": ["pii", "credit"],
        "retrieved_evidence": ["doc:credit-policy#s4.2"],
        "feature_values": {FEATURE: 3.75, "segment_code": "R-991"},
        "policy_decisions": ["allow:limit-increase-under-5000"],
        "tool_calls": [
            ToolCall(
                tool="raise_limit",
                arguments_digest="sha256:" + "a" * 64,
                side_effect=True,
                outcome=ToolOutcome.REFUSED,
                reason="write without approval",
            )
        ],
        "input_text": SECRET_IN,
        "output_text": SECRET_OUT,
    }
    base.update(kw)
    return Trace(**base)


def exported(emitter: SpanEmitter, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    assert emitter.force_flush(10_000)
    return list(exporter.get_finished_spans())


@pytest.fixture
def spans() -> Any:
    exporter = InMemorySpanExporter()
    emitter = SpanEmitter(exporter=exporter)
    yield emitter, exporter
    emitter.shutdown()


def _flatten(values: Any) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(str(x) for x in (v if isinstance(v, tuple) else (v,)))
    return out


def test_a_trace_becomes_a_genai_span_with_the_release_lineage(spans: Any) -> None:
    """T1: the §7.3 lineage rides on the span; the GenAI conventions name model and operation."""
    emitter, exporter = spans
    t = trace()
    emitter.emit(t, usage=Usage(input_tokens=512, output_tokens=64))
    [span] = exported(emitter, exporter)
    assert span.name == "chat credit-llm:3.1.0"
    assert span.kind is SpanKind.CLIENT
    assert span.resource.attributes["service.name"] == SERVICE_NAME == "airel-gateway"
    assert span.status.status_code is StatusCode.UNSET
    attrs = dict(span.attributes or {})
    assert {k: attrs[k] for k in attrs if k.startswith(("gen_ai.", "http.", "error."))} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "credit-llm:3.1.0",
        "gen_ai.response.model": "credit-llm:3.1.0",
        "gen_ai.usage.input_tokens": 512,
        "gen_ai.usage.output_tokens": 64,
        "http.response.status_code": 200,
    }
    for field in (
        "request_id",
        "release_id",
        "use_case_id",
        "risk_tier",
        "deployment_route",
        "eval_gate_id",
        "manifest_digest",
        "prompt_version",
        "policy_version",
        "feature_view_version",
        "dataset_or_index_version",
        "tool_schema_version",
    ):
        assert attrs[f"airel.{field}"] == getattr(t, field), field
    assert attrs["airel.mode"] == "live"
    assert attrs["airel.fallback"] is False
    assert attrs["airel.critical_failure"] is False
    assert attrs["airel.segments"] == ("retail", "eu")
    assert attrs["airel.input_classes"] == ("pii", "credit")
    assert attrs["airel.monitoring_tags"] == ("canary-1",)
    assert "airel.quality_flags" not in attrs  # empty lists are left off
    assert (attrs["airel.tool_calls"], attrs["airel.tool_calls.refused"]) == (1, 1)
    assert attrs["airel.cost"] == pytest.approx(0.0031)
    # 2026-12-04T10:00:01.25Z, and 812.5 ms later
    assert (span.start_time, span.end_time) == span_times(t)
    assert span.start_time == 1_796_378_401_250_000_000
    assert span.end_time is not None
    assert span.end_time - span.start_time == 812_500_000


def test_no_text_feature_value_or_evidence_reaches_the_span(spans: Any) -> None:
    """T1: masked text stays in airel's store; a span backend never holds it."""
    emitter, exporter = spans
    t = trace()
    emitter.emit(t)
    [span] = exported(emitter, exporter)
    attrs = dict(span.attributes or {})
    values = " ".join(_flatten(attrs.values()))
    forbidden = [
        SECRET_IN,
        SECRET_OUT,
        FEATURE,
        "3.75",
        "R-991",
        "doc:credit-policy",
        "allow:limit-increase",
        "hmac-sha256:",
        "sha256:" + "a" * 64,  # the tool arguments digest
        "write without approval",
    ]
    assert [f for f in forbidden if f in values] == []
    assert not [k for k in attrs if any(w in k for w in ("text", "feature_value", "evidence"))]
    assert not any(k.startswith("gen_ai.usage.") for k in attrs)  # not known: not on the span
    assert span_attributes(t) == attrs


def test_an_error_trace_is_an_error_span(spans: Any) -> None:
    """T4: a failed request is an ERROR span with its error type; no status code when no answer
    came back."""
    emitter, exporter = spans
    emitter.emit(
        trace(
            request_id="req-timeout-1",
            error="TIMEOUT",
            status=0,
            fallback=True,
            critical_failure=True,
            mode=Mode.SHADOW,
            model_version=None,
        )
    )
    [span] = exported(emitter, exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "TIMEOUT"
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "TIMEOUT"
    assert "http.response.status_code" not in attrs
    assert "gen_ai.request.model" not in attrs
    assert span.name == "chat"
    assert (attrs["airel.mode"], attrs["airel.fallback"], attrs["airel.critical_failure"]) == (
        "shadow",
        True,
        True,
    )


def test_span_times_come_from_the_stored_utc_time() -> None:
    """A trace's time is the store's ISO-8601 UTC form; a zoneless or garbage time is refused
    when the trace is built, so a span never guesses a zone."""
    assert span_times(trace(at="2026-12-04T10:00:01.250000Z"))[0] == 1_796_378_401_250_000_000
    for bad in ("2026-12-04T10:00:01.250000", "yesterday"):
        with pytest.raises(ValueError, match="at"):
            trace(at=bad)


def test_an_emitter_without_endpoint_is_a_free_no_op() -> None:
    """No collector configured: nothing exported, nothing fails, and the OpenTelemetry SDK is
    not even imported (checked in a fresh interpreter)."""
    emitter = SpanEmitter()
    assert not emitter.enabled
    emitter.emit(trace())
    assert emitter.force_flush()
    emitter.shutdown()
    emitter.shutdown()
    code = textwrap.dedent(
        """
        import sys
        from airel.adapters.telemetry.otel import SpanEmitter
        from airel.domain.monitoring.trace import Trace
        e = SpanEmitter()
        e.emit(Trace(request_id="req-00000001", at="2026-12-04T10:00:00.000000Z",
                     release_id="R-1", deployment_route="r@production", status=200,
                     latency_ms=1.0))
        e.shutdown()
        print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_an_emitter_takes_an_endpoint_or_an_exporter_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        SpanEmitter("http://localhost:4318", exporter=InMemorySpanExporter())
    assert _traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert _traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert _traces_url("https://otel.example/custom/path") == "https://otel.example/custom/path"
    with pytest.raises(ValueError, match="not an http"):
        _traces_url("collector:4318")
    emitter = SpanEmitter("http://127.0.0.1:9/v1/traces")  # nothing emitted: nothing sent
    enabled = emitter.enabled
    emitter.shutdown()
    assert (enabled, emitter.enabled) == (True, False)
    emitter.emit(trace())  # after shutdown: dropped, not an error


def test_a_shut_down_emitter_exports_what_was_queued() -> None:
    exporter = InMemorySpanExporter()
    emitter = SpanEmitter(exporter=exporter, operation="text_completion")
    for i in range(25):
        emitter.emit(trace(request_id=f"req-{i:08d}"))
    emitter.shutdown()
    got = exporter.get_finished_spans()
    assert len(got) == 25
    assert {s.name for s in got} == {"text_completion credit-llm:3.1.0"}


def test_sampling_keeps_a_share_by_request_and_every_failure() -> None:
    """A busy gateway samples; the live and shadow spans of a request go together, and a failed
    request is always exported."""
    exporter = InMemorySpanExporter()
    emitter = SpanEmitter(exporter=exporter, sample_ratio=0.25, max_queue_size=10_000)
    for i in range(2000):
        for mode in ("live", "shadow"):
            emitter.emit(trace(request_id=f"req-{i:08d}", mode=mode))
    for i in range(50):
        emitter.emit(trace(request_id=f"req-fail-{i:04d}", error="UPSTREAM_5XX"))
    emitter.shutdown()
    got = exporter.get_finished_spans()
    kept = [s for s in got if str((s.attributes or {})["airel.request_id"]).startswith("req-0")]
    by_request: dict[str, set[str]] = {}
    for s in kept:
        attrs = s.attributes or {}
        by_request.setdefault(str(attrs["airel.request_id"]), set()).add(str(attrs["airel.mode"]))
    assert 400 <= len(by_request) <= 600  # ~25 % of 2,000
    assert all(modes == {"live", "shadow"} for modes in by_request.values())
    assert len(got) - len(kept) == 50
    assert sampled(trace(), 0.0) is False
    assert sampled(trace(critical_failure=True), 0.0) is True
    with pytest.raises(ValueError, match="between 0 and 1"):
        SpanEmitter(exporter=InMemorySpanExporter(), sample_ratio=1.5)


# -- Prometheus ----------------------------------------------------------------------------


def samples(metrics: GatewayMetrics) -> dict[str, list[Sample]]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    out: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def value(found: dict[str, list[Sample]], name: str, **labels: str) -> float:
    matching = [
        s.value for s in found[name] if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(matching) == 1, (name, labels, found.get(name))
    return matching[0]


ROUTE = "credit-assist@production"


def test_requests_and_latency_parse_back_with_the_alert_rule_labels() -> None:
    """T4: the counts an alert rule reads, labelled as its selector expects."""
    m = GatewayMetrics()
    for _ in range(3):
        m.observe_request(ROUTE, "REL-2", "live", "ok", 0.0004)
    m.observe_request(ROUTE, "REL-2", Mode.LIVE, Outcome.TIMEOUT, 10.0)
    m.observe_request(ROUTE, "REL-1", "live", "refused", 0.002)
    m.observe_request(ROUTE, "REL-3", "shadow", "error", 0.3)
    found = samples(m)
    requests = alert_rules.REQUESTS
    assert requests == "airel_gateway_requests_total"
    live2 = {"route": "credit-assist", "lane": "production", "release": "REL-2", "mode": "live"}
    assert value(found, requests, **live2, outcome="ok") == 3
    assert value(found, requests, **live2, outcome="timeout") == 1
    assert value(found, requests, **live2, outcome="fallback") == 0  # exported at 0
    assert value(found, requests, release="REL-1", outcome="refused") == 1
    assert value(found, requests, release="REL-3", mode="shadow", outcome="error") == 1
    assert {k for s in found[requests] for k in s.labels} == {
        "route",
        "lane",
        "release",
        "mode",
        "outcome",
    }
    latency = alert_rules.LATENCY
    assert value(found, f"{latency}_count", **live2) == 4
    assert value(found, f"{latency}_sum", **live2) == pytest.approx(10.0012)
    assert value(found, f"{latency}_bucket", **live2, le="0.0005") == 3  # sub-millisecond
    assert value(found, f"{latency}_bucket", **live2, le="5.0") == 3
    assert value(found, f"{latency}_bucket", **live2, le="10.0") == 4
    assert (LATENCY_BUCKETS[0], LATENCY_BUCKETS[-1]) == (0.0005, 10.0)
    # the rules' error rate counts outcomes the gateway exports
    assert set(alert_rules.FAILED_OUTCOMES) <= {o.value for o in Outcome}
    with pytest.raises(ValueError, match="praise"):
        m.observe_request(ROUTE, "REL-2", "live", "praise", 0.1)
    with pytest.raises(ValueError, match="route@lane"):
        m.observe_request("credit-assist", "REL-2", "live", "ok", 0.1)


def test_traces_feed_failures_quality_and_cost() -> None:
    m = GatewayMetrics()
    m.observe_trace(trace(quality_flags=["pii_leak"], cost=0.5))
    m.observe_trace(trace(error="TIMEOUT", critical_failure=True, cost=0.25))
    m.observe_trace(trace(error="UPSTREAM_5XX", fallback=True, cost=None))
    m.observe_trace(trace(error="REFUSED_SHADOW_WRITE", mode="shadow"))
    m.observe_trace(trace(error="UNREACHABLE"))
    found = samples(m)
    live = {"release": "CREDIT-2026-007", "mode": "live"}
    got = {o.value: value(found, alert_rules.REQUESTS, **live, outcome=o.value) for o in Outcome}
    assert got == {"ok": 1, "error": 1, "timeout": 1, "fallback": 1, "refused": 0}
    assert value(found, alert_rules.REQUESTS, mode="shadow", outcome="refused") == 1
    signals = alert_rules.SIGNALS
    assert value(found, signals["canary_critical_failures"].metric, **live) == 1
    assert value(found, signals["canary_quality_failure_rate"].metric, **live) == 1
    assert value(found, signals["canary_cost_per_request"].metric, **live) == pytest.approx(0.7531)
    assert value(found, f"{alert_rules.LATENCY}_sum", **live) == pytest.approx(4 * 0.8125)
    assert outcome_of(trace()) is Outcome.OK
    assert split_route("a@b@canary") == ("a@b", "canary")


def test_route_weights_replace_the_last_split_and_export_zero_counters() -> None:
    m = GatewayMetrics()
    m.set_weights(ROUTE, {"REL-1": 95.0, "REL-2": 5.0}, shadow=["REL-3"])
    found = samples(m)
    assert value(found, "airel_route_weight", release="REL-1") == 95
    assert value(found, "airel_route_weight", release="REL-2", lane="production") == 5
    for release, mode in (("REL-1", "live"), ("REL-2", "live"), ("REL-3", "shadow")):
        for o in Outcome:
            assert value(found, alert_rules.REQUESTS, release=release, mode=mode, outcome=o) == 0
        assert value(found, f"{alert_rules.LATENCY}_count", release=release, mode=mode) == 0
    m.set_weights(ROUTE, {"REL-2": 100.0})
    found = samples(m)
    assert [s.labels["release"] for s in found["airel_route_weight"]] == ["REL-2"]
    assert value(found, "airel_route_weight", release="REL-2") == 100


def test_writer_commits_and_queue_depth(client: Client) -> None:
    """TraceWriter's on_commit is observe_commit; each gateway has its own registry."""
    m, other = GatewayMetrics(), GatewayMetrics()
    writer = TraceWriter(client.ctx, on_commit=m.observe_commit)
    m.track_queue_depth(lambda: writer.pending)
    futures = [writer.submit(trace(request_id=f"req-{i:08d}")) for i in range(120)]
    writer.close()
    results = [f.result(timeout=30) for f in futures]
    batches = {r.batch_id for r in results if r is not None}
    assert None not in results
    found = samples(m)
    assert value(found, "airel_traces_committed_total") == 120 == writer.committed
    assert value(found, "airel_trace_commit_seconds_count") == len(batches)
    assert value(found, "airel_trace_queue_depth") == 0
    assert value(samples(other), "airel_traces_committed_total") == 0
    other.set_queue_depth(7)
    assert value(samples(other), "airel_trace_queue_depth") == 7
