"""The component registry through the SDK (R1–R4, B2), on SQLite and PostgreSQL.

Registration of every kind, the model's §7.4 fields, vendor models, idempotence and immutability
of versions, artifacts (missing, path traversal, symlinks, declared hashes) and prompt text
hashes and diffs (R4). References between components and lineage (R7) are in test_lineage.py.

Registration is strict and atomic: a refused spec writes nothing (no component, no audit
entry, no blob). Assertions use reason codes and structured details, never message text.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airel.client import Client
from airel.domain.release.kinds import ComponentKind
from airel.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    Reason,
    ValidationError,
)
from registry_helpers import (
    DEPENDS,
    SPECS,
    Write,
    blobs,
    files_fixture,  # noqa: F401  (the pytest fixture ``files``)
    model_spec,
    register,
    register_kind,
)

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")


def audit_count(client: Client) -> int:
    return client.audit.verify().entries


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
