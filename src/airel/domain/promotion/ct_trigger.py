"""Continuous-training triggers (P4, §5.4, §8.7): what fired, what candidate it builds, and the
rule its release must pass — a trigger creates a candidate and a record, and NEVER promotes.

A trigger is a strict YAML document, like every spec airel reads::

    trigger_id: CT-FRAUD-2026-021
    use_case_id: FRAUD-SCORING               # a use case with at least one frozen release
    kind: data_drift                         # one of TriggerKind (the §5.4 table)
    source: production drift dashboard
    condition: card-not-present merchant category distribution shifted beyond threshold
    candidate_action: train fraud model candidate using 2026Q2-v6 snapshot
    required_evals: [segment performance, false positive cost, latency]
    owner: Fraud Analytics Lead
    build:                                   # optional: how the training environment builds it
      command: [python, train.py, --out, candidate.yaml]   # argv, never a shell line
      snapshots: [dataset/FRAUD-TXN:2026Q2-v6]             # pinned kind/name:version
      timeout_seconds: 3600
    candidate_bundle: candidate.yaml         # optional: the bundle the build writes (relative)

The release rule is not written by the trigger's author: it follows from the kind and the use
case's risk tier (:func:`release_rule`), so no trigger can relax the gate. A performance
degradation also opens an :class:`Incident` (§5.4: "trigger incident / issue").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.tiers import RiskTier
from airel.domain.kernel.validation import FieldProblem, Lines, as_field_problem, parse_record
from airel.domain.release.components import parse_ref
from airel.domain.release.kinds import ComponentKind
from airel.errors import Reason, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=512)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
Severity = Literal["sev1", "sev2", "sev3", "sev4"]
TRIGGER_ID = re.compile(r"^CT-[A-Z0-9][A-Z0-9-]{0,60}[A-Z0-9]$")
SPEC_FORMAT = "airel-ct-trigger/1"
NOT_RECORDED = "not recorded"


class TriggerKind(StrEnum):
    """The §5.4 trigger kinds; :data:`KIND_ACTIONS` says what each trains and how it releases."""

    DATA_DRIFT = "data_drift"  # the input distribution moved: retrain or recalibrate
    LABEL_ARRIVAL = "label_arrival"  # new labels: backtest and retrain
    BUSINESS_RULE_CHANGE = "business_rule_change"  # label rules, features, prompt or policy
    PERFORMANCE_DEGRADATION = "performance_degradation"  # a fix candidate; opens an incident
    SCHEDULED_REFRESH = "scheduled_refresh"  # periodic retraining
    VENDOR_MODEL_CHANGE = "vendor_model_change"  # a hosted model moved: re-evaluate or pin
    RAG_SOURCE_UPDATE = "rag_source_update"  # documents changed: rebuild index / embeddings

    @property
    def action(self) -> KindAction:
        """The kind's row of the §5.4 table."""
        return KIND_ACTIONS[self]


@dataclass(frozen=True)
class KindAction:
    """One row of §5.4: the training action, the release action, and whether it opens an
    incident."""

    label: str
    training: str
    release: str
    opens_incident: bool = False


_K = TriggerKind
KIND_ACTIONS: Mapping[TriggerKind, KindAction] = {  # label, training action, release action
    _K.DATA_DRIFT: KindAction("Data drift", "train a candidate on the new distribution or "
        "recalibrate", "must pass offline eval, slice comparison and canary"),
    _K.LABEL_ARRIVAL: KindAction("Label arrival", "backtest and retrain with the new labels",
        "enters the release gate only if the gain is significant and nothing regresses"),
    _K.BUSINESS_RULE_CHANGE: KindAction("Business rule change", "update the label rules, "
        "features, prompt or policy", "materiality decides whether it is a major release"),
    _K.PERFORMANCE_DEGRADATION: KindAction("Performance degradation", "build a fix candidate",
        "opens an incident; the fix must be proven before release", opens_incident=True),
    _K.SCHEDULED_REFRESH: KindAction("Scheduled refresh", "periodic retraining", "low risk "
        "may generate the candidate automatically; high risk still needs approval"),
    _K.VENDOR_MODEL_CHANGE: KindAction("Vendor model change", "re-evaluate the route or pin "
        "the old version", "never point at latest without a gate"),
    _K.RAG_SOURCE_UPDATE: KindAction("RAG source update", "rebuild the index / embeddings",
        "retrieval eval, freshness check and ACL check before promotion"),
}  # fmt: skip


def release_rule(kind: TriggerKind, tier: RiskTier) -> str:
    """The release rule of a trigger's candidate: derived from the risk tier, never written."""
    if tier is RiskTier.TIER_0:
        gate = "Tier 0 never reaches production automation"
    elif tier is RiskTier.TIER_3 and kind is TriggerKind.SCHEDULED_REFRESH:
        gate = "low risk: promotion is still gated (Tier 3 gate)"
    elif tier is RiskTier.TIER_3:
        gate = "production promotion requires the Tier 3 gate"
    else:
        gate = f"production promotion requires the full {tier.label} gate"
    return f"candidate generation is automatic; {gate}; {kind.action.release}"


