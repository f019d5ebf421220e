"""The metrics gate rules may read, where each comes from, and what a missing one means (G5).

Rules are expressions over a flat namespace of named *facts*. Each fact comes from one kind of
evidence: the frozen bundle itself, a stored validation run (issue 3), a stored eval record
(issue 4), or an *attestation* recorded for the release (CI results, reviews, and the shadow,
canary, ramp and post-release evidence that rollout and tracing record). A fact whose evidence
is absent, errored, stale or inconclusive carries that status instead of a value, and a rule
that reads it never passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from airel.errors import Reason, ValidationError

MetricType = Literal["int", "double", "bool"]


class EvidenceKind(StrEnum):
    """Where facts come from."""

    BUNDLE = "bundle"  # the frozen bundle, its components and its rollback target
    VALIDATION = "validation"  # a stored data & feature validation run (G3)
    EVAL = "eval"  # a stored eval comparison or run (G4)
    CI = "ci"  # attestation: tests, scans and builds from the CI system (G2)
    SECURITY_REVIEW = "security_review"  # attestation: security review (G5)
    PRIVACY_REVIEW = "privacy_review"  # attestation: privacy review (G5)
    MODEL_RISK_REVIEW = "model_risk_review"  # attestation: model risk validation (G5)
    SHADOW = "shadow"  # attestation: shadow run and observability (G6)
    ROLLBACK_DRILL = "rollback_drill"  # attestation: `airel rollback drill` in staging (G6)
    CANARY = "canary"  # attestation: canary analysis (G7)
    RAMP = "ramp"  # attestation: ramp and scale readiness (G8)
    POST_RELEASE = "post_release"  # attestation: post-release review (G9)


# Evidence recorded as an attestation (``airel evidence add``) rather than computed by airel.
ATTESTATION_KINDS = tuple(
    k
    for k in EvidenceKind
    if k not in (EvidenceKind.BUNDLE, EvidenceKind.VALIDATION, EvidenceKind.EVAL)
)


class FactStatus(StrEnum):
    """Whether a fact can be read. Only ``ok`` facts are ever compared."""

    OK = "ok"  # evidence present, fresh and conclusive
    MISSING = "missing"  # no evidence of this kind for the release
    STALE = "stale"  # the evidence is older than the policy allows
    ERRORED = "errored"  # the evidence records an error (a crashed check, a failed run)
    INCONCLUSIVE = "inconclusive"  # the evidence could not decide (e.g. too few items)


@dataclass(frozen=True)
class MetricDef:
    """One metric rules may name."""

    name: str
    type: MetricType
    source: EvidenceKind
    description: str

    def sample(self) -> Any:
        """A value of the right type (used to type-check rules when a policy is loaded)."""
        return {"int": 0, "double": 0.0, "bool": True}[self.type]


def _m(source: EvidenceKind, type_: MetricType, *rows: tuple[str, str]) -> list[MetricDef]:
    return [MetricDef(name, type_, source, text) for name, text in rows]


B, V, E = EvidenceKind.BUNDLE, EvidenceKind.VALIDATION, EvidenceKind.EVAL
_DEFS: list[MetricDef] = [
    *_m(B, "int", ("risk_tier", "the bundle's risk tier, 0-3"),
        ("bundle_blocking_gaps", "completeness failures for the tier and pipeline type"),
        ("bundle_warning_gaps", "completeness warnings"),
        ("datasets_without_owner", "pinned datasets with no owner"),
        ("datasets_unclassified", "pinned datasets with no data classification"),
        ("write_tools_without_approval", "write tools whose schema does not require approval")),
    *_m(B, "bool", ("use_case_registered", "the bundle names its use case"),
        ("scope_recorded", "approved use, prohibited use, customer impact and human role set"),
        ("data_sources_registered", "the training snapshot is a registered dataset"),
        ("lineage_recorded", "every pinned dataset records its source lineage"),
        ("label_policy_recorded", "the bundle pins a label policy"),
        ("bundle_frozen", "the bundle is frozen with every reference resolved"),
        ("bundle_verified", "every pinned artifact's bytes re-verify against their digest"),
        ("candidate_present", "a model, prompt or agent artifact is pinned"),
        ("features_or_index_present", "a feature view or RAG index is pinned"),
        ("rollback_target_executable",
         "the rollback target is another frozen release of the same use case that verifies")),
    *_m(B, "bool", *((f"has_{k.value}_evidence", f"{k.value} evidence is recorded")
                     for k in EvidenceKind if k is not EvidenceKind.BUNDLE)),
    *_m(V, "int", ("validation_hard_failures", "hard findings of the validation run"),
        ("validation_soft_failures", "soft findings"),
        ("schema_mismatches", "training-serving schema findings (missing/extra/type)"),
        ("skew_findings", "training-serving skew findings"),
        ("leakage_findings", "target-leakage findings"),
        ("acl_findings", "restricted-feature (ACL) findings"),
        ("freshness_findings", "freshness findings"),
        ("drift_findings", "distribution drift findings")),
    *_m(V, "double", ("critical_feature_missing_rate",
                      "highest missing rate over the spec's critical features")),
    *_m(E, "int", ("eval_critical_failures", "critical failures: missed incidents, PII …"),
        ("eval_hard_thresholds_failed", "hard thresholds failed or inconclusive"),
        ("eval_soft_thresholds_failed", "soft thresholds failed or inconclusive"),
        ("eval_material_regressions", "slices with a material regression"),
        ("eval_uncovered_slices", "declared slices with no items or one class"),
        ("eval_errored_items", "items whose call errored or timed out"),
        ("eval_pii_leaks", "outputs leaking PII"),
        ("eval_unauthorised_tool_actions", "write tool calls without approval"),
        ("eval_wrong_commitments", "outputs with prohibited customer commitments"),
        ("eval_unsupported_claims", "answers with invalid or missing required citations"),
        ("eval_fairness_breaches", "fairness gaps above the suite's limits")),
    *_m(E, "double", ("eval_primary_delta_low",
                      "lower CI end of the primary metric's candidate-baseline delta"),
        ("eval_latency_p95_ms", "p95 latency of the evaluated target (LLM runs)")),
    *_m(EvidenceKind.CI, "int", ("ci_tests_failed", "failed unit, schema and prompt tests"),
        ("ci_critical_cves", "critical vulnerabilities in dependencies"),
        ("ci_unplanned_low_cves", "low-risk vulnerabilities without a patch plan")),
    *_m(EvidenceKind.CI, "bool", ("ci_container_built", "the serving image built")),
    *_m(EvidenceKind.SECURITY_REVIEW, "int", ("secrets_in_logs", "secrets found in logs"),
        ("security_high_findings", "open high-severity findings")),
    *_m(EvidenceKind.PRIVACY_REVIEW, "bool", ("privacy_approved", "the privacy review passed")),
    *_m(EvidenceKind.MODEL_RISK_REVIEW, "bool",
        ("model_risk_validated", "model risk validated the model"),
        ("explainability_documented", "explanations documented for the use")),
    *_m(EvidenceKind.SHADOW, "bool",
        ("traces_by_release_id", "production traces can be found by release id"),
        ("monitoring_dashboard_live", "the monitoring dashboard shows the release")),
    *_m(EvidenceKind.SHADOW, "int", ("shadow_side_effects", "side effects seen in shadow"),
        ("shadow_requests", "requests replayed in shadow"),
        ("dashboard_tiles_stale", "non-critical dashboard tiles refreshing late")),
    *_m(EvidenceKind.ROLLBACK_DRILL, "double",
        ("rollback_drill_minutes", "minutes the last rollback drill took")),
    *_m(EvidenceKind.ROLLBACK_DRILL, "int",
        ("rollback_drill_failed_steps", "runbook steps the last drill could not execute")),
    *_m(EvidenceKind.CANARY, "int", ("canary_critical_failures", "critical failures in canary"),
        ("canary_requests", "requests the canary served"),
        ("canary_worse_than_baseline",
         "metrics on which the canary is significantly worse than the baseline (T3)")),
    *_m(EvidenceKind.CANARY, "double", ("canary_latency_p95_ms", "canary p95 latency"),
        ("canary_latency_p99_ms", "canary p99 latency"),
        ("canary_error_rate", "canary error rate"),
        ("canary_override_rate", "share of outputs overridden by humans"),
        ("canary_complaint_rate", "share of requests the customer complained about"),
        ("canary_quality_failure_rate",
         "share of answers failing an online quality rule (PII leak, commitment, citation)"),
        ("canary_cost_per_request", "cost per request in canary")),
    *_m(EvidenceKind.RAMP, "bool", ("ramp_capacity_ok", "capacity tested for the next step"),
        ("support_ready", "support trained and staffed")),
    *_m(EvidenceKind.RAMP, "int", ("aged_issues", "issues open longer than the SLA"),
        ("ramp_requests", "requests the ramp step served")),
    *_m(EvidenceKind.POST_RELEASE, "bool", ("post_release_review_done", "review held"),
        ("evidence_complete", "the evidence binder is complete")),
    *_m(EvidenceKind.POST_RELEASE, "int", ("open_incidents", "incidents still open")),
]  # fmt: skip

METRICS: dict[str, MetricDef] = {m.name: m for m in _DEFS}
# Names every rule may use besides metrics: the tier's thresholds map and two bundle facts.
RESERVED = frozenset({"threshold", "pipeline_type"})


def metric(name: str) -> MetricDef:
    """The definition of ``name``; unknown names are a policy error."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValidationError(
            Reason.POLICY_UNKNOWN_METRIC,
            f"unknown gate metric {name!r}",
            fix="use a metric from `airel policy metrics`",
            details={"metric": name},
        ) from None


def metrics_of(kind: EvidenceKind) -> list[MetricDef]:
    """Every metric an evidence kind provides."""
    return [m for m in _DEFS if m.source is kind]


def check_value(name: str, value: Any) -> Any:
    """``value`` as metric ``name``'s type; a wrong type is refused, never coerced."""
    defn = metric(name)
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, (int, float)) and not isinstance(value, bool),
    }[defn.type]
    if not ok or (defn.type == "double" and not math.isfinite(value)):
        raise ValidationError(
            Reason.WRONG_TYPE,
            f"metric {name} must be a {defn.type}, got {value!r}",
            fix=f"record {name} as a {defn.type}",
            details={"metric": name},
        )
    return float(value) if defn.type == "double" else value
