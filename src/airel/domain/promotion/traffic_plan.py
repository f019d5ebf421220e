"""Traffic plans: the shadow → canary → ramp → full steps of a rollout (P5, §5.6, §8.5).

A plan is a strict YAML document, like every spec airel reads::

    plan_id: FRAUD-ROLLOUT-1
    use_case_id: fraud-scoring
    sticky_by: customer_id            # the request key that keeps a customer on one release
    segments:
      vulnerable: {description: customers tagged vulnerable}
      complaint: {description: open complaint}
    steps:
      - name: shadow
        environment: shadow
        traffic_percent: 0            # shadow has 0% customer impact, always
        min_requests: 1000
        success: [{metric: shadow_side_effects, op: "==", value: 0}]
        stop: [{metric: shadow_side_effects, op: ">", value: 0}]
      - name: canary-1
        environment: canary
        traffic_percent: 2
        exclude_segments: [vulnerable, complaint]
        min_duration_hours: 120
        success: [{metric: canary_critical_failures, op: "==", value: 0}]
        stop: [{metric: canary_critical_failures, op: ">", value: 0}]

Refused with the field and a fix, and nothing stored: shares outside 0–100 % or going backwards,
a shadow step with traffic, steps that move backwards along the stage graph, an environment
that is not a rollout environment, a criterion on a metric rollouts cannot read (the G6–G9
metrics of :mod:`airel.domain.gate.metrics`, so a step's outcome is evidence the gates read), a
criterion whose value has the wrong type, a segment that is not defined, and a live step
without a stop condition (§5.1: no expansion without an automatic-rollback rule).

:func:`analyse_step` decides one step from observed metrics: a stop condition that holds stops
it (roll back); a missing metric makes it inconclusive, which never advances.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from airel.domain.gate.metrics import METRICS, EvidenceKind, check_value
from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.validation import Lines, as_field_problem, parse_record
from airel.domain.promotion.environments import (
    ROLLOUT_ENVIRONMENTS,
    Action,
    Environment,
    parse_environment,
)
from airel.errors import AirelError, Reason, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=512)]
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]

# The metrics a step's criteria may read: what shadow, canary, ramp and review evidence records.
ROLLOUT_SOURCES = (
    EvidenceKind.SHADOW,
    EvidenceKind.CANARY,
    EvidenceKind.RAMP,
    EvidenceKind.POST_RELEASE,
)
ROLLOUT_METRICS = {name: m for name, m in METRICS.items() if m.source in ROLLOUT_SOURCES}

PLAN_FORMAT = "airel-traffic-plan/1"
Op = Literal["<", "<=", ">", ">=", "==", "!="]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)


def _check_metric(field: str, metric: str, value: object) -> None:
    if metric not in ROLLOUT_METRICS:
        raise ValidationError(
            Reason.PLAN_UNKNOWN_METRIC,
            f"{field}: no rollout metric {metric!r}",
            fix="use one of " + ", ".join(sorted(ROLLOUT_METRICS)) + " (`airel policy metrics`)",
            details={"field": field, "metric": metric},
        )
    check_value(metric, value)


class Criterion(_Strict):
    """``metric op value``: a success criterion or a stop condition."""

    metric: Text
    op: Op
    value: bool | int | float

    @field_validator("value")
    @classmethod
    def _typed(cls, value: bool | int | float, info: ValidationInfo) -> bool | int | float:
        metric = info.data.get("metric")
        if metric is not None:
            as_field_problem(_check_metric, "metric", metric, value)
        return value

    def holds(self, observed: object) -> bool:
        """Whether the criterion is true of ``observed`` (a value of the metric's type)."""
        return bool(_OPS[self.op](observed, self.value))

    def text(self) -> str:
        """``canary_critical_failures > 0``."""
        return f"{self.metric} {self.op} {self.value!r}".replace("True", "true").replace(
            "False", "false"
        )


class Segment(_Strict):
    """A named group of requests (a customer tag, a product, a channel)."""

    description: Text | None = None


class PlanStep(_Strict):
    """One step of a rollout: where, how much traffic, for how long, and when to stop."""

    name: Slug
    environment: Environment
    traffic_percent: float = Field(ge=0, le=100, strict=False)
    include_segments: list[Slug] = Field(default_factory=list)  # only these (empty: all)
    exclude_segments: list[Slug] = Field(default_factory=list)  # always kept on the baseline
    min_duration_hours: float = Field(default=0.0, ge=0, strict=False)
    min_requests: int = Field(default=0, ge=0)
    success: list[Criterion] = Field(default_factory=list)
    stop: list[Criterion] = Field(default_factory=list)
    human_review: Text | None = None  # e.g. "daily QA sample of 100 conversations"

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: object) -> Environment:
        environment = as_field_problem(parse_environment, value)
        if environment not in ROLLOUT_ENVIRONMENTS:
            as_field_problem(_not_rollout, environment)
        return environment

    @property
    def is_shadow(self) -> bool:
        """A shadow step: the candidate answers copies; 0% customer impact."""
        return self.environment is Environment.SHADOW


