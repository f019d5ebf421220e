"""Gate facts from stored evidence (G5, §4.4), on hand-built evidence bodies.

Every metric a rule reads comes from one kind of evidence; what the evidence cannot give is
missing, inconclusive or errored — never a guessed value that could pass a rule.
"""

from __future__ import annotations

from typing import Any

import pytest

from airel.domain.gate import facts as gf
from airel.domain.gate.decision import Fact
from airel.domain.gate.metrics import EvidenceKind, FactStatus, metrics_of
from airel.domain.gate.records import AttestationStatus
from airel.domain.release.bundle import BundleSpec
from airel.domain.release.completeness import evaluate_completeness
from airel.errors import AirelError, Reason

OK, MISSING = FactStatus.OK, FactStatus.MISSING
SRC = "sha256:" + "e" * 64


def values(facts: dict[str, Fact]) -> dict[str, Any]:
    return {k: (f.value if f.status is OK else f.status) for k, f in facts.items()}


# -- validation runs ---------------------------------------------------------------------------


def finding(reason: str, severity: str = "soft", column: str | None = "amount") -> dict[str, Any]:
    return {"reason": reason, "severity": severity, "column": column, "dimension": "x"}


def run(findings: list[dict[str, Any]], rates: dict[str, float | None]) -> dict[str, Any]:
    hard = sum(f["severity"] == "hard" for f in findings)
    return {
        "run_id": SRC,
        "hard": hard,
        "soft": len(findings) - hard,
        "findings": findings,
        "card": {
            "profiles": {"current": {"columns": {n: {"missing_rate": r} for n, r in rates.items()}}}
        },
    }


def test_validation_findings_are_counted_by_check_code() -> None:
    """G3: findings map to the schema / skew / leakage / ACL / freshness / drift counts."""
    findings = [
        finding("SCHEMA_MISSING_COLUMN", "hard"),
        finding("SCHEMA_TYPE_CHANGED", "hard"),
        finding("SCHEMA_EXTRA_COLUMN"),
        finding("SCHEMA_NAIVE_TIMESTAMP"),  # a schema finding, but not a mismatch
        finding("SKEW_MISMATCH"),
        finding("SKEW_UNMATCHED"),
        finding("LEAKAGE_FUTURE_TIMESTAMP", "hard"),
        finding("ACL_DISALLOWED_USE", "hard"),
        finding("FRESHNESS_SLA"),
        finding("FRESHNESS_UNKNOWN"),
        finding("DRIFT_PSI"),
        finding("DRIFT_INCONCLUSIVE"),
    ]
    facts = gf.validation_facts(run(findings, {"amount": 0.0}), source=SRC, critical=["amount"])
    assert values(facts) == {
        "validation_hard_failures": 4,
        "validation_soft_failures": 8,
        "schema_mismatches": 2,  # hard schema findings only: the soft extra column is not one
        "skew_findings": 2,
        "leakage_findings": 1,
        "acl_findings": 1,
        "freshness_findings": 2,
        "drift_findings": 2,
        "critical_feature_missing_rate": 0.0,
    }
    assert {f.source for f in facts.values()} == {SRC}
    assert set(facts) == {m.name for m in metrics_of(EvidenceKind.VALIDATION)}


def test_critical_feature_missing_rate_reads_critical_columns_only() -> None:
    """§4.4 hard: the highest missing rate over the spec's critical features."""
    body = run([], {"amount": 0.02, "merchant": 0.40, "country": 0.001})
    facts = gf.validation_facts(body, source=SRC, critical=["amount", "country"])
    assert facts["critical_feature_missing_rate"].value == pytest.approx(0.02)
    assert gf.validation_facts(body, source=SRC, critical=[])[
        "critical_feature_missing_rate"
    ].value == pytest.approx(0.0)


def test_a_critical_column_absent_from_the_data_counts_as_all_missing() -> None:
    facts = gf.validation_facts(run([], {"amount": 0.0}), source=SRC, critical=["device_id"])
    assert facts["critical_feature_missing_rate"].value == 1.0


def test_without_the_spec_the_worst_column_is_used() -> None:
    """A spec from a file is not stored: the rate over every column never understates it."""
    facts = gf.validation_facts(run([], {"a": 0.1, "b": 0.3}), source=SRC, critical=None)
    assert facts["critical_feature_missing_rate"].value == pytest.approx(0.3)


