"""The component registry through the SDK (R1–R4, R7), on SQLite and PostgreSQL.

Registration is strict and atomic: a refused spec writes nothing (no component, no audit
entry, no blob). Assertions use reason codes and structured details, never message text.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from airel.client import Client
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.lineage import Relation
from airel.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    Reason,
    ValidationError,
)
from airel.services.release.components import Registered

Write = Callable[[str, str], Path]

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")

IMAGE = "registry/fraud-serving@sha256:" + "b" * 64

# One valid spec per kind. Specs may name prerequisites (listed in DEPENDS) and files (FILES).
SPECS: dict[ComponentKind, str] = {
    ComponentKind.DATASET: """
        kind: dataset
        name: CARDS-TRAIN
        version: "1"
        owner: fraud-data
        source_lineage: [cards.authorisations]
        snapshot: {query: "select * from auth", partition: "2026-06"}
        schema: {amount: float64, label: int64}
        classification: confidential
        retention: 7y
        allowed_use: [fraud-detection]
        row_count: 2
        artifact: data/train.csv
    """,
    ComponentKind.FEATURE_VIEW: """
        kind: feature_view
        name: cards-features
        version: "3"
        owner: fraud-data
        entity_key: customer_id
        features: [{name: amount, dtype: float64}]
        transform: features.py
        freshness_sla: 15m
        serving_view: online.cards_v3
        allowed_use: [fraud-detection]
        source_datasets: ["CARDS-TRAIN:1"]
    """,
    ComponentKind.MODEL: """
        kind: model
        name: cards-score
        version: 1.0.0
        owner: Fraud Analytics Lead
        risk_tier: Tier 1
        signature: {inputs: [{name: amount, type: float}], outputs: [{name: score, type: float}]}
        training_run_id: TRN-1
        training_dataset: CARDS-TRAIN:1
        feature_view: cards-features:3
        approved_stage: staging
        approval_conditions: [analyst review]
        eval_report: reports/cards-score-1.html
        monitoring_dashboard: https://dash.example/cards
        review_expiry: "2027-06-30"
        artifact: models/m1
    """,
    ComponentKind.PROMPT: """
        kind: prompt
        name: cards-summary-prompt
        version: "2.3"
        text: "Summarise the alert.\\nCite evidence.\\n"
        format: text
    """,
    ComponentKind.POLICY: """
        kind: policy
        name: cards-guardrail
        version: "1.2"
        text_file: policies/guardrail.rego
        format: rego
        approval: CAB-77
    """,
    ComponentKind.TOOL_SCHEMA: """
        kind: tool_schema
        name: case-evidence-tool
        version: "1.1"
        tool_schema: {type: object, properties: {case_id: {type: string}}}
        side_effects: read
        requires_approval: false
        idempotent: true
    """,
    ComponentKind.RAG_INDEX: """
        kind: rag_index
        name: cards-policy-index
        version: 2026Q2-v2
        owner: knowledge-team
        source_datasets: ["CARDS-TRAIN:1"]
        embedding_model: text-embed-3
        chunking: {size: 512, overlap: 64}
        document_count: 120
        artifact: index
    """,
    ComponentKind.EVAL_DATASET: """
        kind: eval_dataset
        name: CARDS-GOLDEN
        version: "2"
        role: golden
        row_count: 2
        derived_from: ["CARDS-TRAIN:1"]
        artifact: data/golden.csv
    """,
    ComponentKind.EVALUATOR: """
        kind: evaluator
        name: ROC-AUC
        version: "1"
        evaluator_type: metric
        thresholds: {min: 0.85}
    """,
    ComponentKind.CODE: """
        kind: code
        name: cards-repo
        version: 9f2c81a
        repo: git@example:fraud/cards.git
        commit: 9f2c81a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6
        branch: main
        build_id: B-100
        reviewers: [bob]
    """,
    ComponentKind.CONTAINER_IMAGE: f"""
        kind: container_image
        name: cards-serving
        version: "1"
        image: {IMAGE}
        lock_file_hash: sha256:{"e" * 64}
        hardware_profile: cpu-4
        code: cards-repo:9f2c81a
    """,
}

DEPENDS: dict[ComponentKind, list[ComponentKind]] = {
    ComponentKind.FEATURE_VIEW: [ComponentKind.DATASET],
    ComponentKind.MODEL: [ComponentKind.DATASET, ComponentKind.FEATURE_VIEW],
    ComponentKind.RAG_INDEX: [ComponentKind.DATASET],
    ComponentKind.EVAL_DATASET: [ComponentKind.DATASET],
    ComponentKind.CONTAINER_IMAGE: [ComponentKind.CODE],
}


@pytest.fixture
def files(project: Path) -> Path:
    """The artifacts the specs point at."""
    (project / "data").mkdir()
    (project / "data" / "train.csv").write_text("amount,label\n1.0,0\n250.0,1\n")
    (project / "data" / "golden.csv").write_text("amount,label\n9.0,0\n")
    (project / "models" / "m1").mkdir(parents=True)
    (project / "models" / "m1" / "model.bin").write_bytes(b"weights-1")
    (project / "models" / "m2").mkdir(parents=True)
    (project / "models" / "m2" / "model.bin").write_bytes(b"weights-2")
    (project / "index").mkdir()
    (project / "index" / "chunks.jsonl").write_text('{"id": 1}\n')
    (project / "features.py").write_text("def transform(row):\n    return row\n")
    (project / "policies").mkdir()
    (project / "policies" / "guardrail.rego").write_text("package guard\ndefault allow = false\n")
    return project


def register(client: Client, write: Write, project: Path, name: str, text: str) -> Registered:
    return client.registry.register(write(f"specs/{name}.yaml", text), base_dir=project)


def register_kind(client: Client, write: Write, project: Path, kind: ComponentKind) -> Registered:
    for dep in DEPENDS.get(kind, []):
        register_kind(client, write, project, dep)
    return register(client, write, project, kind.value, SPECS[kind])


def audit_count(client: Client) -> int:
    return client.audit.verify().entries


def blobs(client: Client) -> set[str]:
    root = client.settings.artifact_root / "sha256"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def model_spec(**changes: str | None) -> str:
    """The model spec with fields replaced (value) or removed (None)."""
    lines = []
    for line in SPECS[ComponentKind.MODEL].strip("\n").splitlines():
        key = line.strip().split(":", 1)[0]
        if key not in changes:
            lines.append(line)
        elif (value := changes.pop(key)) is not None:
            lines.append(f"        {key}: {value}")
    lines += [f"        {k}: {v}" for k, v in changes.items() if v is not None]
    return "\n".join(lines) + "\n"


@pytest.fixture
def base(client: Client, write: Write, files: Path) -> Client:
    """Dataset and feature view registered: enough parents for a model."""
    register_kind(client, write, files, ComponentKind.FEATURE_VIEW)
    return client


# -- every kind registers ------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ComponentKind), ids=[k.value for k in ComponentKind])
def test_register_each_kind(client: Client, write: Write, files: Path, kind: ComponentKind) -> None:
    """R1–R4: every component kind registers from a valid spec, with digest and audit entry."""
    before = audit_count(client)
    result = register_kind(client, write, files, kind)
    assert result.created is True
    component = result.component
    assert component.kind is kind
    assert component.digest.startswith("sha256:")
    assert component.created_by == "alice"
    assert audit_count(client) == before + 1 + len(_all_deps(kind))
    stored = client.registry.component(kind, f"{component.name}:{component.version}")
    assert stored == component
    assert client.audit.verify().ok


def _all_deps(kind: ComponentKind) -> set[ComponentKind]:
    out: set[ComponentKind] = set()
    for dep in DEPENDS.get(kind, []):
        out |= {dep, *_all_deps(dep)}
    return out


def test_all_kinds_together(client: Client, write: Write, files: Path) -> None:
    """R1–R4: one registry holds all eleven kinds; lists are filtered by kind."""
    for kind in ComponentKind:
        if not client.registry.components(kind):
            register_kind(client, write, files, kind)
    assert {c.kind for c in client.registry.components()} == set(ComponentKind)
    assert len(client.registry.components()) == 11
    assert [c.name for c in client.registry.components("model")] == ["cards-score"]


def test_registered_fields(base: Client, write: Write, files: Path) -> None:
    """R1/R3/R4: derived fields are recorded: transform hash, text hash, artifact digest."""
    model = register(base, write, files, "model", SPECS[ComponentKind.MODEL]).component
    assert model.artifact is not None
    assert model.artifact.type.value == "tree"
    assert model.fields["risk_tier"] == 1
    assert model.fields["approved_stage"] == "staging"
    assert model.parents == ("dataset/CARDS-TRAIN:1", "feature_view/cards-features:3")
    view = base.registry.component("feature_view", "cards-features:3")
    assert view.fields["transform_hash"].startswith("sha256:")
    policy = register(base, write, files, "policy", SPECS[ComponentKind.POLICY]).component
    assert policy.fields["text"] == "package guard\ndefault allow = false\n"
    assert policy.fields["text_hash"].startswith("sha256:")


# -- model: the §7.4 fields ----------------------------------------------------------------


@pytest.mark.parametrize("field", ["name", "version", "owner", "risk_tier", "signature"])
def test_model_missing_schema_field(base: Client, write: Write, files: Path, field: str) -> None:
    """R1: §7.4 model_id, model_version, owner, risk_tier and signature are required."""
    before = audit_count(base)
    with pytest.raises(ValidationError) as info:
        register(base, write, files, "model", model_spec(**{field: None}))
    assert info.value.reason is Reason.MISSING_FIELD
    assert [p["field"] for p in info.value.problems] == [field]
    assert base.registry.components("model") == []
    assert audit_count(base) == before


@pytest.mark.parametrize("field", ["training_run_id", "training_dataset", "artifact"])
def test_model_missing_training_field(base: Client, write: Write, files: Path, field: str) -> None:
    """R1: a trained model needs training_run_id, training_dataset and an artifact hash."""
    before = audit_count(base)
    with pytest.raises(ValidationError) as info:
        register(base, write, files, "model", model_spec(**{field: None}))
    assert info.value.reason is Reason.MISSING_FIELD
    assert len(info.value.problems) == 1
    assert base.registry.components("model") == []
    assert audit_count(base) == before


def test_model_missing_all_training_fields_collects_all(
    base: Client, write: Write, files: Path
) -> None:
    """R1: every missing training field is reported at once."""
    text = model_spec(training_run_id=None, training_dataset=None, artifact=None)
    with pytest.raises(ValidationError) as info:
        register(base, write, files, "model", text)
    assert info.value.reason is Reason.MISSING_FIELD
    assert len(info.value.problems) == 3


def test_model_artifact_hash_without_path(base: Client, write: Write, files: Path) -> None:
    """R1: a model may be registered by artifact_hash alone (the bytes live elsewhere)."""
    text = model_spec(artifact=None, artifact_hash=f"sha256:{'1' * 64}")
    result = register(base, write, files, "model", text)
    assert result.component.fields["artifact_hash"] == f"sha256:{'1' * 64}"
    assert result.component.artifact is None
    # The declared digest is content: another digest under the same version is a conflict.
    entries = audit_count(base)
    other = model_spec(artifact=None, artifact_hash=f"sha256:{'2' * 64}")
    with pytest.raises(ConflictError) as info:
        register(base, write, files, "model-other", other)
    assert info.value.reason is Reason.VERSION_CONFLICT
    assert audit_count(base) == entries


@pytest.mark.parametrize("field", ["risk_tier", "approved_stage", "review_expiry"])
def test_model_bad_values(base: Client, write: Write, files: Path, field: str) -> None:
    """R1: risk tier, approved stage and review expiry are checked."""
    bad = {"risk_tier": "Tier 9", "approved_stage": "prod", "review_expiry": '"next year"'}
    with pytest.raises(ValidationError) as info:
        register(base, write, files, "model", model_spec(**{field: bad[field]}))
    assert info.value.reason is Reason.INVALID_VALUE
    assert info.value.problems[0]["field"] == field


OK = "lineage under test, not completeness"  # --allow-incomplete reason

VENDOR = """
    kind: model
    name: vendor-llm
    version: "2026-05"
    owner: Platform
    risk_tier: 2
    signature: {{inputs: [{{name: prompt}}], outputs: [{{name: text}}]}}
    vendor_model: {{provider: example-ai, model: big-model, pinned_version: {pinned}}}
