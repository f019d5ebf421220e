"""The §8.6 rollback runbook of a release, and the record of a drill that ran it (P6).

Nine steps, each with the role that owns it, the action and the evidence it leaves. A
release's runbook is generated from its bundle: which components it has (a prompt / policy
step only when it has a prompt or policy; a data / RAG step only with an index or a feature
view), its rollback target, and its scope's human role as the fallback workflow. A step that
does not apply says so; it is never silently dropped.

A drill (``airel rollback drill``) executes the runbook in staging and records, per step, the
status, when it started and how long it took; ``minutes_to_last_known_good`` is the time from
the first step until the route served the rollback target. The drill's outcome is evidence the
gate reads (``rollback_drill_minutes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from airel.domain.promotion.rollback import node_kind
from airel.domain.release.kinds import ComponentKind


@dataclass(frozen=True)
class RunbookRow:
    """One §8.6 row as the playbook writes it."""

    number: int
    owner: str
    action: str
    evidence: str


RUNBOOK: tuple[RunbookRow, ...] = (
    RunbookRow(1, "Incident Commander", "Declare rollback trigger and freeze ramp",
               "incident / decision log"),
    RunbookRow(2, "Platform Owner", "Set route to previous approved release bundle",
               "deployment event, route diff"),
    RunbookRow(3, "Model Registry Owner", "Confirm production stage points to rollback target",
               "registry audit record"),
    RunbookRow(4, "Prompt / Policy Owner", "Revert prompt and guardrail config if affected",
               "prompt registry version diff"),
    RunbookRow(5, "Data / RAG Owner", "Revert index or feature view if affected",
               "index manifest, feature view version"),
    RunbookRow(6, "Business Owner", "Activate fallback workflow and user communication",
               "operations notice"),
    RunbookRow(7, "Risk / Compliance", "Confirm impacted population query and evidence "
               "preservation", "impact query result"),
    RunbookRow(8, "EvalOps Owner", "Add failure cases to regression set and validate fix",
               "regression run ID"),
    RunbookRow(9, "Release Manager", "Prepare restart gate memo", "restart decision record"),
)  # fmt: skip

_PROMPT_POLICY = frozenset({ComponentKind.PROMPT, ComponentKind.POLICY})
_DATA_RAG = frozenset({ComponentKind.RAG_INDEX, ComponentKind.FEATURE_VIEW})


@dataclass(frozen=True)
class RunbookStep:
    """One step of a release's runbook: the row, whether it applies, and what it acts on."""

    row: RunbookRow
    applies: bool
    detail: str


def runbook_for(
    release_id: str,
    components: Mapping[str, str],
    *,
    rollback_target: str | None,
    target_components: Mapping[str, str],
    route: str | None,
    fallback: str | None,
) -> list[RunbookStep]:
    """The nine steps for a release (``components``: path → node, as the bundle pins them)."""

    def changed(kinds: frozenset[ComponentKind]) -> list[str]:
        return sorted(
            f"{p}: {components.get(p, '-')} → {target_components.get(p, '-')}"
            for p in set(components) | set(target_components)
            if node_kind(components.get(p) or target_components.get(p) or "") in kinds
            and components.get(p) != target_components.get(p)
        )

    target = rollback_target or "not recorded (set deployment.rollback_target)"
    prompt, data = changed(_PROMPT_POLICY), changed(_DATA_RAG)
    details = [
        (True, f"freeze the rollout of {release_id} on {route or 'its route'}"),
        (rollback_target is not None, f"route {route or '-'} → {target}"),
        (rollback_target is not None, f"the registry's production pointer is {target}"),
        (bool(prompt), "; ".join(prompt) or "no prompt or policy differs from the target"),
        (bool(data), "; ".join(data) or "no index or feature view differs from the target"),
        (True, fallback or "not recorded (set scope.human_role in the bundle)"),
        (True, f"requests served by {release_id} since its promotion"),
        (True, "the failing cases join the regression set before a restart"),
        (True, f"a new `airel gate check {release_id}` after the fix"),
    ]
    return [
        RunbookStep(row, applies, text)
        for row, (applies, text) in zip(RUNBOOK, details, strict=True)
    ]


def render_runbook(release_id: str, steps: Sequence[RunbookStep]) -> str:
    """The §8.6 table as Markdown."""
    lines = [
        f"# Rollback runbook — {release_id}",
        "",
        "| Step | Owner | Action | Evidence | For this release |",
        "|---|---|---|---|---|",
    ]
    for s in steps:
        note = s.detail if s.applies else f"n/a — {s.detail}"
        lines.append(
            f"| {s.row.number} | {s.row.owner} | {s.row.action} | {s.row.evidence} | {note} |"
        )
    return "\n".join(lines) + "\n"


class StepStatus(StrEnum):
    """What a drill recorded for one runbook step."""

    DONE = "done"  # executed in staging, with its evidence
    SKIPPED = "skipped"  # does not apply to this release (said why)
    FAILED = "failed"  # attempted and failed: the drill failed


class DrillStep(BaseModel):
    """One executed runbook step."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    number: int
    owner: str
    action: str
    status: StepStatus
    started_at: str
    seconds: float
    evidence: str


class Drill(BaseModel):
    """One stored rollback drill (immutable)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    drill_id: str
    release_id: str
    route: str
    target: str
    passed: bool
    minutes_to_last_known_good: float
    steps: list[DrillStep] = Field(default_factory=list)
    created_at: str
    created_by: str
    body: dict[str, Any] = Field(default_factory=dict)


def render_drill(drill: Drill) -> str:
    """The drill record as Markdown: every step with its status, timing and evidence."""
    lines = [
        f"# Rollback drill — {drill.release_id}",
        "",
        f"- drill: {drill.drill_id[:19]}… at {drill.created_at} by {drill.created_by}",
        f"- route: {drill.route} (staging) → {drill.target}",
        f"- result: {'passed' if drill.passed else 'FAILED'}; back to last-known-good in "
        f"{drill.minutes_to_last_known_good * 60:.3f} s",
        "",
        "| Step | Owner | Action | Status | Seconds | Evidence |",
        "|---|---|---|---|---|---|",
    ]
    for s in drill.steps:
        lines.append(
            f"| {s.number} | {s.owner} | {s.action} | {s.status.value} | {s.seconds:.3f} "
            f"| {s.evidence} |"
        )
    return "\n".join(lines) + "\n"