def test_an_undefined_missing_rate_is_inconclusive() -> None:
    facts = gf.validation_facts(run([], {"amount": None}), source=SRC, critical=["amount"])
    assert facts["critical_feature_missing_rate"].status is FactStatus.INCONCLUSIVE


def test_critical_columns_of_a_stored_spec() -> None:
    spec = {"columns": {"amount": {"critical": True}, "mcc": {"critical": False}, "x": {}}}
    assert gf.critical_columns(spec) == ["amount"]
    assert gf.critical_columns(None) is None


# -- classifier comparisons and runs -----------------------------------------------------------


def delta(low: float | None) -> dict[str, Any]:
    return {"metric": "roc_auc", "low": low, "high": None if low is None else low + 0.02}


def threshold(hard: bool, outcome: str) -> dict[str, Any]:
    return {"threshold": {"metric": "roc_auc", "hard": hard}, "outcome": outcome}


def comparison_body(**over: Any) -> dict[str, Any]:
    golden = {
        "dataset": "eval_dataset/GOLD:1",
        "role": "golden",
        "items": 500,
        "comparison": {
            "slices": {
                "overall": {"n": 500, "positives": 40, "metrics": {"roc_auc": delta(-0.002)}},
                "high_amount": {"n": 50, "positives": 5, "metrics": {}},
                "new_device": {"n": 0, "positives": 0, "metrics": {}},
                "cross_border": {"n": 30, "positives": 0, "metrics": {}},
            },
            "thresholds": [
                threshold(True, "pass"),
                threshold(True, "inconclusive"),
                threshold(False, "fail"),
            ],
            "material_regressions": [{"slice": "high_amount", "metric": "roc_auc"}],
        },
        "candidate": {
            "fairness": {
                "tpr_gap": {"value": 0.08},
                "fpr_gap": {"value": 0.01},
                "approval_gap": {"value": 0.5},
            }
        },
    }
    regression = {
        "dataset": "eval_dataset/INCIDENTS:1",
        "role": "regression",
        "items": 20,
        "comparison": {
            "slices": {
                "overall": {"n": 20, "positives": 20, "metrics": {"roc_auc": delta(None)}},
                "new_device": {"n": 5, "positives": 5, "metrics": {}},
            },
            "thresholds": [],
            "material_regressions": [],
        },
    }
    body: dict[str, Any] = {
        "suite": {
            "slices": {"high_amount": {}, "new_device": {}, "cross_border": {}},
            "fairness": {"attribute": "vulnerable", "max_tpr_gap": 0.05, "max_fpr_gap": 0.02},
        },
        "datasets": [golden, regression],
        "critical_failures": {"count": 2, "examples": []},
    }
    body.update(over)
    return body


def test_classifier_comparison_facts() -> None:
    """G4/E3: thresholds not passed (inconclusive counts), regressions, uncovered slices (no
    items or one class, must-pass sets ignored), primary delta low, fairness breaches."""
    facts = gf.eval_facts("comparison", comparison_body(), source=SRC)
    got = values(facts)
    assert got["eval_critical_failures"] == 2
    assert got["eval_hard_thresholds_failed"] == 1
    assert got["eval_soft_thresholds_failed"] == 1
    assert got["eval_material_regressions"] == 1
    assert got["eval_uncovered_slices"] == 2  # new_device (empty), cross_border (one class)
    assert got["eval_primary_delta_low"] == pytest.approx(-0.002)
    assert got["eval_fairness_breaches"] == 1  # tpr gap; approval gap has no limit
    assert got["eval_errored_items"] == 0
    for llm_only in ("eval_pii_leaks", "eval_unsupported_claims", "eval_latency_p95_ms"):
        assert got[llm_only] is MISSING
    assert set(facts) == {m.name for m in metrics_of(EvidenceKind.EVAL)}


def test_primary_delta_without_a_ci_is_inconclusive_and_without_golden_missing() -> None:
    body = comparison_body()
    body["datasets"][0]["comparison"]["slices"]["overall"]["metrics"]["roc_auc"] = delta(None)
    assert gf.eval_facts("comparison", body, source=SRC)["eval_primary_delta_low"].status is (
        FactStatus.INCONCLUSIVE
    )
    body["datasets"] = body["datasets"][1:]
    facts = gf.eval_facts("comparison", body, source=SRC)
    assert facts["eval_primary_delta_low"].status is MISSING
    assert facts["eval_uncovered_slices"].value == 3  # no golden/slice set covers any slice


