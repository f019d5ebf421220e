"""Bundle completeness by risk tier × pipeline type (B3, B5), as data.

Each rule names a bundle component, the stable reason code reported when it is missing and
the concrete risk from the playbook's §3.3 table — "no rollback target" is not a documentation
gap, it means an incident can only be met by switching the service off. Whether a component is
required depends on the pipeline type (§3.5); how hard a missing one blocks depends on the tier
(§4.2, §4.4): Tier 0–2 cannot proceed without a required component, Tier 3 gets a warning
unless the rule is marked ``always``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from airel.domain.kernel.tiers import PipelineType, RiskTier
from airel.domain.release.bundle import BundleSpec, field_values


class Need(StrEnum):
    """How much a pipeline type needs a component."""

    REQUIRED = "required"  # missing -> failure (Tier 3: warning unless the rule is `always`)
    RECOMMENDED = "recommended"  # missing -> warning
    NOT_APPLICABLE = "n/a"  # the pipeline type has no such component


class Severity(StrEnum):
    """The weight of a completeness finding."""

    FAILURE = "failure"  # blocks the release at this tier (hard)
    WARNING = "warning"  # recorded; does not block (soft)


R, REC, N = Need.REQUIRED, Need.RECOMMENDED, Need.NOT_APPLICABLE
C, RAG, LLM, AG, DA = (
    PipelineType.CLASSIFIER,
    PipelineType.RAG_ASSISTANT,
    PipelineType.LLM_PROMPT,
    PipelineType.AGENT,
    PipelineType.DECISION_AUTOMATION,
)


@dataclass(frozen=True)
class ComponentRule:
    """One row of the completeness table."""

    component: str  # dotted bundle path, or a section name for multi-field components
    reason: str  # stable reason code
    risk: str  # the concrete risk of releasing without it (§3.3)
    needs: dict[PipelineType, Need]
    always: bool = False  # required even at Tier 3


_MISSING_SNAPSHOT = (
    "no data snapshot: training results cannot be reproduced, drift cannot be explained and "
    "validation disputes cannot be traced"
)
_MISSING_FEATURES = (
    "no feature version: training and online features can diverge and model performance can "
    "degrade suddenly"
)
_MISSING_PROMPT = (
    "no prompt / policy version: the same model version can behave differently and an incident "
    "review cannot locate the cause"
)
_MISSING_EVAL = (
    "no eval dataset version: metrics are not comparable and the release gate can be adjusted "
    "by hand"
)

COMPLETENESS_RULES: tuple[ComponentRule, ...] = (
    ComponentRule(
        "pipeline_type",
        "BUNDLE_NO_PIPELINE_TYPE",
        "no pipeline type: the pipeline-specific components and release risks (§3.5) cannot be "
        "checked",
        dict.fromkeys(PipelineType, R),
        always=True,  # else leaving it out would waive the type's `always` requirements
    ),
    ComponentRule(
        "code.repo_commit",
        "BUNDLE_NO_CODE_COMMIT",
        "no code commit: the build cannot be reproduced or tied to a reviewed change",
        dict.fromkeys(PipelineType, R),
        always=True,
    ),
    ComponentRule(
        "code.pipeline_image",
        "BUNDLE_NO_PIPELINE_IMAGE",
        "no pipeline image digest: the training or build environment cannot be recreated",
        {C: R, RAG: R, LLM: REC, AG: REC, DA: R},
    ),
    ComponentRule(
        "code.serving_image",
        "BUNDLE_NO_SERVING_IMAGE",
        "no serving image digest: production may run a different build than the one approved",
        dict.fromkeys(PipelineType, R),
    ),
    ComponentRule(
        "data.training_snapshot",
        "BUNDLE_NO_TRAINING_SNAPSHOT",
        _MISSING_SNAPSHOT,
        {C: R, RAG: N, LLM: N, AG: N, DA: R},
    ),
    ComponentRule(
        "data.validation_snapshot",
        "BUNDLE_NO_VALIDATION_SNAPSHOT",
        _MISSING_SNAPSHOT,
        {C: R, RAG: N, LLM: N, AG: N, DA: R},
    ),
    ComponentRule(
        "data.label_policy",
        "BUNDLE_NO_LABEL_POLICY",
        "no label policy version: labels cannot be reproduced or challenged",
        {C: R, RAG: N, LLM: N, AG: N, DA: R},
    ),
    ComponentRule(
        "features.feature_view",
        "BUNDLE_NO_FEATURE_VIEW",
        _MISSING_FEATURES,
        {C: R, RAG: N, LLM: N, AG: REC, DA: R},
    ),
    ComponentRule(
        "features.transform_hash",
        "BUNDLE_NO_TRANSFORM_HASH",
        _MISSING_FEATURES,
        {C: R, RAG: N, LLM: N, AG: REC, DA: R},
    ),
    ComponentRule(
        "model",
        "BUNDLE_NO_MODEL",
        "no model id, version and artifact hash: the artifact in production cannot be identified",
        dict.fromkeys(PipelineType, R),
        always=True,
    ),
    ComponentRule(
        "prompt_policy.prompt_version",
        "BUNDLE_NO_PROMPT_VERSION",
        _MISSING_PROMPT,
        {C: N, RAG: R, LLM: R, AG: R, DA: N},
        always=True,
    ),
    ComponentRule(
        "prompt_policy.guardrail_policy",
        "BUNDLE_NO_GUARDRAIL_POLICY",
        _MISSING_PROMPT,
        {C: N, RAG: R, LLM: R, AG: R, DA: REC},
    ),
    ComponentRule(
        "prompt_policy.tool_schema",
        "BUNDLE_NO_TOOL_SCHEMA",
        "no tool schema version: a tool action cannot be traced to a reviewed schema and "
        "permission set",
        {C: N, RAG: N, LLM: REC, AG: R, DA: N},
        always=True,
    ),
    ComponentRule(
        "prompt_policy.decision_policy",
        "BUNDLE_NO_DECISION_POLICY",
        "no decision policy version: the thresholds and rules that act on scores are unversioned",
        {C: REC, RAG: N, LLM: N, AG: REC, DA: R},
    ),
    ComponentRule(
        "rag.index_version",
        "BUNDLE_NO_INDEX_VERSION",
        "no index version: stale or unauthorised documents cannot be traced or rolled back",
        {C: N, RAG: R, LLM: N, AG: REC, DA: N},
        always=True,
    ),
    ComponentRule(
        "eval.dataset_versions",
        "BUNDLE_NO_EVAL_DATASETS",
        _MISSING_EVAL,
        dict.fromkeys(PipelineType, R),
    ),
    ComponentRule(
        "eval.evaluator_versions",
        "BUNDLE_NO_EVALUATORS",
        _MISSING_EVAL,
        dict.fromkeys(PipelineType, R),
    ),
    ComponentRule(
        "deployment.route",
        "BUNDLE_NO_DEPLOYMENT_ROUTE",
        "no deployment manifest: what runs in production may differ from what was approved",
        dict.fromkeys(PipelineType, R),
        always=True,
    ),
    ComponentRule(
        "deployment.rollback_target",
        "BUNDLE_NO_ROLLBACK_TARGET",
        "no rollback target: an incident can only be met by stopping the service; there is no "
        "orderly recovery",
        dict.fromkeys(PipelineType, R),
    ),
)


class CompletenessFinding(BaseModel):
    """One missing component: what, why it matters, and how hard it blocks."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    component: str
    reason: str
    severity: Severity
    risk: str
    consequence: str


