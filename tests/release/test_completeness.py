"""Bundle completeness by risk tier × pipeline type (B3, B5), checked as data.

The expected table below is written out independently of ``COMPLETENESS_RULES``: for each
reason code, how much each §3.5 pipeline type needs the component, and whether it is required
even at Tier 3. Tier 0–2 cannot proceed without a required component; Tier 3 gets a warning
unless the component is required "always"; a recommended component only ever warns.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airel.domain.kernel.tiers import PipelineType, RiskTier
from airel.domain.release.bundle import BundleSpec
from airel.domain.release.completeness import (
    COMPLETENESS_RULES,
    CompletenessReport,
    Severity,
    evaluate_completeness,
)

C, RAG, LLM, AG, DA = (
    PipelineType.CLASSIFIER,
    PipelineType.RAG_ASSISTANT,
    PipelineType.LLM_PROMPT,
    PipelineType.AGENT,
    PipelineType.DECISION_AUTOMATION,
)
PIPELINES = [C, RAG, LLM, AG, DA]
TIERS = list(RiskTier)

# reason -> (component path, needs per pipeline in PIPELINES order, required even at Tier 3)
# "R" required, "r" recommended, "-" not applicable.
EXPECTED: dict[str, tuple[str, str, bool]] = {
    "BUNDLE_NO_PIPELINE_TYPE": ("pipeline_type", "RRRRR", True),
    "BUNDLE_NO_CODE_COMMIT": ("code.repo_commit", "RRRRR", True),
    "BUNDLE_NO_PIPELINE_IMAGE": ("code.pipeline_image", "RRrrR", False),
    "BUNDLE_NO_SERVING_IMAGE": ("code.serving_image", "RRRRR", False),
    "BUNDLE_NO_TRAINING_SNAPSHOT": ("data.training_snapshot", "R---R", False),
    "BUNDLE_NO_VALIDATION_SNAPSHOT": ("data.validation_snapshot", "R---R", False),
    "BUNDLE_NO_LABEL_POLICY": ("data.label_policy", "R---R", False),
    "BUNDLE_NO_FEATURE_VIEW": ("features.feature_view", "R--rR", False),
    "BUNDLE_NO_TRANSFORM_HASH": ("features.transform_hash", "R--rR", False),
    "BUNDLE_NO_MODEL": ("model", "RRRRR", True),
    "BUNDLE_NO_PROMPT_VERSION": ("prompt_policy.prompt_version", "-RRR-", True),
    "BUNDLE_NO_GUARDRAIL_POLICY": ("prompt_policy.guardrail_policy", "-RRRr", False),
    "BUNDLE_NO_TOOL_SCHEMA": ("prompt_policy.tool_schema", "--rR-", True),
    "BUNDLE_NO_DECISION_POLICY": ("prompt_policy.decision_policy", "r--rR", False),
    "BUNDLE_NO_INDEX_VERSION": ("rag.index_version", "-R-r-", True),
    "BUNDLE_NO_EVAL_DATASETS": ("eval.dataset_versions", "RRRRR", False),
    "BUNDLE_NO_EVALUATORS": ("eval.evaluator_versions", "RRRRR", False),
    "BUNDLE_NO_DEPLOYMENT_ROUTE": ("deployment.route", "RRRRR", True),
    "BUNDLE_NO_ROLLBACK_TARGET": ("deployment.rollback_target", "RRRRR", False),
}

# Every component filled in (valid for every pipeline type).
FULL: dict[str, Any] = {
    "release_id": "REL-2026-002",
    "use_case_id": "UC-1",
    "risk_tier": 1,
    "pipeline_type": "classifier",
    "code": {
        "repo_commit": "9f2c81a",
        "pipeline_image": "registry/p@sha256:" + "a" * 64,
        "serving_image": "registry/s@sha256:" + "b" * 64,
    },
    "data": {
        "training_snapshot": "TRAIN:1",
        "validation_snapshot": "VALID:1",
        "label_policy": "LABELS:1",
    },
    "features": {"feature_view": "fv:1", "transform_hash": "sha256:" + "c" * 64},
    "model": {"model_id": "m", "model_version": "1.0.0", "artifact_hash": "sha256:" + "d" * 64},
    "prompt_policy": {
        "prompt_version": "prompt:1",
        "guardrail_policy": "guard:1",
        "tool_schema": "tool:1",
        "decision_policy": "decide:1",
    },
    "rag": {"index_version": "index:1"},
    "eval": {"dataset_versions": ["GOLDEN:1"], "evaluator_versions": ["AUC:1"]},
    "deployment": {"route": "r", "traffic_start": "shadow", "rollback_target": "REL-2026-001"},
}


def need(reason: str, pipeline: PipelineType) -> str:
    return EXPECTED[reason][1][PIPELINES.index(pipeline)]


def expected_severity(reason: str, pipeline: PipelineType, tier: RiskTier) -> Severity | None:
    """The severity a missing component must get; None when it is not applicable."""
    mark = need(reason, pipeline)
    if mark == "-":
        return None
    if mark == "r":
        return Severity.WARNING
    always = EXPECTED[reason][2]
    return Severity.FAILURE if tier <= RiskTier.TIER_2 or always else Severity.WARNING


def spec_of(data: dict[str, Any]) -> BundleSpec:
    return BundleSpec.model_validate(data)


def without(component: str, **top: Any) -> dict[str, Any]:
    """FULL minus one component (a dotted path or a whole section), with top-level overrides."""
    data = copy.deepcopy(FULL)
    data.update(top)
    section, _, field = component.partition(".")
    if field:
        del data[section][field]
    else:
        del data[section]
    return data


def minimal(pipeline: PipelineType | None, tier: RiskTier) -> dict[str, Any]:
    data: dict[str, Any] = {"release_id": "REL-1", "use_case_id": "UC-1", "risk_tier": int(tier)}
    if pipeline is not None:
        data["pipeline_type"] = pipeline.value
    return data


def severities(report: CompletenessReport) -> dict[str, Severity]:
    out = {f.reason: f.severity for f in report.findings}
    assert len(out) == len(report.findings), "one finding per reason code"
    return out


# -- the table itself ------------------------------------------------------------------------


def test_rules_table_matches_the_expected_table() -> None:
    """B3/B5: the rules as data are exactly the table above (component, needs, always)."""
    actual = {
        rule.reason: (
            rule.component,
            "".join(
                {"required": "R", "recommended": "r", "n/a": "-"}[rule.needs[p].value]
                for p in PIPELINES
            ),
            rule.always,
        )
        for rule in COMPLETENESS_RULES
    }
    assert actual == EXPECTED


def test_every_rule_has_a_unique_reason_and_a_risk() -> None:
    """B3: each row names a stable reason code and a concrete, non-empty risk."""
    reasons = [rule.reason for rule in COMPLETENESS_RULES]
    assert len(reasons) == len(set(reasons))
    components = [rule.component for rule in COMPLETENESS_RULES]
    assert len(components) == len(set(components))
    for rule in COMPLETENESS_RULES:
        assert rule.reason.startswith("BUNDLE_NO_")
        assert rule.reason == rule.reason.upper()
        assert rule.risk.strip()
        assert len(rule.risk) > 30, rule.reason
        assert set(rule.needs) == set(PipelineType), rule.reason


@pytest.mark.parametrize(
    ("reason", "phrases"),
    [
        # §3.3: 没有 data snapshot — 训练结果无法复现,漂移无法解释,验证争议无法追溯
        ("BUNDLE_NO_TRAINING_SNAPSHOT", ["cannot be reproduced", "drift", "disputes"]),
        ("BUNDLE_NO_VALIDATION_SNAPSHOT", ["cannot be reproduced", "drift", "disputes"]),
        # 没有 feature version — 训练与线上特征不一致,模型表现突然退化
        ("BUNDLE_NO_FEATURE_VIEW", ["training and online features", "degrade"]),
        ("BUNDLE_NO_TRANSFORM_HASH", ["training and online features", "degrade"]),
        # 没有 prompt / policy version — 同一个 model version 行为不同,事故复盘无法定位
        ("BUNDLE_NO_PROMPT_VERSION", ["same model version", "incident review"]),
        ("BUNDLE_NO_GUARDRAIL_POLICY", ["same model version", "incident review"]),
        # 没有 eval dataset version — 指标不可比较,release gate 被人为调整
        ("BUNDLE_NO_EVAL_DATASETS", ["not comparable", "adjusted by hand"]),
        ("BUNDLE_NO_EVALUATORS", ["not comparable", "adjusted by hand"]),
        # 没有 deployment manifest — 生产实际运行版本与批准版本不一致
        ("BUNDLE_NO_DEPLOYMENT_ROUTE", ["production", "approved"]),
        # 没有 rollback target — 事故时只能临时停服,无法有序恢复
        ("BUNDLE_NO_ROLLBACK_TARGET", ["stopping the service", "orderly recovery"]),
    ],
)
def test_playbook_risk_texts(reason: str, phrases: list[str]) -> None:
    """B3: the §3.3 "missing → actual risk" table is carried into each rule's risk text."""
    (rule,) = [r for r in COMPLETENESS_RULES if r.reason == reason]
    for phrase in phrases:
        assert phrase in rule.risk, (reason, phrase)


