"""Use case: analyse a route's canary from its request traces, record the result as canary
evidence, and let the rollout act on it (T3, playbook §5.6, gates G7–G8).

:func:`analyse_canary` reads, in ONE read transaction, the route, its plan's current step, the
LIVE traces the candidate and the stable release answered on that route since the step began
(``[step_started_at, until)``) and the feedback recorded since then. The baseline keeps only
the requests the step makes eligible for the candidate (its include / exclude segments), so
both arms serve the same population over the same window. When an arm holds more traces than
``max_traces``, the window ends, for both arms, at the last time both were read in full.

The domain analysis (:func:`airel.domain.monitoring.canary.compare`) is recorded as a CANARY
attestation of the candidate (status ``ok`` when it is conclusive — pass or fail —,
``inconclusive`` otherwise), audited like ``airel evidence add``. Then the rollout acts, with
the route version the analysis read (another writer moving the route meanwhile is a
STALE_VERSION conflict, the evidence stays recorded):

* conclusive: :func:`airel.services.promotion.rollouts.advance` (what ``airel rollout
  advance`` runs) — a stop condition of the plan rolls the route back to the stable release at
  once; a step that earned the next one advances; otherwise it holds;
* inconclusive: the step is only analysed; ``advance`` runs only if a stop condition already
  holds (from other evidence). An inconclusive canary never moves a route forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airel.domain.gate.metrics import EvidenceKind
from airel.domain.gate.records import AttestationStatus
from airel.domain.kernel.clock import stamp
from airel.domain.monitoring.canary import CanaryAnalysis, CanaryConfig, Sample, Verdict, compare
from airel.domain.monitoring.trace import FeedbackKind, HumanReview, Mode, TraceQuery
from airel.domain.promotion import route as rules
from airel.domain.promotion.route import Lane, Route
from airel.domain.promotion.traffic_plan import PlanStep, StepVerdict
from airel.errors import Reason, ValidationError
from airel.services.gate.evidence import add_attestation
from airel.services.kernel.context import Context
from airel.services.promotion import rollouts, routes
from airel.store.contract import ReadTx

MAX_TRACES = 200_000  # per arm and analysis (the columns of one arm are held in memory)
MAX_TRACES_LIMIT = 1_000_000  # the most one trace query returns
_OVERRIDING = (HumanReview.MODIFIED, HumanReview.REJECTED)


@dataclass(frozen=True)
class CanaryRun:
    """One analysis: what it found, the evidence it recorded, and what the rollout did."""

    analysis: CanaryAnalysis
    attestation_id: str
    rollout: rollouts.StepOutcome
    window: tuple[str, str]  # [since, until) of the traces compared

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "analysis": self.analysis.to_dict(),
            "attestation_id": self.attestation_id,
            "rollout": self.rollout.to_dict(),
            "window": list(self.window),
        }


def _live_step(tx: ReadTx, current: Route) -> tuple[PlanStep, str, str]:
    """The plan step the candidate is in, the candidate and when the step began; refused
    unless the candidate serves live traffic now."""
    plan = tx.get_traffic_plan(current.plan_digest) if current.plan_digest else None
    if current.candidate is None or current.step is None or current.step_started_at is None:
        raise ValidationError(
            Reason.ROLLOUT_STATE,
            f"route {current.key} has no candidate in a plan step: there is no canary",
            fix="promote a candidate into the plan's canary step first",
            details={"route": current.route},
        )
    if plan is None:
        raise ValidationError(
            Reason.ROLLOUT_STATE,
            f"route {current.key} runs without a traffic plan: there is no step to analyse",
            fix="promote with --plan FILE (docs/specs.md: traffic plans)",
            details={"route": current.route},
        )
    rules.require_status(current, "analyse the canary of", rules.RolloutStatus.PROGRESSING)
    step = plan.step(current.step)
    if step.is_shadow:
        raise ValidationError(
            Reason.ROLLOUT_STATE,
            f"route {current.key} is in shadow step {step.name}: the candidate answers no one",
            fix="analyse the canary once the candidate serves live traffic (canary, ramp)",
            details={"route": current.route, "step": step.name},
        )
    return step, current.candidate, current.step_started_at


def _columns(
    tx: ReadTx, current: Route, release_id: str, since: str, until: str, limit: int
) -> dict[str, list[Any]]:
    query = TraceQuery(release_id=release_id, route=current.key, since=since, until=until,
                       mode=Mode.LIVE, limit=limit)  # fmt: skip
    return tx.trace_columns(query)


def _cut(columns: dict[str, list[Any]], until: str) -> dict[str, list[Any]]:
    keep = [i for i, at in enumerate(columns["at"]) if at < until]
    return {name: [values[i] for i in keep] for name, values in columns.items()}


def _read(
    tx: ReadTx, current: Route, candidate: str, since: str, until: str, limit: int
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], set[str], set[str], str]:
    """Both arms' columns over one window, and the requests complained about / overridden."""
    canary = _columns(tx, current, candidate, since, until, limit)
    baseline = _columns(tx, current, current.stable, since, until, limit)
    full = [cols["at"][-1] for cols in (canary, baseline) if len(cols["at"]) >= limit]
    if full:  # an arm was cut at the limit: both end where it was read in full
        until = min(full)
        canary, baseline = _cut(canary, until), _cut(baseline, until)
    complained: set[str] = set()
    overridden: set[str] = set()
    for f in tx.list_feedback(since=since):
        if f.kind is FeedbackKind.COMPLAINT:
            complained.add(f.request_id)
        elif f.review in _OVERRIDING:
            overridden.add(f.request_id)
    return baseline, canary, complained, overridden, until


