"""Use case: monitor a release in production over a window (T4, §5.4): drift of its traced
feature values against the training reference, and quality, latency and cost over time; each
alert becomes a CT trigger record (drift) or an incident (degradation).

:func:`monitor` reads, in ONE read transaction, the release's bundle, the columns of its LIVE
traces in ``[since, until)`` (at most ``spec.max_columns`` rows; a window holding more ends at
the last time read in full, reported as ``read_until``) and, for drift, the bodies of at most
``spec.max_traces`` of those traces, spread over the window's buckets in proportion to their
traffic. The window's feature values are profiled with the data context's profile engine and
compared, feature by feature, with the stored profile of the training reference — by default
the bundle's ``data.training_snapshot``, profiled under the options its feature view's spec
implies, so the profile ``airel validate`` stored for it is reused — by the data context's drift
rule with the feature view's thresholds (:mod:`airel.domain.monitoring.production`).

Each alert whose action records something is written in its own audited transaction: a §8.7
trigger record (``data_drift``, or ``performance_degradation`` with its incident), decision
``recorded`` — no build, no candidate frozen here, never a promotion. Its id is derived from
(release, window, check): evaluating the same window again records nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from airel.adapters.arrow.engine import ProfileOptions, profile_table
from airel.domain.data.drift import DriftThresholds, compare_columns
from airel.domain.data.featurespec import FeatureSpec
from airel.domain.data.profile import LogicalType, Profile
from airel.domain.kernel.clock import stamp
from airel.domain.kernel.tiers import RiskTier
from airel.domain.monitoring.canary import Sample
from airel.domain.monitoring.production import (
    Alert,
    DriftInput,
    Evaluation,
    FeatureDrift,
    FeatureValue,
    MonitorSpec,
    MonitorStatus,
    WindowStats,
    alert_trigger_id,
    bucket_edges,
    bucket_of,
    coerce_values,
    evaluate,
    sample_quotas,
    trigger_document,
)
from airel.domain.monitoring.trace import Mode, Trace, TraceQuery
from airel.domain.promotion.ct_trigger import (
    CtTrigger,
    TriggerDecision,
    TriggerSpec,
    decision_text,
    parse_trigger_spec,
    release_rule,
    trigger_incident,
)
from airel.domain.release.bundle import FrozenBundle
from airel.domain.release.components import ComponentKey
from airel.errors import (
    ConflictError,
    InputError,
    IntegrityError,
    NotFoundError,
    Reason,
    ValidationError,
)
from airel.services.data.profiling import get_or_compute, resolve_source
from airel.services.data.validation import load_spec
from airel.services.kernel.context import Context
from airel.store.contract import ReadTx, WriteTx

PYARROW_TYPES = {LogicalType.STRING: pa.string(), LogicalType.BOOL: pa.bool_()}


@dataclass(frozen=True)
class RecordedAlert:
    """An alert and the record it left (None: report only)."""

    alert: Alert
    trigger_id: str | None
    incident_id: str | None
    new: bool  # written by this run (False: an earlier run recorded it, or report only)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.alert.result.to_dict(), "action": self.alert.action.value,
                "severity": self.alert.severity, "trigger_id": self.trigger_id,
                "incident_id": self.incident_id, "new": self.new}  # fmt: skip


@dataclass(frozen=True)
class MonitorReport:
    """One evaluated window of one release."""

    release_id: str
    use_case_id: str
    since: str
    until: str
    read_until: str  # == until unless the window held more than spec.max_columns traces
    spec: MonitorSpec
    feature_view: str | None  # whose spec gave the drift thresholds (None: the defaults)
    window: WindowStats
    buckets: tuple[WindowStats, ...]
    drift: DriftInput
    evaluation: Evaluation
    recorded: tuple[RecordedAlert, ...]

    @property
    def status(self) -> MonitorStatus:
        """healthy, alert or inconclusive."""
        return self.evaluation.status

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what ``airel monitor --json`` prints)."""
        return {
            "release_id": self.release_id,
            "use_case_id": self.use_case_id,
            "window": {"since": self.since, "until": self.until, "read_until": self.read_until},
            "status": self.status.value,
            "limits": {
                "max_traces": self.spec.max_traces,
                "max_columns": self.spec.max_columns,
                "bucket_minutes": self.spec.bucket_minutes,
            },
            "feature_view": self.feature_view,
            "numbers": self.window.to_dict(),
            "buckets": [b.to_dict() for b in self.buckets],
            "drift": self.drift.to_dict(),
            "checks": [c.to_dict() for c in self.evaluation.checks],
            "alerts": [r.to_dict() for r in self.recorded],
        }