# -- findings per pipeline type × tier -------------------------------------------------------


@pytest.mark.parametrize("tier", TIERS, ids=[t.label for t in TIERS])
@pytest.mark.parametrize("pipeline", PIPELINES, ids=[p.value for p in PIPELINES])
def test_minimal_bundle_findings(pipeline: PipelineType, tier: RiskTier) -> None:
    """B3/B5: an empty bundle reports every applicable component with the table's severity."""
    report = evaluate_completeness(spec_of(minimal(pipeline, tier)))
    expected = {
        reason: sev
        for reason in EXPECTED
        if reason != "BUNDLE_NO_PIPELINE_TYPE"
        and (sev := expected_severity(reason, pipeline, tier)) is not None
    }
    assert severities(report) == expected
    assert report.complete is False  # a code commit is always required
    assert report.risk_tier == int(tier)
    assert report.pipeline_type == pipeline.value
    assert report.present == ("pipeline_type",)


@pytest.mark.parametrize("tier", TIERS, ids=[t.label for t in TIERS])
@pytest.mark.parametrize("pipeline", PIPELINES, ids=[p.value for p in PIPELINES])
@pytest.mark.parametrize("reason", [r for r in EXPECTED if r != "BUNDLE_NO_PIPELINE_TYPE"])
def test_one_missing_component(reason: str, pipeline: PipelineType, tier: RiskTier) -> None:
    """B3/B5: removing exactly one component yields exactly its finding (or none if n/a)."""
    component = EXPECTED[reason][0]
    data = without(component, pipeline_type=pipeline.value, risk_tier=int(tier))
    report = evaluate_completeness(spec_of(data))
    severity = expected_severity(reason, pipeline, tier)
    if severity is None:
        assert report.findings == ()
        assert component not in report.present
        assert report.complete is True
        return
    (finding,) = report.findings
    assert finding.reason == reason
    assert finding.component == component
    assert finding.severity is severity
    assert finding.risk == next(r.risk for r in COMPLETENESS_RULES if r.reason == reason)
    assert tier.label in finding.consequence
    assert report.complete is (severity is Severity.WARNING)
    assert component not in report.present


