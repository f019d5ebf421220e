"""Production monitoring rules (T4, playbook §5.4, G9): what a window of a release's live
traffic must look like, and which alerts become CT trigger records or incidents.

A window is ``[since, until)`` of the LIVE traces one release answered. Two families of checks
run over it, each a :class:`CheckResult` with a stable reason code (:class:`Code`):

* **Drift** of the traced feature values (``Trace.feature_values``) against the profile of the
  release's training reference, decided per feature by the data context's own drift rule
  (:func:`airel.domain.data.drift.compare_columns`: PSI, or KS together with Wasserstein/sd for
  numbers; PSI or Jensen–Shannon for categories) with the feature view's thresholds, optionally
  overridden by :attr:`MonitorSpec.drift`. At least ``min_drifted_features`` drifted features
  is an alert; any feature with too few values (or no reference, or no traced feature the
  reference knows) makes the check *inconclusive*.
* **Degradation** (:data:`DEGRADATION_RULES`): the critical-failure rate, the error rate, the
  p95 latency, the cost per request and the quality-failure rate of the window against the
  spec's limits (point estimates; ``measured > limit`` alerts). An error is what the canary
  analysis counts (an error code, a status ≥ 500 or 0, a fallback). Fewer than
  ``min_requests`` requests (or costs, for the cost check) is *inconclusive*, never ok; a limit
  set to None switches its check off.

Rules as data decide what an alert does (:attr:`MonitorSpec.actions`): drift records a
``data_drift`` CT trigger — which may only ever lead to a *candidate*, never a promotion — and a
degradation opens an incident through a ``performance_degradation`` trigger record (§5.4: that
kind "opens an incident"). The trigger id is derived from (release, window, check), so one
window's alert is recorded once however often the window is evaluated.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from airel.domain.data.drift import DriftResult, DriftStatus, DriftThresholds
from airel.domain.data.profile import LogicalType
from airel.domain.kernel.clock import stamp
from airel.domain.monitoring.canary import Sample
from airel.domain.promotion.ct_trigger import Severity, TriggerKind

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
FeatureValue = float | int | str | bool | None
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_BUCKETS = 10_000  # buckets per window (a 1-year window of hourly buckets is 8,760)
SHOWN_FEATURES = 10  # drifted features named in a trigger's condition
NO_TRACES = "no live trace of the release in the window"


class Check(StrEnum):
    """What a window is checked for."""

    DRIFT = "drift"  # traced feature values vs the training reference (the data context's rule)
    CRITICAL_FAILURE_RATE = "critical_failure_rate"  # share of requests with a critical failure
    ERROR_RATE = "error_rate"  # share with an error code, status >= 500 or 0, or a fallback
    LATENCY_P95_MS = "latency_p95_ms"  # 95th percentile latency of the window, in ms
    COST_PER_REQUEST = "cost_per_request"  # mean cost of the requests that reported one
    QUALITY_FAILURE_RATE = "quality_failure_rate"  # share of requests with quality flags


class CheckStatus(StrEnum):
    """The outcome of one check."""

    OK = "ok"  # enough data, within its limit
    ALERT = "alert"  # enough data, beyond its limit
    INCONCLUSIVE = "inconclusive"  # too little (or no) data to judge: never ok


class MonitorStatus(StrEnum):
    """The outcome of a window."""

    HEALTHY = "healthy"  # every check had enough data and none alerted
    ALERT = "alert"  # at least one check alerted (its alert is recorded per its action)
    INCONCLUSIVE = "inconclusive"  # nothing alerted, but some check lacked data: not healthy


class AlertAction(StrEnum):
    """What an alert of a check does."""

    CT_TRIGGER = "ct_trigger"  # records a data_drift CT trigger: a candidate at most, never a go
    INCIDENT = "incident"  # opens an incident via a performance_degradation trigger (§5.4)
    REPORT = "report"  # shown in the report only; nothing is recorded


ACTION_KIND: Mapping[AlertAction, TriggerKind] = {
    AlertAction.CT_TRIGGER: TriggerKind.DATA_DRIFT,
    AlertAction.INCIDENT: TriggerKind.PERFORMANCE_DEGRADATION,
}


class Code(StrEnum):
    """Stable reason codes of check results (tests and edges assert these, not messages)."""

    OK = "MONITOR_OK"  # the check passed on enough data
    DRIFT = "MONITOR_DRIFT"  # enough features drifted from the training reference
    DRIFT_INCONCLUSIVE = "MONITOR_DRIFT_INCONCLUSIVE"  # a feature had too few values to judge
    NO_REFERENCE = "MONITOR_NO_REFERENCE"  # no training reference profile to compare with
    NO_FEATURE_VALUES = "MONITOR_NO_FEATURE_VALUES"  # no traced feature the reference knows
    NO_TRACES = "MONITOR_NO_TRACES"  # the window holds no live trace of the release
    TOO_FEW_REQUESTS = "MONITOR_TOO_FEW_REQUESTS"  # fewer than min_requests requests
    TOO_FEW_COSTS = "MONITOR_TOO_FEW_COSTS"  # fewer than min_requests requests reported a cost
    CRITICAL_FAILURE_RATE_HIGH = "MONITOR_CRITICAL_FAILURE_RATE_HIGH"
    ERROR_RATE_HIGH = "MONITOR_ERROR_RATE_HIGH"
    LATENCY_P95_HIGH = "MONITOR_LATENCY_P95_HIGH"
    COST_PER_REQUEST_HIGH = "MONITOR_COST_PER_REQUEST_HIGH"
    QUALITY_FAILURE_RATE_HIGH = "MONITOR_QUALITY_FAILURE_RATE_HIGH"


@dataclass(frozen=True)
class DegradationRule:
    """One degradation check: the spec field holding its limit and the code of its alert."""

    check: Check
    limit_field: str  # a MonitorSpec field; None there switches the check off
    code: Code
    unit: str  # how the measured value reads in a message


DEGRADATION_RULES: tuple[DegradationRule, ...] = (
    DegradationRule(Check.CRITICAL_FAILURE_RATE, "max_critical_failure_rate",
                    Code.CRITICAL_FAILURE_RATE_HIGH, "rate"),
    DegradationRule(Check.ERROR_RATE, "max_error_rate", Code.ERROR_RATE_HIGH, "rate"),
    DegradationRule(Check.LATENCY_P95_MS, "max_latency_p95_ms", Code.LATENCY_P95_HIGH, "ms"),
    DegradationRule(Check.COST_PER_REQUEST, "max_cost_per_request",
                    Code.COST_PER_REQUEST_HIGH, "cost"),
    DegradationRule(Check.QUALITY_FAILURE_RATE, "max_quality_failure_rate",
                    Code.QUALITY_FAILURE_RATE_HIGH, "rate"),
)  # fmt: skip

DEFAULT_ACTIONS: Mapping[Check, AlertAction] = {
    Check.DRIFT: AlertAction.CT_TRIGGER,
    **{rule.check: AlertAction.INCIDENT for rule in DEGRADATION_RULES},
}
DEFAULT_SEVERITIES: Mapping[Check, Severity] = {
    Check.DRIFT: "sev3",  # used only when drift is configured to open an incident
    Check.CRITICAL_FAILURE_RATE: "sev1",
    Check.ERROR_RATE: "sev2",
    Check.LATENCY_P95_MS: "sev3",
    Check.COST_PER_REQUEST: "sev3",
    Check.QUALITY_FAILURE_RATE: "sev2",
}
# What the candidate a trigger leads to must pass (the §8.7 "Required evals" line).
REQUIRED_EVALS: Mapping[TriggerKind, tuple[str, ...]] = {
    TriggerKind.DATA_DRIFT: ("offline eval on the new distribution", "slice comparison",
                             "canary"),
    TriggerKind.PERFORMANCE_DEGRADATION: ("root-cause analysis", "regression eval on the "
                                          "failing traffic", "canary"),
}  # fmt: skip


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DriftLimits(_Spec):
    """Overrides of the feature view's drift thresholds for production (None: keep them)."""

    psi: Positive | None = None
    js: Positive | None = None
    ks: Positive | None = None
    wasserstein_sd: Positive | None = None
    min_samples: int | None = Field(default=None, ge=1)

    def apply(self, base: DriftThresholds) -> DriftThresholds:
        """``base`` with every limit set here applied."""
        return base.with_overrides(self.model_dump())


