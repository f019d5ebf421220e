"""Registered components: one versioned-asset core for every kind (R1–R4, R7).

A component version is immutable: ``(kind, name, version)`` names exactly one content digest.
Each kind adds its own required fields (rules as data in :data:`KIND_SPECS`): a model carries
every §7.4 registry field, a dataset the R2 fields, a feature view the R3 fields, a prompt or
policy its text and text hash. Fields that name other components (a model's training dataset,
a feature view's source datasets) are *references*; they become lineage edges when the version
is registered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from airel.domain.kernel.canonical import check_digest, digest_bytes, digest_of
from airel.domain.kernel.names import NameClass, check_name
from airel.domain.kernel.tiers import RiskTier, parse_risk_tier
from airel.domain.kernel.validation import FieldProblem, as_field_problem
from airel.domain.release.artifact import ArtifactRef
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.pass_threshold import parse_pass_threshold
from airel.errors import Reason, ValidationError


class Classification(StrEnum):
    """Data classification of a dataset or feature view, lowest to highest."""

    PUBLIC = "public"  # may be published
    INTERNAL = "internal"  # staff only
    CONFIDENTIAL = "confidential"  # customer data, need-to-know
    RESTRICTED = "restricted"  # PII/PCI/special categories; named allowed uses only


class ApprovedStage(StrEnum):
    """The furthest stage a model version is approved for (§7.4 approved_stage)."""

    NONE = "none"  # a candidate; not approved anywhere
    STAGING = "staging"  # production-like validation, no customer effect
    SHADOW = "shadow"  # real inputs, outputs not used
    CANARY = "canary"  # a small share of real traffic
    PRODUCTION = "production"  # full production within its approval conditions


class EvalRole(StrEnum):
    """The role an eval dataset plays in a suite (E1)."""

    GOLDEN = "golden"  # curated expected behaviour
    REGRESSION = "regression"  # every past incident becomes a case
    RED_TEAM = "red_team"  # adversarial and abuse cases
    SLICE = "slice"  # a segment that must not regress (e.g. vulnerable customers)


def _name(value: Any) -> str:
    return as_field_problem(check_name, value, NameClass.COMPONENT, field="name")


def _version(value: Any) -> str:
    return as_field_problem(check_name, value, NameClass.VERSION, field="version")


def _digest(value: str) -> str:
    return as_field_problem(check_digest, value)


def _tier(value: Any) -> RiskTier:
    return as_field_problem(parse_risk_tier, value)


REF_PATTERN = re.compile(r"^(?P<name>[^:@]+)(?::(?P<version>[^:@]+)|@(?P<alias>[^:@]+))?$")

Digest = Annotated[str, AfterValidator(_digest)]
# Enums are read from their string values; every other scalar stays strict (no coercion).
LAX = Field(strict=False)
Text = Annotated[str, Field(min_length=1, max_length=4096)]
Ref = Annotated[
    str, Field(min_length=1, max_length=200, description="name, name:version or name@alias")
]
Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*(s|m|h|d)$", description="e.g. 15m, 24h, 2d")]


class _Spec(BaseModel):
    """Fields every component spec file has."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    kind: ComponentKind | None = None
    name: str
    version: str
    description: str | None = Field(default=None, max_length=4096)
    owner: Text | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    artifact: str | None = Field(default=None, description="relative path, hashed into the CAS")
    artifact_hash: Digest | None = Field(default=None, description="expected digest of artifact")

    _check_name = field_validator("name", mode="before")(_name)
    _check_version = field_validator("version", mode="before")(_version)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in {k.value for k in ComponentKind}:
            raise ValueError(f"unknown kind {value!r}; one of {[k.value for k in ComponentKind]}")
        return ComponentKind(value) if isinstance(value, str) else value