@pytest.mark.parametrize("tier", [RiskTier.TIER_0, RiskTier.TIER_1, RiskTier.TIER_2])
def test_missing_rollback_target_blocks_tier_0_to_2(tier: RiskTier) -> None:
    """B3: no rollback target is a FAILURE at Tier 0–2 and the consequence names the tier."""
    report = evaluate_completeness(
        spec_of(without("deployment.rollback_target", risk_tier=int(tier)))
    )
    (finding,) = report.findings
    assert finding.reason == "BUNDLE_NO_ROLLBACK_TARGET"
    assert finding.severity is Severity.FAILURE
    assert f"Tier {int(tier)}" in finding.consequence
    assert report.complete is False


def test_missing_rollback_target_warns_at_tier_3() -> None:
    """B3: at Tier 3 a missing rollback target is recorded as a known gap, not a block."""
    report = evaluate_completeness(spec_of(without("deployment.rollback_target", risk_tier=3)))
    (finding,) = report.findings
    assert finding.reason == "BUNDLE_NO_ROLLBACK_TARGET"
    assert finding.severity is Severity.WARNING
    assert "Tier 3" in finding.consequence
    assert report.complete is True


def test_prompt_version_is_not_applicable_to_a_classifier() -> None:
    """B5: a classifier has no prompt; its absence is not a finding at any tier."""
    for tier in TIERS:
        report = evaluate_completeness(
            spec_of(without("prompt_policy.prompt_version", risk_tier=int(tier)))
        )
        assert report.findings == ()


@pytest.mark.parametrize("pipeline", [RAG, LLM, AG])
def test_prompt_version_always_required_for_prompt_pipelines(pipeline: PipelineType) -> None:
    """B5: a RAG / LLM / agent release without a prompt version fails even at Tier 3."""
    data = without("prompt_policy.prompt_version", pipeline_type=pipeline.value, risk_tier=3)
    report = evaluate_completeness(spec_of(data))
    (finding,) = report.findings
    assert finding.reason == "BUNDLE_NO_PROMPT_VERSION"
    assert finding.severity is Severity.FAILURE
    assert report.complete is False