def _not_rollout(environment: Environment) -> None:
    raise ValidationError(
        Reason.PLAN_UNKNOWN_STAGE,
        f"environment {environment.value!r} is not a rollout environment",
        fix="a plan's steps run in "
        + ", ".join(e.value for e in ROLLOUT_ENVIRONMENTS)
        + "; staging comes before the plan",
        details={"environment": environment.value},
    )


def _plan_error(reason: Reason, field: str, message: str, fix: str) -> ValidationError:
    return ValidationError(reason, f"{field}: {message}", fix=fix, details={"field": field})


def _check_steps(steps: Sequence[PlanStep], segments: Mapping[str, Segment]) -> None:
    seen: set[str] = set()
    last_env: Environment | None = None
    last_share = 0.0
    for i, step in enumerate(steps):
        at = f"steps[{i}] ({step.name})"
        if step.name in seen:
            raise _plan_error(
                Reason.INVALID_VALUE,
                at,
                "a second step of this name",
                "give each step its own name",
            )
        seen.add(step.name)
        if last_env is not None and step.environment.position < last_env.position:
            raise _plan_error(
                Reason.PLAN_ORDER_INVALID,
                at,
                f"{step.environment.value} comes before {last_env.value} on the stage graph",
                "order the steps shadow → canary → limited_production → scaled_production",
            )
        last_env = step.environment
        if step.is_shadow and step.traffic_percent != 0:
            raise _plan_error(
                Reason.PLAN_TRAFFIC_INVALID,
                f"{at}.traffic_percent",
                f"a shadow step has 0% customer impact, not {step.traffic_percent:g}%",
                "set traffic_percent: 0 (shadow receives copies of requests, never customers)",
            )
        if not step.is_shadow:
            if step.traffic_percent <= 0:
                raise _plan_error(
                    Reason.PLAN_TRAFFIC_INVALID,
                    f"{at}.traffic_percent",
                    "a live step must send some traffic to the candidate",
                    "give a share above 0 (e.g. 2 for a first canary)",
                )
            if step.traffic_percent < last_share:
                raise _plan_error(
                    Reason.PLAN_TRAFFIC_INVALID,
                    f"{at}.traffic_percent",
                    f"{step.traffic_percent:g}% is less than the {last_share:g}% before it",
                    "shares only grow along a plan; to go back, roll back",
                )
            last_share = step.traffic_percent
            if not step.stop:
                raise ValidationError(
                    Reason.FORBIDDEN_ACTION,
                    f"{at}.stop: a live step without a stop condition",
                    fix="add at least one stop condition (the automatic-rollback rule, §5.1)",
                    details={"field": f"{at}.stop", "action": Action.UNMONITORED_EXPANSION.value},
                )
        for kind in ("include_segments", "exclude_segments"):
            for name in getattr(step, kind):
                if name not in segments:
                    raise ValidationError(
                        Reason.PLAN_UNKNOWN_SEGMENT,
                        f"{at}.{kind}: segment {name!r} is not defined",
                        fix="define it under segments: or correct the name; defined: "
                        + (", ".join(sorted(segments)) or "none"),
                        details={"field": f"{at}.{kind}", "segment": name},
                    )