def test_fairness_without_limits_is_missing_and_undefined_gap_inconclusive() -> None:
    body = comparison_body()
    del body["suite"]["fairness"]
    assert gf.eval_facts("comparison", body, source=SRC)["eval_fairness_breaches"].status is MISSING
    body = comparison_body()
    body["datasets"][0]["candidate"]["fairness"]["fpr_gap"] = {"value": None}
    assert (
        gf.eval_facts("comparison", body, source=SRC)["eval_fairness_breaches"].status
        is FactStatus.INCONCLUSIVE
    )


def test_fairness_is_read_where_the_attribute_has_two_groups() -> None:
    """A dataset holding one group of the attribute (a regression set of past incidents) has
    no gap to show: it is skipped, and where no dataset has two groups the fact is
    inconclusive, never a pass."""
    body = comparison_body()
    single = {"groups": {"False": {"n": 13}}, "tpr_gap": {"value": None}}
    body["datasets"].append({**body["datasets"][0], "candidate": {"fairness": single}})
    facts = gf.eval_facts("comparison", body, source=SRC)
    assert facts["eval_fairness_breaches"].value == 1  # the first dataset's tpr gap
    body["datasets"] = [{**body["datasets"][0], "candidate": {"fairness": single}}]
    facts = gf.eval_facts("comparison", body, source=SRC)
    assert facts["eval_fairness_breaches"].status is FactStatus.INCONCLUSIVE


def test_fairness_gap_without_two_defined_rates_is_skipped_per_gap() -> None:
    """E4/G5: a regression set of confirmed frauds has two groups but no negatives, so its FPR
    gap is undefined there: that gap is read from the golden set; its TPR gap still counts.
    Where no dataset measures a limited gap, the fact is inconclusive."""
    body = comparison_body()
    rate = {"value": 1.0}
    positives_only = {
        "groups": {
            "False": {"n": 101, "tpr": rate, "fpr": {"value": None}},
            "True": {"n": 3, "tpr": {"value": 0.8}, "fpr": {"value": None}},
        },
        "tpr_gap": {"value": 0.2},
        "fpr_gap": {"value": None},
    }
    body["datasets"][1]["candidate"] = {"fairness": positives_only}
    facts = gf.eval_facts("comparison", body, source=SRC)
    assert facts["eval_fairness_breaches"].value == 2  # golden tpr + regression tpr
    body["datasets"] = body["datasets"][1:]
    facts = gf.eval_facts("comparison", body, source=SRC)
    assert facts["eval_fairness_breaches"].status is FactStatus.INCONCLUSIVE  # fpr nowhere


def test_no_declared_slices_means_nothing_uncovered() -> None:
    body = comparison_body(suite={})
    assert gf.eval_facts("comparison", body, source=SRC)["eval_uncovered_slices"].value == 0


def test_single_classifier_run_has_no_baseline_facts() -> None:
    """A single run (H2's eval run): no primary delta and no regressions (missing, never
    passing); a change threshold that could not be judged counts as not passed."""
    body = {
        "suite": {"slices": {"high_amount": {}}, "fairness": {"max_tpr_gap": 0.1}},
        "datasets": [
            {
                "role": "golden",
                "items": 100,
                "run": {
                    "slices": {"high_amount": {"n": 20, "positives": 3, "metrics": {}}},
                    "thresholds": [threshold(True, "pass")],
                    "not_applicable": [
                        {"threshold": {"metric": "roc_auc", "hard": True}, "reason": "x"},
                        {"threshold": {"metric": "brier", "hard": False}, "reason": "x"},
                    ],
                },
                "classifier": {"fairness": {"tpr_gap": {"value": 0.02}}},
            }
        ],
        "critical_failures": {"count": 0},
    }
    got = values(gf.eval_facts("run", body, source=SRC))
    assert got["eval_primary_delta_low"] is MISSING
    assert got["eval_material_regressions"] is MISSING
    assert got["eval_hard_thresholds_failed"] == 1
    assert got["eval_soft_thresholds_failed"] == 1
    assert got["eval_uncovered_slices"] == 0
    assert got["eval_fairness_breaches"] == 0


# -- LLM runs and comparisons ------------------------------------------------------------------


def item(*failed: tuple[str, bool], status: str = "ok") -> dict[str, Any]:
    return {
        "id": "c1",
        "status": status,
        "failed_rules": [{"rule": r, "critical": c, "detail": ""} for r, c in failed],
    }


