"""Freezing release bundles (B1–B3, R7, P6), both backends.

Freezing pins every reference and is idempotent and immutable (B2), rollback targets (P6),
declared artifact hashes, dry runs and collected problems, and hostile bundle documents (B1).
Diffing frozen bundles (B4) is in test_bundle_diff.py; verifying them (B2) and the
reproducibility report (R8) in test_bundle_verify.py.

Built on the ``fraud_registry`` fixture (dataset, feature view, policies, eval set, evaluator,
models 1.0.0 and 2.0.0) and ``bundle_yaml`` (a classifier bundle over it). Every refusal is
asserted by reason code and structured details, and checked to have written nothing.
"""

from __future__ import annotations

import pytest

from airel.client import Client
from airel.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    ParseError,
    Reason,
    ValidationError,
)
from bundle_helpers import (
    INCOMPLETE_OK,
    POLICY_11,
    RELEASE,
    Render,
    Write,
    freeze,
    model_digest,
    register,
    replace_once,
)

MiB = 1024 * 1024


def audit_count(client: Client) -> int:
    return client.audit.verify().entries


def snapshot(client: Client) -> tuple[int, list[str], set[str]]:
    """What a refused call must leave untouched: audit length, releases, blobs."""
    root = client.settings.artifact_root / "sha256"
    blobs = {p.name for p in root.iterdir()} if root.is_dir() else set()
    return audit_count(client), [b.release_id for b in client.bundles.list()], blobs


# -- freezing (B1, B2) ---------------------------------------------------------------------


def test_freeze(fraud_registry: Client, bundle_yaml: Render, write: Write) -> None:
    """B1/B2: freezing pins every reference to an exact version; one audit entry."""
    client = fraud_registry
    before = audit_count(client)
    frozen = freeze(client, write, bundle_yaml())
    assert frozen.created is True
    assert frozen.dry_run is False
    bundle = frozen.bundle
    assert bundle.release_id == RELEASE
    assert bundle.use_case_id == "FRAUD-SCORING"
    assert int(bundle.risk_tier) == 1
    assert bundle.digest.startswith("sha256:")
    assert bundle.digest != bundle.spec_digest
    assert bundle.created_by == "alice"
    resolved = {r.path: r.node for r in bundle.resolutions}
    assert resolved == {
        "data.training_snapshot": "dataset/FRAUD-TRAIN:1",
        "data.validation_snapshot": "dataset/FRAUD-TRAIN:1",
        "data.label_policy": "policy/FRAUD-LABEL-GUIDE:1.4",
        "features.feature_view": "feature_view/fraud-auth-features:11",
        "model": "model/fraud-score:1.0.0",
        "prompt_policy.decision_policy": "policy/fraud-threshold-policy:1.0",
        "eval.dataset_versions[0]": "eval_dataset/FRAUD-GOLDEN:2",
        "eval.evaluator_versions[0]": "evaluator/ROC-AUC:1",
    }
    model = next(r for r in bundle.resolutions if r.path == "model")
    assert model.artifact == model_digest(client)
    assert model.digest == client.registry.component("model", "fraud-score:1.0.0").digest
    assert client.bundles.get(RELEASE) == bundle
    assert [b.release_id for b in client.bundles.list(use_case_id="FRAUD-SCORING")] == [RELEASE]
    assert audit_count(client) == before + 1
    assert client.audit.verify().ok


def test_refreeze_is_idempotent(fraud_registry: Client, bundle_yaml: Render, write: Write) -> None:
    """B2: the same content again is a no-op: same bundle, no audit entry, no blob."""
    first = freeze(fraud_registry, write, bundle_yaml())
    state = snapshot(fraud_registry)
    reformatted = "# the same release, reformatted\n" + replace_once(
        bundle_yaml(), "risk_tier: Tier 1", "risk_tier: 1   # high impact"
    )
    again = freeze(fraud_registry, write, reformatted, "again.yaml")
    assert again.created is False
    assert again.bundle == first.bundle
    assert snapshot(fraud_registry) == state