def test_missing_pipeline_type() -> None:
    """B5: without a pipeline type the pipeline-specific checks cannot run: a finding."""
    data = copy.deepcopy(FULL)
    del data["pipeline_type"]
    report = evaluate_completeness(spec_of(data))
    (finding,) = report.findings
    assert finding.reason == "BUNDLE_NO_PIPELINE_TYPE"
    assert finding.component == "pipeline_type"
    assert finding.severity is Severity.FAILURE
    assert report.pipeline_type is None
    assert report.complete is False


def test_missing_pipeline_type_on_an_empty_bundle() -> None:
    """B5: with no pipeline type, what every type requires is required; the rest recommended."""
    report = evaluate_completeness(spec_of(minimal(None, RiskTier.TIER_1)))
    found = severities(report)
    assert found["BUNDLE_NO_PIPELINE_TYPE"] is Severity.FAILURE
    for reason, (_, needs, _always) in EXPECTED.items():
        if needs == "RRRRR":
            assert found[reason] is Severity.FAILURE, reason
        else:
            assert found[reason] is Severity.WARNING, reason


def test_omitting_pipeline_type_cannot_waive_always_requirements() -> None:
    """B5: a Tier 3 bundle should not become complete just by leaving pipeline_type out."""
    data = without("prompt_policy.prompt_version", risk_tier=3)
    del data["pipeline_type"]
    del data["rag"]
    report = evaluate_completeness(spec_of(data))
    assert report.complete is False


def test_fully_populated_classifier_is_complete() -> None:
    """B3: a classifier bundle with every applicable component has no findings at all."""
    data = copy.deepcopy(FULL)
    del data["prompt_policy"]["prompt_version"]
    del data["prompt_policy"]["guardrail_policy"]
    del data["prompt_policy"]["tool_schema"]
    del data["rag"]
    for tier in TIERS:
        data["risk_tier"] = int(tier)
        report = evaluate_completeness(spec_of(data))
        assert report.findings == ()
        assert report.complete is True
        applicable = {c for c, needs, _ in EXPECTED.values() if needs[0] != "-"}
        assert set(report.present) == applicable


@pytest.mark.parametrize("pipeline", PIPELINES, ids=[p.value for p in PIPELINES])
def test_fully_populated_bundle_is_complete_for_every_pipeline(pipeline: PipelineType) -> None:
    """B5: FULL carries every component, so every pipeline type is complete."""
    report = evaluate_completeness(spec_of({**FULL, "pipeline_type": pipeline.value}))
    assert report.findings == ()
    assert report.complete is True


def test_tier_3_with_only_always_components_is_complete_with_warnings() -> None:
    """B3: Tier 3 may proceed with only the always-required components, gaps recorded."""
    data = minimal(C, RiskTier.TIER_3)
    data["code"] = {"repo_commit": "9f2c81a"}
    data["model"] = FULL["model"]
    data["deployment"] = {"route": "r"}
    report = evaluate_completeness(spec_of(data))
    assert report.complete is True
    assert report.findings
    assert {f.severity for f in report.findings} == {Severity.WARNING}
    assert "BUNDLE_NO_ROLLBACK_TARGET" in severities(report)


@pytest.mark.parametrize(
    "model",
    [
        {"model_id": "m", "model_version": "1"},
        {"model_id": "m", "artifact_hash": "sha256:" + "d" * 64},
        {"model_version": "1", "artifact_hash": "sha256:" + "d" * 64},
    ],
    ids=["no-hash", "no-version", "no-id"],
)
def test_model_needs_id_version_and_hash(model: dict[str, str]) -> None:
    """B1/B3: a model is identified by id, version and artifact hash together."""
    data = copy.deepcopy(FULL)
    data["model"] = model
    data["risk_tier"] = 3
    (finding,) = evaluate_completeness(spec_of(data)).findings
    assert finding.reason == "BUNDLE_NO_MODEL"
    assert finding.severity is Severity.FAILURE  # always, even at Tier 3


def test_empty_eval_list_counts_as_missing() -> None:
    """B3: an empty list of eval datasets is no eval dataset."""
    data = copy.deepcopy(FULL)
    data["eval"]["dataset_versions"] = []
    (finding,) = evaluate_completeness(spec_of(data)).findings
    assert finding.reason == "BUNDLE_NO_EVAL_DATASETS"
    assert finding.severity is Severity.FAILURE
