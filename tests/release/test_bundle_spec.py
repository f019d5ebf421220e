"""The release bundle as written (B1, B2): the playbook's §3.3 YAML, its identity, strictness.

The §3.3 example is copied verbatim from the playbook. Its canonical bytes and spec digest are
golden vectors: computed once, verified independently with ``rfc8785`` + ``hashlib`` and
pinned, because a bundle's digest is its identity and must never drift between versions.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from airel.adapters.documents.parse import parse_yaml
from airel.domain.kernel.canonical import canonical_bytes
from airel.domain.kernel.tiers import RiskTier
from airel.domain.kernel.validation import parse_record
from airel.domain.release.bundle import BundleSpec, TrafficStart
from airel.errors import Reason, ValidationError

# Playbook §3.3, verbatim (extracted from ../shared/seed into tests/data).
PLAYBOOK_BUNDLE = (Path(__file__).parents[1] / "fixtures" / "playbook_3_3.yaml").read_text(
    encoding="utf-8"
)

# Golden: the RFC 8785 form of the normalised §3.3 bundle (tier as an integer, keys sorted,
# empty sections, empty lists and other defaults omitted).
PLAYBOOK_CANONICAL = (
    b'{"code":{"pipeline_image":"registry/aml-pipeline@sha256:4b7...",'
    b'"repo_commit":"9f2c81a","serving_image":"registry/aml-serving@sha256:2c1..."},'
    b'"data":{"label_policy":"AML-LABEL-GUIDE-v1.4","training_snapshot":"AML-TRAIN-2026Q2-v3",'
    b'"validation_snapshot":"AML-VALIDATION-2026Q2-v2"},'
    b'"deployment":{"rollback_target":"AIREL-AML-COPILOT-2026-006","route":"aml-copilot-prod",'
    b'"traffic_start":"shadow"},'
    b'"eval":{"dataset_versions":["AML-GOLDEN-2026Q2-v2","AML-REGRESSION-2026Q2-v4",'
    b'"AML-REDTEAM-2026Q2-v1"],'
    b'"evaluator_versions":["RULE-CITATION-v2","JUDGE-GROUNDEDNESS-v1.3"]},'
    b'"features":{"feature_view":"aml-alert-features-v6","transform_hash":"72e4..."},'
    b'"model":{"artifact_hash":"c55a...","model_id":"aml-narrative-ranker",'
    b'"model_version":"1.8.0"},'
    b'"prompt_policy":{"guardrail_policy":"aml-output-policy-v1.2",'
    b'"prompt_version":"aml-summary-system-prompt-v2.3","tool_schema":"case-evidence-tool-v1.1"},'
    b'"release_id":"AIREL-AML-COPILOT-2026-007","risk_tier":1,"use_case_id":"AML-COPILOT-001"}'
)
PLAYBOOK_SPEC_DIGEST = "sha256:3829dfb2ed4da389c712f706e19f34049004bcfa7d9d6461bd32572e30260ea5"


def load(text: str) -> BundleSpec:
    """What ``load_bundle_spec`` does, without a file: strict YAML, then strict validation."""
    doc = parse_yaml(text, source="release.yaml")
    return parse_record(BundleSpec, doc.data, source=doc.source, lines=doc.lines)


def refused(text: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        load(text)
    return info.value


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def patch(old: str, new: str, text: str = PLAYBOOK_BUNDLE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# -- the playbook example loads as written (B1) ------------------------------------------------


def test_playbook_bundle_loads_unchanged() -> None:
    """B1: the §3.3 YAML loads as-is, every value intact."""
    spec = load(PLAYBOOK_BUNDLE)
    assert spec.release_id == "AIREL-AML-COPILOT-2026-007"
    assert spec.use_case_id == "AML-COPILOT-001"
    assert spec.risk_tier is RiskTier.TIER_1
    assert spec.pipeline_type is None
    assert spec.code.repo_commit == "9f2c81a"
    assert spec.code.pipeline_image == "registry/aml-pipeline@sha256:4b7..."
    assert spec.code.serving_image == "registry/aml-serving@sha256:2c1..."
    assert spec.data.training_snapshot == "AML-TRAIN-2026Q2-v3"
    assert spec.data.validation_snapshot == "AML-VALIDATION-2026Q2-v2"
    assert spec.data.label_policy == "AML-LABEL-GUIDE-v1.4"
    assert spec.features.feature_view == "aml-alert-features-v6"
    assert spec.features.transform_hash == "72e4..."
    assert spec.model.model_id == "aml-narrative-ranker"
    assert spec.model.model_version == "1.8.0"
    assert spec.model.artifact_hash == "c55a..."
    assert spec.prompt_policy.prompt_version == "aml-summary-system-prompt-v2.3"
    assert spec.prompt_policy.guardrail_policy == "aml-output-policy-v1.2"
    assert spec.prompt_policy.tool_schema == "case-evidence-tool-v1.1"
    assert spec.eval.dataset_versions == [
        "AML-GOLDEN-2026Q2-v2",
        "AML-REGRESSION-2026Q2-v4",
        "AML-REDTEAM-2026Q2-v1",
    ]
    assert spec.eval.evaluator_versions == ["RULE-CITATION-v2", "JUDGE-GROUNDEDNESS-v1.3"]
    assert spec.deployment.route == "aml-copilot-prod"
    assert spec.deployment.traffic_start is TrafficStart.SHADOW
    assert spec.deployment.rollback_target == "AIREL-AML-COPILOT-2026-006"


def test_playbook_bundle_golden_canonical_bytes() -> None:
    """B2: the canonical form of §3.3 is pinned byte for byte."""
    spec = load(PLAYBOOK_BUNDLE)
    assert canonical_bytes(spec.canonical()) == PLAYBOOK_CANONICAL
    # Independently of airel: the pinned bytes are RFC 8785 of their own JSON value.
    assert rfc8785.dumps(json.loads(PLAYBOOK_CANONICAL)) == PLAYBOOK_CANONICAL
    assert json.loads(PLAYBOOK_CANONICAL) == spec.canonical()


def test_playbook_bundle_golden_spec_digest() -> None:
    """B2: the §3.3 spec digest is pinned and equals sha256 of the pinned canonical bytes."""
    assert "sha256:" + hashlib.sha256(PLAYBOOK_CANONICAL).hexdigest() == PLAYBOOK_SPEC_DIGEST
    assert load(PLAYBOOK_BUNDLE).spec_digest() == PLAYBOOK_SPEC_DIGEST


def test_canonical_form_round_trips() -> None:
    """B2: validating the canonical form again gives the same record and digest."""
    spec = load(PLAYBOOK_BUNDLE)
    again = BundleSpec.model_validate(spec.canonical())
    assert again == spec
    assert again.spec_digest() == PLAYBOOK_SPEC_DIGEST


@pytest.mark.parametrize(
    "written", ["Tier 1", "1", '"1"', "tier-1", "TIER_1", "tier1", "  Tier 1  "]
)
def test_risk_tier_spellings_give_the_same_digest(written: str) -> None:
    """B1/G2: 'Tier 1' and 1 are the same tier and the same identity."""
    spec = load(patch("risk_tier: Tier 1", f"risk_tier: {written}"))
    assert spec.risk_tier is RiskTier.TIER_1
    assert spec.spec_digest() == PLAYBOOK_SPEC_DIGEST


def test_other_tier_gives_another_digest() -> None:
    """B2: the digest can tell tiers apart (the test above can fail)."""
    spec = load(patch("risk_tier: Tier 1", "risk_tier: Tier 2"))
    assert spec.spec_digest() != PLAYBOOK_SPEC_DIGEST


REFORMATTED = """\
# Reformatted by hand: sections reordered, flow style, comments, quoting, blank lines.
deployment: {traffic_start: "shadow", route: aml-copilot-prod,
             rollback_target: 'AIREL-AML-COPILOT-2026-006'}