class Signature(BaseModel):
    """A model's input and output schema (§7.4 model_signature)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    inputs: list[dict[str, Any]] = Field(min_length=1)
    outputs: list[dict[str, Any]] = Field(min_length=1)


class VendorModel(BaseModel):
    """A hosted model pinned to a provider version (never ``latest``)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    provider: Text
    model: Text
    pinned_version: Text

    @field_validator("pinned_version")
    @classmethod
    def _not_latest(cls, value: str) -> str:
        if value.lower() in {"latest", "stable", "current"}:
            raise ValueError("a vendor model must be pinned to a dated version, not a moving tag")
        return value


class TrainingRun(BaseModel):
    """How a model version was trained (§7.2 training run)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    algorithm: Text
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    framework: Text | None = None


class ModelSpec(_Spec):
    """R1: the §7.4 model registry fields. model_id = name, model_version = version."""

    owner: Text
    risk_tier: Annotated[RiskTier, Field(description="0-3 or 'Tier N'")]
    signature: Signature
    training_run_id: Text | None = None
    training_dataset: Ref | None = None
    feature_view: Ref | None = None
    vendor_model: VendorModel | None = None
    training: TrainingRun | None = None
    approved_stage: Annotated[ApprovedStage, LAX] = ApprovedStage.NONE
    approval_conditions: list[Text] = Field(default_factory=list)
    eval_report: Text | None = None
    rollback_target: Ref | None = None
    monitoring_dashboard: Text | None = None
    review_expiry: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None

    _check_tier = field_validator("risk_tier", mode="before")(_tier)


class SnapshotSpec(BaseModel):
    """How a dataset snapshot was cut (§7.2 data snapshot)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    query: Text
    partition: Text | None = None
    window_start: Text | None = None
    window_end: Text | None = None
    sampling: Text | None = None


class DatasetSpec(_Spec):
    """R2: source lineage, snapshot, schema, classification, retention, allowed use, rows, hash."""

    owner: Text
    source_lineage: list[Text] = Field(min_length=1)
    snapshot: SnapshotSpec
    schema_: dict[str, Text] = Field(alias="schema", min_length=1)
    classification: Annotated[Classification, LAX]
    retention: Text
    allowed_use: list[Text] = Field(min_length=1)
    row_count: int = Field(ge=0)
    content_hash: Digest | None = Field(default=None, description="for data airel cannot read")
    derived_from: list[Ref] = Field(default_factory=list)

    model_config = ConfigDict(
        defer_build=True, frozen=True, extra="forbid", strict=True, populate_by_name=True
    )