def _invalid(message: str, fix: str, **details: Any) -> ValidationError:
    return ValidationError(Reason.INVALID_VALUE, message, fix=fix, details=details)


def _bundle(tx: ReadTx, release_id: str) -> FrozenBundle:
    bundle = tx.get_bundle(release_id)
    if bundle is None:
        raise NotFoundError(
            Reason.RELEASE_NOT_FOUND,
            f"no frozen release {release_id}",
            fix="`airel bundle list` shows the frozen releases",
            details={"release_id": release_id},
        )
    return bundle


def _cut(columns: dict[str, list[Any]], until: str) -> dict[str, list[Any]]:
    keep = [i for i, at in enumerate(columns["at"]) if at < until]
    return {name: [values[i] for i in keep] for name, values in columns.items()}


def _read(
    tx: ReadTx, release_id: str, edges: list[tuple[str, str]], spec: MonitorSpec
) -> tuple[dict[str, list[Any]], list[Trace], str]:
    """The window's trace columns, a bounded stratified sample of its traces, and where the
    window was read to."""
    since, until = edges[0][0], edges[-1][1]
    query = TraceQuery(release_id=release_id, since=since, until=until, mode=Mode.LIVE,
                       limit=spec.max_columns)  # fmt: skip
    columns = tx.trace_columns(query)
    if len(columns["at"]) >= spec.max_columns:  # cut: end where the window was read in full
        until = columns["at"][-1]
        columns = _cut(columns, until)
        edges = [(s, min(e, until)) for s, e in edges if s < until]
    counts = [0] * len(edges)
    for b in bucket_of(columns["at"], edges):
        counts[b] += 1
    quotas = sample_quotas(counts, spec.max_traces)
    if sum(quotas) == sum(counts):  # everything fits: one read
        whole = query.model_copy(update={"until": until, "limit": max(sum(counts), 1)})
        return columns, tx.query_traces(whole), until
    sample: list[Trace] = []
    for (start, end), quota in zip(edges, quotas, strict=True):
        if quota:
            part = query.model_copy(update={"since": start, "until": end, "limit": quota})
            sample += tx.query_traces(part)
    return columns, sample, until


def _buckets(columns: dict[str, list[Any]], edges: list[tuple[str, str]]) -> list[WindowStats]:
    rows: list[list[int]] = [[] for _ in edges]
    for i, b in enumerate(bucket_of(columns["at"], edges)):
        rows[b].append(i)
    out = []
    for (start, end), keep in zip(edges, rows, strict=True):
        part = {name: [values[i] for i in keep] for name, values in columns.items()}
        out.append(WindowStats.of(Sample.from_columns(part), start, end))
    return out


# -- drift -------------------------------------------------------------------------------------


def _feature_spec(ctx: Context, bundle: FrozenBundle) -> tuple[FeatureSpec | None, str | None]:
    """The validation spec of the bundle's feature view, if it has one."""
    node = next((r.node for r in bundle.resolutions if r.path == "features.feature_view"), None)
    if node is None:
        return None, None
    try:
        loaded = load_spec(ctx, node)
    except ValidationError as exc:  # a feature view registered without a validation spec
        if exc.reason is not Reason.MISSING_FIELD:
            raise
        return None, None
    return loaded.spec, loaded.feature_view


def _reference(
    ctx: Context, bundle: FrozenBundle, reference: str | None, spec: FeatureSpec | None
) -> tuple[Profile | None, str | None, str | None]:
    """(reference profile, its name, why there is none). An explicit ``reference`` that
    cannot be read raises; the bundle's own snapshot failing is reported."""
    options = ProfileOptions(
        label=spec.label if spec else None, reference_time=spec.prediction_time if spec else None
    )
    if reference is not None:
        source = resolve_source(ctx, reference)
        return get_or_compute(ctx, source, options)[0], source.node or source.digest, None
    node = next((r.node for r in bundle.resolutions if r.path == "data.training_snapshot"), None)
    if node is None:
        return None, None, f"{bundle.release_id} names no data.training_snapshot"
    try:
        return get_or_compute(ctx, resolve_source(ctx, node), options)[0], node, None
    except (InputError, NotFoundError, IntegrityError) as exc:  # e.g. registered by hash only
        return None, None, f"{node} cannot be profiled ({exc.reason.value}): {exc.message}"