"""


def test_vendor_model_pinned(client: Client, write: Write, files: Path) -> None:
    """R1/P4: a vendor model needs no artifact or training run when pinned to a version."""
    result = register(client, write, files, "vendor", VENDOR.format(pinned="2026-05-01"))
    assert result.created is True
    assert result.component.artifact is None


@pytest.mark.parametrize("pinned", ["latest", "LATEST", "stable", "current"])
def test_vendor_model_latest_refused(
    client: Client, write: Write, files: Path, pinned: str
) -> None:
    """R1/P4: a vendor model pinned to a moving tag is refused (vendor change = release)."""
    with pytest.raises(ValidationError) as info:
        register(client, write, files, "vendor", VENDOR.format(pinned=pinned))
    assert info.value.reason is Reason.INVALID_VALUE
    assert info.value.problems[0]["field"] == "vendor_model.pinned_version"
    assert client.registry.components("model") == []


# -- idempotence and immutability ------------------------------------------------------------


def test_reregistering_identical_spec_is_idempotent(
    base: Client, write: Write, files: Path
) -> None:
    """R1/B2: the same content again is a no-op: created False, no audit entry, no blob."""
    first = register(base, write, files, "model", SPECS[ComponentKind.MODEL])
    entries, stored = audit_count(base), blobs(base)
    again = register(base, write, files, "model-copy", SPECS[ComponentKind.MODEL])
    assert again.created is False
    assert again.component == first.component
    assert audit_count(base) == entries
    assert blobs(base) == stored


def test_idempotent_regardless_of_layout(base: Client, write: Write, files: Path) -> None:
    """B2: comments and key order are not content."""
    first = register(base, write, files, "model", SPECS[ComponentKind.MODEL])
    lines = SPECS[ComponentKind.MODEL].strip("\n").splitlines()
    shuffled = "\n".join(["        # reformatted", *reversed(lines)]) + "\n"
    again = register(base, write, files, "model-shuffled", shuffled)
    assert again.created is False
    assert again.component.digest == first.component.digest


@pytest.mark.parametrize(
    "change",
    [
        {"owner": "Someone Else"},
        {"training_run_id": "TRN-2"},
        {"artifact": "models/m2"},
    ],
    ids=["field", "training-run", "artifact"],
)
def test_same_version_other_content_conflicts(
    base: Client, write: Write, files: Path, change: dict[str, str]
) -> None:
    """R1/B2: versions are immutable; nothing is written on conflict (no audit, no blob)."""
    first = register(base, write, files, "model", SPECS[ComponentKind.MODEL])
    entries, stored = audit_count(base), blobs(base)
    with pytest.raises(ConflictError) as info:
        register(base, write, files, "model-changed", model_spec(**change))
    assert info.value.reason is Reason.VERSION_CONFLICT
    assert info.value.details["existing_digest"] == first.component.digest
    assert base.registry.component("model", "cards-score:1.0.0") == first.component
    assert audit_count(base) == entries
    assert blobs(base) == stored


def test_changed_artifact_bytes_conflict(base: Client, write: Write, files: Path) -> None:
    """B2: the same spec over changed artifact bytes is a conflict, and no blob is added."""
    register(base, write, files, "model", SPECS[ComponentKind.MODEL])
    entries, stored = audit_count(base), blobs(base)
    (files / "models" / "m1" / "model.bin").write_bytes(b"weights-1-retrained")
    with pytest.raises(ConflictError) as info:
        register(base, write, files, "model", SPECS[ComponentKind.MODEL])
    assert info.value.reason is Reason.VERSION_CONFLICT
    assert audit_count(base) == entries
    assert blobs(base) == stored


def test_new_version_is_not_a_conflict(base: Client, write: Write, files: Path) -> None:
    """R1: a change registered under a new version is fine."""
    register(base, write, files, "model", SPECS[ComponentKind.MODEL])
    second = register(base, write, files, "m2", model_spec(version="2.0.0", artifact="models/m2"))
    assert second.created is True
    assert [c.version for c in base.registry.components("model")] == ["1.0.0", "2.0.0"]


# -- references --------------------------------------------------------------------------------


def test_dangling_reference(client: Client, write: Write, files: Path) -> None:
    """R7: a parent that is not registered is refused, never left dangling."""
    with pytest.raises(NotFoundError) as info:
        register(client, write, files, "model", SPECS[ComponentKind.MODEL])
    assert info.value.reason is Reason.DANGLING_REFERENCE
    assert info.value.details["field"] == "training_dataset"
    assert info.value.details["reference"] == "CARDS-TRAIN:1"
    assert client.registry.components() == []
    assert blobs(client) == set()


def test_dangling_reference_in_list(client: Client, write: Write, files: Path) -> None:
    """R7: list references name their index."""
    register_kind(client, write, files, ComponentKind.DATASET)
    text = SPECS[ComponentKind.EVAL_DATASET].replace(
        '["CARDS-TRAIN:1"]', '["CARDS-TRAIN:1", "CARDS-TRAIN:7"]'
    )
    with pytest.raises(NotFoundError) as info:
        register(client, write, files, "golden", text)
    assert info.value.reason is Reason.DANGLING_REFERENCE
    assert info.value.details["field"] == "derived_from[1]"


def test_bare_name_with_two_versions_is_ambiguous(
    client: Client, write: Write, files: Path
) -> None:
    """R7: a bare name resolves only when exactly one version exists."""
    register_kind(client, write, files, ComponentKind.DATASET)
    register(
        client,
        write,
        files,
        "dataset2",
        SPECS[ComponentKind.DATASET].replace('version: "1"', 'version: "2"'),
    )
    text = SPECS[ComponentKind.EVAL_DATASET].replace('["CARDS-TRAIN:1"]', "[CARDS-TRAIN]")
    with pytest.raises(NotFoundError) as info:
        register(client, write, files, "golden", text)
    assert info.value.reason is Reason.AMBIGUOUS_REFERENCE
    assert info.value.details["versions"] == ["1", "2"]
    with pytest.raises(NotFoundError) as lookup:
        client.registry.component("dataset", "CARDS-TRAIN")
    assert lookup.value.reason is Reason.AMBIGUOUS_REFERENCE


def test_bare_name_with_one_version_resolves(client: Client, write: Write, files: Path) -> None:
    """R7: a bare name with a single version is pinned to that version."""
    register_kind(client, write, files, ComponentKind.DATASET)
    text = SPECS[ComponentKind.EVAL_DATASET].replace('["CARDS-TRAIN:1"]', "[CARDS-TRAIN]")
    result = register(client, write, files, "golden", text)
    assert result.component.parents == ("dataset/CARDS-TRAIN:1",)


def test_alias_reference_resolves_at_registration(
    client: Client, write: Write, files: Path
) -> None:
    """R7: `name@alias` is pinned to the alias's version when the child is registered."""
    register_kind(client, write, files, ComponentKind.DATASET)
    register(
        client,
        write,
        files,
        "dataset2",
        SPECS[ComponentKind.DATASET].replace('version: "1"', 'version: "2"'),
    )
    client.registry.set_alias("dataset", "CARDS-TRAIN", "production", "2")
    text = SPECS[ComponentKind.EVAL_DATASET].replace(
        '["CARDS-TRAIN:1"]', "[CARDS-TRAIN@production]"
    )
    result = register(client, write, files, "golden", text)
    assert result.component.parents == ("dataset/CARDS-TRAIN:2",)
    # Moving the alias later does not change what was registered.
    client.registry.set_alias("dataset", "CARDS-TRAIN", "production", "1")
    stored = client.registry.component("eval_dataset", "CARDS-GOLDEN:2")
    assert stored.parents == ("dataset/CARDS-TRAIN:2",)
    assert client.registry.component("dataset", "CARDS-TRAIN@production").version == "1"