class MonitorSpec(_Spec):
    """How a window is monitored (module docstring). The defaults are a bank platform's
    starting point: zero tolerance for critical failures, 2 % errors, 5 % quality failures,
    p95 under a second, no cost limit until the use case sets one."""

    max_traces: int = Field(default=50_000, ge=1, le=1_000_000)  # trace bodies read for drift
    max_columns: int = Field(default=1_000_000, ge=1, le=1_000_000)  # trace rows read for numbers
    bucket_minutes: int = Field(default=60, ge=1, le=1440)  # the "over time" series
    drift: DriftLimits = Field(default_factory=DriftLimits)
    min_drifted_features: int = Field(default=1, ge=1)
    min_requests: int = Field(default=100, ge=1)
    max_critical_failure_rate: Rate | None = 0.0
    max_error_rate: Rate | None = 0.02
    max_latency_p95_ms: Positive | None = 1000.0
    max_cost_per_request: Positive | None = None
    max_quality_failure_rate: Rate | None = 0.05
    actions: dict[Check, AlertAction] = Field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    severities: dict[Check, Severity] = Field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    owner: Annotated[str, Field(min_length=1, max_length=512)] | None = None  # triggers' owner

    @field_validator("actions")
    @classmethod
    def _all_actions(cls, value: dict[Check, AlertAction]) -> dict[Check, AlertAction]:
        wrong = [c.value for c, a in value.items()
                 if a is AlertAction.CT_TRIGGER and c is not Check.DRIFT]  # fmt: skip
        if wrong:
            raise ValueError(
                f"{', '.join(wrong)}: a degradation is no data drift; its action is incident "
                "or report"
            )
        return {**DEFAULT_ACTIONS, **value}

    @field_validator("severities")
    @classmethod
    def _all_severities(cls, value: dict[Check, Severity]) -> dict[Check, Severity]:
        return {**DEFAULT_SEVERITIES, **value}

    def limit(self, rule: DegradationRule) -> float | None:
        """The limit of a degradation rule (None: the check is off)."""
        value = getattr(self, rule.limit_field)
        return None if value is None else float(value)