def parse_kind(value: object) -> TriggerKind:
    """A trigger kind from its text (the §5.4 names, snake_case)."""
    if isinstance(value, TriggerKind):
        return value
    if isinstance(value, str):
        try:
            return TriggerKind(value.strip().lower().replace(" ", "_").replace("-", "_"))
        except ValueError:
            pass
    raise ValidationError(
        Reason.INVALID_VALUE,
        f"kind: {value!r} is not a trigger kind",
        fix="use one of " + ", ".join(k.value for k in TriggerKind),
        details={"field": "kind"},
    )


def check_snapshot(value: str) -> str:
    """A pinned component reference ``kind/name:version`` (no alias, no bare name, no latest)."""
    kind, sep, ref = value.partition("/")
    if not sep or kind not in {k.value for k in ComponentKind}:
        raise ValidationError(
            Reason.UNKNOWN_KIND,
            f"snapshot {value!r} does not start with a component kind",
            fix="write kind/name:version, e.g. dataset/FRAUD-TXN:2026Q2-v6; kinds: "
            + ", ".join(k.value for k in ComponentKind),
            details={"reference": value},
        )
    parsed = parse_ref(ref, field="snapshot")
    if parsed.version is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"snapshot {value!r} is not pinned to a version",
            fix=f"pin an exact version: {kind}/{parsed.name}:VERSION (an alias can move)",
            details={"reference": value},
        )
    if parsed.version.lower() == "latest":
        raise ValidationError(
            Reason.ROUTE_TO_LATEST,
            f"snapshot {value!r} points at latest",
            fix="pin the exact version the candidate is trained on",
            details={"reference": value},
        )
    return value


def _check_relative(value: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValidationError(
            Reason.PATH_TRAVERSAL,
            f"candidate_bundle {value!r} leaves the build's working directory",
            fix="give a path relative to --workdir, without ..",
            details={"field": "candidate_bundle"},
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)


class BuildSpec(_Strict):
    """How the training environment builds the candidate: an argv, never a shell line."""

    command: list[Text] = Field(min_length=1, max_length=128)
    snapshots: list[Text] = Field(default_factory=list, max_length=64)
    timeout_seconds: int = Field(default=3600, ge=1, le=86_400)

    @field_validator("snapshots")
    @classmethod
    def _pinned(cls, snapshots: list[str]) -> list[str]:
        for value in snapshots:
            as_field_problem(check_snapshot, value)
        if len(set(snapshots)) != len(snapshots):
            raise FieldProblem(
                ValidationError(
                    Reason.INVALID_VALUE,
                    "a snapshot is listed twice",
                    fix="list each snapshot once",
                )
            )
        return snapshots


class TriggerSpec(_Strict):
    """A §8.7 trigger as its author writes it (see the module docstring)."""

    trigger_id: Text
    use_case_id: Text
    kind: TriggerKind
    source: Text
    condition: LongText
    candidate_action: LongText
    required_evals: list[Text] = Field(min_length=1, max_length=64)
    owner: Text
    severity: Severity | None = None  # the incident's, performance degradation only
    observed_release: Text | None = None  # the release the condition was seen on
    build: BuildSpec | None = None
    candidate_bundle: Text | None = None

    @field_validator("trigger_id")
    @classmethod
    def _trigger_id(cls, value: str) -> str:
        return as_field_problem(check_trigger_id, value)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: object) -> TriggerKind:
        return as_field_problem(parse_kind, value)

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if value is not None and kind is not None and not kind.action.opens_incident:
            as_field_problem(_no_incident, kind)
        return value

    @field_validator("candidate_bundle")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        return None if value is None else as_field_problem(_check_relative, value)

    @property
    def digest(self) -> str:
        """The spec's content address (what the stored trigger cites)."""
        return digest_of({"format": SPEC_FORMAT, **self.model_dump(mode="json")})


def check_trigger_id(value: str) -> str:
    """``CT-`` then upper-case letters, digits and dashes (``CT-FRAUD-2026-021``)."""
    if not TRIGGER_ID.match(value):
        raise ValidationError(
            Reason.INVALID_NAME,
            f"trigger_id {value!r} is not a trigger id",
            fix="write CT- then upper-case letters, digits and dashes, e.g. CT-FRAUD-2026-021",
            details={"field": "trigger_id"},
        )
    return value


def _no_incident(kind: TriggerKind) -> None:
    raise ValidationError(
        Reason.INVALID_VALUE,
        f"severity: a {kind.value} trigger opens no incident",
        fix="drop severity (only performance_degradation opens an incident)",
        details={"field": "severity"},
    )


def parse_trigger_spec(
    data: Mapping[str, Any], *, source: str = "<ct trigger>", lines: Lines | None = None
) -> TriggerSpec:
    """Validate a parsed document into a :class:`TriggerSpec` (every problem listed)."""
    return parse_record(TriggerSpec, data, source=source, lines=lines)


class TriggerDecision(StrEnum):
    """What came of a trigger; none of them is a promotion."""

    CANDIDATE_HELD = "candidate_held"  # a candidate was frozen and is held for the release gate
    RECORDED = "recorded"  # no build asked for (or none declared): the trigger only
    BUILD_FAILED = "build_failed"  # the build command failed or timed out: no candidate
    CANDIDATE_REFUSED = "candidate_refused"  # the build ran; its bundle could not be frozen


