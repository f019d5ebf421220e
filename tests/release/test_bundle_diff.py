"""Diffing frozen release bundles (B4), both backends.

Changed, added, removed and unchanged components, a bundle against itself, content changed
behind the same reference text (a moved alias), and an unknown release.

Built on the ``fraud_registry`` fixture (dataset, feature view, policies, eval set, evaluator,
models 1.0.0 and 2.0.0) and ``bundle_yaml`` (a classifier bundle over it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airel.client import Client
from airel.domain.release.bundle import ChangeType, ComponentChange
from airel.errors import NotFoundError, Reason
from bundle_helpers import (
    POLICY_11,
    RELEASE,
    Render,
    Write,
    freeze,
    model_digest,
    register,
    replace_once,
)


def by_component(changes: list[ComponentChange]) -> dict[str, ComponentChange]:
    return {c.component: c for c in changes}


# -- diff (B4) ----------------------------------------------------------------------------


def test_diff_bundles(fraud_registry: Client, bundle_yaml: Render, write: Write) -> None:
    """B4: model version and artifact changed, rollback target added, the rest unchanged."""
    freeze(fraud_registry, write, bundle_yaml(), "v1.yaml")
    freeze(fraud_registry, write, bundle_yaml("FRAUD-2026-002", "2.0.0", RELEASE), "v2.yaml")
    changes = by_component(fraud_registry.bundles.diff(RELEASE, "FRAUD-2026-002"))
    assert "release_id" not in changes
    version = changes["model.model_version"]
    assert (version.change, version.old, version.new) == (ChangeType.CHANGED, "1.0.0", "2.0.0")
    artifact = changes["model.artifact_hash"]
    assert artifact.change is ChangeType.CHANGED
    assert (artifact.old, artifact.new) == (
        model_digest(fraud_registry),
        model_digest(fraud_registry, "2.0.0"),
    )
    rollback = changes["deployment.rollback_target"]
    assert (rollback.change, rollback.old, rollback.new) == (ChangeType.ADDED, None, RELEASE)
    data = changes["data.training_snapshot"]
    assert data.change is ChangeType.UNCHANGED
    assert (
        data.old_digest
        == data.new_digest
        == fraud_registry.registry.component("dataset", "FRAUD-TRAIN:1").digest
    )
    changed = {k for k, c in changes.items() if c.change is not ChangeType.UNCHANGED}
    assert changed == {"model.model_version", "model.artifact_hash", "deployment.rollback_target"}
    backwards = by_component(fraud_registry.bundles.diff("FRAUD-2026-002", RELEASE))
    assert backwards["deployment.rollback_target"].change is ChangeType.REMOVED


def test_diff_of_a_bundle_with_itself(
    fraud_registry: Client, bundle_yaml: Render, write: Write
) -> None:
    """B4: nothing changes between a release and itself."""
    freeze(fraud_registry, write, bundle_yaml())
    changes = fraud_registry.bundles.diff(RELEASE, RELEASE)
    assert changes
    assert {c.change for c in changes} == {ChangeType.UNCHANGED}


GOLDEN_3 = """
    kind: eval_dataset
    name: FRAUD-GOLDEN
    version: "3"
    role: golden
    row_count: 1
    derived_from: ["FRAUD-TRAIN:1"]
    artifact: data/golden3.csv
"""


def test_diff_shows_content_changed_behind_the_same_name(
    fraud_registry: Client, bundle_yaml: Render, write: Write, project: Path
) -> None:
    """B4: the same reference text resolving to other content (a moved alias) is CHANGED.

    Bundles name models by id and version only, so the moved aliases here are the decision
    policy's and the golden set's (`name@production`).
    """
    client = fraud_registry
    register(client, write, "policy11", POLICY_11)
    (project / "data" / "golden3.csv").write_text("amount,label\n7.0,1\n")
    register(client, write, "golden3", GOLDEN_3)
    client.registry.set_alias("policy", "fraud-threshold-policy", "production", "1.0")
    client.registry.set_alias("eval_dataset", "FRAUD-GOLDEN", "production", "2")

    def render(release_id: str) -> str:
        text = replace_once(
            bundle_yaml(release_id),
            "decision_policy: fraud-threshold-policy:1.0",
            "decision_policy: fraud-threshold-policy@production",
        )
        return replace_once(text, "[FRAUD-GOLDEN:2]", "[FRAUD-GOLDEN@production]")

    freeze(client, write, render(RELEASE), "v1.yaml")
    client.registry.set_alias("policy", "fraud-threshold-policy", "production", "1.1")
    client.registry.set_alias("eval_dataset", "FRAUD-GOLDEN", "production", "3")
    freeze(client, write, render("FRAUD-2026-002"), "v2.yaml")
    changes = by_component(client.bundles.diff(RELEASE, "FRAUD-2026-002"))
    policy = changes["prompt_policy.decision_policy"]
    assert policy.change is ChangeType.CHANGED
    assert policy.old == policy.new == "fraud-threshold-policy@production"
    assert (
        policy.old_digest
        == client.registry.component("policy", "fraud-threshold-policy:1.0").digest
    )
    assert (
        policy.new_digest
        == client.registry.component("policy", "fraud-threshold-policy:1.1").digest
    )
    golden = changes["eval.dataset_versions"]
    assert golden.change is ChangeType.CHANGED
    assert golden.old == golden.new == ["FRAUD-GOLDEN@production"]
    assert golden.old_digest is not None
    assert golden.new_digest is not None
    assert golden.old_digest != golden.new_digest
    assert changes["features.feature_view"].change is ChangeType.UNCHANGED


def test_diff_unknown_release(fraud_registry: Client, bundle_yaml: Render, write: Write) -> None:
    """B4: diffing against a release that does not exist is RELEASE_NOT_FOUND."""
    freeze(fraud_registry, write, bundle_yaml())
    with pytest.raises(NotFoundError) as info:
        fraud_registry.bundles.diff(RELEASE, "FRAUD-2099-001")
    assert info.value.reason is Reason.RELEASE_NOT_FOUND