# -- the window's numbers ----------------------------------------------------------------------


@dataclass(frozen=True)
class WindowStats:
    """Quality, latency and cost of the requests of one window (or one bucket of it)."""

    start: str
    end: str
    requests: int
    errors: int
    fallbacks: int
    critical_failures: int
    quality_failures: int
    overrides: int
    costs: int  # requests that reported a cost
    cost_total: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None

    @classmethod
    def of(cls, sample: Sample, start: str, end: str) -> WindowStats:
        """The numbers of one arm-like sample (quantiles: numpy's ``method="lower"``)."""
        lat = sample.latencies

        def q(p: float) -> float | None:
            return float(np.quantile(lat, p, method="lower")) if len(lat) else None

        return cls(start, end, sample.n, sample.errors, sample.fallbacks, sample.critical,
                   sample.quality, sample.overrides, len(sample.costs),
                   float(sample.costs.sum()), q(0.5), q(0.95), q(0.99))  # fmt: skip

    def rate(self, count: int) -> float | None:
        """``count`` per request (None without requests)."""
        return count / self.requests if self.requests else None

    @property
    def cost_per_request(self) -> float | None:
        """Mean cost of the requests that reported one."""
        return self.cost_total / self.costs if self.costs else None

    def measured(self, check: Check) -> tuple[float | None, int]:
        """(value, the count it rests on) of a degradation check."""
        values: dict[Check, tuple[float | None, int]] = {
            Check.CRITICAL_FAILURE_RATE: (self.rate(self.critical_failures), self.requests),
            Check.ERROR_RATE: (self.rate(self.errors), self.requests),
            Check.LATENCY_P95_MS: (self.latency_p95_ms, self.requests),
            Check.COST_PER_REQUEST: (self.cost_per_request, self.costs),
            Check.QUALITY_FAILURE_RATE: (self.rate(self.quality_failures), self.requests),
        }
        return values[check]

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the rates."""
        return {
            "start": self.start,
            "end": self.end,
            "requests": self.requests,
            "errors": self.errors,
            "fallbacks": self.fallbacks,
            "critical_failures": self.critical_failures,
            "quality_failures": self.quality_failures,
            "overrides": self.overrides,
            "costs": self.costs,
            "cost_total": self.cost_total,
            "error_rate": self.rate(self.errors),
            "critical_failure_rate": self.rate(self.critical_failures),
            "quality_failure_rate": self.rate(self.quality_failures),
            "override_rate": self.rate(self.overrides),
            "cost_per_request": self.cost_per_request,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "latency_p99_ms": self.latency_p99_ms,
        }


def bucket_edges(since: datetime, until: datetime, minutes: int) -> list[tuple[str, str]]:
    """``[start, end)`` stamps of the buckets covering the window, aligned to multiples of
    ``minutes`` since the epoch (hourly buckets are clock hours); the first and last are
    clipped to the window. A window spanning more than :data:`MAX_BUCKETS` is a ValueError."""
    width = timedelta(minutes=minutes)
    first = EPOCH + width * ((since.astimezone(UTC) - EPOCH) // width)
    count = math.ceil((until.astimezone(UTC) - first) / width)
    if count > MAX_BUCKETS:
        raise ValueError(f"the window spans {count} buckets of {minutes} min (at most "
                         f"{MAX_BUCKETS})")  # fmt: skip
    cuts = [since, *(first + width * i for i in range(1, count)), until]
    marks = [stamp(c) for c in cuts]
    return list(itertools.pairwise(marks))


def bucket_of(at: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[int]:
    """The bucket index of every ``at`` stamp (all inside the window)."""
    starts = [s for s, _ in edges]
    return [max(bisect.bisect_right(starts, a) - 1, 0) for a in at]


def sample_quotas(counts: Sequence[int], total: int) -> list[int]:
    """At most ``total`` traces spread over buckets in proportion to their traffic (largest
    remainder), so a bounded feature sample covers the whole window, not its first hours."""
    have = sum(counts)
    if have <= total:
        return list(counts)
    exact = [c * total / have for c in counts]
    quotas = [math.floor(x) for x in exact]
    order = sorted(range(len(counts)), key=lambda i: (quotas[i] - exact[i], i))
    for i in order[: total - sum(quotas)]:
        quotas[i] += 1
    return quotas


# -- traced feature values ---------------------------------------------------------------------


def coerce_values(
    values: Iterable[FeatureValue], logical: LogicalType
) -> tuple[list[FeatureValue], int]:
    """Traced values as the reference column's type: numbers as floats, categories as text
    (an integer code too), booleans as booleans; (values, how many did not fit and became
    NULL). A bool is never a number here, a number never a bool."""
    out: list[FeatureValue] = []
    mismatches = 0
    for v in values:
        fitted: FeatureValue = None
        if v is None:
            pass
        elif logical.numeric and isinstance(v, int | float) and not isinstance(v, bool):
            fitted = float(v) if math.isfinite(v) else None
        elif logical is LogicalType.STRING and isinstance(v, str):
            fitted = v
        elif logical is LogicalType.STRING and isinstance(v, int) and not isinstance(v, bool):
            fitted = str(v)
        elif logical is LogicalType.BOOL and isinstance(v, bool):
            fitted = v
        mismatches += v is not None and fitted is None
        out.append(fitted)
    return out, mismatches


@dataclass(frozen=True)
class FeatureDrift:
    """One traced feature: its drift against the reference, or why it was not compared."""

    feature: str
    traced: int  # sampled traces that reported a value
    type_mismatches: int = 0  # values that did not fit the reference column's type
    result: DriftResult | None = None  # None: not compared (see ``skipped``)
    skipped: str | None = None  # why not compared (not in the reference, the label …)

    @property
    def status(self) -> DriftStatus | None:
        """The drift rule's decision (None: not compared)."""
        return None if self.result is None else self.result.status

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"feature": self.feature, "traced": self.traced,
                               "type_mismatches": self.type_mismatches}  # fmt: skip
        if self.result is not None:
            out["drift"] = self.result.to_dict()
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out