def llm_run(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "suite": {"slices": {}},
        "datasets": [
            {
                "role": "red_team",
                "items": 4,
                "thresholds": [
                    {"evaluator": "judge:1", "hard": True, "outcome": "fail"},
                    {"evaluator": "judge:1", "hard": False, "outcome": "pass"},
                ],
                "item_results": [
                    item(("pii_leak", True), ("prohibited_phrases", True)),
                    item(("tool_unapproved_write", True), ("citation_valid", True)),
                    item(("citation_required", True), ("pii_leak", False)),
                    item(status="error"),
                ],
            }
        ],
        "errored_items": 1,
        "evaluator_errors": 1,
        "critical_failures": {"count": 5},
        "calls": {"calls": 4, "latency_p95_ms": 812.5},
    }
    body.update(over)
    return body


def test_llm_run_counts_each_critical_failure_kind() -> None:
    """§4.4 hard: PII leak, unauthorised tool action, wrong customer commitment and
    unsupported claim come from the per-rule critical failures; errors never pass."""
    got = values(gf.eval_facts("run", llm_run(), source=SRC))
    assert got["eval_pii_leaks"] == 1  # the non-critical pii failure does not count
    assert got["eval_unauthorised_tool_actions"] == 1
    assert got["eval_wrong_commitments"] == 1
    assert got["eval_unsupported_claims"] == 2
    assert got["eval_critical_failures"] == 5
    assert got["eval_errored_items"] == 2  # item errors plus evaluator errors
    assert got["eval_hard_thresholds_failed"] == 1
    assert got["eval_soft_thresholds_failed"] == 0
    assert got["eval_latency_p95_ms"] == pytest.approx(812.5)
    assert got["eval_uncovered_slices"] == 0  # the suite declares no slices
    assert got["eval_primary_delta_low"] is MISSING
    assert got["eval_material_regressions"] is MISSING
    assert got["eval_fairness_breaches"] is MISSING


def test_llm_run_with_declared_slices_has_unknown_coverage() -> None:
    body = llm_run(suite={"slices": {"vulnerable": {}}})
    assert gf.eval_facts("run", body, source=SRC)["eval_uncovered_slices"].status is MISSING


def test_llm_run_where_every_item_errored_is_errored_evidence() -> None:
    """An eval that evaluated nothing did not run: every eval fact is errored."""
    facts = gf.eval_facts("run", llm_run(errored_items=4, evaluator_errors=0), source=SRC)
    assert {f.status for f in facts.values()} == {FactStatus.ERRORED}


def test_llm_run_without_item_results_reads_the_rule_summary() -> None:
    body = llm_run()
    ds = body["datasets"][0]
    del ds["item_results"]
    ds["rules"] = {"pii_leak": {"critical": 3}, "citation_valid": {"critical": 1}}
    got = values(gf.eval_facts("run", body, source=SRC))
    assert got["eval_pii_leaks"] == 3
    assert got["eval_unsupported_claims"] == 1


def test_llm_comparison_reads_the_candidate_side() -> None:
    body = {
        "task": "llm",
        "suite": {"slices": {"vulnerable": {}, "sme": {}}},
        "datasets": [
            {
                "role": "golden",
                "items": 2,
                "comparison": {
                    "slices": {"overall": {"n": 2}, "vulnerable": {"n": 1}, "sme": {"n": 0}},
                    "material_regressions": [{"slice": "vulnerable", "check": "pii_leak"}],
                    "thresholds": [{"hard": True, "outcome": "inconclusive"}],
                },
                "item_results": [
                    {"id": "a", "baseline": item(("pii_leak", True)), "candidate": item()},
                    {"id": "b", "baseline": item(), "candidate": item(("pii_leak", True))},
                ],
            }
        ],
        "totals": {"candidate": {"errored_items": 0, "evaluator_errors": 0}},
        "critical_failures": {"count": 1},
        "calls": {"candidate": {"latency_p95_ms": 100.0}, "baseline": {"latency_p95_ms": 90.0}},
    }
    got = values(gf.eval_facts("comparison", body, source=SRC))
    assert got["eval_pii_leaks"] == 1
    assert got["eval_material_regressions"] == 1
    assert got["eval_uncovered_slices"] == 1
    assert got["eval_hard_thresholds_failed"] == 1
    assert got["eval_latency_p95_ms"] == pytest.approx(100.0)
    assert got["eval_primary_delta_low"] is MISSING


# -- attestations, presence, staleness ---------------------------------------------------------


