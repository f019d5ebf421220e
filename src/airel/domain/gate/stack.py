"""The gate stack G0–G9 (§4.3, G1), rollout stages and limited-go conditions (§4.5, G4).

Gates are fixed vocabulary: their names, kind (§4.1), what they check and their failure action
are the playbook's. *Which* gates a release must pass, their entry conditions and their rules
are policy (``domain/gate/policy.py``), so they can change without a code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict

Text = Annotated[str, Field(min_length=1, max_length=512)]


class GateId(StrEnum):
    """The §4.3 gate stack, in the order gates run."""

    G0 = "G0"  # scope and risk: the use case is registered, tiered, its uses bounded
    G1 = "G1"  # source and data readiness: owners, classification, lineage, label policy
    G2 = "G2"  # build and CI: the bundle builds, tests pass, artifacts verify, rollback exists
    G3 = "G3"  # feature validation: schema, missingness, range, freshness, skew, ACL
    G4 = "G4"  # offline eval: golden, regression, red-team, slices, cost, latency
    G5 = "G5"  # risk and security review: privacy, security, fairness, approvals
    G6 = "G6"  # shadow readiness: replay, no side effects, logging, monitoring
    G7 = "G7"  # canary: quality, latency, cost, overrides, critical failures on live traffic
    G8 = "G8"  # ramp and scale: segments, capacity, support, issue ageing
    G9 = "G9"  # post-release review: expected vs actual, incidents, drift, evidence

    @property
    def position(self) -> int:
        """Position in the stack (0–9)."""
        return int(self.value[1:])


class GateKind(StrEnum):
    """§4.1 gate types and what they decide."""

    ENGINEERING = "engineering"  # artifact builds, tests, reproduces, deploys: pass / fail
    QUALITY = "quality"  # task thresholds met: go / fix / compare again
    RISK = "risk"  # residual risk fits the scope: go / limited go / no-go / risk acceptance


class Stage(StrEnum):
    """Where a release may run (§4.2 rollout strategies, §5.1 environments)."""

    STAGING = "staging"  # production-like, no users; offline evidence only
    SHADOW = "shadow"  # mirrored production traffic, zero user impact, no side effects
    STAFF_PILOT = "staff_pilot"  # trained staff users only
    CANARY = "canary"  # a small share of real traffic
    LIMITED_RAMP = "limited_ramp"  # growing traffic, restricted segments
    FULL = "full"  # scaled production

    @property
    def prerequisite(self) -> GateId:
        """The last gate a release must have passed (if its tier requires it) to enter."""
        return _STAGE_PREREQUISITE[self]


_STAGE_PREREQUISITE = {
    Stage.STAGING: GateId.G4,
    Stage.SHADOW: GateId.G5,
    Stage.STAFF_PILOT: GateId.G6,
    Stage.CANARY: GateId.G6,
    Stage.LIMITED_RAMP: GateId.G7,
    Stage.FULL: GateId.G8,
}
STAGE_ORDER = tuple(Stage)


class FailureDecision(StrEnum):
    """What a hard failure at a gate turns the decision into."""

    NO_GO = "no_go"  # fix and come back to the gate
    ROLLBACK = "rollback"  # the release is live: return to the rollback target


@dataclass(frozen=True)
class GateDef:
    """One row of §4.3."""

    id: GateId
    name: str
    kind: GateKind
    entry: str  # the entry condition in words (the policy holds the expression)
    checks: str
    failure_action: str
    on_failure: FailureDecision


GATES: dict[GateId, GateDef] = {
    g.id: g
    for g in (
        GateDef(GateId.G0, "Scope and Risk", GateKind.RISK,
                "the use case is registered",
                "approved use, prohibited use, risk tier, customer impact, human role",
                "back to intake: restrict the use or refuse development", FailureDecision.NO_GO),
        GateDef(GateId.G1, "Source and Data Readiness", GateKind.ENGINEERING,
                "the data sources are available",
                "data owner, classification, lineage, label policy, schema, sampling, retention",
                "block training or restrict to a sandbox", FailureDecision.NO_GO),
        GateDef(GateId.G2, "Build and CI", GateKind.ENGINEERING,
                "code, configuration and prompts build",
                "unit, schema and prompt tests, dependency scan, container build, rollback "
                "target", "fix and rebuild", FailureDecision.NO_GO),
        GateDef(GateId.G3, "Feature Validation", GateKind.QUALITY,
                "features or the index are generated",
                "schema drift, missingness, range, freshness, training-serving skew, ACL",
                "block training or roll back the feature view / index", FailureDecision.NO_GO),
        GateDef(GateId.G4, "Offline Eval", GateKind.QUALITY,
                "the candidate artifact exists",
                "golden, regression and red-team sets, slice analysis, cost, latency",
                "no-go or targeted remediation", FailureDecision.NO_GO),
        GateDef(GateId.G5, "Risk and Security Review", GateKind.RISK,
                "eval passed the engineering thresholds",
                "privacy, security, model risk, fairness, explainability, human control, "
                "approvals", "limited go, risk acceptance or no-go", FailureDecision.NO_GO),
        GateDef(GateId.G6, "Shadow Readiness", GateKind.ENGINEERING,
                "staging runs",
                "production-like traffic replay, no side effects, logging, monitoring dashboard",
                "stay in shadow and fix observability", FailureDecision.NO_GO),
        GateDef(GateId.G7, "Canary", GateKind.RISK,
                "a small share of production traffic",
                "quality, latency, cost, feedback, overrides, critical failures",
                "automatic rollback or pause the ramp", FailureDecision.ROLLBACK),
        GateDef(GateId.G8, "Ramp and Scale", GateKind.RISK,
                "the canary is stable",
                "segment expansion, capacity, support readiness, issue ageing",
                "reduce traffic or restrict scenarios", FailureDecision.ROLLBACK),
        GateDef(GateId.G9, "Post-Release Review", GateKind.RISK,
                "the release has run in production for a while",
                "expected vs actual, incidents, drift, business value, evidence completeness",
                "update gates, datasets, controls and the training plan", FailureDecision.NO_GO),
    )
}  # fmt: skip


class Conditions(BaseModel):
    """The limits of a limited go or a risk acceptance (§4.5): who, where, how much, how."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    users: list[Text] = Field(default_factory=list)  # e.g. "15 trained Tier 2 AML analysts"
    segments: list[Text] = Field(default_factory=list)  # segments kept on the baseline / excluded
    regions: list[Text] = Field(default_factory=list)
    traffic_cap_percent: float | None = Field(default=None, ge=0, le=100)
    features_off: list[Text] = Field(default_factory=list)
    human_review: Text | None = None  # e.g. "analyst reviews every narrative before saving"
    max_stage: Annotated[Stage, Strict(False)] | None = None
    notes: list[Text] = Field(default_factory=list)

    def is_empty(self) -> bool:
        """True when nothing is limited."""
        return self == Conditions()

    def merge(self, other: Conditions) -> Conditions:
        """The stricter of both: lists unite, the lower cap and the earlier stage win."""
        caps = [c for c in (self.traffic_cap_percent, other.traffic_cap_percent) if c is not None]
        stages = [s for s in (self.max_stage, other.max_stage) if s is not None]
        return Conditions(
            users=_union(self.users, other.users),
            segments=_union(self.segments, other.segments),
            regions=_union(self.regions, other.regions),
            traffic_cap_percent=min(caps) if caps else None,
            features_off=_union(self.features_off, other.features_off),
            human_review="; ".join(
                _union(
                    [self.human_review] if self.human_review else [],
                    [other.human_review] if other.human_review else [],
                )
            )
            or None,
            max_stage=min(stages, key=STAGE_ORDER.index) if stages else None,
            notes=_union(self.notes, other.notes),
        )


def _union(a: list[str], b: list[str]) -> list[str]:
    return list(dict.fromkeys([*a, *b]))