class CompletenessReport(BaseModel):
    """The completeness of one bundle at its tier and pipeline type."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    release_id: str
    risk_tier: int
    pipeline_type: str | None
    complete: bool  # no failures (warnings allowed)
    findings: tuple[CompletenessFinding, ...]
    present: tuple[str, ...]


def _present(spec: BundleSpec, component: str, pinned: frozenset[str]) -> bool:
    if component == "pipeline_type":
        return spec.pipeline_type is not None
    if component == "model":
        m = spec.model
        hashed = bool(m.artifact_hash) or "model.artifact_hash" in pinned
        return bool(m.model_id and m.model_version and hashed)
    return bool(field_values(spec, component)) or component in pinned


def _need(rule: ComponentRule, pipeline: PipelineType | None) -> Need:
    if pipeline is None:
        # Unknown pipeline: require what every type requires, recommend the rest.
        needs = set(rule.needs.values())
        return R if needs == {R} else REC
    return rule.needs[pipeline]


def evaluate_completeness(
    spec: BundleSpec, pinned: frozenset[str] = frozenset()
) -> CompletenessReport:
    """Check every rule against the bundle; collect every finding (never stop at the first).

    ``pinned`` names hash fields the bundle need not repeat because freezing pinned them from
    the registry: ``model.artifact_hash`` (the model version has an artifact digest) and
    ``features.transform_hash`` (the feature view version records its transform hash).
    """
    findings: list[CompletenessFinding] = []
    present: list[str] = []
    tier = spec.risk_tier
    for rule in COMPLETENESS_RULES:
        need = _need(rule, spec.pipeline_type)
        if need is Need.NOT_APPLICABLE:
            continue
        if _present(spec, rule.component, pinned):
            present.append(rule.component)
            continue
        hard = need is Need.REQUIRED and (tier <= RiskTier.TIER_2 or rule.always)
        severity = Severity.FAILURE if hard else Severity.WARNING
        consequence = (
            f"{tier.label} cannot proceed until it is supplied"
            if hard
            else f"allowed at {tier.label}; recorded as a known gap"
        )
        findings.append(
            CompletenessFinding(
                component=rule.component,
                reason=rule.reason,
                severity=severity,
                risk=rule.risk,
                consequence=consequence,
            )
        )
    return CompletenessReport(
        release_id=spec.release_id,
        risk_tier=int(tier),
        pipeline_type=spec.pipeline_type.value if spec.pipeline_type else None,
        complete=not any(f.severity is Severity.FAILURE for f in findings),
        findings=tuple(findings),
        present=tuple(present),
    )
