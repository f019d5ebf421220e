"""The nine §5.1 environments and the stage graph a release moves along (P1).

Each environment is data: its purpose, what is allowed and forbidden there (the playbook's
words), the rollout :class:`~airel.domain.gate.stack.Stage` it corresponds to, and therefore the
gate a release must have passed to enter (:attr:`Stage.prerequisite`, extended, not duplicated).
The forbidden actions airel can *see* in a deployment manifest are also listed as
:class:`Action` codes; :mod:`airel.domain.promotion.manifest` refuses a manifest that does one.

The graph is the §5.1 line ``local → experiment → training pipeline → staging → shadow → canary
→ limited production → scaled production → post-release review``. A promotion moves forward
only (one or more steps, never past what the decision allows); a rollback moves back.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from airel.domain.gate.stack import GateId, Stage
from airel.errors import Reason, ValidationError


class Environment(StrEnum):
    """Where work or a release runs (§5.1), in the order of the stage graph."""

    LOCAL = "local"  # notebook exploration on masked samples; no release runs here
    EXPERIMENT = "experiment"  # tracked experiments and baseline comparison
    TRAINING_PIPELINE = "training_pipeline"  # reproducible training and evaluation: candidates
    STAGING = "staging"  # production-like validation with approved config and replay traffic
    SHADOW = "shadow"  # real requests mirrored; outputs never reach users or systems
    CANARY = "canary"  # a small share of real traffic in limited segments
    LIMITED_PRODUCTION = "limited_production"  # a controlled ramp, segment by segment
    SCALED_PRODUCTION = "scaled_production"  # routine production under periodic gates
    POST_RELEASE_REVIEW = "post_release_review"  # expected vs actual, incidents, evidence (G9)

    @property
    def position(self) -> int:
        """Place on the stage graph (0 = local)."""
        return ENVIRONMENT_ORDER.index(self)

    @property
    def definition(self) -> EnvironmentDef:
        """The §5.1 row of this environment."""
        return ENVIRONMENTS[self]


ENVIRONMENT_ORDER = tuple(Environment)


class Action(StrEnum):
    """A forbidden action airel can see in a deployment manifest (§5.1 "forbidden")."""

    PRODUCTION_ACCESS = "production_access"  # production data or tools reached from local work
    UNREGISTERED_INPUT = "unregistered_input"  # data or dependencies not in a frozen bundle
    CUSTOMER_SIDE_EFFECT = "customer_side_effect"  # staging acting on real customers
    WRITE_TOOLS = "write_tools"  # shadow (or staging) calling a tool that writes
    CUSTOMER_VISIBLE_OUTPUT = "customer_visible_output"  # shadow output shown to a customer
    UNMONITORED_EXPANSION = "unmonitored_expansion"  # canary growth without monitoring/rollback
    UNEVALUATED_SEGMENT = "unevaluated_segment"  # ramping into segments the evals did not cover
    UNGATED_CHANGE = "ungated_change"  # a vendor model or policy change without a new decision
    ROUTE_TO_LATEST = "route_to_latest"  # anything pointing at "latest" instead of a version


@dataclass(frozen=True)
class EnvironmentDef:
    """One §5.1 row: purpose, allowed and forbidden behaviour, and the rollout stage."""

    environment: Environment
    purpose: str
    allowed: str
    forbidden: str
    stage: Stage | None  # the rollout stage a release deployed here is at; None: no release
    forbids: frozenset[Action]  # the forbidden actions airel enforces here

    @property
    def entry_gate(self) -> GateId | None:
        """The last gate a release must have passed to enter (None: releases never enter)."""
        if self.environment is Environment.POST_RELEASE_REVIEW:
            return GateId.G8  # the review (G9) is what happens here
        return self.stage.prerequisite if self.stage is not None else None

    @property
    def takes_releases(self) -> bool:
        """Whether a frozen release can be deployed here (staging and later)."""
        return self.stage is not None or self.environment is Environment.POST_RELEASE_REVIEW


_EVERYWHERE = frozenset({Action.ROUTE_TO_LATEST, Action.UNREGISTERED_INPUT})
_LIVE = _EVERYWHERE | {Action.UNMONITORED_EXPANSION}

ENVIRONMENTS: dict[Environment, EnvironmentDef] = {
    d.environment: d
    for d in (
        EnvironmentDef(
            Environment.LOCAL,
            "exploration, feature hypotheses, quick experiments",
            "masked samples, experiment ideas",
            "connecting directly to production data and production tools",
            None,
            frozenset({Action.PRODUCTION_ACCESS}),
        ),
        EnvironmentDef(
            Environment.EXPERIMENT,
            "controlled experiments and baseline comparison",
            "recording runs, datasets, parameters and metrics",
            "copying an artifact into production by hand",
            None,
            frozenset({Action.PRODUCTION_ACCESS}),
        ),
        EnvironmentDef(
            Environment.TRAINING_PIPELINE,
            "reproducible training and evaluation",
            "pinned data snapshot, feature version and container",
            "running unregistered data or unreviewed dependencies",
            None,
            frozenset({Action.UNREGISTERED_INPUT}),
        ),
        EnvironmentDef(
            Environment.STAGING,
            "validation in a production-like environment",
            "approved configuration with mock or replayed traffic",
            "side effects on real customers",
            Stage.STAGING,
            _EVERYWHERE | {Action.CUSTOMER_SIDE_EFFECT, Action.WRITE_TOOLS},
        ),
        EnvironmentDef(
            Environment.SHADOW,
            "evaluation beside live traffic",
            "reading real requests; outputs affect neither users nor system state",
            "triggering write tools or customer-visible content",
            Stage.SHADOW,
            _EVERYWHERE
            | {Action.WRITE_TOOLS, Action.CUSTOMER_VISIBLE_OUTPUT, Action.CUSTOMER_SIDE_EFFECT},
        ),
        EnvironmentDef(
            Environment.CANARY,
            "a small share of real traffic",
            "limited users, products, regions and business hours",
            "expanding without monitoring and automatic rollback",
            Stage.CANARY,
            _LIVE,
        ),
        EnvironmentDef(
            Environment.LIMITED_PRODUCTION,
            "a controlled ramp",
            "segment-by-segment expansion, human review, heightened monitoring",
            "crossing into scenarios that were not evaluated",
            Stage.LIMITED_RAMP,
            _LIVE | {Action.UNEVALUATED_SEGMENT},
        ),
        EnvironmentDef(
            Environment.SCALED_PRODUCTION,
            "running at scale",
            "routine monitoring, drift detection, periodic gates",
            "a vendor or policy change that bypasses the gate",
            Stage.FULL,
            _LIVE | {Action.UNGATED_CHANGE},
        ),
        EnvironmentDef(
            Environment.POST_RELEASE_REVIEW,
            "comparing expected with actual after release (G9)",
            "updating datasets, controls, the issue log and the portfolio record",
            "closing the review with incidents still open or evidence missing",
            Stage.FULL,
            _LIVE | {Action.UNGATED_CHANGE},
        ),
    )
}

# Where a rollout stage runs: Stage.STAFF_PILOT is the canary's first, staff-only step.
ENVIRONMENT_OF_STAGE: dict[Stage, Environment] = {
    Stage.STAGING: Environment.STAGING,
    Stage.SHADOW: Environment.SHADOW,
    Stage.STAFF_PILOT: Environment.CANARY,
    Stage.CANARY: Environment.CANARY,
    Stage.LIMITED_RAMP: Environment.LIMITED_PRODUCTION,
    Stage.FULL: Environment.SCALED_PRODUCTION,
}

# Environments a traffic plan's steps may run in: the rollout part of the graph.
ROLLOUT_ENVIRONMENTS = (
    Environment.SHADOW,
    Environment.CANARY,
    Environment.LIMITED_PRODUCTION,
    Environment.SCALED_PRODUCTION,
)


def parse_environment(value: object, *, field: str = "environment") -> Environment:
    """An environment by name (``limited_production``; ``limited-production`` too)."""
    text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Environment(text)
    except ValueError:
        raise ValidationError(
            Reason.PLAN_UNKNOWN_STAGE,
            f"{field}: {value!r} is not an environment",
            fix="use one of " + ", ".join(e.value for e in Environment),
            details={"field": field, "value": str(value)},
        ) from None


def within_stage_cap(environment: Environment, cap: Stage | None) -> bool:
    """Whether ``environment`` is at or before the decision's stage cap (None: no cap)."""
    if cap is None:
        return True
    return environment.position <= ENVIRONMENT_OF_STAGE[cap].position


def is_forward(source: Environment | None, target: Environment) -> bool:
    """A promotion moves forward along the graph (from nowhere, anywhere a release may go)."""
    return source is None or target.position > source.position
