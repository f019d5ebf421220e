"""The release bundle (B1, B2, B4): the unit of release.

A bundle binds code, data, features, model, prompt/policy, RAG index, eval and deployment under
one release id, use case and risk tier. The playbook's §3.3 YAML loads as written. When a bundle
is *frozen*, every registry reference is resolved to an exact component version and digest; the
frozen form's RFC 8785 digest is the release's identity, and it never changes afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.names import NameClass, check_name
from airel.domain.kernel.tiers import PipelineType, RiskTier, parse_risk_tier
from airel.domain.kernel.validation import as_field_problem
from airel.domain.release.components import Ref
from airel.domain.release.kinds import ComponentKind

BUNDLE_FORMAT = "airel-bundle/1"

Str = Annotated[str, Field(min_length=1, max_length=512)]


class _Section(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)


class CodeSection(_Section):
    """Code: repo commit, pipeline image digest, serving image digest."""

    repo_commit: Str | None = None
    pipeline_image: Str | None = None
    serving_image: Str | None = None


class DataSection(_Section):
    """Data: training/validation snapshots and the label policy."""

    training_snapshot: Ref | None = None
    validation_snapshot: Ref | None = None
    label_policy: Ref | None = None


class FeaturesSection(_Section):
    """Features: the feature view and its transform hash."""

    feature_view: Ref | None = None
    transform_hash: Str | None = None


class ModelSection(_Section):
    """Model: id, version and artifact hash (a full digest or an abbreviated prefix)."""

    model_id: Str | None = None
    model_version: Str | None = None
    artifact_hash: Str | None = None


class PromptPolicySection(_Section):
    """Prompt/policy: prompt version, guardrail policy, tool schema, decision policy."""

    prompt_version: Ref | None = None
    guardrail_policy: Ref | None = None
    tool_schema: Ref | None = None
    decision_policy: Ref | None = None


class RagSection(_Section):
    """Retrieval: the index a RAG assistant answers from."""

    index_version: Ref | None = None


class EvalSection(_Section):
    """Eval: dataset versions, evaluator versions and eval run ids."""

    dataset_versions: list[Ref] = Field(default_factory=list)
    evaluator_versions: list[Ref] = Field(default_factory=list)
    eval_run_ids: list[Str] = Field(default_factory=list)


class ScopeSection(_Section):
    """Scope (§4.3 G0, §8.1): what the release may and may not be used for, and by whom."""

    approved_use: list[Str] = Field(default_factory=list)
    prohibited_use: list[Str] = Field(default_factory=list)
    customer_impact: Str | None = None
    human_role: Str | None = None

    def recorded(self) -> bool:
        """True when approved use, prohibited use, customer impact and human role are set."""
        return bool(
            self.approved_use and self.prohibited_use and self.customer_impact and self.human_role
        )


class TrafficStart(StrEnum):
    """Where a release's traffic plan starts (§5.6)."""

    STAGING = "staging"  # production-like, replayed traffic, no customer effect
    SHADOW = "shadow"  # real inputs, outputs unused: zero customer impact
    STAFF_PILOT = "staff_pilot"  # trained internal users only (Tier 1 path, §4.2)
    CANARY = "canary"  # a small share of real traffic (1-20 %)
    RAMP = "ramp"  # controlled ramp by segment (20-50 %)
    LIMITED = "limited"  # limited production within approved conditions
    FULL = "full"  # full production traffic