class _Record(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class BuildOutcome(_Record):
    """What the build command did."""

    command: tuple[str, ...]
    exit_code: int | None  # None: timed out
    timed_out: bool = False
    seconds: float
    output_tail: str = ""  # the last lines of stdout + stderr


class CtTrigger(_Record):
    """A stored §8.7 trigger record."""

    trigger_id: str
    use_case_id: str
    kind: TriggerKind
    source: str
    condition: str
    candidate_action: str
    release_rule: str
    required_evals: tuple[str, ...]
    owner: str
    risk_tier: RiskTier
    decision: TriggerDecision
    decision_text: str
    snapshots: tuple[str, ...] = ()
    candidate_release_id: str | None = None
    candidate_error: dict[str, Any] | None = None  # reason, message of a refused candidate
    build: BuildOutcome | None = None
    incident_id: str | None = None
    spec_digest: str
    created_at: str
    created_by: str


def decision_text(
    decision: TriggerDecision,
    *,
    tier: RiskTier,
    candidate: str | None = None,
    build: BuildOutcome | None = None,
    error: str | None = None,
) -> str:
    """The §8.7 "Decision" line."""
    if decision is TriggerDecision.CANDIDATE_HELD:
        return f"candidate {candidate} frozen and held pending the {tier.label} release gate"
    if decision is TriggerDecision.BUILD_FAILED:
        how = (
            "timed out"
            if build and build.timed_out
            else f"exit {build.exit_code if build else '?'}"
        )
        return f"candidate build failed ({how}); no candidate"
    if decision is TriggerDecision.CANDIDATE_REFUSED:
        return f"candidate refused at registration ({error}); no candidate"
    if build is not None:
        return "build succeeded (exit 0); no candidate bundle named, so no candidate"
    return "trigger recorded; no candidate built"


class IncidentSource(StrEnum):
    """What opened an incident."""

    ROLLOUT = "rollout"  # a rollout step's stop condition held
    ROLLBACK = "rollback"  # a release was rolled back
    CT_TRIGGER = "ct_trigger"  # a performance-degradation trigger (§5.4)


class IncidentStatus(StrEnum):
    """Where an incident is; a trigger only opens one."""

    OPEN = "open"  # opened, not yet resolved


class Incident(_Record):
    """An incident record: what degraded, where, and how bad."""

    incident_id: str
    use_case_id: str
    release_id: str | None
    source: IncidentSource
    severity: Severity
    summary: str
    status: IncidentStatus = IncidentStatus.OPEN
    trigger_id: str | None = None
    opened_at: str
    opened_by: str


def trigger_incident(trigger: CtTrigger, *, release_id: str | None, severity: str) -> Incident:
    """The incident a performance-degradation trigger opens (``INC-`` + the trigger id)."""
    return Incident.model_validate(
        {
            "incident_id": f"INC-{trigger.trigger_id}",
            "use_case_id": trigger.use_case_id,
            "release_id": release_id,
            "source": IncidentSource.CT_TRIGGER,
            "severity": severity,
            "summary": f"{trigger.kind.action.label}: {trigger.condition}",
            "trigger_id": trigger.trigger_id,
            "opened_at": trigger.created_at,
            "opened_by": trigger.created_by,
        }
    )


def _cell(value: object) -> str:
    text = str(value).strip() if value not in (None, "", ()) else NOT_RECORDED
    return text.replace("|", "\\|").replace("\n", " ")


def render_trigger_record(trigger: CtTrigger, incident: Incident | None = None) -> str:
    """The §8.7 Continuous Training Trigger Record (Markdown, field | value)."""
    rows = [
        ("Trigger ID", trigger.trigger_id),
        ("Trigger source", trigger.source),
        ("Trigger condition", trigger.condition),
        ("Candidate action", trigger.candidate_action),
        ("Release rule", trigger.release_rule),
        ("Required evals", ", ".join(trigger.required_evals)),
        ("Owner", trigger.owner),
        ("Decision", trigger.decision_text),
    ]
    build = trigger.build
    extra = [
        ("Kind", f"{trigger.kind.action.label} — {trigger.kind.action.training}"),
        ("Use case", f"{trigger.use_case_id} ({trigger.risk_tier.label})"),
        ("Snapshots", ", ".join(trigger.snapshots)),
        ("Candidate release", trigger.candidate_release_id),
        ("Build", None if build is None else f"{' '.join(build.command)} → {build.exit_code}"),
        ("Incident", None if incident is None else f"{incident.incident_id} ({incident.severity})"),
        ("Recorded", f"{trigger.created_at} by {trigger.created_by}"),
    ]
    lines = [f"# Continuous Training Trigger Record — {trigger.trigger_id}", ""]
    lines += ["| Field | Value |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in rows]
    lines += ["", "| Record | Value |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in extra]
    lines += ["", "A trigger creates a candidate and a record; it never promotes (P4)."]
    return "\n".join(lines) + "\n"