eval:
  evaluator_versions: [RULE-CITATION-v2, "JUDGE-GROUNDEDNESS-v1.3"]   # judges
  dataset_versions: [AML-GOLDEN-2026Q2-v2, AML-REGRESSION-2026Q2-v4, AML-REDTEAM-2026Q2-v1]
prompt_policy:
    tool_schema:      case-evidence-tool-v1.1
    guardrail_policy: aml-output-policy-v1.2
    prompt_version:   aml-summary-system-prompt-v2.3
model: {artifact_hash: "c55a...", model_version: "1.8.0", model_id: aml-narrative-ranker}
features: {transform_hash: 72e4..., feature_view: aml-alert-features-v6}
data:
  label_policy: AML-LABEL-GUIDE-v1.4      # the label guide
  validation_snapshot: AML-VALIDATION-2026Q2-v2
  training_snapshot: AML-TRAIN-2026Q2-v3
code:
  serving_image: "registry/aml-serving@sha256:2c1..."
  pipeline_image: registry/aml-pipeline@sha256:4b7...
  repo_commit: '9f2c81a'
risk_tier: 1
use_case_id: AML-COPILOT-001
release_id: AIREL-AML-COPILOT-2026-007
"""


def test_key_order_whitespace_and_comments_do_not_change_the_digest() -> None:
    """B2: identity depends on content only, not on how the YAML is laid out."""
    assert load(REFORMATTED).spec_digest() == PLAYBOOK_SPEC_DIGEST


def test_list_order_is_content() -> None:
    """B2: the order of eval datasets is content (a reordered list is another bundle)."""
    text = patch(
        "    - AML-GOLDEN-2026Q2-v2\n    - AML-REGRESSION-2026Q2-v4\n",
        "    - AML-REGRESSION-2026Q2-v4\n    - AML-GOLDEN-2026Q2-v2\n",
    )
    assert load(text).spec_digest() != PLAYBOOK_SPEC_DIGEST


def test_empty_sections_equal_absent_sections() -> None:
    """B2: writing an empty section is the same bundle as leaving it out."""
    assert load(PLAYBOOK_BUNDLE + "rag: {}\n").spec_digest() == PLAYBOOK_SPEC_DIGEST


def test_explicit_null_equals_absent() -> None:
    """B2: an explicit null optional field is normalised away."""
    text = patch("transform_hash: 72e4...", "transform_hash: null")
    assert load(PLAYBOOK_BUNDLE + "description: ~\n").spec_digest() == PLAYBOOK_SPEC_DIGEST
    assert load(PLAYBOOK_BUNDLE + "pipeline_type: null\n").spec_digest() == PLAYBOOK_SPEC_DIGEST
    without = load(patch("  transform_hash: 72e4...\n", ""))
    assert load(text).spec_digest() == without.spec_digest() != PLAYBOOK_SPEC_DIGEST


# -- strictness: wrong types are never coerced ---------------------------------------------


def test_unquoted_version_number_is_wrong_type_with_line() -> None:
    """B1: `model_version: 1.10` is the float 1.1 in YAML; refused, never turned into '1.1'."""
    text = patch("model_version: 1.8.0", "model_version: 1.10")
    exc = refused(text)
    assert exc.reason is Reason.WRONG_TYPE
    (problem,) = exc.problems
    assert problem["field"] == "model.model_version"
    assert problem["reason"] == Reason.WRONG_TYPE.value
    assert problem["line"] == line_of(text, "model_version: 1.10") == 17


def test_quoted_version_keeps_its_exact_text() -> None:
    """B1: quoting keeps '1.10' exactly."""
    spec = load(patch("model_version: 1.8.0", 'model_version: "1.10"'))
    assert spec.model.model_version == "1.10"


@pytest.mark.parametrize("value", ["yes", "true", "on", "5", "-1", "Tier 4", "high", "1.0", "[1]"])
def test_bad_risk_tier_is_refused(value: str) -> None:
    """G2: only tiers 0-3 exist; booleans and YAML 1.1 'yes' are not tiers."""
    text = patch("risk_tier: Tier 1", f"risk_tier: {value}")
    exc = refused(text)
    assert exc.reason is Reason.INVALID_VALUE
    (problem,) = exc.problems
    assert problem["field"] == "risk_tier"
    assert problem["line"] == 3


@pytest.mark.parametrize("value", ["NO", "no", "off", "Shadow", "ramp-up", "'canary '"])
def test_unknown_traffic_start_is_invalid_value(value: str) -> None:
    """B1/P5: traffic_start is one of the known stages; `NO` stays a string and is refused."""
    text = patch("traffic_start: shadow", f"traffic_start: {value}")
    exc = refused(text)
    assert exc.reason is Reason.INVALID_VALUE
    (problem,) = exc.problems
    assert problem["field"] == "deployment.traffic_start"
    assert problem["line"] == line_of(text, "traffic_start:")


@pytest.mark.parametrize("value", ["false", "1", "[shadow]"])
def test_non_string_traffic_start_is_wrong_type(value: str) -> None:
    """B1: a boolean, number or list where a stage name belongs is a type error."""
    exc = refused(patch("traffic_start: shadow", f"traffic_start: {value}"))
    assert exc.reason is Reason.WRONG_TYPE
    assert exc.problems[0]["field"] == "deployment.traffic_start"


@pytest.mark.parametrize("stage", [t.value for t in TrafficStart])
def test_every_traffic_start_is_accepted(stage: str) -> None:
    """P5: every declared stage loads."""
    spec = load(patch("traffic_start: shadow", f"traffic_start: {stage}"))
    assert spec.deployment.traffic_start is TrafficStart(stage)


def test_unknown_top_level_field_with_line() -> None:
    """B1: a misspelt section is refused (typo protection), with its line."""
    text = PLAYBOOK_BUNDLE + "deploymnet:\n  route: x\n"
    exc = refused(text)
    assert exc.reason is Reason.UNKNOWN_FIELD
    (problem,) = exc.problems
    assert problem["field"] == "deploymnet"
    assert problem["line"] == line_of(text, "deploymnet:")


def test_unknown_nested_field_with_line() -> None:
    """B1: a misspelt field inside a section is refused, with its own line."""
    text = patch("  route: aml-copilot-prod\n", "  route: aml-copilot-prod\n  rout: x\n")
    exc = refused(text)
    assert exc.reason is Reason.UNKNOWN_FIELD
    (problem,) = exc.problems
    assert problem["field"] == "deployment.rout"
    assert problem["line"] == line_of(text, "rout: x")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("release_id: AIREL-AML-COPILOT-2026-007\n", "", "release_id"),
        ("use_case_id: AML-COPILOT-001\n", "", "use_case_id"),
        ("risk_tier: Tier 1\n", "", "risk_tier"),
    ],
)
def test_required_identity_fields(old: str, new: str, field: str) -> None:
    """B1: release id, use case id and risk tier are required."""
    exc = refused(patch(old, new))
    assert exc.reason is Reason.MISSING_FIELD
    assert [p["field"] for p in exc.problems] == [field]


def test_several_problems_are_collected_at_once() -> None:
    """B1: validation reports every problem, each with its reason, field and line."""
    text = patch("model_version: 1.8.0", "model_version: 1.10")
    text = patch("traffic_start: shadow", "traffic_start: NO", text)
    text = patch("  route: aml-copilot-prod\n", "  route: aml-copilot-prod\n  rout: x\n", text)
    text = patch("use_case_id: AML-COPILOT-001", "use_case_id: AML/COPILOT", text)
    text = text + "bogus: 1\n"
    exc = refused(text)
    found = {p["field"]: (p["reason"], p.get("line")) for p in exc.problems}
    assert found == {
        "model.model_version": ("WRONG_TYPE", line_of(text, "model_version:")),
        "deployment.traffic_start": ("INVALID_VALUE", line_of(text, "traffic_start:")),
        "deployment.rout": ("UNKNOWN_FIELD", line_of(text, "rout: x")),
        "use_case_id": ("PATH_TRAVERSAL", 2),
        "bogus": ("UNKNOWN_FIELD", line_of(text, "bogus:")),
    }
    assert len(exc.problems) == 5
    assert exc.details["problems"] == exc.problems
    assert exc.reason is Reason(exc.problems[0]["reason"])


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("../AIREL-AML-COPILOT-2026-007", Reason.PATH_TRAVERSAL),
        ("'AIREL/../../etc'", Reason.PATH_TRAVERSAL),
        ("'%2e%2e'", Reason.PATH_TRAVERSAL),
        ("'C:\\evil'", Reason.PATH_TRAVERSAL),
        ("AIREL-\u0430ML-2026", Reason.INVALID_NAME),
        ("2026", Reason.WRONG_TYPE),
    ],
)
def test_bad_release_id(value: str, reason: Reason) -> None:
    """B1: release ids are names, never paths."""
    text = patch("release_id: AIREL-AML-COPILOT-2026-007", f"release_id: {value}")
    exc = refused(text)
    assert exc.reason is reason
    (problem,) = exc.problems
    assert problem["field"] == "release_id"
    assert problem["line"] == 1


def test_bad_rollback_target_name_is_path_traversal() -> None:
    """B1: the rollback target is a release id and obeys the same rules."""
    text = patch("rollback_target: AIREL-AML-COPILOT-2026-006", "rollback_target: ../../x")
    exc = refused(text)
    assert exc.reason is Reason.PATH_TRAVERSAL
    assert exc.problems[0]["field"] == "deployment.rollback_target"
    assert exc.problems[0]["line"] == line_of(text, "rollback_target:")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("repo_commit: 9f2c81a", "repo_commit: 9812", "code.repo_commit"),
        (
            "  dataset_versions:\n"
            "    - AML-GOLDEN-2026Q2-v2\n"
            "    - AML-REGRESSION-2026Q2-v4\n"
            "    - AML-REDTEAM-2026Q2-v1\n",
            "  dataset_versions: {golden: AML-GOLDEN-2026Q2-v2}\n",
            "eval.dataset_versions",
        ),
        ("feature_view: aml-alert-features-v6", "feature_view: [a, b]", "features.feature_view"),
    ],
)
def test_wrong_types_in_sections(old: str, new: str, field: str) -> None:
    """B1: an unquoted number for a commit, a mapping for a list, a list for a reference."""
    exc = refused(patch(old, new))
    assert exc.reason is Reason.WRONG_TYPE
    assert [p["field"] for p in exc.problems] == [field]


def test_pipeline_type_is_checked() -> None:
    """B5: pipeline_type is one of the §3.5 types."""
    spec = load(PLAYBOOK_BUNDLE + "pipeline_type: rag_assistant\n")
    assert spec.pipeline_type is not None
    assert spec.pipeline_type.value == "rag_assistant"
    assert spec.spec_digest() != PLAYBOOK_SPEC_DIGEST
    exc = refused(PLAYBOOK_BUNDLE + "pipeline_type: chatbot\n")
    assert exc.reason is Reason.INVALID_VALUE
    assert exc.problems[0]["field"] == "pipeline_type"


def test_bundle_spec_is_immutable() -> None:
    """B2: a validated bundle cannot be changed in place."""
    spec = load(PLAYBOOK_BUNDLE)
    field = "release_id"
    with pytest.raises(Exception, match="frozen"):
        setattr(spec, field, "OTHER")


def test_canonical_has_no_none_values() -> None:
    """B2: absent optional values are omitted, so adding an optional field cannot shift them."""

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                assert v is not None
                walk(v)

    walk(load(PLAYBOOK_BUNDLE).canonical())