def test_unknown_alias_is_dangling(client: Client, write: Write, files: Path) -> None:
    """R7: an alias that does not exist is a dangling reference."""
    register_kind(client, write, files, ComponentKind.DATASET)
    text = SPECS[ComponentKind.EVAL_DATASET].replace('["CARDS-TRAIN:1"]', "[CARDS-TRAIN@canary]")
    with pytest.raises(NotFoundError) as info:
        register(client, write, files, "golden", text)
    assert info.value.reason is Reason.DANGLING_REFERENCE


def test_reference_to_wrong_kind_is_dangling(client: Client, write: Write, files: Path) -> None:
    """R7: a training_dataset must name a dataset, not an eval dataset of the same name."""
    register_kind(client, write, files, ComponentKind.FEATURE_VIEW)
    register_kind(client, write, files, ComponentKind.EVAL_DATASET)
    with pytest.raises(NotFoundError) as info:
        register(
            client,
            write,
            files,
            "model",
            model_spec(training_dataset="CARDS-GOLDEN:2"),
        )
    assert info.value.reason is Reason.DANGLING_REFERENCE


# -- artifacts ---------------------------------------------------------------------------------


def test_artifact_missing(base: Client, write: Write, files: Path) -> None:
    """B2: an artifact path that does not exist is ARTIFACT_MISSING; nothing written."""
    entries, stored = audit_count(base), blobs(base)
    with pytest.raises(NotFoundError) as info:
        register(base, write, files, "model", model_spec(artifact="models/none"))
    assert info.value.reason is Reason.ARTIFACT_MISSING
    assert base.registry.components("model") == []
    assert (audit_count(base), blobs(base)) == (entries, stored)


