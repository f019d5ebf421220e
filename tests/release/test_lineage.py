"""References between components and lineage through the SDK (R7), on SQLite and PostgreSQL.

A parent reference (``name:version``, a bare name, ``name@alias``) is resolved and pinned when
the child is registered, and is never left dangling; lineage walks the resulting graph
downstream and upstream (releases included, rollback edges not walked through) and exports it
as OpenLineage events. Assertions use reason codes and structured details, never message text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airel.client import Client
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.lineage import Relation
from airel.errors import NotFoundError, Reason
from registry_helpers import (
    SPECS,
    Write,
    blobs,
    files_fixture,  # noqa: F401  (the pytest fixture ``files``)
    model_spec,
    register,
    register_kind,
)

OK = "lineage under test, not completeness"  # --allow-incomplete reason


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
