"""The §8.3 Dataset and Feature Validation Card: JSON-able dict and Markdown, from one run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from airel.adapters.arrow.engine import profile_table
from airel.domain.data.checks import run_checks_detailed
from airel.domain.data.featurespec import parse_feature_spec
from airel.domain.data.findings import ColumnSkew, SkewResult
from airel.domain.data.profile import Profile
from airel.domain.data.validation_card import CardMetadata, build_card, render_markdown

AS_OF = datetime(2026, 6, 1, 12, tzinfo=UTC)
SPEC = parse_feature_spec(
    {
        "name": "aml-alert-features",
        "version": "6",
        "owner": "AML Data Product Owner",
        "freshness": {"column": "ts", "sla": "24h"},
        "columns": {
            "amount": {"type": "float", "critical": True},
            "segment": {"type": "string"},
            "ts": {"type": "timestamp"},
            "pii": {"type": "string", "classification": "restricted", "allowed_uses": ["aml"]},
        },
    }
)
META = CardMetadata(
    validation_id="DATA-FEATURE-AML-2026-011",
    dataset="dataset/aml-train:2026Q2-v3",
    reference="dataset/aml-train:2026Q1-v2",
    feature_view="feature_view/aml-alert-features:6",
    source_systems=("transaction monitoring warehouse", "KYC profile store"),
    sampling_method="stratified by alert type | risk band",
    use_case="aml",
    as_of=AS_OF.isoformat(),
    engine="arrow",
    timings={"profile": 0.42, "checks": 0.01},
)


def table(seed: int, *, shift: float = 0.0, fresh: bool = True) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = 2000
    age_s = rng.uniform(60, 3600, n) + (0 if fresh else 3 * 86400)
    ts = ((AS_OF.timestamp() - age_s) * 1e6).astype(np.int64)
    return pa.table(
        {
            "amount": rng.lognormal(3 + shift, 1, n),
            "segment": pa.array(rng.choice(["retail", "sme", "corp"], n), pa.string()),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "pii": pa.array(rng.choice(["a", "b"], n), pa.string()),
        }
    )


def card_for(
    reference: Profile | None, current: Profile, *, skew: SkewResult | None = None
) -> dict[str, object]:
    findings, drift = run_checks_detailed(
        SPEC, reference, current, use_case=META.use_case, as_of=AS_OF, skew=skew
    )
    return build_card(
        SPEC, reference, current, findings, META, drift=drift, skew_checked=skew is not None
    )


def test_passing_card() -> None:
    ref, cur = profile_table(table(1)), profile_table(table(2))
    card = card_for(ref, cur, skew=SkewResult(100, 0, 0, {"amount": ColumnSkew(100, 0)}))
    json.dumps(card, allow_nan=False)  # strictly JSON-able
    assert card["passed"] is True
    assert card["decision"] == "passed: no findings"
    results = card["results"]
    assert isinstance(results, dict)
    assert {k: v["status"] for k, v in results.items()} == {
        "schema": "pass",
        "distribution": "pass",
        "missingness": "pass",
        "freshness": "pass",
        "range": "pass",
        "cardinality": "pass",
        "leakage": "pass",
        "skew": "pass",
        "access": "pass",
    }
    assert card["feature_view"] == "feature_view/aml-alert-features:6"
    assert card["owner"] == "AML Data Product Owner"  # from the spec
    drift = card["drift"]
    assert isinstance(drift, dict)
    assert set(drift) == {"amount", "segment", "pii"}  # timestamps not compared by default


def test_failing_card_names_hard_and_soft_findings() -> None:
    ref, cur = profile_table(table(1)), profile_table(table(3, shift=1.0, fresh=False))
    card = card_for(ref, cur)
    json.dumps(card, allow_nan=False)
    assert card["passed"] is False
    assert card["hard"] == 1  # drift on the critical amount
    assert card["soft"] == 1  # freshness of the non-critical ts
    results = card["results"]
    assert isinstance(results, dict)
    assert results["distribution"]["status"] == "fail"
    assert "DRIFT_PSI on amount" in results["distribution"]["result"]
    assert results["freshness"]["status"] == "warn"
    assert results["skew"]["status"] == "not_checked"
    assert str(card["decision"]).startswith("blocked")


def test_without_reference_or_use_case() -> None:
    cur = profile_table(table(2))
    findings, drift = run_checks_detailed(SPEC, None, cur, use_case=None, as_of=AS_OF, skew=None)
    meta = CardMetadata(validation_id="V-1", dataset="sha256:" + "0" * 64)
    card = build_card(SPEC, None, cur, findings, meta, drift=drift)
    assert card["results"]["distribution"]["status"] == "not_checked"
    assert card["results"]["access"]["status"] == "warn"  # restricted column, no use case
    assert card["passed"] is True
    assert card["feature_view"] == "aml-alert-features:6"
    assert card["profiles"]["reference"] is None
    text = render_markdown(card)
    assert "not checked: no reference dataset" in text


def test_markdown_has_the_section_8_3_fields() -> None:
    ref, cur = profile_table(table(1)), profile_table(table(3, shift=1.0, fresh=False))
    text = render_markdown(card_for(ref, cur))
    for label in (
        "Validation ID",
        "Dataset snapshot",
        "Feature view",
        "Owner",
        "Source systems",
        "Sampling method",
        "Schema result",
        "Missingness result",
        "Freshness result",
        "Leakage check",
        "Access control",
        "Decision",
    ):
        assert f"| {label} |" in text
    assert "DATA-FEATURE-AML-2026-011" in text
    assert "stratified by alert type \\| risk band" in text  # pipes escaped
    assert "| hard | distribution | amount | DRIFT_PSI |" in text
    assert "## Distribution drift" in text
    assert "Engine: arrow." in text
    assert "profile 0.42 s" in text


def test_card_renders_non_finite_statistics_as_null() -> None:
    ref = profile_table(pa.table({"amount": np.full(500, 3.0)}))
    cur = profile_table(pa.table({"amount": np.full(500, 4.0)}))
    spec = parse_feature_spec({"columns": {"amount": {"type": "float"}}})
    findings, drift = run_checks_detailed(spec, ref, cur, use_case=None, as_of=AS_OF, skew=None)
    card = build_card(spec, ref, cur, findings, META, drift=drift)
    json.dumps(card, allow_nan=False)
    assert card["drift"]["amount"]["wasserstein_sd"] is None
    assert render_markdown(card)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_metadata_timings_are_sanitised(bad: float) -> None:
    cur = profile_table(table(2))
    meta = CardMetadata(validation_id="V", dataset="d", timings={"profile": bad})
    card = build_card(SPEC, None, cur, [], meta)
    assert card["run"]["timings_s"]["profile"] is None
    json.dumps(card, allow_nan=False)
    assert "profile — s" in render_markdown(card)


def test_empty_current_dataset_is_not_a_pass() -> None:
    ref, cur = profile_table(table(1)), profile_table(table(2).slice(0, 0))
    card = card_for(ref, cur)
    results = card["results"]
    assert isinstance(results, dict)
    assert results["missingness"]["status"] == "fail"
    assert results["distribution"]["status"] == "not_checked"
    assert results["freshness"]["status"] == "not_checked"
    assert card["passed"] is False