def _skipped(spec: FeatureSpec | None, name: str, ref: Profile) -> str | None:
    column = ref.columns.get(name)
    if column is None:
        return "not in the reference"
    if not (column.logical.numeric or column.logical in PYARROW_TYPES):
        return f"a {column.logical.value} column: not compared"
    if spec is not None:
        if name == spec.label:
            return "the label"
        if spec.is_identifier(name):
            return "an identifier"
        if name in spec.columns and not spec.drift_enabled(name):
            return "drift disabled by the feature spec"
    return None


def _drift(
    traces: Sequence[Trace],
    ref: Profile | None,
    ref_name: str | None,
    problem: str | None,
    spec: FeatureSpec | None,
    monitor: MonitorSpec,
) -> DriftInput:
    if ref is None or ref_name is None:
        return DriftInput(None, problem, sampled=len(traces))
    names = sorted({k for t in traces for k in t.feature_values})
    arrays: dict[str, pa.Array] = {}
    features: list[FeatureDrift] = []
    mismatched: dict[str, int] = {}
    traced: dict[str, int] = {}
    for name in names:
        values: list[FeatureValue] = [t.feature_values.get(name) for t in traces]
        traced[name] = sum(v is not None for v in values)
        why = _skipped(spec, name, ref)
        if why is not None:
            features.append(FeatureDrift(name, traced[name], skipped=why))
            continue
        logical = ref.columns[name].logical
        fitted, mismatched[name] = coerce_values(values, logical)
        arrays[name] = pa.array(fitted, type=PYARROW_TYPES.get(logical, pa.float64()))
    if arrays:
        current = profile_table(pa.table(arrays), ProfileOptions(threads=1))
        for name in arrays:
            base = spec.drift_thresholds(name) if spec is not None else DriftThresholds()
            result = compare_columns(
                ref.columns[name], current.columns[name], monitor.drift.apply(base)
            )
            features.append(FeatureDrift(name, traced[name], mismatched[name], result=result))
    features.sort(key=lambda f: f.feature)
    return DriftInput(ref_name, None, tuple(features), len(traces))


# -- recording alerts --------------------------------------------------------------------------


def _owner(tx: ReadTx, bundle: FrozenBundle, spec: MonitorSpec, actor: str) -> str:
    if spec.owner is not None:
        return spec.owner
    model = next((r.node for r in bundle.resolutions if r.path == "model"), None)
    component = tx.get_component(ComponentKey.from_node(model)) if model else None
    owner = component.fields.get("owner") if component else None
    return owner if isinstance(owner, str) and owner else actor


def _trigger(ctx: Context, tx: ReadTx, spec: TriggerSpec) -> CtTrigger:
    tier = min(RiskTier(b.risk_tier) for b in tx.list_bundles(use_case_id=spec.use_case_id))
    return CtTrigger(
        trigger_id=spec.trigger_id,
        use_case_id=spec.use_case_id,
        kind=spec.kind,
        source=spec.source,
        condition=spec.condition,
        candidate_action=spec.candidate_action,
        release_rule=release_rule(spec.kind, tier),
        required_evals=tuple(spec.required_evals),
        owner=spec.owner,
        risk_tier=tier,
        decision=TriggerDecision.RECORDED,
        decision_text=decision_text(TriggerDecision.RECORDED, tier=tier),
        incident_id=f"INC-{spec.trigger_id}" if spec.kind.action.opens_incident else None,
        spec_digest=spec.digest,
        created_at=ctx.stamp(),
        created_by=ctx.actor,
    )