@pytest.mark.parametrize(
    "path",
    ["../x", "/etc/passwd", '"a\\\\b"', "'%2e%2e/x'", "models/../../x", "'C:/x'"],
    ids=["parent", "absolute", "backslash", "percent", "inner-parent", "drive"],
)
def test_artifact_path_traversal(base: Client, write: Write, files: Path, path: str) -> None:
    """B2: artifact paths cannot leave the project directory."""
    entries, stored = audit_count(base), blobs(base)
    with pytest.raises(ValidationError) as info:
        register(base, write, files, "model", model_spec(artifact=path))
    assert info.value.reason is Reason.PATH_TRAVERSAL
    assert base.registry.components("model") == []
    assert (audit_count(base), blobs(base)) == (entries, stored)


@needs_symlinks
def test_artifact_symlink_to_outside(
    base: Client, write: Write, files: Path, tmp_path: Path
) -> None:
    """B2: a symlink leading outside the project is UNSAFE_SYMLINK."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.bin").write_bytes(b"not yours")
    (files / "models" / "link").symlink_to(outside)
    (files / "models" / "file-link").symlink_to(outside / "secret.bin")
    for rel in ("models/link", "models/file-link", "models/link/secret.bin"):
        with pytest.raises(ValidationError) as info:
            register(base, write, files, "model", model_spec(artifact=rel))
        assert info.value.reason is Reason.UNSAFE_SYMLINK, rel
    assert base.registry.components("model") == []


def test_artifact_hash_mismatch_writes_nothing(base: Client, write: Write, files: Path) -> None:
    """B2: a declared artifact_hash that differs from the content is refused, no blob kept."""
    entries, stored = audit_count(base), blobs(base)
    wrong = f"sha256:{'0' * 64}"
    with pytest.raises(IntegrityError) as info:
        register(base, write, files, "model", model_spec(artifact_hash=wrong))
    assert info.value.reason is Reason.HASH_MISMATCH
    assert info.value.details["expected"] == wrong
    assert info.value.details["actual"].startswith("sha256:")
    assert base.registry.components("model") == []
    assert (audit_count(base), blobs(base)) == (entries, stored)


def test_wrong_artifact_hash_on_reregistration(base: Client, write: Write, files: Path) -> None:
    """B2: re-registering an existing version still checks a declared artifact_hash."""
    first = register(base, write, files, "model", SPECS[ComponentKind.MODEL])
    assert first.component.artifact is not None
    entries = audit_count(base)
    wrong = f"sha256:{'0' * 64}"
    with pytest.raises(IntegrityError) as info:
        register(base, write, files, "model-again", model_spec(artifact_hash=wrong))
    assert info.value.reason is Reason.HASH_MISMATCH
    assert info.value.details["expected"] == wrong
    assert info.value.details["actual"] == first.component.artifact.digest
    assert audit_count(base) == entries
    right = first.component.artifact.digest
    again = register(base, write, files, "model-right", model_spec(artifact_hash=right))
    assert again.created is False


def test_artifact_hash_match(base: Client, write: Write, files: Path) -> None:
    """B2: declaring the right digest registers normally."""
    data = register(base, write, files, "probe", SPECS[ComponentKind.EVAL_DATASET])
    assert data.component.artifact is not None
    digest = data.component.artifact.digest
    text = SPECS[ComponentKind.EVAL_DATASET].replace('version: "2"', 'version: "3"').rstrip(" ")
    text += f"        artifact_hash: {digest}\n"
    result = register(base, write, files, "golden3", text)
    assert result.component.artifact is not None
    assert result.component.artifact.digest == digest


def test_malformed_artifact_hash(base: Client, write: Write, files: Path) -> None:
    """B2: a declared digest must be a full sha256 digest."""
    with pytest.raises(ValidationError) as info:
        register(base, write, files, "model", model_spec(artifact_hash="c55a..."))
    assert info.value.reason is Reason.INVALID_VALUE
    assert info.value.problems[0]["field"] == "artifact_hash"


# -- prompts: text hash and diff (R4) --------------------------------------------------------

PROMPT = """
    kind: prompt
    name: aml-summary-system-prompt
    version: "{version}"
    text_file: prompts/v{version}.txt
