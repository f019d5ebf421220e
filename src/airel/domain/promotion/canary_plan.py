"""The §8.5 canary plan of one live step, rendered from a traffic plan (P7).

Every row comes from the plan itself: the entry condition is the previous step's success
criteria and minimums, the traffic is the step's share with its segment filters and sticky
key, the monitored metrics are the metrics its criteria read, the automatic rollback is its
stop conditions, and the exit decision names the next step. A row the plan does not fill (no
human review declared) says so; nothing is made up. Values are escaped like the gate memo's
(:func:`airel.domain.gate.memo.text`), so a plan's text cannot break the table.
"""

from __future__ import annotations

from collections.abc import Iterable

from airel.domain.gate.memo import text
from airel.domain.promotion.traffic_plan import Criterion, PlanStep, TrafficPlan

NOT_DECLARED = "not declared in the plan"


def _criteria(criteria: Iterable[Criterion]) -> str:
    return "; ".join(text(c.text()) for c in criteria) or NOT_DECLARED


def _minimums(step: PlanStep) -> list[str]:
    out = []
    if step.min_duration_hours:
        out.append(f"at least {step.min_duration_hours:g} h")
    if step.min_requests:
        out.append(f"at least {step.min_requests} requests")
    return out


def _entry(plan: TrafficPlan, step: PlanStep) -> str:
    index = plan.steps.index(step)
    if index == 0:
        return "the gate decision admits the release to " + text(step.environment.value)
    before = plan.steps[index - 1]
    parts = [f"{text(before.name)} passed"]
    parts += _minimums(before)
    if before.success:
        parts.append("with " + _criteria(before.success))
    return ", ".join(parts)


def _traffic(plan: TrafficPlan, step: PlanStep) -> str:
    share = f"{step.traffic_percent:g}% of {text(step.environment.value)} traffic"
    if step.include_segments:
        share += ", only " + ", ".join(text(s) for s in step.include_segments)
    if step.exclude_segments:
        share += ", excluding " + ", ".join(
            text(s) + (f" ({text(d)})" if (d := plan.segments[s].description) else "")
            for s in step.exclude_segments
        )
    return share + f"; sticky by {text(plan.sticky_by)}"


def _exit(plan: TrafficPlan, step: PlanStep) -> str:
    after = plan.next_step(step.name)
    if after is None:
        return "hold at full scale under routine monitoring, or rollback"
    return (
        f"go to {after.traffic_percent:g}% ({text(after.name)}), extend {text(step.name)}, "
        "rollback or no-go"
    )


def render_canary_plan(plan: TrafficPlan, step_name: str, *, use_case: str | None = None) -> str:
    """The §8.5 table of ``step_name`` (any step of the plan; shadow shows 0% impact)."""
    step = plan.step(step_name)
    metrics = sorted({c.metric for c in (*step.success, *step.stop)})
    rows = [
        ("Canary ID", f"{text(plan.plan_id)}/{text(step.name)}"),
        ("Use case", text(use_case or plan.use_case_id or NOT_DECLARED)),
        ("Entry condition", _entry(plan, step)),
        ("Traffic", _traffic(plan, step)),
        ("Duration", ", ".join(_minimums(step)) or "no minimum: advances when criteria hold"),
        ("Success criteria", _criteria(step.success)),
        ("Monitored metrics", ", ".join(text(m) for m in metrics) or NOT_DECLARED),
        ("Auto rollback", _criteria(step.stop)),
        ("Manual review", text(step.human_review) if step.human_review else NOT_DECLARED),
        ("Exit decision", _exit(plan, step)),
    ]
    lines = [f"# Canary Plan — {text(plan.plan_id)} / {text(step.name)}", ""]
    lines += ["| Field | Value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"
