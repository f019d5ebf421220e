"""Promotions: moving a frozen release one or more steps along the stage graph (P1, P5, §8.2).

:func:`check_promotion` is the rule, pure and total: a promotion needs a stored gate decision
that lets a release run at all (go, limited go or risk acceptance), that has not expired, whose
stage cap reaches the target environment, and the move must go forward along the graph. A
limited go's conditions travel with the promotion: its traffic ceiling caps the share the
traffic plan may give, and its excluded segments must be excluded by every live step. Each
refusal has a stable reason code (``PROMOTION_*``) and says what would allow it.

A promotion expires (default 14 days, §8.2 "decision expires after 14 days if ramp not
completed"), and never outlives the decision it rests on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from airel.domain.gate.stack import Conditions, Stage
from airel.domain.kernel.canonical import digest_of
from airel.domain.promotion.environments import Environment, is_forward, within_stage_cap
from airel.domain.promotion.traffic_plan import TrafficPlan
from airel.errors import Reason, ValidationError

if TYPE_CHECKING:  # the decision engine (and its CEL runtime) is not needed to read a record
    from airel.domain.gate.decision import DecisionKind

DEFAULT_PROMOTION_DAYS = 14
# The DecisionKind values that let a release run (a StrEnum member equals its value).
ADMITTING = frozenset({"go", "limited_go", "risk_acceptance"})


@dataclass(frozen=True)
class DecisionView:
    """What a promotion reads of a stored gate decision."""

    decision_id: str
    release_id: str
    kind: DecisionKind
    max_stage: Stage | None
    conditions: Conditions
    expires_at: datetime


class Promotion(BaseModel):
    """One stored move of a release along the stage graph (the §8.2 card renders from it)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    promotion_id: str
    release_id: str
    source: Annotated[Environment, Strict(False)] | None
    target: Annotated[Environment, Strict(False)]
    decision_id: str
    plan_digest: str | None
    deployment_digest: str
    expires_at: str
    created_at: str
    created_by: str
    body: dict[str, Any] = Field(default_factory=dict)  # card fields: baseline, risks, controls


def promotion_id_of(
    release_id: str, target: Environment, decision_id: str, deployment_digest: str, at: str
) -> str:
    """A promotion's id: the digest of what it moves, where, under what, and when."""
    return digest_of(
        {
            "release_id": release_id,
            "target": target.value,
            "decision_id": decision_id,
            "deployment": deployment_digest,
            "at": at,
        }
    )


def _refuse(reason: Reason, message: str, fix: str, **details: object) -> ValidationError:
    return ValidationError(reason, message, fix=fix, details=dict(details))


def check_promotion(
    decision: DecisionView,
    *,
    release_id: str,
    source: Environment | None,
    target: Environment,
    now: datetime,
    plan: TrafficPlan | None = None,
) -> None:
    """Refuse a promotion of ``release_id`` from ``source`` to ``target`` that the decision does
    not allow (see the module docstring); return when it is allowed."""
    if decision.release_id != release_id:
        raise _refuse(
            Reason.PROMOTION_NOT_ALLOWED,
            f"decision {decision.decision_id[:19]}… is about {decision.release_id}, "
            f"not {release_id}",
            "promote under a decision of this release (`airel gate check`)",
            decision=decision.decision_id,
        )
    if not target.definition.takes_releases:
        raise _refuse(
            Reason.PROMOTION_NOT_ALLOWED,
            f"{target.value} does not take releases; only candidates are built there",
            "promote to staging or later",
            target=target.value,
        )
    if decision.kind not in ADMITTING:
        raise _refuse(
            Reason.PROMOTION_NOT_ALLOWED,
            f"the latest decision for {release_id} is {decision.kind.value}",
            "fix what the gate memo lists and run `airel gate check` again",
            decision=decision.decision_id,
            kind=decision.kind.value,
        )
    if now >= decision.expires_at:
        raise _refuse(
            Reason.DECISION_EXPIRED,
            f"the decision for {release_id} expired at {decision.expires_at.isoformat()}",
            "run `airel gate check` for a fresh decision",
            decision=decision.decision_id,
        )
    if not is_forward(source, target):
        raise _refuse(
            Reason.PROMOTION_NOT_ALLOWED,
            f"{release_id} runs in {source.value if source else '-'}; "
            f"{target.value} is not ahead of it",
            "promote forward along the stage graph; to go back, roll back",
            source=source.value if source else None,
            target=target.value,
        )
    cap = decision.max_stage or decision.conditions.max_stage
    if not within_stage_cap(target, cap):
        raise _refuse(
            Reason.PROMOTION_BEYOND_DECISION,
            f"the decision caps {release_id} at {cap.value if cap else '-'}; "
            f"{target.value} is beyond it",
            "pass the next gate (`airel gate check --through ...`) or stay within the cap",
            cap=cap.value if cap else None,
            target=target.value,
        )
    if plan is not None:
        check_plan_within_conditions(plan, decision.conditions, up_to=target)


def check_plan_within_conditions(
    plan: TrafficPlan, conditions: Conditions, *, up_to: Environment
) -> None:
    """A limited go's traffic ceiling and excluded segments bind every live step up to ``up_to``."""
    for i, step in enumerate(plan.steps):
        if step.environment.position > up_to.position or step.is_shadow:
            continue
        at = f"steps[{i}] ({step.name})"
        cap = conditions.traffic_cap_percent
        if cap is not None and step.traffic_percent > cap:
            raise _refuse(
                Reason.PROMOTION_BEYOND_DECISION,
                f"{at}.traffic_percent: {step.traffic_percent:g}% is above the decision's "
                f"ceiling of {cap:g}%",
                f"cap the step at {cap:g}% or get a decision without the ceiling",
                field=f"{at}.traffic_percent",
            )
        missing = _not_excluded(conditions.segments, step.exclude_segments)
        if missing:
            raise _refuse(
                Reason.PROMOTION_BEYOND_DECISION,
                f"{at}.exclude_segments: the decision keeps {', '.join(missing)} on the "
                "baseline; the step lets them in",
                "add them to exclude_segments (and define them under segments:)",
                field=f"{at}.exclude_segments",
                segments=missing,
            )


def segment_key(name: str) -> str:
    """A segment name as a plan writes it: ``Vulnerable customers`` → ``vulnerable-customers``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _not_excluded(required: Sequence[str], excluded: Sequence[str]) -> list[str]:
    """Decision segments a step does not exclude; one the plan cannot name is not excluded."""
    names = {segment_key(s) for s in excluded}
    return [s for s in required if segment_key(s) not in names]


def promotion_expiry(
    now: datetime, decision_expires_at: datetime, *, days: int = DEFAULT_PROMOTION_DAYS
) -> datetime:
    """When a promotion made ``now`` lapses: ``days`` later, never after its decision."""
    if days < 1:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"a promotion must last at least a day, not {days}",
            fix="give --expires-in-days 1 or more (default 14)",
        )
    return min(now + timedelta(days=days), decision_expires_at)
