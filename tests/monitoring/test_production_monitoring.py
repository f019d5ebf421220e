"""Production monitoring (SPEC T4, P4): a release's live traces over a window against its
training reference, on SQLite and PostgreSQL.

* Traced feature values that follow the training distribution: no drift, a healthy window, and
  nothing recorded.
* A shifted feature: one drift alert and one ``data_drift`` CT trigger record — a record, no
  candidate, never a promotion; evaluating the window again records nothing new.
* A planted rise of critical failures: an incident (through a ``performance_degradation``
  trigger record, §5.4), once.
* An empty window, or one with too few requests: inconclusive, never healthy, nothing recorded.
* The feature sample is bounded and spread over the window; the numbers come per hour too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airel.client import Client
from airel.domain.data.profile import LogicalType
from airel.domain.monitoring.production import (
    AlertAction,
    Check,
    CheckStatus,
    Code,
    MonitorSpec,
    MonitorStatus,
    bucket_edges,
    coerce_values,
    sample_quotas,
)
from airel.domain.monitoring.trace import Mode, Trace
from airel.domain.promotion.ct_trigger import IncidentSource, TriggerDecision, TriggerKind
from airel.errors import AirelError, Reason
from airel.services.monitoring import traces
from airel.services.monitoring.production import MonitorReport, monitor
from gate_fixtures import FIRST, SCOPE

RELEASE = "FRAUD-2026-001"
SINCE = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
UNTIL = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CHANNELS = ["web", "pos", "atm"]
P_CHANNEL = [0.5, 0.4, 0.1]
FEATURE_SPEC = """
label: label
columns:
  amount: {type: float, critical: true}
  channel: {type: string}
  label: {type: int}
