"""Verifying frozen release bundles (B2) and their reproducibility report (R8), both backends.

Every pinned artifact is re-hashed (a tampered or missing blob is reported); each §7.2 item is
present, partial or missing from what the registry holds.

Built on the ``fraud_registry`` fixture (dataset, feature view, policies, eval set, evaluator,
models 1.0.0 and 2.0.0) and ``bundle_yaml`` (a classifier bundle over it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from airel.client import Client
from airel.errors import NotFoundError, Reason
from airel.services.release.reproducibility import ItemStatus
from bundle_helpers import RELEASE, Render, Write, freeze

# -- verify (B2) ------------------------------------------------------------------------------


def test_verify_bundle_detects_a_tampered_blob(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B2: every pinned artifact is re-hashed; a changed blob in the CAS is reported."""
    client = fraud_registry
    freeze(client, write, bundle_yaml())
    check = client.bundles.verify(RELEASE)
    assert check.ok is True
    assert check.problems == []
    assert check.digest == client.bundles.get(RELEASE).digest
    # The model is a directory: its tree manifest lists models/v1/model.bin by content digest.
    member = client.settings.artifact_root / "sha256" / hashlib.sha256(b"model-one").hexdigest()
    assert member.is_file()
    member.chmod(0o644)
    member.write_bytes(b"model-one, quietly retrained")
    check = client.bundles.verify(RELEASE)
    assert check.ok is False
    assert check.problems
    assert all(p["what"].startswith("model/fraud-score:1.0.0 artifact") for p in check.problems)
    assert {p["problem"] for p in check.problems} == {"tree-member-mismatch"}


def test_verify_bundle_detects_a_missing_blob(
    fraud_registry: Client, bundle_yaml: Render, write: Write, project: Path
) -> None:
    """B2: a deleted data blob is reported for every component that pins it."""
    client = fraud_registry
    freeze(client, write, bundle_yaml())
    data = (project / "data" / "train.csv").read_bytes()
    blob = client.settings.artifact_root / "sha256" / hashlib.sha256(data).hexdigest()
    blob.unlink()
    check = client.bundles.verify(RELEASE)
    assert check.ok is False
    nodes = {p["what"].split(" ")[0] for p in check.problems}
    assert nodes == {"dataset/FRAUD-TRAIN:1", "eval_dataset/FRAUD-GOLDEN:2"}
    assert {p["problem"] for p in check.problems} == {"missing"}


def test_verify_unknown_release(fraud_registry: Client) -> None:
    """B2: verifying a release that does not exist is RELEASE_NOT_FOUND."""
    with pytest.raises(NotFoundError) as info:
        fraud_registry.bundles.verify("FRAUD-2099-001")
    assert info.value.reason is Reason.RELEASE_NOT_FOUND


# -- reproducibility (R8) -----------------------------------------------------------------------


def test_reproducibility_report(fraud_registry: Client, bundle_yaml: Render, write: Write) -> None:
    """R8: each §7.2 item is present, partial or missing from what the registry holds."""
    freeze(fraud_registry, write, bundle_yaml())
    report = fraud_registry.bundles.reproducibility(RELEASE)
    assert report.release_id == RELEASE
    assert report.digest == fraud_registry.bundles.get(RELEASE).digest
    status = {item.item: item.status for item in report.items}
    assert status == {
        "code_snapshot": ItemStatus.PARTIAL,  # a commit, but no registered code snapshot
        "runtime_environment": ItemStatus.PARTIAL,  # pinned images, not registered
        "data_snapshot": ItemStatus.PRESENT,
        "label_snapshot": ItemStatus.PRESENT,
        "feature_snapshot": ItemStatus.PRESENT,
        "training_run": ItemStatus.PARTIAL,  # model 1.0.0 records no params/seed/metrics
        "model_artifact": ItemStatus.PRESENT,
        "prompt_policy": ItemStatus.PRESENT,  # the decision policy
        "eval_run": ItemStatus.PARTIAL,  # datasets and evaluators, no eval run ids
        "deployment": ItemStatus.PRESENT,
        "approval": ItemStatus.MISSING,  # no gate decision recorded yet
    }
    assert report.complete is False
    items = {item.item: item for item in report.items}
    assert "dataset/FRAUD-TRAIN:1" in items["data_snapshot"].evidence
    assert items["data_snapshot"].lacking == []
    assert items["code_snapshot"].lacking
    assert items["approval"].evidence == []


def test_reproducibility_improves_with_training_record(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """R8: model 2.0.0 records its training run (algorithm, params, seed, metrics)."""
    freeze(fraud_registry, write, bundle_yaml("FRAUD-2026-002", "2.0.0"))
    text = bundle_yaml("FRAUD-2026-003").replace(
        "evaluator_versions: [ROC-AUC:1]",
        "evaluator_versions: [ROC-AUC:1]\n  eval_run_ids: [RUN-7]",
    )
    freeze(fraud_registry, write, text, "with-runs.yaml")
    two = {i.item: i.status for i in fraud_registry.bundles.reproducibility("FRAUD-2026-002").items}
    assert two["training_run"] is ItemStatus.PRESENT
    three = {
        i.item: i.status for i in fraud_registry.bundles.reproducibility("FRAUD-2026-003").items
    }
    assert three["eval_run"] is ItemStatus.PRESENT
    assert three["training_run"] is ItemStatus.PARTIAL