class FeatureDef(BaseModel):
    """One feature of a feature view."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    name: Text
    dtype: Text
    description: str | None = None


class FeatureViewSpec(_Spec):
    """R3: definition, transform hash, owner, freshness SLA, serving view, allowed use."""

    owner: Text
    entity_key: Text
    features: list[FeatureDef] = Field(min_length=1)
    transform: str | None = Field(default=None, description="relative path of the transform code")
    transform_hash: Digest | None = None
    freshness_sla: Duration
    serving_view: Text
    allowed_use: list[Text] = Field(min_length=1)
    source_datasets: list[Ref] = Field(default_factory=list)
    validation_spec: str | None = Field(
        default=None, description="relative path of the feature spec YAML (V2), stored inline"
    )


class TextSpec(_Spec):
    """R4: a prompt or policy; the text (inline or from a file) is hashed and diffable."""

    text: str | None = Field(default=None, max_length=262_144)
    text_file: str | None = None
    approval: Text | None = None
    format: Literal["text", "markdown", "yaml", "json", "rego"] = "text"


class ToolSchemaSpec(_Spec):
    """An agent tool: its JSON schema and whether it has side effects."""

    tool_schema: dict[str, Any]
    side_effects: Literal["none", "read", "write"]
    requires_approval: bool
    idempotent: bool


class RagIndexSpec(_Spec):
    """A retrieval index: what it was built from and how."""

    owner: Text
    source_datasets: list[Ref] = Field(min_length=1)
    embedding_model: Text
    chunking: dict[str, Any]
    document_count: int = Field(ge=0)
    content_hash: Digest | None = None


class EvalDatasetSpec(_Spec):
    """E1: a versioned eval set with its role."""

    role: Annotated[EvalRole, LAX]
    row_count: int = Field(ge=0)
    derived_from: list[Ref] = Field(default_factory=list)
    content_hash: Digest | None = None


class EvaluatorSpec(_Spec):
    """E1: a versioned evaluator (metric, rule, judge, human rubric or plugin).

    A ``judge`` names the model it asks (``judge_model_name``, as the endpoint knows it) and
    its ``prompt_template`` and ``rubric``, so a change to any of them is a new version; the
    endpoint itself is deployment configuration. A ``plugin`` names its entry point in the
    ``airel.evaluators`` group. Judges and plugins state pass-rate ``thresholds``
    (:mod:`airel.domain.release.pass_threshold`).
    """

    evaluator_type: Literal["metric", "rule", "judge", "human", "plugin"]
    entry_point: Text | None = None
    thresholds: dict[str, Any] = Field(default_factory=dict)
    judge_model: Ref | None = None
    judge_model_name: Text | None = None
    prompt_template: str | None = Field(default=None, min_length=1, max_length=65_536)
    rubric: str | None = Field(default=None, max_length=65_536)

    @model_validator(mode="after")
    def _type_needs(self) -> EvaluatorSpec:
        needs = {
            "judge": ("judge_model_name", "prompt_template"),
            "plugin": ("entry_point",),
        }.get(self.evaluator_type, ())
        for name in needs:
            if getattr(self, name) is None:
                raise FieldProblem(
                    ValidationError(
                        Reason.MISSING_FIELD,
                        f"a {self.evaluator_type} evaluator needs {name}",
                        fix=f"add `{name}:` to the evaluator's YAML and register it again "
                        "(`airel register evaluator FILE`)",
                        details={"field": name},
                    )
                )
        if self.evaluator_type in ("judge", "plugin"):
            as_field_problem(parse_pass_threshold, self.thresholds)
        return self


class CodeSpec(_Spec):
    """A source snapshot (§7.2 code snapshot)."""

    repo: Text
    commit: Annotated[str, Field(pattern=r"^[0-9a-f]{7,64}$")]
    branch: Text | None = None
    build_id: Text | None = None
    reviewers: list[Text] = Field(default_factory=list)


class ContainerImageSpec(_Spec):
    """A pipeline or serving image pinned by digest (§7.2 runtime environment)."""

    image: Annotated[str, Field(pattern=r"^[^\s@]+@sha256:[0-9a-f]{64}$")]
    base_image: Text | None = None
    lock_file_hash: Digest | None = None
    hardware_profile: Text | None = None
    code: Ref | None = None


@dataclass(frozen=True)
class KindRule:
    """What a kind requires: its spec model, reference fields, and artifact need."""

    spec: type[_Spec]
    references: Mapping[str, ComponentKind]  # field -> kind it names (str or list of str)
    artifact: Literal["required", "optional", "required_or_content_hash", "never"]
    text_field: str | None = None  # the field holding diffable text


KIND_SPECS: dict[ComponentKind, KindRule] = {
    ComponentKind.MODEL: KindRule(
        ModelSpec,
        {
            "training_dataset": ComponentKind.DATASET,
            "feature_view": ComponentKind.FEATURE_VIEW,
            "rollback_target": ComponentKind.MODEL,
        },
        "optional",  # required unless vendor_model is set: checked in model_requirements()
    ),
    ComponentKind.DATASET: KindRule(
        DatasetSpec, {"derived_from": ComponentKind.DATASET}, "required_or_content_hash"
    ),
    ComponentKind.FEATURE_VIEW: KindRule(
        FeatureViewSpec, {"source_datasets": ComponentKind.DATASET}, "optional"
    ),
    ComponentKind.PROMPT: KindRule(TextSpec, {}, "never", text_field="text"),
    ComponentKind.POLICY: KindRule(TextSpec, {}, "never", text_field="text"),
    ComponentKind.TOOL_SCHEMA: KindRule(ToolSchemaSpec, {}, "never", text_field="tool_schema"),
    ComponentKind.RAG_INDEX: KindRule(
        RagIndexSpec, {"source_datasets": ComponentKind.DATASET}, "required_or_content_hash"
    ),
    ComponentKind.EVAL_DATASET: KindRule(
        EvalDatasetSpec, {"derived_from": ComponentKind.DATASET}, "required_or_content_hash"
    ),
    ComponentKind.EVALUATOR: KindRule(
        EvaluatorSpec, {"judge_model": ComponentKind.MODEL}, "optional"
    ),
    ComponentKind.CODE: KindRule(CodeSpec, {}, "optional"),
    ComponentKind.CONTAINER_IMAGE: KindRule(
        ContainerImageSpec, {"code": ComponentKind.CODE}, "never"
    ),
}

# §7.4 fields that a model version may be registered without, reported as "not yet recorded".
MODEL_GOVERNANCE_FIELDS = (
    "approval_conditions",
    "eval_report",
    "rollback_target",
    "monitoring_dashboard",
    "review_expiry",
)


@dataclass(frozen=True, order=True)
class ComponentKey:
    """The identity of one component version."""

    kind: ComponentKind
    name: str
    version: str

    @property
    def ref(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    @property
    def node(self) -> str:
        """The lineage node id ``kind/name:version``."""
        return f"{self.kind.value}/{self.name}:{self.version}"

    @classmethod
    def from_node(cls, node: str) -> ComponentKey:
        """Parse ``kind/name:version``."""
        kind, _, rest = node.partition("/")
        name, _, version = rest.partition(":")
        return cls(ComponentKind(kind), name, version)


@dataclass(frozen=True)
class ParsedRef:
    """A reference as written: a name plus an exact version, an alias, or neither."""

    name: str
    version: str | None
    alias: str | None


def parse_ref(value: str, *, field: str) -> ParsedRef:
    """Parse ``name``, ``name:version`` or ``name@alias`` and check each part's naming rules."""
    match = REF_PATTERN.match(value)
    if not match:
        raise ValidationError(
            Reason.INVALID_NAME,
            f"{field}: {value!r} is not a reference",
            fix="write name, name:version or name@alias",
            details={"field": field},
        )
    name = check_name(match["name"], NameClass.COMPONENT, field=field)
    version = match["version"]
    alias = match["alias"]
    if version is not None:
        check_name(version, NameClass.VERSION, field=f"{field} version")
    if alias is not None:
        check_name(alias, NameClass.ALIAS, field=f"{field} alias")
    return ParsedRef(name, version, alias)