def test_changed_content_is_a_release_conflict(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B2: a frozen release never changes; other content under its id writes nothing."""
    first = freeze(fraud_registry, write, bundle_yaml())
    state = snapshot(fraud_registry)
    changed = replace_once(bundle_yaml(), "traffic_start: shadow", "traffic_start: canary")
    with pytest.raises(ConflictError) as info:
        freeze(fraud_registry, write, changed, "changed.yaml")
    assert info.value.reason is Reason.RELEASE_CONFLICT
    assert info.value.details["existing_digest"] == first.bundle.digest
    assert info.value.details["new_digest"] != first.bundle.digest
    assert fraud_registry.bundles.get(RELEASE) == first.bundle
    assert snapshot(fraud_registry) == state


def test_alias_moved_behind_the_same_text_is_a_release_conflict(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B2: identity covers what each reference resolved to, not only the text."""
    client = fraud_registry
    register(client, write, "policy11", POLICY_11)
    client.registry.set_alias("policy", "fraud-threshold-policy", "production", "1.0")
    text = replace_once(
        bundle_yaml(),
        "decision_policy: fraud-threshold-policy:1.0",
        "decision_policy: fraud-threshold-policy@production",
    )
    first = freeze(client, write, text)
    client.registry.set_alias("policy", "fraud-threshold-policy", "production", "1.1")
    state = snapshot(client)
    with pytest.raises(ConflictError) as info:
        freeze(client, write, text, "same-text.yaml")
    assert info.value.reason is Reason.RELEASE_CONFLICT
    assert info.value.details["existing_digest"] == first.bundle.digest
    assert snapshot(client) == state


# -- rollback targets -------------------------------------------------------------------------


def test_rollback_target_must_exist(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1/P6: the rollback target must be a frozen release; nothing is written otherwise."""
    state = snapshot(fraud_registry)
    text = bundle_yaml("FRAUD-2026-002", "2.0.0", rollback_target="FRAUD-2025-999")
    with pytest.raises(NotFoundError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.ROLLBACK_TARGET_NOT_FOUND
    assert info.value.details["field"] == "deployment.rollback_target"
    assert snapshot(fraud_registry) == state


def test_rollback_target_of_another_use_case(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """P6: a rollback goes to an earlier release of the same use case."""
    other = replace_once(
        bundle_yaml("OTHER-2026-001"), "use_case_id: FRAUD-SCORING", "use_case_id: OTHER-UC"
    )
    freeze(fraud_registry, write, other, "other.yaml")
    state = snapshot(fraud_registry)
    text = bundle_yaml("FRAUD-2026-002", "2.0.0", rollback_target="OTHER-2026-001")
    with pytest.raises(ValidationError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.INVALID_VALUE
    assert snapshot(fraud_registry) == state


def test_rollback_to_itself_is_refused(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """P6: a release cannot be its own rollback target."""
    state = snapshot(fraud_registry)
    with pytest.raises(ValidationError) as info:
        freeze(fraud_registry, write, bundle_yaml(rollback_target=RELEASE))
    assert info.value.reason is Reason.INVALID_VALUE
    assert snapshot(fraud_registry) == state


def test_rollback_to_an_earlier_release(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """P6: an existing release of the same use case is a valid rollback target."""
    freeze(fraud_registry, write, bundle_yaml(), "v1.yaml")
    second = freeze(
        fraud_registry, write, bundle_yaml("FRAUD-2026-002", "2.0.0", RELEASE), "v2.yaml"
    )
    assert second.created is True
    assert second.bundle.spec["deployment"]["rollback_target"] == RELEASE


# -- declared hashes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declared",
    [
        "sha256:" + "0" * 64,
        "model-two",  # the other model's digest, filled in below
        "0000...",
        "c55...",  # too short to be a prefix: refused, not matched
    ],
    ids=["zeros", "other-model", "wrong-prefix", "too-short"],
)
def test_model_artifact_hash_mismatch(
    fraud_registry: Client, bundle_yaml: Render, write: Write, declared: str
) -> None:
    """B2: model.artifact_hash must match the registered artifact; nothing written otherwise."""
    actual = model_digest(fraud_registry)
    if declared == "model-two":
        declared = model_digest(fraud_registry, "2.0.0")
    if declared == "0000..." and actual.removeprefix("sha256:").startswith("0000"):
        declared = "ffff..."
    state = snapshot(fraud_registry)
    text = replace_once(bundle_yaml(), f"artifact_hash: {actual}", f'artifact_hash: "{declared}"')
    with pytest.raises(IntegrityError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.HASH_MISMATCH
    assert info.value.details["field"] == "model.artifact_hash"
    assert info.value.details["expected"] == declared
    assert info.value.details["actual"] == actual
    assert snapshot(fraud_registry) == state


def test_abbreviated_artifact_hash_prefix_is_accepted(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: the playbook writes `artifact_hash: c55a...`; a real prefix of the digest matches."""
    actual = model_digest(fraud_registry)
    hexdigest = actual.removeprefix("sha256:")
    forms = [
        f"{hexdigest[:4]}...",  # unquoted, exactly the playbook's style
        f'"{hexdigest[:12]}"',
        f'"sha256:{hexdigest[:8]}\u2026"',
        f'"{hexdigest[:4].upper()}..."',
    ]
    for i, form in enumerate(forms):
        text = replace_once(
            bundle_yaml(f"FRAUD-2026-10{i}"), f"artifact_hash: {actual}", f"artifact_hash: {form}"
        )
        frozen = freeze(fraud_registry, write, text, f"abbrev{i}.yaml")
        assert frozen.created is True, form
        model = next(r for r in frozen.bundle.resolutions if r.path == "model")
        assert model.artifact == actual  # the full digest is pinned at freeze time


# -- dry run and collected problems -------------------------------------------------------


def test_dry_run_writes_nothing(fraud_registry: Client, bundle_yaml: Render, write: Write) -> None:
    """B2: a dry run resolves and reports but stores no bundle, edge or audit entry."""
    state = snapshot(fraud_registry)
    dry = fraud_registry.bundles.create(
        write("release.yaml", bundle_yaml()),
        freeze=True,
        allow_incomplete=INCOMPLETE_OK,
        dry_run=True,
    )
    assert dry.dry_run is True
    assert dry.created is False
    assert snapshot(fraud_registry) == state
    with pytest.raises(NotFoundError) as info:
        fraud_registry.bundles.get(RELEASE)
    assert info.value.reason is Reason.RELEASE_NOT_FOUND
    downstream = fraud_registry.registry.lineage("dataset/FRAUD-TRAIN:1", direction="downstream")
    assert downstream.releases() == []
    real = freeze(fraud_registry, write, bundle_yaml())
    assert real.created is True
    assert real.bundle.digest == dry.bundle.digest  # the dry run predicted the identity


def test_unresolved_references_are_reported_together(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: every unresolved reference (and a missing rollback target) in one error."""
    state = snapshot(fraud_registry)
    text = bundle_yaml(rollback_target="FRAUD-2025-999")
    text = replace_once(
        text, "training_snapshot: FRAUD-TRAIN:1", "training_snapshot: FRAUD-TRAIN:9"
    )
    text = replace_once(text, "fraud-auth-features:11", "fraud-auth-features:99")
    text = replace_once(
        text, "evaluator_versions: [ROC-AUC:1]", "evaluator_versions: [ROC-AUC:1, PR-AUC:1]"
    )
    with pytest.raises(NotFoundError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.DANGLING_REFERENCE
    problems = info.value.details["problems"]
    found = {(p["reason"], p.get("details", {}).get("field")) for p in problems}
    assert found == {
        ("DANGLING_REFERENCE", "data.training_snapshot"),
        ("DANGLING_REFERENCE", "features.feature_view"),
        ("DANGLING_REFERENCE", "eval.evaluator_versions[1]"),
        ("ROLLBACK_TARGET_NOT_FOUND", "deployment.rollback_target"),
    }
    assert snapshot(fraud_registry) == state


def test_ambiguous_bare_name_in_bundle(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """R7: a bare model-less name with several versions cannot be frozen."""
    register(fraud_registry, write, "policy11", POLICY_11)
    text = replace_once(
        bundle_yaml(),
        "decision_policy: fraud-threshold-policy:1.0",
        "decision_policy: fraud-threshold-policy",
    )
    with pytest.raises(NotFoundError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.AMBIGUOUS_REFERENCE
    assert info.value.details["field"] == "prompt_policy.decision_policy"


def test_unknown_model_version(fraud_registry: Client, bundle_yaml: Render, write: Write) -> None:
    """B1: the model must be registered at the exact version named."""
    text = replace_once(bundle_yaml(), "model_version: 1.0.0", "model_version: 9.9.9")
    with pytest.raises(NotFoundError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.DANGLING_REFERENCE
    assert info.value.details["field"] == "model"


# -- hostile documents ----------------------------------------------------------------------


def test_huge_bundle_file_is_refused_unread(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: a 100 MB bundle file is refused on its size before parsing; nothing written."""
    state = snapshot(fraud_registry)
    path = write("huge.yaml", bundle_yaml())
    with path.open("r+b") as handle:
        handle.truncate(100 * MiB)
    with pytest.raises(ParseError) as info:
        fraud_registry.bundles.create(path)
    assert info.value.reason is Reason.DOC_TOO_LARGE
    assert info.value.details["size"] == 100 * MiB
    assert info.value.details["max_bytes"] < 100 * MiB
    assert snapshot(fraud_registry) == state


def test_alias_bomb_is_refused(fraud_registry: Client, bundle_yaml: Render, write: Write) -> None:
    """B1: YAML anchors and aliases (billion laughs) are refused at the first anchor."""
    bomb = (
        "description: x\n"
        'lol1: &l1 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
        "lol2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]\n"
        "lol3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]\n"
    )
    text = bundle_yaml().lstrip("\n") + bomb  # `write` drops the leading newline
    state = snapshot(fraud_registry)
    with pytest.raises(ParseError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.YAML_ALIAS
    expected_line = text.splitlines().index(bomb.splitlines()[1]) + 1
    assert info.value.line == expected_line
    assert info.value.details["anchor"] == "l1"
    assert snapshot(fraud_registry) == state


def test_duplicate_key_is_refused_with_line(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: a repeated key would silently shadow the first; refused with the second's line."""
    text = replace_once(
        bundle_yaml().lstrip("\n"),
        "  model_version: 1.0.0\n",
        "  model_version: 1.0.0\n  model_version: 2.0.0\n",
    )
    with pytest.raises(ParseError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.DUPLICATE_KEY
    assert info.value.line == text.splitlines().index("  model_version: 2.0.0") + 1
    assert info.value.details["key"] == "model_version"
    assert info.value.details["path"] == ["model"]
    assert fraud_registry.bundles.list() == []


def test_invalid_bundle_reports_problems(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B1: schema problems in a bundle file carry field, reason and line."""
    text = replace_once(bundle_yaml().lstrip("\n"), "model_version: 1.0.0", "model_version: 1.10")
    with pytest.raises(ValidationError) as info:
        freeze(fraud_registry, write, text)
    assert info.value.reason is Reason.WRONG_TYPE
    (problem,) = info.value.problems
    assert problem["field"] == "model.model_version"
    assert problem["line"] == text.splitlines().index("  model_version: 1.10") + 1
    assert fraud_registry.bundles.list() == []