@dataclass(frozen=True)
class DriftInput:
    """What the drift check reads: the reference and every traced feature."""

    reference: str | None  # the reference dataset node (or digest); None: none available
    problem: str | None = None  # why there is no reference
    features: tuple[FeatureDrift, ...] = ()
    sampled: int = 0  # trace bodies read for feature values

    @property
    def compared(self) -> tuple[FeatureDrift, ...]:
        """The features that were compared."""
        return tuple(f for f in self.features if f.result is not None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"reference": self.reference, "problem": self.problem, "sampled": self.sampled,
                "features": [f.to_dict() for f in self.features]}  # fmt: skip


# -- evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One check of one window."""

    check: Check
    status: CheckStatus
    code: Code
    measured: float | None
    limit: float | None
    n: int  # the requests (costs, compared features) the value rests on
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"check": self.check.value, "status": self.status.value, "code": self.code.value,
                "measured": self.measured, "limit": self.limit, "n": self.n,
                "message": self.message, "details": dict(self.details)}  # fmt: skip


@dataclass(frozen=True)
class Alert:
    """A check that alerted, and what its action is."""

    result: CheckResult
    action: AlertAction
    severity: Severity

    @property
    def kind(self) -> TriggerKind | None:
        """The trigger kind the alert records (None: report only)."""
        return ACTION_KIND.get(self.action)


