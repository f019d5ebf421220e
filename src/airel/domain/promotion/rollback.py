"""Rollback by component (P6, §5.7): what each kind of rollback changes, and what it may go to.

An AI rollback is not "revert the code". The nine §5.7 kinds, as data:

* **route** — all of the route's traffic back to a previously approved release bundle;
* **model / prompt / index / feature / policy** — the release keeps running, but the named
  components are swapped for the versions of an approved release (the target): a new
  *composition* in which every component version was part of an approved release. It is an
  emergency change: the release may not move on before a restart gate decision;
* **tool** — write tools are switched to read-only or draft-only;
* **batch** — a batch run's outputs are quarantined, so downstream consumers can see and skip
  them (nothing reaches a customer process);
* **compensation** — a record of reversals, customer remediation and regulator / audit notes
  for side effects that already happened.

A target must be another release of the same use case that was approved for the environment
(:func:`admits`); rolling back to anything else is refused, with nothing written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from airel.domain.gate.stack import Stage
from airel.domain.kernel.canonical import digest_of
from airel.domain.promotion.environments import Environment, within_stage_cap
from airel.domain.promotion.manifest import ToolMode
from airel.domain.promotion.promotion import ADMITTING
from airel.domain.release.kinds import ComponentKind
from airel.errors import Reason, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=2048)]


class RollbackComponent(StrEnum):
    """What a rollback acts on (§5.7)."""

    ROUTE = "route"  # the gateway / feature flag back to the previous approved bundle
    MODEL = "model"  # the endpoint back to the previous model version
    PROMPT = "prompt"  # the prompt pointer back to the previous version (and an incident)
    INDEX = "index"  # the previous index snapshot; source ingest paused
    FEATURE = "feature"  # the previous feature view
    TOOL = "tool"  # write tools off: read-only or draft-only
    POLICY = "policy"  # the previous guardrail / decision policy, with more human review
    BATCH = "batch"  # a batch run's outputs quarantined: downstream consumers skip them
    COMPENSATION = "compensation"  # reversals, customer remediation, regulator / audit notes


# The component kinds a swap rollback replaces with the target's versions.
SWAPS: dict[RollbackComponent, frozenset[ComponentKind]] = {
    RollbackComponent.MODEL: frozenset({ComponentKind.MODEL}),
    RollbackComponent.PROMPT: frozenset({ComponentKind.PROMPT}),
    RollbackComponent.INDEX: frozenset({ComponentKind.RAG_INDEX}),
    RollbackComponent.FEATURE: frozenset({ComponentKind.FEATURE_VIEW}),
    RollbackComponent.POLICY: frozenset({ComponentKind.POLICY}),
}
# Rollbacks that change what a route serves (and so run under the route's compare-and-set).
ROUTED = frozenset(SWAPS) | {RollbackComponent.ROUTE, RollbackComponent.TOOL}
# Rollbacks that leave the release as it runs and need no restart gate decision.
RECORD_ONLY = frozenset({RollbackComponent.BATCH, RollbackComponent.COMPENSATION})


def parse_component(value: object) -> RollbackComponent:
    """A rollback kind by name."""
    try:
        return RollbackComponent(str(value).strip().lower())
    except ValueError:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"--component: {value!r} is not a rollback kind",
            fix="use one of " + ", ".join(c.value for c in RollbackComponent),
            details={"field": "component", "value": str(value)},
        ) from None


class Rollback(BaseModel):
    """One stored rollback (immutable)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    rollback_id: str
    release_id: str
    component: Annotated[RollbackComponent, Strict(False)]
    route: str | None
    lane: str | None
    target: str | None  # the approved release rolled back to (None: tool, batch, compensation)
    reason: str
    emergency: bool  # a composition that needs a restart gate decision
    created_at: str
    created_by: str
    body: dict[str, Any] = Field(default_factory=dict)  # before/after, batch, compensation …


def rollback_id_of(release_id: str, component: RollbackComponent, body: Mapping[str, Any],
                   at: str) -> str:  # fmt: skip
    """A rollback's id: what it rolled back, how, and when."""
    return digest_of(
        {"release_id": release_id, "component": component.value, "body": dict(body), "at": at}
    )