def _record(
    ctx: Context, bundle: FrozenBundle, window: tuple[str, str], alert: Alert, spec: MonitorSpec
) -> RecordedAlert:
    """Write one alert's trigger (and incident) once; a second run finds it and writes
    nothing."""
    since, until = window
    if alert.kind is None:
        return RecordedAlert(alert, None, None, new=False)
    trigger_id = alert_trigger_id(bundle.release_id, since, until, alert.result.check)

    def write(tx: WriteTx) -> tuple[CtTrigger, bool]:
        existing = tx.get_ct_trigger(trigger_id)
        if existing is not None:
            return existing, False
        owner = _owner(tx, bundle, spec, ctx.actor)
        doc = trigger_document(alert, release_id=bundle.release_id, use_case_id=bundle.use_case_id,
                               since=since, until=until, owner=owner)  # fmt: skip
        trigger = _trigger(ctx, tx, parse_trigger_spec(doc, source="airel monitor"))
        tx.insert_ct_trigger(trigger)
        details: dict[str, Any] = {
            "use_case_id": trigger.use_case_id,
            "kind": trigger.kind.value,
            "decision": trigger.decision.value,
            "spec_digest": trigger.spec_digest,
            "source": "monitoring",
            "release_id": bundle.release_id,
            "window": [since, until],
            "code": alert.result.code.value,
            "measured": alert.result.measured,
            "limit": alert.result.limit,
        }
        if trigger.incident_id is not None:
            incident = trigger_incident(trigger, release_id=bundle.release_id,
                                        severity=alert.severity)  # fmt: skip
            tx.insert_incident(incident)
            details["incident_id"] = incident.incident_id
        tx.append_audit(actor=ctx.actor, action="ct.trigger",
                        subject=f"ct_trigger/{trigger.trigger_id}", before=None, after=None,
                        details=details)  # fmt: skip
        return trigger, True

    try:
        trigger, new = ctx.store.write(write)
    except ConflictError as exc:  # another run recorded it between our read and our insert
        if exc.reason is not Reason.DUPLICATE_RECORD:
            raise
        with ctx.store.read() as tx:
            found = tx.get_ct_trigger(trigger_id)
        if found is None:
            raise
        trigger, new = found, False
    return RecordedAlert(alert, trigger.trigger_id, trigger.incident_id, new)


# -- the use case --------------------------------------------------------------------------------


def monitor(
    ctx: Context,
    release_id: str,
    *,
    since: datetime,
    until: datetime,
    spec: MonitorSpec | None = None,
    reference: str | None = None,
) -> MonitorReport:
    """Evaluate the release's live traffic in ``[since, until)`` and record its alerts once
    (module docstring). ``reference`` overrides the training reference: a registered dataset
    (``dataset/NAME:VERSION``, ``NAME@alias``) or a data file."""
    spec = spec or MonitorSpec()
    start, end = since.astimezone(UTC), until.astimezone(UTC)
    if end <= start:
        raise _invalid(
            f"the window [{stamp(start)}, {stamp(end)}) is empty",
            "give --until after --since",
            since=stamp(start),
            until=stamp(end),
        )
    try:
        edges = bucket_edges(start, end, spec.bucket_minutes)
    except ValueError as exc:
        raise _invalid(str(exc), "monitor a shorter window or use wider buckets") from None
    with ctx.store.read() as tx:
        bundle = _bundle(tx, release_id)
        columns, sample, read_until = _read(tx, release_id, edges, spec)
    edges = [(s, min(e, read_until)) for s, e in edges if s < read_until]
    feature_spec, feature_view = _feature_spec(ctx, bundle)
    if sample:  # an empty window reads (and stores) no reference profile
        ref, ref_name, problem = _reference(ctx, bundle, reference, feature_spec)
        drift = _drift(sample, ref, ref_name, problem, feature_spec, spec)
    else:
        drift = DriftInput(None, "no live trace of the release in the window")
    window = WindowStats.of(Sample.from_columns(columns), stamp(start), read_until)
    evaluation = evaluate(spec, window, drift)
    key = (stamp(start), stamp(end))
    recorded = tuple(_record(ctx, bundle, key, a, spec) for a in evaluation.alerts)
    return MonitorReport(release_id, bundle.use_case_id, key[0], key[1], read_until, spec,
                         feature_view, window, tuple(_buckets(columns, edges)), drift,
                         evaluation, recorded)  # fmt: skip


__all__ = ["MonitorReport", "RecordedAlert", "monitor"]