@dataclass(frozen=True)
class Evaluation:
    """Every check of a window, the alerts, and the window's status."""

    status: MonitorStatus
    checks: tuple[CheckResult, ...]
    alerts: tuple[Alert, ...]


def _fmt(value: float, unit: str) -> str:
    return f"{100 * value:.3g}%" if unit == "rate" else f"{value:.4g}{' ms' * (unit == 'ms')}"


def evaluate_degradation(
    spec: MonitorSpec, window: WindowStats, rule: DegradationRule
) -> CheckResult | None:
    """One degradation rule on the window (None: its limit is off)."""
    limit = spec.limit(rule)
    if limit is None:
        return None
    value, n = window.measured(rule.check)

    def result(status: CheckStatus, code: Code, message: str) -> CheckResult:
        return CheckResult(rule.check, status, code, value, limit, n, message)

    if window.requests == 0:
        return result(CheckStatus.INCONCLUSIVE, Code.NO_TRACES, NO_TRACES)
    if value is None or n < spec.min_requests:
        few = Code.TOO_FEW_COSTS if rule.check is Check.COST_PER_REQUEST else Code.TOO_FEW_REQUESTS
        return result(CheckStatus.INCONCLUSIVE, few, f"{n} values; {spec.min_requests} needed")
    shown = f"{rule.check.value} {_fmt(value, rule.unit)} (limit {_fmt(limit, rule.unit)}, n={n})"
    if value > limit:
        return result(CheckStatus.ALERT, rule.code, f"{shown} is over its limit")
    return result(CheckStatus.OK, Code.OK, shown)