@dataclass(frozen=True)
class Approval:
    """What :func:`admits` reads of one stored decision of a release."""

    kind: str  # a DecisionKind value
    cap: Stage | None  # the decision's stage cap (None: no cap)


def admits(decisions: Iterable[Approval], environment: Environment) -> bool:
    """Whether any decision ever let the release run in ``environment`` (an expired one
    counts: a rollback returns to what was approved then, not to what would pass today)."""
    return any(d.kind in ADMITTING and within_stage_cap(environment, d.cap) for d in decisions)


def refuse(message: str, fix: str, **details: object) -> ValidationError:
    """A ROLLBACK_NOT_ALLOWED refusal."""
    return ValidationError(Reason.ROLLBACK_NOT_ALLOWED, message, fix=fix, details=dict(details))


def node_kind(node: str) -> ComponentKind | None:
    """The kind of a ``kind/name:version`` node (None: not a component node)."""
    head = node.split("/", 1)[0]
    try:
        return ComponentKind(head)
    except ValueError:
        return None


def swap(
    component: RollbackComponent,
    current: Mapping[str, str],
    target: Mapping[str, str],
    *,
    target_release: str,
) -> tuple[dict[str, str], dict[str, tuple[str | None, str | None]]]:
    """The composition that swaps ``component``'s versions for the target's: (components,
    path → (before, after)). Refused when the target has none of them or they are the same."""
    kinds = SWAPS[component]
    paths = sorted(
        p for p in set(current) | set(target)
        if node_kind(current.get(p) or target.get(p) or "") in kinds
    )  # fmt: skip
    if not paths:
        raise refuse(
            f"neither the release nor {target_release} has a {component.value} component",
            "roll back a component the release has (`airel bundle show`), or the route",
            component=component.value,
        )
    changes = {p: (current.get(p), target.get(p)) for p in paths if current.get(p) != target.get(p)}
    if not changes:
        raise refuse(
            f"the {component.value} of the release is already {target_release}'s",
            "nothing to roll back; roll back another component or the route",
            component=component.value,
        )
    composed = dict(current)
    for path, (_, after) in changes.items():
        if after is None:
            composed.pop(path, None)
        else:
            composed[path] = after
    return composed, changes


def tools_down(tools: Mapping[str, ToolMode], mode: ToolMode) -> dict[str, ToolMode]:
    """Every write tool switched to ``mode`` (read or draft); refused when none writes."""
    if mode not in (ToolMode.READ, ToolMode.DRAFT, ToolMode.DISABLED):
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"--tool-mode: a tool rollback switches writes to read, draft or disabled, "
            f"not {mode.value}",
            fix="give --tool-mode read or --tool-mode draft",
            details={"field": "tool_mode"},
        )
    writers = [name for name, m in tools.items() if m is ToolMode.WRITE]
    if not writers:
        raise refuse(
            "the deployment enables no write tool",
            "nothing to switch off; roll back the route or another component",
            component=RollbackComponent.TOOL.value,
        )
    return {name: (mode if m is ToolMode.WRITE else m) for name, m in tools.items()}


class Compensation(BaseModel):
    """What was done about side effects that already happened (§5.7 compensation)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    reversals: list[Text] = Field(default_factory=list)  # e.g. "fee reversed on 41 accounts"
    remediation: list[Text] = Field(default_factory=list)  # customer remediation steps
    regulator_notes: list[Text] = Field(default_factory=list)  # regulator / audit notes
    affected_customers: int | None = Field(default=None, ge=0)

    def check(self) -> Compensation:
        """Refuse an empty record: it would prove nothing was done."""
        if not (self.reversals or self.remediation or self.regulator_notes):
            raise ValidationError(
                Reason.MISSING_FIELD,
                "a compensation record needs a reversal, a remediation or a regulator note",
                fix="give --reversal, --remediation or --regulator-note (repeatable)",
                details={"field": "compensation"},
            )
        return self
