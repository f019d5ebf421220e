"""Canary analysis from request traces (SPEC T3, playbook §5.6, gates G7–G8).

* A healthy canary with enough requests passes; every metric is established not worse.
* A critical failure in the canary fails it whatever the statistics (zero tolerance); through
  the service the analysis is recorded as canary evidence and the plan's stop condition rolls
  the route back to the stable release at once.
* Too few requests is inconclusive (the p99 interval does not exist), and the route stays.
* A worse p99 fails; Bonferroni turns a borderline rate difference into "inconclusive".
* The Newcombe interval covers the true difference at its nominal level (seeded simulation).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from airel.client import Client
from airel.domain.gate.metrics import METRICS, EvidenceKind, check_value
from airel.domain.gate.records import Attestation
from airel.domain.kernel.clock import stamp
from airel.domain.monitoring.canary import (
    CanaryConfig,
    Finding,
    Sample,
    Verdict,
    compare,
    newcombe_interval,
    quantile_interval,
)
from airel.domain.monitoring.trace import Mode, Trace
from airel.domain.promotion.route import RolloutStatus
from airel.errors import AirelError, Reason
from airel.services.monitoring import traces
from airel.services.monitoring.analysis import analyse_canary
from airel.services.promotion import rollbacks, rollouts
from gate_fixtures import ROUTE, V1, V2
from rollout_helpers import Rollout, ready_rollout, to_canary, to_shadow


def arm(
    n: int,
    *,
    seed: int,
    error: float = 0.01,
    quality: float = 0.005,
    override: float = 0.01,
    critical: int = 0,
    tail: float = 0.0,
    segments: Callable[[int], str] = lambda i: "retail",
) -> dict[str, list[Any]]:
    """Trace columns of one arm: gamma latencies around 200 ms (``tail``: that share of the
    requests takes 600 ms more), a cost per request, rare errors and flags."""
    rng = np.random.default_rng(seed)
    latency = rng.gamma(50.0, 4.0, n) + np.where(rng.random(n) < tail, 600.0, 0.0)
    failed = rng.random(n) < error
    return {
        "request_id": [f"req-{seed}-{i:07d}" for i in range(n)],
        "status": [503 if f else 200 for f in failed],
        "latency_ms": latency.tolist(),
        "critical": [i < critical for i in range(n)],
        "error": [None] * n,
        "cost": rng.uniform(0.001, 0.003, n).tolist(),
        "quality_failure": (rng.random(n) < quality).tolist(),
        "override": (rng.random(n) < override).tolist(),
        "segments": [segments(i) for i in range(n)],
    }


def business(i: int) -> str:
    return "retail,business" if i % 2 == 0 else "retail"


def test_a_healthy_canary_with_enough_requests_passes() -> None:
    """T3: same behaviour on both arms, thousands of requests → PASS, with typed metrics."""
    baseline = Sample.from_columns(arm(20_000, seed=1, segments=business))
    canary = Sample.from_columns(arm(6_000, seed=2, segments=business))
    result = compare(baseline, canary)
    assert result.verdict is Verdict.PASS, result.reasons
    assert result.family_size == 5 + 2 + 3 + 1  # rates, segments, p50/p95/p99, cost
    assert all(c.finding is Finding.NOT_WORSE for c in result.comparisons)
    metrics = result.metrics()
    assert set(metrics) == {
        "canary_requests", "canary_critical_failures", "canary_worse_than_baseline",
        "canary_error_rate", "canary_quality_failure_rate", "canary_override_rate",
        "canary_complaint_rate", "canary_latency_p95_ms", "canary_latency_p99_ms",
        "canary_cost_per_request",
    }  # fmt: skip
    for name, value in metrics.items():
        assert METRICS[name].source is EvidenceKind.CANARY
        assert check_value(name, value) == value
    assert (metrics["canary_requests"], metrics["canary_worse_than_baseline"]) == (6_000, 0)
    assert isinstance(metrics["canary_error_rate"], float)
    p99 = next(c for c in result.comparisons if c.metric == "latency_p99_ms")
    assert p99.interval is not None
    assert p99.interval[0] <= metrics["canary_latency_p99_ms"] <= p99.interval[1]
    assert json.loads(json.dumps(result.to_dict()))["family_size"] == 11


def test_any_critical_failure_in_the_canary_fails_it() -> None:
    """T3: critical failures are zero tolerance — 2 in 3,000 is not significant, still FAIL."""
    result = compare(
        Sample.from_columns(arm(6_000, seed=3)), Sample.from_columns(arm(3_000, seed=4, critical=2))
    )
    assert result.verdict is Verdict.FAIL
    assert result.reasons[:2] == ("CRITICAL:2", "WORSE:critical_failure_rate")
    critical = next(c for c in result.comparisons if c.metric == "critical_failure_rate")
    assert critical.interval is not None
    assert critical.interval[0] < 0  # the interval alone would not call it worse
    assert critical.reason.startswith("zero tolerance")
    assert result.metrics()["canary_critical_failures"] == 2
    assert result.metrics()["canary_worse_than_baseline"] == 1


def test_too_few_requests_is_inconclusive_and_undefined_metrics_are_left_out() -> None:
    """T3: 60 canary requests cannot bound a p95 or p99: undefined, never a pass."""
    result = compare(Sample.from_columns(arm(5_000, seed=5)), Sample.from_columns(arm(60, seed=6)))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "SAMPLE:canary:60<200" in result.reasons
    assert {"UNDEFINED:latency_p95_ms", "UNDEFINED:latency_p99_ms"} <= set(result.reasons)
    assert "canary_latency_p99_ms" not in result.metrics()
    assert "canary_latency_p95_ms" not in result.metrics()
    assert result.metrics()["canary_requests"] == 60


def test_a_worse_p99_fails() -> None:
    """T3: 4 % of canary requests 600 ms slower: p99 significantly worse, the rates are not."""
    result = compare(
        Sample.from_columns(arm(20_000, seed=7)), Sample.from_columns(arm(4_000, seed=8, tail=0.04))
    )
    assert result.verdict is Verdict.FAIL
    assert "WORSE:latency_p99_ms" in result.reasons
    p99 = next(c for c in result.comparisons if c.metric == "latency_p99_ms")
    assert p99.interval is not None
    assert p99.baseline_interval is not None
    assert p99.interval[0] > p99.baseline_interval[1]
    assert all(c.finding is not Finding.WORSE for c in result.comparisons if c.kind == "rate")


def test_bonferroni_turns_a_borderline_difference_into_inconclusive() -> None:
    """T3: 1.6 % vs 1.0 % errors in 4,000 requests each is "worse" at α = 0.05 alone, but not at
    α/m over the m = 9 metrics compared."""
    base = arm(4_000, seed=9, error=0.0, segments=lambda i: "")
    can = arm(4_000, seed=10, error=0.0, segments=lambda i: "")
    base["error"] = ["TIMEOUT" if i < 40 else None for i in range(4_000)]
    can["error"] = ["TIMEOUT" if i < 64 else None for i in range(4_000)]
    result = compare(Sample.from_columns(base), Sample.from_columns(can))
    assert result.family_size == 9
    assert result.alpha_each == pytest.approx(0.05 / 9)
    assert newcombe_interval(64, 4_000, 40, 4_000, 0.05)[0] > 0  # uncorrected: worse
    errors = next(c for c in result.comparisons if c.metric == "error_rate")
    assert errors.interval == pytest.approx(newcombe_interval(64, 4_000, 40, 4_000, 0.05 / 9))
    assert errors.interval is not None
    assert errors.interval[0] < 0
    assert errors.finding is Finding.INCONCLUSIVE
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "OPEN:error_rate" in result.reasons


def test_the_intervals_cover_at_their_nominal_level() -> None:
    """T3 method check: 2,000 seeded simulations; Newcombe's interval covers p1 − p0 about 95 %
    of the time, the order-statistic p95 interval at least 95 %."""
    rng = np.random.default_rng(20261204)
    p1, n1, p0, n0 = 0.08, 150, 0.05, 300
    x1, x0 = rng.binomial(n1, p1, 2_000), rng.binomial(n0, p0, 2_000)
    covered = [
        lo <= p1 - p0 <= hi
        for lo, hi in (
            newcombe_interval(int(a), n1, int(b), n0, 0.05) for a, b in zip(x1, x0, strict=True)
        )
    ]
    assert 0.93 <= float(np.mean(covered)) <= 0.97
    truth = -np.log(0.05)  # the p95 of Exp(1)
    hits = []
    for _ in range(500):
        ci = quantile_interval(rng.exponential(1.0, 300), 0.95, 0.05)
        assert ci is not None
        hits.append(ci[0] <= truth <= ci[1])
    assert float(np.mean(hits)) >= 0.94


def test_malformed_or_empty_input_is_refused() -> None:
    """T3: missing columns, ragged columns, a non-flag, an empty arm: CANARY_SAMPLE_INVALID."""
    good = arm(10, seed=11)
    bad: list[dict[str, list[Any]]] = [
        {k: v for k, v in good.items() if k != "latency_ms"},
        {**good, "status": good["status"][:5]},
        {**good, "critical": ["yes"] * 10},
        {**good, "latency_ms": [float("nan")] * 10},
    ]
    for columns in bad:
        with pytest.raises(AirelError) as exc:
            Sample.from_columns(columns)
        assert exc.value.reason is Reason.CANARY_SAMPLE_INVALID
    with pytest.raises(AirelError) as exc:
        compare(Sample.from_columns(good), Sample.from_columns(arm(0, seed=12)))
    assert exc.value.reason is Reason.CANARY_SAMPLE_INVALID
    with pytest.raises(AirelError) as exc:
        CanaryConfig(alpha=1.5)
    assert exc.value.reason is Reason.INVALID_VALUE


# -- through the service: traces in the store, evidence recorded, the rollout acts ------------


@pytest.fixture
def r(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Rollout:
    return ready_rollout(fraud_registry, bundle_yaml, write)


def serve(r: Rollout, release: str, count: int, *, critical: int = 0, **kw: Any) -> list[str]:
    """``count`` live traces of ``release`` on the route since the step began (one a second)."""
    started = datetime.fromisoformat(r.route().step_started_at or "")
    batch = [
        Trace(
            request_id=f"req-{release[-3:]}-{kw.get('mode', 'live')}-{i:06d}",
            at=stamp(started + timedelta(seconds=i + 1)),
            release_id=release,
            deployment_route=f"{ROUTE}@production",
            status=200,
            latency_ms=150.0 + i % 40,
            cost=0.002,
            segments=["vulnerable"] if release == V1 and i % 10 == 0 else ["retail"],
            critical_failure=i < critical,
            **kw,
        )
        for i in range(count)
    ]
    traces.ingest(r.ctx, batch)
    return [t.request_id for t in batch]


def canary_evidence(r: Rollout, since: str) -> list[Attestation]:
    """The candidate's canary attestations recorded since ``since``."""
    with r.ctx.store.read() as tx:
        return [a for a in tx.list_attestations(V2) if a.kind == "canary" and a.created_at >= since]