"""
DATASET = """
kind: dataset
name: FRAUD-TRAIN
version: "2"
owner: fraud-data
source_lineage: [cards.authorisations]
snapshot: {query: "select * from auth where month <= 9", partition: "2026Q3"}
schema: {amount: float64, channel: string, label: int64}
classification: confidential
retention: 7y
allowed_use: [fraud-detection]
row_count: 4000
artifact: data/train-v2.parquet
"""
FEATURE_VIEW = """
kind: feature_view
name: fraud-auth-features
version: "12"
owner: fraud-data
entity_key: customer_id
features: [{name: amount, dtype: float64}, {name: channel, dtype: string}]
transform: features.py
freshness_sla: 15m
serving_view: online.fraud_auth_v12
allowed_use: [fraud-detection]
source_datasets: ["FRAUD-TRAIN:2"]
validation_spec: fv-spec.yaml
"""


@pytest.fixture
def release(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any, project: Path
) -> Client:
    """A frozen Tier 1 release trained on FRAUD-TRAIN:2 (4,000 rows: amount ~ N(100, 20),
    channel web/pos/atm) with feature view fraud-auth-features:12 and its validation spec."""
    rng = np.random.default_rng(7)
    n = 4000
    table = pa.table(
        {
            "amount": np.abs(rng.normal(100, 20, n)),
            "channel": rng.choice(CHANNELS, n, p=P_CHANNEL),
            "label": (rng.random(n) < 0.05).astype(np.int64),
        }
    )
    pq.write_table(table, project / "data" / "train-v2.parquet")
    write("fv-spec.yaml", FEATURE_SPEC)
    fraud_registry.registry.register(write("specs/dataset-v2.yaml", DATASET), base_dir=project)
    fraud_registry.registry.register(write("specs/fv-v12.yaml", FEATURE_VIEW), base_dir=project)
    text = (
        bundle_yaml()
        .replace("training_snapshot: FRAUD-TRAIN:1", "training_snapshot: FRAUD-TRAIN:2")
        .replace("feature_view: fraud-auth-features:11", "feature_view: fraud-auth-features:12")
    )
    fraud_registry.bundles.create(
        write("v1.yaml", text + SCOPE), freeze=True, allow_incomplete=FIRST
    )
    return fraud_registry


def make_traces(
    n: int,
    *,
    seed: int,
    shift: float = 0.0,
    critical_every: int = 0,
    start: int = 0,
    minutes: float = 120.0,
) -> list[Trace]:
    """``n`` live traces spread over the window; ``shift`` moves amount; every
    ``critical_every``-th request is a critical failure."""
    rng = np.random.default_rng(seed)
    amounts = np.abs(rng.normal(100 + shift, 20, n))
    channels = rng.choice(CHANNELS, n, p=P_CHANNEL)
    out = []
    for i in range(n):
        seconds = int(i * minutes * 60 / n)
        out.append(
            Trace(
                request_id=f"req-{start + i:08d}",
                at=f"2026-12-04T{10 + seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
                f"{seconds % 60:02d}.000000Z",
                release_id=RELEASE,
                deployment_route="fraud-score-prod@production",
                status=200,
                latency_ms=40.0 + float(rng.gamma(2.0, 10.0)),
                cost=0.002,
                critical_failure=bool(critical_every) and i % critical_every == 0,
                feature_values={
                    "amount": float(amounts[i]),
                    "channel": str(channels[i]),
                    "customer_id": f"C{i:05d}",
                },
            )
        )
    return out


def head(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def run(client: Client, **kw: Any) -> MonitorReport:
    return monitor(client.ctx, RELEASE, since=SINCE, until=UNTIL, **kw)


def check(report: MonitorReport, which: Check) -> tuple[CheckStatus, Code]:
    found = next(c for c in report.evaluation.checks if c.check is which)
    return found.status, found.code


def test_the_training_distribution_is_healthy(release: Client) -> None:
    """T4: traced values from the training distribution: no drift, healthy, nothing recorded
    but the reference profile (once)."""
    traces.ingest(release.ctx, make_traces(600, seed=11))
    first = run(release)
    assert first.status is MonitorStatus.HEALTHY, first.to_dict()["checks"]
    assert check(first, Check.DRIFT) == (CheckStatus.OK, Code.OK)
    features = {f.feature: f for f in first.drift.features}
    assert features["amount"].result is not None
    assert not features["amount"].result.drifted
    assert features["channel"].result is not None
    assert not features["channel"].result.drifted
    assert features["customer_id"].skipped == "not in the reference"
    assert first.drift.reference == "dataset/FRAUD-TRAIN:2"
    assert first.feature_view == "feature_view/fraud-auth-features:12"
    assert first.recorded == ()
    assert first.window.requests == 600
    assert first.window.cost_per_request == pytest.approx(0.002)
    assert [(b.start, b.end, b.requests) for b in first.buckets] == [
        ("2026-12-04T10:00:00.000000Z", "2026-12-04T11:00:00.000000Z", 300),
        ("2026-12-04T11:00:00.000000Z", "2026-12-04T12:00:00.000000Z", 300),
    ]
    at = head(release)
    again = run(release)
    assert head(release) == at  # the stored reference profile was reused: nothing written
    assert again.to_dict() == first.to_dict()
    assert release.triggers.list() == []
    assert release.triggers.incidents() == []


def test_a_shifted_feature_records_one_ct_trigger_once(release: Client) -> None:
    """T4 → P4: drift of amount is one data_drift trigger record, never a promotion, and a
    second evaluation of the window writes nothing."""
    traces.ingest(release.ctx, make_traces(600, seed=12, shift=40.0))
    report = run(release)
    assert report.status is MonitorStatus.ALERT
    assert check(report, Check.DRIFT) == (CheckStatus.ALERT, Code.DRIFT)
    drifted = [f.feature for f in report.drift.compared if f.result and f.result.drifted]
    assert drifted == ["amount"]
    (alert,) = report.recorded
    assert alert.new
    assert alert.alert.action is AlertAction.CT_TRIGGER
    assert alert.incident_id is None
    (trigger,) = release.triggers.list()
    assert trigger.trigger_id == alert.trigger_id
    assert trigger.kind is TriggerKind.DATA_DRIFT
    assert trigger.decision is TriggerDecision.RECORDED
    assert trigger.candidate_release_id is None
    assert trigger.owner == "Fraud Analytics Lead"  # the release's model owner
    assert "MONITOR_DRIFT" in trigger.condition
    assert "amount" in trigger.condition
    assert release.triggers.incidents() == []
    with release.ctx.store.read() as tx:
        assert tx.list_promotions() == []
        entry = tx.get_audit(tx.audit_head()[0])
    assert entry is not None
    assert entry.action == "ct.trigger"
    assert entry.subject == f"ct_trigger/{trigger.trigger_id}"
    at = head(release)
    again = run(release)
    assert [(r.trigger_id, r.new) for r in again.recorded] == [(trigger.trigger_id, False)]
    assert head(release) == at
    assert len(release.triggers.list()) == 1
    assert release.audit.verify().ok


def test_a_rise_of_critical_failures_opens_an_incident(release: Client) -> None:
    """T4: 5 % critical failures (zero tolerance) open a sev1 incident on the release, once."""
    traces.ingest(release.ctx, make_traces(600, seed=13, critical_every=20))
    report = run(release)
    assert report.status is MonitorStatus.ALERT
    assert check(report, Check.CRITICAL_FAILURE_RATE) == (
        CheckStatus.ALERT,
        Code.CRITICAL_FAILURE_RATE_HIGH,
    )
    assert check(report, Check.DRIFT) == (CheckStatus.OK, Code.OK)
    assert check(report, Check.ERROR_RATE) == (CheckStatus.OK, Code.OK)
    (alert,) = report.recorded
    assert alert.alert.result.measured == pytest.approx(30 / 600)
    (incident,) = release.triggers.incidents(release_id=RELEASE)
    assert incident.incident_id == alert.incident_id
    assert incident.severity == "sev1"
    assert incident.source is IncidentSource.CT_TRIGGER
    (trigger,) = release.triggers.list()
    assert trigger.kind is TriggerKind.PERFORMANCE_DEGRADATION
    assert trigger.incident_id == incident.incident_id
    assert trigger.candidate_release_id is None
    at = head(release)
    assert [r.new for r in run(release).recorded] == [False]
    assert head(release) == at
    assert len(release.triggers.incidents()) == 1
    assert release.audit.verify().ok


def test_an_empty_window_is_inconclusive_and_records_nothing(release: Client) -> None:
    """Missing data is never healthy: every check inconclusive, nothing written."""
    traces.ingest(release.ctx, make_traces(50, seed=14))
    shadow = [
        t.model_copy(update={"mode": Mode.SHADOW, "request_id": f"shd-{i:08d}"})
        for i, t in enumerate(make_traces(300, seed=15))
    ]
    traces.ingest(release.ctx, shadow)  # shadow copies are not the release's live traffic
    at = head(release)
    empty = monitor(
        release.ctx,
        RELEASE,
        since=datetime(2026, 12, 5, tzinfo=UTC),
        until=datetime(2026, 12, 5, 6, tzinfo=UTC),
    )
    assert empty.status is MonitorStatus.INCONCLUSIVE
    assert {c.status for c in empty.evaluation.checks} == {CheckStatus.INCONCLUSIVE}
    assert {c.code for c in empty.evaluation.checks} == {Code.NO_TRACES}
    assert len(empty.buckets) == 6
    assert empty.recorded == ()
    assert head(release) == at
    few = run(release)  # 50 live requests: under min_requests (100) and min_samples (100)
    assert few.status is MonitorStatus.INCONCLUSIVE
    assert check(few, Check.ERROR_RATE) == (CheckStatus.INCONCLUSIVE, Code.TOO_FEW_REQUESTS)
    assert check(few, Check.DRIFT) == (CheckStatus.INCONCLUSIVE, Code.DRIFT_INCONCLUSIVE)
    assert few.window.requests == 50
    assert few.recorded == ()
    assert release.triggers.list() == []


def test_the_feature_sample_is_bounded_and_spread(release: Client) -> None:
    """At most max_traces bodies are read, in proportion to each hour's traffic; the numbers
    still cover every request."""
    first_hour = make_traces(400, seed=16, minutes=60)
    second_hour = [
        t.model_copy(update={"at": t.at.replace("T10:", "T11:")})
        for t in make_traces(200, seed=17, minutes=60, start=400)
    ]
    traces.ingest(release.ctx, first_hour + second_hour)
    report = run(release, spec=MonitorSpec(max_traces=150, drift={"min_samples": 50}))
    assert report.drift.sampled == 150
    assert report.window.requests == 600
    assert [b.requests for b in report.buckets] == [400, 200]
    amount = next(f for f in report.drift.features if f.feature == "amount")
    assert amount.traced == 150
    assert amount.result is not None
    assert amount.result.n_cur == 150
    assert amount.result.thresholds.min_samples == 50
    assert report.status is MonitorStatus.HEALTHY


def test_bad_input_is_refused(release: Client) -> None:
    with pytest.raises(AirelError) as exc:
        monitor(release.ctx, "NO-SUCH-RELEASE", since=SINCE, until=UNTIL)
    assert exc.value.reason is Reason.RELEASE_NOT_FOUND
    with pytest.raises(AirelError) as exc:
        monitor(release.ctx, RELEASE, since=UNTIL, until=SINCE)
    assert exc.value.reason is Reason.INVALID_VALUE
    with pytest.raises(ValueError, match="no data drift"):
        MonitorSpec(actions={Check.ERROR_RATE: AlertAction.CT_TRIGGER})


def test_pure_rules() -> None:
    """Quotas follow traffic and never exceed the bound; buckets are clock-aligned; traced
    values that do not fit the reference type become NULL and are counted."""
    assert sample_quotas([400, 200, 0], 150) == [100, 50, 0]
    assert sum(sample_quotas([7, 5, 3], 10)) == 10
    assert sample_quotas([3, 4], 100) == [3, 4]
    edges = bucket_edges(
        datetime(2026, 1, 1, 9, 30, tzinfo=UTC), datetime(2026, 1, 1, 11, 15, tzinfo=UTC), 60
    )
    assert [e[0][11:16] for e in edges] == ["09:30", "10:00", "11:00"]
    assert edges[-1][1].startswith("2026-01-01T11:15")
    assert coerce_values([1, 2.5, "x", True, None], LogicalType.FLOAT) == (
        [1.0, 2.5, None, None, None],
        2,
    )
    assert coerce_values([5411, "web", 1.5], LogicalType.STRING) == (["5411", "web", None], 1)
    spec = MonitorSpec(actions={Check.LATENCY_P95_MS: AlertAction.REPORT})
    assert spec.actions[Check.DRIFT] is AlertAction.CT_TRIGGER
    assert spec.actions[Check.LATENCY_P95_MS] is AlertAction.REPORT