class TrafficPlan(_Strict):
    """The §5.6 rollout of one use case; the §8.5 canary plan is rendered from it."""

    # ``segments`` comes before ``steps`` so the step checks can see it.
    plan_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    use_case_id: Text | None = None
    description: str | None = Field(default=None, max_length=4096)
    sticky_by: Text = "customer_id"
    segments: dict[Slug, Segment] = Field(default_factory=dict)
    steps: list[PlanStep] = Field(min_length=1, max_length=32)

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: list[PlanStep], info: ValidationInfo) -> list[PlanStep]:
        segments = info.data.get("segments")
        if segments is not None:
            as_field_problem(_check_steps, steps, segments)
        return steps

    @property
    def digest(self) -> str:
        """The plan's content address (RFC 8785 JSON, sha256): what a promotion cites."""
        return digest_of({"format": PLAN_FORMAT, **self.model_dump(mode="json")})

    def step(self, name: str) -> PlanStep:
        """A step by name."""
        for s in self.steps:
            if s.name == name:
                return s
        raise ValidationError(
            Reason.PLAN_UNKNOWN_STAGE,
            f"plan {self.plan_id} has no step {name!r}",
            fix="use one of " + ", ".join(s.name for s in self.steps),
            details={"plan": self.plan_id, "step": name},
        )

    def next_step(self, name: str | None) -> PlanStep | None:
        """The step after ``name`` (the first when None); None after the last."""
        if name is None:
            return self.steps[0]
        index = [s.name for s in self.steps].index(self.step(name).name)
        return self.steps[index + 1] if index + 1 < len(self.steps) else None


def parse_traffic_plan(
    data: Mapping[str, Any], *, source: str = "<traffic plan>", lines: Lines | None = None
) -> TrafficPlan:
    """Validate a parsed document into a :class:`TrafficPlan` (every problem listed)."""
    return parse_record(TrafficPlan, data, source=source, lines=lines)


class StepVerdict(StrEnum):
    """What the analysis of one step says."""

    ADVANCE = "advance"  # every success criterion holds and the minimum duration/volume is met
    HOLD = "hold"  # nothing stops the step, but it has not earned the next one yet
    STOP = "stop"  # a stop condition holds: roll back
    INCONCLUSIVE = "inconclusive"  # a metric the step needs is missing: never advances


@dataclass(frozen=True)
class CriterionResult:
    """One criterion as checked: holds, does not hold, or could not be read."""

    kind: Literal["success", "stop"]
    criterion: Criterion
    observed: object | None
    holds: bool | None  # None: the metric was not observed

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the step's analysis)."""
        return {
            "kind": self.kind,
            "criterion": self.criterion.text(),
            "observed": self.observed,
            "holds": self.holds,
        }


@dataclass(frozen=True)
class StepAnalysis:
    """The verdict of one step with every criterion and the reasons behind it."""

    step: str
    verdict: StepVerdict
    reasons: tuple[str, ...]
    results: tuple[CriterionResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "step": self.step,
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "criteria": [r.to_dict() for r in self.results],
        }


def _read(metric: str, observed: Mapping[str, object]) -> object | None:
    value = observed.get(metric)
    if value is None:
        return None
    try:
        checked: object = check_value(metric, value)
    except AirelError:
        return None  # a value of the wrong type proves nothing
    return checked


def analyse_step(
    step: PlanStep,
    observed: Mapping[str, object],
    *,
    elapsed_hours: float,
    requests: int | None,
) -> StepAnalysis:
    """Decide one step from observed metrics (missing, wrong-typed values count as unread;
    ``requests`` None: no request count was recorded, inconclusive when the step needs one)."""
    results: list[CriterionResult] = []
    for c in step.stop:
        value = _read(c.metric, observed)
        results.append(CriterionResult("stop", c, value, None if value is None else c.holds(value)))
    for c in step.success:
        value = _read(c.metric, observed)
        held = None if value is None else c.holds(value)
        results.append(CriterionResult("success", c, value, held))
    fired = [r for r in results if r.kind == "stop" and r.holds]
    if fired:
        return StepAnalysis(
            step.name,
            StepVerdict.STOP,
            tuple(f"STOP:{r.criterion.text()}" for r in fired),
            tuple(results),
        )
    unread = [f"MISSING:{r.criterion.metric}" for r in results if r.holds is None]
    if requests is None and step.min_requests > 0:
        unread.append("MISSING:requests")
    if unread:
        return StepAnalysis(step.name, StepVerdict.INCONCLUSIVE, tuple(unread), tuple(results))
    reasons = [
        f"NOT_MET:{r.criterion.text()}" for r in results if r.kind == "success" and not r.holds
    ]
    if elapsed_hours < step.min_duration_hours:
        reasons.append(f"DURATION:{elapsed_hours:g}h<{step.min_duration_hours:g}h")
    if requests is not None and requests < step.min_requests:
        reasons.append(f"REQUESTS:{requests}<{step.min_requests}")
    verdict = StepVerdict.HOLD if reasons else StepVerdict.ADVANCE
    return StepAnalysis(step.name, verdict, tuple(reasons), tuple(results))