"""


def test_prompt_versions_diff(client: Client, write: Write, files: Path) -> None:
    """R4: two prompt versions give a unified diff of the changed line and different hashes."""
    write("prompts/v1.txt", "You are an AML analyst assistant.\nCite every source.\nBe brief.\n")
    write(
        "prompts/v2.txt", "You are an AML analyst assistant.\nCite every source by id.\nBe brief.\n"
    )
    register(client, write, files, "p1", PROMPT.format(version="1"))
    register(client, write, files, "p2", PROMPT.format(version="2"))
    diff = client.registry.diff("prompt", "aml-summary-system-prompt", "1", "2")
    assert diff.text_diff is not None
    lines = diff.text_diff.splitlines()
    assert "-Cite every source." in lines
    assert "+Cite every source by id." in lines
    assert " Be brief." in lines
    assert not any(line.startswith(("-Be", "+Be", "-You", "+You")) for line in lines)
    assert diff.old_text_hash is not None
    assert diff.new_text_hash is not None
    assert diff.old_text_hash != diff.new_text_hash
    assert "text_file" in diff.changed_fields


def test_prompt_text_hash_is_sha256_of_text(client: Client, write: Write, files: Path) -> None:
    """R4: the text hash is sha256 of the UTF-8 text, the same inline or from a file."""
    import hashlib

    text = "Réponds en français.\n"
    write("prompts/v1.txt", text)
    from_file = register(client, write, files, "p1", PROMPT.format(version="1"))
    expected = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert from_file.component.fields["text_hash"] == expected


def test_prompt_needs_exactly_one_text_source(client: Client, write: Write, files: Path) -> None:
    """R4: a prompt has either inline text or a text file."""
    with pytest.raises(ValidationError) as info:
        register(client, write, files, "p", 'kind: prompt\nname: p\nversion: "1"\n')
    assert info.value.reason is Reason.MISSING_FIELD


def test_diff_unknown_version(client: Client, write: Write, files: Path) -> None:
    """R4: diffing a version that does not exist is COMPONENT_NOT_FOUND."""
    write("prompts/v1.txt", "x\n")
    register(client, write, files, "p1", PROMPT.format(version="1"))
    with pytest.raises(NotFoundError) as info:
        client.registry.diff("prompt", "aml-summary-system-prompt", "1", "9")
    assert info.value.reason is Reason.COMPONENT_NOT_FOUND


# -- lineage (R7) --------------------------------------------------------------------------------


def test_lineage_downstream_of_dataset(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Write
) -> None:
    """R7: "which releases used dataset X": models, feature views, eval sets and releases."""
    fraud_registry.bundles.create(
        write("rel1.yaml", bundle_yaml()), freeze=True, allow_incomplete=OK
    )
    fraud_registry.bundles.create(
        write("rel2.yaml", bundle_yaml("FRAUD-2026-002", "2.0.0", "FRAUD-2026-001")),
        freeze=True,
        allow_incomplete=OK,
    )
    graph = fraud_registry.registry.lineage("dataset/FRAUD-TRAIN:1", direction="downstream")
    assert set(graph.nodes) == {
        "model/fraud-score:1.0.0",
        "model/fraud-score:2.0.0",
        "feature_view/fraud-auth-features:11",
        "eval_dataset/FRAUD-GOLDEN:2",
        "release/FRAUD-2026-001",
        "release/FRAUD-2026-002",
    }
    assert graph.releases() == ["FRAUD-2026-001", "FRAUD-2026-002"]
    assert any(
        e.parent == "dataset/FRAUD-TRAIN:1"
        and e.child == "model/fraud-score:1.0.0"
        and e.relation is Relation.TRAINED_ON
        for e in graph.edges
    )


def test_lineage_upstream_of_release(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Write
) -> None:
    """R7: "what went into release Y": every component it binds, and their parents."""
    fraud_registry.bundles.create(
        write("rel1.yaml", bundle_yaml()), freeze=True, allow_incomplete=OK
    )
    graph = fraud_registry.registry.lineage("FRAUD-2026-001", direction="upstream")
    assert graph.root == "release/FRAUD-2026-001"
    assert set(graph.nodes) == {
        "dataset/FRAUD-TRAIN:1",
        "policy/FRAUD-LABEL-GUIDE:1.4",
        "feature_view/fraud-auth-features:11",
        "model/fraud-score:1.0.0",
        "policy/fraud-threshold-policy:1.0",
        "eval_dataset/FRAUD-GOLDEN:2",
        "evaluator/ROC-AUC:1",
    }
    direct = {e.parent for e in graph.edges if e.child == graph.root}
    assert direct == set(graph.nodes)  # every node is bound directly by the bundle
    assert {e.relation for e in graph.edges if e.child == graph.root} == {Relation.BUNDLES}
    one_level = fraud_registry.registry.lineage("release/FRAUD-2026-001", max_depth=1)
    assert set(one_level.nodes) == set(graph.nodes)


def test_lineage_does_not_walk_through_rollback_edges(
    client: Client, write: Write, files: Path
) -> None:
    """R7: a rollback target is a fallback, not an input: no over-reporting either way.

    Release B uses dataset v2 and rolls back to release A, which used dataset v1. B must not be
    reported downstream of dataset v1, and dataset v1 must not be upstream of B.
    """
    register_kind(client, write, files, ComponentKind.DATASET)
    register(
        client,
        write,
        files,
        "dataset2",
        SPECS[ComponentKind.DATASET].replace('version: "1"', 'version: "2"'),
    )
    release = (
        "release_id: {rid}\n"
        "use_case_id: CARDS\n"
        "risk_tier: 2\n"
        'data: {{training_snapshot: "CARDS-TRAIN:{v}"}}\n'
    )
    client.bundles.create(
        write("a.yaml", release.format(rid="CARDS-A", v=1)), freeze=True, allow_incomplete=OK
    )
    client.bundles.create(
        write(
            "b.yaml",
            release.format(rid="CARDS-B", v=2) + "deployment: {rollback_target: CARDS-A}\n",
        ),
        freeze=True,
        allow_incomplete=OK,
    )
    down = client.registry.lineage("dataset/CARDS-TRAIN:1", direction="downstream")
    assert down.releases() == ["CARDS-A"]
    up = client.registry.lineage("CARDS-B", direction="upstream")
    assert "dataset/CARDS-TRAIN:1" not in up.nodes
    assert set(up.nodes) == {"dataset/CARDS-TRAIN:2", "release/CARDS-A"}
    rollback = [e for e in up.edges if e.relation is Relation.ROLLS_BACK_TO]
    assert [(e.parent, e.child) for e in rollback] == [("release/CARDS-A", "release/CARDS-B")]
    # From the target's side: B is shown as rolling back to A, but nothing beyond B.
    from_a = client.registry.lineage("CARDS-A", direction="downstream")
    assert set(from_a.nodes) == {"release/CARDS-B"}


def test_lineage_of_unknown_node(client: Client) -> None:
    """R7: lineage of something unregistered is a not-found error."""
    with pytest.raises(NotFoundError) as info:
        client.registry.lineage("dataset/NOPE:1")
    assert info.value.reason is Reason.COMPONENT_NOT_FOUND
    with pytest.raises(NotFoundError) as release:
        client.registry.lineage("release/NOPE")
    assert release.value.reason is Reason.RELEASE_NOT_FOUND


def test_lineage_by_name_and_alias_walks_every_version(fraud_registry: Client) -> None:
    """R7: ``dataset/NAME`` starts from every version; ``model/x@alias`` from the pinned one."""
    graph = fraud_registry.registry.lineage("dataset/FRAUD-TRAIN", direction="downstream")
    assert graph.root == "dataset/FRAUD-TRAIN"
    assert graph.starts == ("dataset/FRAUD-TRAIN:1",)
    assert "model/fraud-score:2.0.0" in graph.nodes
    assert "dataset/FRAUD-TRAIN:1" not in graph.nodes
    fraud_registry.registry.set_alias("model", "fraud-score", "production", "1.0.0")
    up = fraud_registry.registry.lineage("model/fraud-score@production")
    assert up.starts == ("model/fraud-score:1.0.0",)
    assert "dataset/FRAUD-TRAIN:1" in up.nodes
    assert "model/fraud-score:2.0.0" not in up.nodes


def test_openlineage_export(fraud_registry: Client) -> None:
    """R7 in a standard format: one COMPLETE RunEvent per built node, deterministic ids."""
    import uuid

    events = fraud_registry.registry.openlineage("model/fraud-score:2.0.0")
    by_job = {e["job"]["name"]: e for e in events}
    model = by_job["build model/fraud-score:2.0.0"]
    assert model["eventType"] == "COMPLETE"
    assert model["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/")
    uuid.UUID(model["run"]["runId"])
    inputs = {i["name"] for i in model["inputs"]}
    assert inputs == {
        "dataset/FRAUD-TRAIN:1",
        "feature_view/fraud-auth-features:11",
        "model/fraud-score:1.0.0",
    }
    (out,) = model["outputs"]
    digest = fraud_registry.registry.component("model", "fraud-score:2.0.0").digest
    assert out["facets"]["airel"]["digest"] == digest
    assert out["namespace"].startswith("airel://")
    assert "build feature_view/fraud-auth-features:11" in by_job
    assert fraud_registry.registry.openlineage("model/fraud-score:2.0.0") == events