def analyse_canary(
    ctx: Context,
    route: str,
    *,
    lane: Lane = Lane.PRODUCTION,
    until: datetime | None = None,
    config: CanaryConfig | None = None,
    max_traces: int = MAX_TRACES,
) -> CanaryRun:
    """Compare the candidate with the stable release since the step began (until ``until``,
    default now), record the canary evidence, and let the rollout act (module docstring)."""
    if not 1 <= max_traces <= MAX_TRACES_LIMIT:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"max_traces {max_traces} is outside 1–{MAX_TRACES_LIMIT:,}",
            fix=f"read at most {MAX_TRACES_LIMIT:,} traces per arm (default {MAX_TRACES:,})",
        )
    end = stamp(until) if until is not None else ctx.stamp()
    with ctx.store.read() as tx:
        current = routes.get_route(tx, route, lane)
        step, candidate, since = _live_step(tx, current)
        if end <= since:
            raise ValidationError(
                Reason.CANARY_SAMPLE_INVALID,
                f"the window [{since}, {end}) of route {current.key} is empty",
                fix="analyse until a time after the step began",
                details={"route": current.route, "since": since, "until": end},
            )
        baseline_cols, canary_cols, complained, overridden, end = _read(
            tx, current, candidate, since, end, max_traces
        )
    baseline = Sample.from_columns(baseline_cols, complained=complained, overridden=overridden,
                                   include=step.include_segments,
                                   exclude=step.exclude_segments)  # fmt: skip
    canary = Sample.from_columns(canary_cols, complained=complained, overridden=overridden)
    analysis = compare(baseline, canary, config)
    conclusive = analysis.verdict is not Verdict.INCONCLUSIVE
    status = AttestationStatus.OK if conclusive else AttestationStatus.INCONCLUSIVE
    source = f"airel canary analysis: {current.key} step {step.name} [{since}, {end})"
    attestation = add_attestation(ctx, candidate, EvidenceKind.CANARY.value,
                                  analysis.metrics(), status=status.value,
                                  source=source)  # fmt: skip
    if conclusive:
        outcome = rollouts.advance(ctx, route, lane=lane, expected_version=current.version)
    else:  # never forward on an inconclusive canary; a stop condition still rolls back
        outcome = rollouts.analyse(ctx, route, lane=lane)
        if outcome.analysis is not None and outcome.analysis.verdict is StepVerdict.STOP:
            outcome = rollouts.advance(ctx, route, lane=lane, expected_version=current.version)
    return CanaryRun(analysis, attestation.attestation_id, outcome, (since, end))