class DeploymentSection(_Section):
    """Deployment: route, traffic start and the rollback target (a previous release id)."""

    route: Str | None = None
    traffic_start: TrafficStart | None = None
    rollback_target: Str | None = None

    @field_validator("traffic_start", mode="before")
    @classmethod
    def _traffic(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return TrafficStart(value)
            except ValueError:
                allowed = ", ".join(t.value for t in TrafficStart)
                raise ValueError(f"traffic_start must be one of {allowed}") from None
        return value

    @field_validator("rollback_target")
    @classmethod
    def _rollback(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return as_field_problem(
            check_name, value, NameClass.RELEASE, field="deployment.rollback_target"
        )


class BundleSpec(BaseModel):
    """A release bundle as written (§3.3), validated strictly and normalised."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    release_id: str
    use_case_id: str
    risk_tier: RiskTier
    pipeline_type: PipelineType | None = None
    description: str | None = Field(default=None, max_length=4096)
    scope: ScopeSection = Field(default_factory=ScopeSection)
    code: CodeSection = Field(default_factory=CodeSection)
    data: DataSection = Field(default_factory=DataSection)
    features: FeaturesSection = Field(default_factory=FeaturesSection)
    model: ModelSection = Field(default_factory=ModelSection)
    prompt_policy: PromptPolicySection = Field(default_factory=PromptPolicySection)
    rag: RagSection = Field(default_factory=RagSection)
    eval: EvalSection = Field(default_factory=EvalSection)
    deployment: DeploymentSection = Field(default_factory=DeploymentSection)

    @field_validator("release_id", mode="before")
    @classmethod
    def _release_id(cls, value: Any) -> str:
        return as_field_problem(check_name, value, NameClass.RELEASE, field="release_id")

    @field_validator("use_case_id", mode="before")
    @classmethod
    def _use_case(cls, value: Any) -> str:
        return as_field_problem(check_name, value, NameClass.USE_CASE, field="use_case_id")

    @field_validator("risk_tier", mode="before")
    @classmethod
    def _tier(cls, value: Any) -> RiskTier:
        return as_field_problem(parse_risk_tier, value)

    @field_validator("pipeline_type", mode="before")
    @classmethod
    def _pipeline(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return PipelineType(value)
            except ValueError:
                allowed = ", ".join(p.value for p in PipelineType)
                raise ValueError(f"pipeline_type must be one of {allowed}") from None
        return value

    def canonical(self) -> dict[str, Any]:
        """The normalised JSON form: tiers as integers; absent and default values omitted,
        so adding an optional field in a later version never changes an existing digest."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)

    def spec_digest(self) -> str:
        """Digest of the bundle as written (before references are resolved)."""
        return digest_of(self.canonical())


@dataclass(frozen=True)
class BundleField:
    """A bundle field that names a registered component."""

    path: str  # dotted path in the spec, e.g. "data.training_snapshot"
    kind: ComponentKind


# Rules as data: which bundle fields resolve against which registry.
REGISTRY_FIELDS: tuple[BundleField, ...] = (
    BundleField("data.training_snapshot", ComponentKind.DATASET),
    BundleField("data.validation_snapshot", ComponentKind.DATASET),
    BundleField("data.label_policy", ComponentKind.POLICY),
    BundleField("features.feature_view", ComponentKind.FEATURE_VIEW),
    BundleField("prompt_policy.prompt_version", ComponentKind.PROMPT),
    BundleField("prompt_policy.guardrail_policy", ComponentKind.POLICY),
    BundleField("prompt_policy.tool_schema", ComponentKind.TOOL_SCHEMA),
    BundleField("prompt_policy.decision_policy", ComponentKind.POLICY),
    BundleField("rag.index_version", ComponentKind.RAG_INDEX),
    BundleField("eval.dataset_versions", ComponentKind.EVAL_DATASET),
    BundleField("eval.evaluator_versions", ComponentKind.EVALUATOR),
)


def field_values(spec: BundleSpec, path: str) -> list[tuple[str, str]]:
    """``(indexed path, value)`` pairs of a dotted path; lists give one pair per item."""
    section, _, name = path.partition(".")
    value = getattr(getattr(spec, section), name)
    if value is None:
        return []
    if isinstance(value, list):
        return [(f"{path}[{i}]", str(v)) for i, v in enumerate(value)]
    return [(path, str(value))]


class Resolution(BaseModel):
    """One bundle reference pinned to an exact component version at freeze time."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    path: str  # "data.training_snapshot", "eval.dataset_versions[1]", "model"
    written: str  # the reference as written in the YAML
    node: str  # lineage node id kind/name:version
    digest: str  # the component version's content digest
    artifact: str | None  # its artifact digest, if any


class FrozenBundle(BaseModel):
    """An immutable, resolved release bundle. ``digest`` is the release's identity (B2)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    release_id: str
    use_case_id: str
    risk_tier: RiskTier
    pipeline_type: PipelineType | None
    spec: dict[str, Any]
    resolutions: tuple[Resolution, ...]
    spec_digest: str
    digest: str
    created_at: str
    created_by: str
    # Why it was frozen although completeness failed (``--allow-incomplete``); outside the
    # digest, so the same content has the same identity however it came to be frozen.
    incomplete_reason: str | None = None

    def bundle_spec(self) -> BundleSpec:
        """The validated spec back from its canonical JSON."""
        return BundleSpec.model_validate(self.spec)

    @property
    def node(self) -> str:
        """The lineage node id ``release/<release_id>``."""
        return release_node(self.release_id)


class DraftSummary(BaseModel):
    """Completeness of a draft as last stored: failure and warning codes, unresolved
    references (a draft may name components not registered yet; freezing resolves them)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    complete: bool
    failures: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    unresolved: tuple[dict[str, Any], ...] = ()  # {"reason", "field", "message"}


class BundleDraft(BaseModel):
    """A release bundle being prepared (B1): the spec as written, editable until frozen.

    ``version`` is the compare-and-set token: every edit names the version it read and
    raises it by one, so concurrent editors never lose an update.
    """

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    release_id: str
    use_case_id: str
    risk_tier: RiskTier
    pipeline_type: PipelineType | None
    spec: dict[str, Any]
    spec_digest: str
    summary: DraftSummary
    version: int
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str

    def bundle_spec(self) -> BundleSpec:
        """The validated spec back from its canonical JSON."""
        return BundleSpec.model_validate(self.spec)

    @property
    def node(self) -> str:
        """The lineage node id the release will have."""
        return release_node(self.release_id)


def release_node(release_id: str) -> str:
    """Lineage node id of a release."""
    return f"release/{release_id}"


def frozen_digest(spec: BundleSpec, resolutions: tuple[Resolution, ...]) -> str:
    """The identity of a frozen bundle: its spec plus what every reference resolved to."""
    return digest_of(
        {
            "format": BUNDLE_FORMAT,
            "spec": spec.canonical(),
            "resolutions": [r.model_dump(mode="json") for r in resolutions],
        }
    )


class ChangeType(StrEnum):
    """How one bundle component differs between two releases (B4)."""

    UNCHANGED = "unchanged"  # same value and, where resolved, the same content digest
    CHANGED = "changed"  # a different value or different resolved content
    ADDED = "added"  # absent in the old bundle, present in the new one
    REMOVED = "removed"  # present in the old bundle, absent in the new one


class ComponentChange(BaseModel):
    """One line of a bundle diff."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    component: str
    change: ChangeType
    old: Any = None
    new: Any = None
    old_digest: str | None = None
    new_digest: str | None = None


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flatten(f"{prefix}.{key}" if prefix else key, value[key])
    else:
        yield prefix, value


def diff_bundles(old: FrozenBundle, new: FrozenBundle) -> list[ComponentChange]:
    """Component-by-component differences, including changed content behind the same name."""
    old_flat = dict(_flatten("", old.spec))
    new_flat = dict(_flatten("", new.spec))
    old_res = {r.path.split("[")[0]: r for r in old.resolutions}
    new_res = {r.path.split("[")[0]: r for r in new.resolutions}
    old_lists = _resolution_lists(old)
    new_lists = _resolution_lists(new)
    changes: list[ComponentChange] = []
    for key in sorted(set(old_flat) | set(new_flat)):
        if key == "release_id":
            continue
        a, b = old_flat.get(key), new_flat.get(key)
        da = old_lists.get(key) if isinstance(a, list) else _digest_at(old_res, key)
        db = new_lists.get(key) if isinstance(b, list) else _digest_at(new_res, key)
        if a is None and b is not None:
            change = ChangeType.ADDED
        elif a is not None and b is None:
            change = ChangeType.REMOVED
        elif a != b or da != db:
            change = ChangeType.CHANGED
        else:
            change = ChangeType.UNCHANGED
        changes.append(
            ComponentChange(
                component=key,
                change=change,
                old=a,
                new=b,
                old_digest=da if isinstance(da, str) else None,
                new_digest=db if isinstance(db, str) else None,
            )
        )
    return changes


def _digest_at(res: dict[str, Resolution], key: str) -> str | None:
    hit = res.get(key)
    if hit is None and key in ("model.model_version", "model.artifact_hash"):
        hit = res.get("model")  # the model version's content digest, pinned at freeze
    return hit.digest if hit else None


def _resolution_lists(bundle: FrozenBundle) -> dict[str, str]:
    """A combined digest per list-valued field so content changes inside lists show up."""
    grouped: dict[str, list[str]] = {}
    for r in bundle.resolutions:
        if "[" in r.path:
            grouped.setdefault(r.path.split("[")[0], []).append(r.digest)
    return {k: digest_of(v) for k, v in grouped.items()}