def test_critical_failures_recorded_as_evidence_roll_the_route_back(r: Rollout) -> None:
    """T3 + §5.1: the analysis is a canary attestation; the plan's stop condition
    (canary_critical_failures > 0) rolls the route back to the stable release automatically."""
    since = to_canary(r).step_started_at or ""
    serve(r, V1, 300)
    served = serve(r, V2, 40, critical=2)
    serve(r, V2, 25, mode=Mode.SHADOW)  # copies are not the canary
    r.clock.tick(minutes=30)
    traces.record_feedback(r.ctx, served[5], "complaint")
    r.clock.tick(minutes=30)
    run = analyse_canary(r.ctx, ROUTE)
    assert run.analysis.verdict is Verdict.FAIL
    assert (run.analysis.canary.n, run.analysis.canary.complaints) == (40, 1)
    assert run.analysis.baseline.n == 270  # the step keeps vulnerable customers on V1
    stored = canary_evidence(r, since)
    assert [a.attestation_id for a in stored] == [run.attestation_id]
    assert stored[0].status.value == "ok"
    assert stored[0].metrics["canary_critical_failures"] == 2
    assert stored[0].metrics["canary_requests"] == 40
    assert run.rollout.verdict == "stop"
    assert run.rollout.attestations == (run.attestation_id,)
    route = r.route()
    assert route.status is RolloutStatus.ROLLED_BACK
    assert route.desired.weights == {V1: 100.0}
    [rollback] = rollbacks.list_rollbacks(r.ctx, V2)
    assert (rollback.target, rollback.body["automatic"]) == (V1, True)
    assert "STOP:canary_critical_failures > 0" in rollback.reason
    assert r.client.verify_audit().ok


