"""Prometheus alerting rules from a traffic plan's stop conditions (issue 12).

Every stop condition of a plan (``canary_error_rate > 0.02``) is the automatic-rollback rule
of its step (§5.1); airel checks it when a step is analysed, and this module turns it into a
Prometheus alert so that it is watched between analyses too. Each becomes one alerting rule in
the group of its step, reading the metrics airel's gateway exports — labelled ``route``,
``lane``, ``release`` and ``mode`` (``live``, or ``shadow`` for a shadow step's copies):

=============================  =============================================================
stop-condition metric          PromQL (``W`` = the window, default ``5m``)
=============================  =============================================================
canary_critical_failures       ``sum(increase(airel_gateway_critical_failures_total[W]))``
canary_error_rate              requests with outcome error, timeout or fallback ÷ all requests
canary_quality_failure_rate    ``airel_gateway_quality_failures_total`` ÷ requests
canary_cost_per_request        ``airel_gateway_cost_total`` ÷ requests
canary_latency_p95_ms / p99    ``histogram_quantile`` over ``airel_gateway_latency_seconds``
=============================  =============================================================

A rate is a ratio of increases over the window; a latency threshold in milliseconds is
compared in seconds, the histogram's unit (``800`` ms → ``0.8``). A count fires at once
(``for: 0s``: one critical failure is one too many); the others must hold for ``for_``. With no
traffic in the window a ratio is NaN and no alert fires — too little traffic is the analysis's
*inconclusive*, not a stop. ``increase`` cannot see the first event of a series it has never
seen, so the gateway must export each counter at 0 for a release before its first request.

The other stop-condition metrics (``shadow_side_effects``, ``canary_worse_than_baseline``,
ramp and review evidence …) are attested, not scraped, and overrides and complaints arrive as
feedback on traces, which the gateway does not export: a rule on a series nobody exports would
never fire, so :func:`unalertable` lists them instead; airel's analysis still checks them.

Each step has its own group (``airel-<plan>-<step>``): load the current step's group alone when
a later step's looser threshold must not fire an earlier one's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from airel.domain.kernel.names import NameClass, check_name
from airel.domain.promotion.traffic_plan import Criterion, PlanStep, TrafficPlan
from airel.errors import Reason, ValidationError

REQUESTS = "airel_gateway_requests_total"
LATENCY = "airel_gateway_latency_seconds"
FAILED_OUTCOMES = ("error", "timeout", "fallback")  # a fallback is the candidate failing
_DURATION = re.compile(r"^(?=.)([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$")
_IDENT_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Signal:
    """How one plan metric is read from the gateway's Prometheus metrics."""

    kind: Literal["count", "ratio", "quantile"]
    metric: str  # the counter (count, ratio numerator) or the histogram (quantile)
    outcomes: tuple[str, ...] = ()  # ratio of requests: only these outcomes in the numerator
    quantile: float | None = None  # quantile: which one
    scale: Decimal = Decimal(1)  # the threshold is divided by this (ms → s: 1000)


# Rules as data: the plan metrics a Prometheus alert can watch.
SIGNALS: dict[str, Signal] = {
    "canary_critical_failures": Signal("count", "airel_gateway_critical_failures_total"),
    "canary_error_rate": Signal("ratio", REQUESTS, outcomes=FAILED_OUTCOMES),
    "canary_quality_failure_rate": Signal("ratio", "airel_gateway_quality_failures_total"),
    "canary_cost_per_request": Signal("ratio", "airel_gateway_cost_total"),
    "canary_latency_p95_ms": Signal("quantile", LATENCY, quantile=0.95, scale=Decimal(1000)),
    "canary_latency_p99_ms": Signal("quantile", LATENCY, quantile=0.99, scale=Decimal(1000)),
}


def _duration(field: str, value: object, *, zero: bool) -> str:
    ok = isinstance(value, str) and _DURATION.match(value) is not None
    if not ok or (not zero and not any(c in "123456789" for c in str(value))):
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"{field}: {value!r} is not a{'' if zero else ' non-zero'} Prometheus duration",
            fix="e.g. 30s, 5m or 1h",
            details={"field": field},
        )
    return str(value)


def _number(value: bool | int | float, scale: Decimal) -> str:
    """The threshold as a PromQL literal, scaled exactly (800 ms → ``0.8``, never 0.8000001)."""
    exact = (Decimal(value) if type(value) is int else Decimal(repr(float(value)))) / scale
    text = format(exact.normalize(), "f")
    return text if text not in ("-0", "") else "0"