class ComponentVersion(BaseModel):
    """An immutable registered version. ``digest`` covers kind, name, version, fields, artifact."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    kind: ComponentKind
    name: str
    version: str
    fields: dict[str, Any]
    artifact: ArtifactRef | None
    parents: tuple[str, ...]  # lineage node ids of resolved references, sorted
    digest: str
    created_at: str
    created_by: str

    @property
    def key(self) -> ComponentKey:
        """This version's identity."""
        return ComponentKey(self.kind, self.name, self.version)

    def text(self) -> str | None:
        """The diffable text of a prompt, policy or tool schema; None for other kinds."""
        rule = KIND_SPECS[self.kind]
        if rule.text_field is None:
            return None
        value = self.fields.get(rule.text_field)
        if isinstance(value, str):
            return value
        if value is None:
            return None
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def content_digest(
    kind: ComponentKind,
    name: str,
    version: str,
    fields: Mapping[str, Any],
    artifact: ArtifactRef | None,
    parents: tuple[str, ...],
) -> str:
    """The digest that makes re-registration idempotent and changed content a conflict."""
    return digest_of(
        {
            "format": "airel-component/1",
            "kind": kind.value,
            "name": name,
            "version": version,
            "fields": dict(fields),
            "artifact": artifact.model_dump(mode="json") if artifact else None,
            "parents": list(parents),
        }
    )


def text_hash(text: str) -> str:
    """The R4 text hash of a prompt or policy: sha256 of its UTF-8 bytes."""
    return digest_bytes(text.encode("utf-8"))