def test_a_small_canary_is_inconclusive_and_the_route_stays(r: Rollout) -> None:
    """T3: no canary in shadow (ROLLOUT_STATE); an empty arm is bad input, nothing written;
    30 healthy requests prove nothing: recorded as inconclusive, the step does not move; an arm
    larger than ``max_traces`` ends the window for both arms where both were read in full."""
    to_shadow(r)
    with pytest.raises(AirelError) as exc:
        analyse_canary(r.ctx, ROUTE)
    assert exc.value.reason is Reason.ROLLOUT_STATE
    r.attest("shadow", shadow_side_effects=0, shadow_requests=500)
    before = rollouts.advance(r.ctx, ROUTE).route
    serve(r, V1, 300)
    r.clock.tick(minutes=10)
    seq = r.audit_seq()
    with pytest.raises(AirelError) as exc:
        analyse_canary(r.ctx, ROUTE)
    assert exc.value.reason is Reason.CANARY_SAMPLE_INVALID
    assert r.audit_seq() == seq
    serve(r, V2, 30)
    r.clock.tick(hours=30)  # past the step's minimum duration: only the evidence holds it
    run = analyse_canary(r.ctx, ROUTE)
    assert run.analysis.verdict is Verdict.INCONCLUSIVE
    assert "SAMPLE:canary:30<200" in run.analysis.reasons
    [stored] = canary_evidence(r, before.step_started_at or "")
    assert stored.status.value == "inconclusive"
    assert run.rollout.verdict == "inconclusive"
    after = r.route()
    assert (after.step, after.version, after.status) == ("canary-1", before.version,
                                                          RolloutStatus.PROGRESSING)  # fmt: skip
    r.clock.tick(seconds=1)
    cut = analyse_canary(r.ctx, ROUTE, max_traces=5)  # both arms read in full up to the 5th
    started = datetime.fromisoformat(before.step_started_at or "")
    assert cut.window[1] == stamp(started + timedelta(seconds=5))
    assert (cut.analysis.baseline.n, cut.analysis.canary.n) == (3, 4)  # one V1 is vulnerable


def test_segment_spellings_are_excluded_as_the_gateway_excludes_them() -> None:
    """T3: the arms cover the population the gateway routed — `Vulnerable-Customer`,
    `vulnerable_customers` and `vulnerable` are one segment to both."""
    spellings = ("vulnerable", "Vulnerable-Customer", "vulnerable_customers", "retail")
    cols = arm(400, seed=5, segments=lambda i: spellings[i % 4])
    assert Sample.from_columns(cols, exclude=("vulnerable",)).n == 100
    assert Sample.from_columns(cols, include=("Vulnerable",)).n == 300