def test_attestation_facts_by_status() -> None:
    """Recorded values are typed; unrecorded metrics are missing; an errored or inconclusive
    attestation makes every metric of its kind so."""
    ok = gf.attestation_facts(
        EvidenceKind.CI, AttestationStatus.OK, {"ci_tests_failed": 0}, source=SRC
    )
    assert ok["ci_tests_failed"] == Fact(OK, 0, SRC)
    assert ok["ci_container_built"].status is MISSING
    for status, fact in (
        (AttestationStatus.ERRORED, FactStatus.ERRORED),
        (AttestationStatus.INCONCLUSIVE, FactStatus.INCONCLUSIVE),
    ):
        bad = gf.attestation_facts(EvidenceKind.CI, status, {"ci_tests_failed": 0}, source=SRC)
        assert {f.status for f in bad.values()} == {fact}


def test_attestation_values_are_never_coerced() -> None:
    with pytest.raises(AirelError) as exc:
        gf.attestation_facts(
            EvidenceKind.CI, AttestationStatus.OK, {"ci_tests_failed": "0"}, source=SRC
        )
    assert exc.value.reason is Reason.WRONG_TYPE


def test_presence_missing_and_restamp() -> None:
    present = gf.presence_facts({EvidenceKind.EVAL, EvidenceKind.CI}, source=SRC)
    assert present["has_eval_evidence"].value is True
    assert present["has_validation_evidence"].value is False
    assert "has_bundle_evidence" not in present
    assert {f.status for f in gf.missing(EvidenceKind.CANARY).values()} == {MISSING}
    stale = gf.restamp(present, FactStatus.STALE)
    assert {(f.status, f.value) for f in stale.values()} == {(FactStatus.STALE, None)}


# -- the bundle --------------------------------------------------------------------------------


def spec(pipeline: str = "classifier", **extra: Any) -> BundleSpec:
    return BundleSpec.model_validate(
        {
            "release_id": "R-1",
            "use_case_id": "UC",
            "risk_tier": "Tier 1",
            "pipeline_type": pipeline,
            **extra,
        }
    )


def test_bundle_facts_govern_pinned_datasets_and_tools() -> None:
    """G0–G2, G5: scope, data governance, write tools without approval, completeness."""
    s = spec(
        scope={
            "approved_use": ["analyst draft"],
            "prohibited_use": ["auto decision"],
            "customer_impact": "none direct",
            "human_role": "analyst reviews",
        }
    )
    pinned = [
        gf.Pinned("data.training_snapshot", "dataset/T:1", {"owner": "d", "source_lineage": ["x"]}),
        gf.Pinned("data.validation_snapshot", "dataset/V:1", {"classification": "internal"}),
        gf.Pinned("data.label_policy", "policy/L:1", {}),
        gf.Pinned("model", "model/M:1", {}),
        gf.Pinned(
            "prompt_policy.tool_schema",
            "tool_schema/refund:1",
            {"side_effects": "write", "requires_approval": False},
        ),
    ]
    report = evaluate_completeness(s)
    facts = gf.bundle_facts(s, pinned, report, verified=True, rollback_executable=False, source=SRC)
    got = values(facts)
    assert got["scope_recorded"] is True
    assert got["datasets_without_owner"] == 1
    assert got["datasets_unclassified"] == 1
    assert got["lineage_recorded"] is False
    assert got["write_tools_without_approval"] == 1
    assert got["label_policy_recorded"] is True
    assert got["data_sources_registered"] is True
    assert got["candidate_present"] is True
    assert got["features_or_index_present"] is False
    assert got["rollback_target_executable"] is False
    assert got["bundle_blocking_gaps"] == sum(f.severity == "failure" for f in report.findings)
    assert got["risk_tier"] == 1
    bundle_metrics = {m.name for m in metrics_of(EvidenceKind.BUNDLE)}
    assert set(facts) | set(gf.presence_facts(set(), source=SRC)) == bundle_metrics


def test_rag_bundle_reads_its_index_as_data_source() -> None:
    s = spec("rag_assistant")
    pinned = [gf.Pinned("rag.index_version", "rag_index/I:1", {})]
    got = values(
        gf.bundle_facts(
            s,
            pinned,
            evaluate_completeness(s),
            verified=True,
            rollback_executable=True,
            source=SRC,
        )
    )
    assert got["data_sources_registered"] is True
    assert got["features_or_index_present"] is True
    assert got["scope_recorded"] is False
    classifier = spec()
    assert (
        gf.bundle_facts(
            classifier,
            pinned,
            evaluate_completeness(classifier),
            verified=True,
            rollback_executable=True,
            source=SRC,
        )["data_sources_registered"].value
        is False
    )