def _selector(labels: Mapping[str, str], extra: str = "") -> str:
    matchers = [f"{k}={json.dumps(v)}" for k, v in labels.items()]
    return "{" + ",".join([*matchers, *([extra] if extra else [])]) + "}"


def promql(criterion: Criterion, labels: Mapping[str, str], window: str) -> str:
    """The expression that returns a series exactly when ``criterion`` holds."""
    signal = SIGNALS.get(criterion.metric)
    if signal is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"metric: {criterion.metric} is attested, not scraped: no Prometheus series has it",
            fix="alert only on " + ", ".join(SIGNALS) + "; airel's analysis checks the rest",
            details={"field": "metric", "metric": criterion.metric},
        )
    window = _duration("window", window, zero=False)
    threshold = _number(criterion.value, signal.scale)
    sel = _selector(labels)
    if signal.kind == "count":
        value = f"sum(increase({signal.metric}{sel}[{window}]))"
    elif signal.kind == "ratio":
        only = 'outcome=~"' + "|".join(signal.outcomes) + '"' if signal.outcomes else ""
        value = (
            f"sum(increase({signal.metric}{_selector(labels, only)}[{window}]))"
            f" / sum(increase({REQUESTS}{sel}[{window}]))"
        )
    else:
        value = (
            f"histogram_quantile({signal.quantile}, "
            f"sum by (le) (rate({signal.metric}_bucket{sel}[{window}])))"
        )
    return f"{value} {criterion.op} {threshold}"


def _alert_name(step: PlanStep, criterion: Criterion, taken: set[str]) -> str:
    base = f"AirelStop_{_IDENT_UNSAFE.sub('_', step.name)}_{criterion.metric}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _rule(
    plan: TrafficPlan, step: PlanStep, criterion: Criterion, name: str, ctx: Mapping[str, str]
) -> dict[str, Any]:
    mode = "shadow" if step.is_shadow else "live"
    labels = {"route": ctx["route"], "lane": ctx["lane"], "release": ctx["release"], "mode": mode}
    counted = SIGNALS[criterion.metric].kind == "count"
    return {
        "alert": name,
        "expr": promql(criterion, labels, ctx["window"]),
        "for": "0s" if counted else ctx["for"],
        "labels": {
            "severity": "critical",
            "route": ctx["route"],
            "release": ctx["release"],
            "airel_plan": plan.plan_id,
            "airel_step": step.name,
        },
        "annotations": {
            "summary": f"{ctx['route']}: stop condition of step {step.name} holds",
            "description": (
                f"{criterion.text()} over {ctx['window']} for release {ctx['release']} "
                f"({mode}); the plan stops the step: roll back"
            ),
            "plan_id": plan.plan_id,
            "plan_digest": plan.digest,
            "step": step.name,
            "criterion": criterion.text(),
        },
    }


def _select(plan: TrafficPlan, steps: Sequence[str] | None) -> list[PlanStep]:
    if steps is None:
        return list(plan.steps)
    wanted = {plan.step(name).name for name in steps}  # an unknown step is refused here
    return [s for s in plan.steps if s.name in wanted]


def alert_rules(
    plan: TrafficPlan,
    *,
    route: str,
    release: str,
    lane: str = "production",
    window: str = "5m",
    for_: str = "5m",
    steps: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The rules file (``groups:``) for ``release`` on ``route``: one group per step (those named
    in ``steps``; None: all), one alert per alertable stop condition."""
    ctx = {
        "route": check_name(route, NameClass.COMPONENT, field="route"),
        "release": check_name(release, NameClass.RELEASE, field="release"),
        "lane": check_name(lane, NameClass.ALIAS, field="lane"),
        "window": _duration("window", window, zero=False),  # a range selector needs > 0
        "for": _duration("for", for_, zero=True),
    }
    groups = []
    for step in _select(plan, steps):
        taken: set[str] = set()
        rules = [
            _rule(plan, step, c, _alert_name(step, c, taken), ctx)
            for c in step.stop
            if c.metric in SIGNALS
        ]
        if rules:
            groups.append({"name": f"airel-{plan.plan_id}-{step.name}", "rules": rules})
    return {"groups": groups}


def unalertable(plan: TrafficPlan) -> list[tuple[str, Criterion]]:
    """The stop conditions no Prometheus metric can watch, as (step, criterion), in plan order."""
    return [(s.name, c) for s in plan.steps for c in s.stop if c.metric not in SIGNALS]