def evaluate_drift(spec: MonitorSpec, drift: DriftInput) -> CheckResult:
    """The drift check: enough drifted features alert; otherwise any gap is inconclusive."""
    compared = drift.compared
    drifted = [f for f in compared if f.status is DriftStatus.DRIFT]
    unsure = [f.feature for f in compared if f.status is DriftStatus.INCONCLUSIVE]
    details = {"drifted": [f.feature for f in drifted], "inconclusive": unsure}

    def result(status: CheckStatus, code: Code, message: str) -> CheckResult:
        measured = float(len(drifted)) if compared else None
        return CheckResult(Check.DRIFT, status, code, measured, float(spec.min_drifted_features),
                           len(compared), message, details if compared else {})  # fmt: skip

    if drift.sampled == 0:
        return result(CheckStatus.INCONCLUSIVE, Code.NO_TRACES, NO_TRACES)
    if drift.reference is None:
        message = drift.problem or "no training reference to compare with"
        return result(CheckStatus.INCONCLUSIVE, Code.NO_REFERENCE, message)
    if not compared:
        message = f"none of {drift.sampled} traces holds a feature {drift.reference} has"
        return result(CheckStatus.INCONCLUSIVE, Code.NO_FEATURE_VALUES, message)
    if len(drifted) >= spec.min_drifted_features:
        named = "; ".join(_drift_line(f) for f in drifted[:SHOWN_FEATURES])
        extra = len(drifted) - SHOWN_FEATURES
        more = f"; and {extra} more" if extra > 0 else ""
        message = f"{len(drifted)} of {len(compared)} traced features drifted from "
        return result(CheckStatus.ALERT, Code.DRIFT, f"{message}{drift.reference}: {named}{more}")
    if unsure:
        message = f"too few traced values to judge drift of {', '.join(unsure[:SHOWN_FEATURES])}"
        return result(CheckStatus.INCONCLUSIVE, Code.DRIFT_INCONCLUSIVE, message)
    message = f"{len(compared)} traced features stable against {drift.reference}"
    return result(CheckStatus.OK, Code.OK, message)


def _drift_line(f: FeatureDrift) -> str:
    r = f.result
    assert r is not None
    stats = ", ".join(f"{m}={r.metric(m):.3g}" for m in ("psi", "js", "ks", "wasserstein_sd")
                      if r.metric(m) is not None)  # fmt: skip
    return f"{f.feature} ({' and '.join(r.fired)}: {stats})"


def evaluate(spec: MonitorSpec, window: WindowStats, drift: DriftInput) -> Evaluation:
    """Every check on the window; alerts carry their action and severity from the spec."""
    checks = [evaluate_drift(spec, drift)]
    checks += [r for rule in DEGRADATION_RULES if (r := evaluate_degradation(spec, window, rule))]
    alerts = tuple(Alert(c, spec.actions[c.check], spec.severities[c.check])
                   for c in checks if c.status is CheckStatus.ALERT)  # fmt: skip
    if alerts:
        status = MonitorStatus.ALERT
    elif any(c.status is CheckStatus.INCONCLUSIVE for c in checks):
        status = MonitorStatus.INCONCLUSIVE
    else:
        status = MonitorStatus.HEALTHY
    return Evaluation(status, tuple(checks), alerts)


# -- the record an alert leaves --------------------------------------------------------------------


def alert_trigger_id(release_id: str, since: str, until: str, check: Check) -> str:
    """The trigger id of one window's alert: the same (release, window, check), the same id."""
    key = f"{release_id}\n{since}\n{until}\n{check.value}".encode()
    return "CT-MON-" + hashlib.sha256(key).hexdigest()[:24].upper()


def trigger_document(
    alert: Alert, *, release_id: str, use_case_id: str, since: str, until: str, owner: str
) -> dict[str, Any]:
    """The §8.7 trigger an alert records, as the document ``parse_trigger_spec`` validates
    (no build: a monitoring alert never runs one; the candidate comes from the CT pipeline)."""
    kind = alert.kind
    assert kind is not None, "a report-only alert records nothing"
    doc: dict[str, Any] = {
        "trigger_id": alert_trigger_id(release_id, since, until, alert.result.check),
        "use_case_id": use_case_id,
        "kind": kind.value,
        "source": f"airel monitor: live traces of {release_id} in [{since}, {until})",
        "condition": f"{alert.result.code.value}: {alert.result.message}"[:2000],
        "candidate_action": f"{kind.action.training} for {use_case_id} (observed on "
        f"{release_id}); the candidate is held for the release gate",
        "required_evals": list(REQUIRED_EVALS[kind]),
        "owner": owner,
        "observed_release": release_id,
    }
    if kind.action.opens_incident:
        doc["severity"] = alert.severity
    return doc
