"""The Store contract (airel.store.contract) on SQLite and PostgreSQL alike: components,
aliases and artifacts.

Every test takes ``client`` and so runs once per backend. Writes go through
``client.ctx.store.write(fn)`` and reads through ``client.ctx.store.read()``: the same calls
every service makes. Requirements covered: B2 (frozen things never change), R1-R5 registry
and alias storage, and "concurrency" (compare-and-set on aliases).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airel.client import Client
from airel.domain.kernel.clock import utc_now
from airel.domain.release.alias import AliasMove
from airel.domain.release.artifact import ArtifactRef, ArtifactType
from airel.domain.release.components import ComponentKey, ComponentVersion, content_digest
from airel.domain.release.kinds import ComponentKind
from airel.errors import AirelError, ConflictError, Reason
from airel.store.contract import WriteTx
from store_contract_helpers import (
    POLICY,
    all_audit,
    artifact,
    audit,
    head,
    new_alias,
    policy,
    register_policies,
    store_of,
)

DATASET = ComponentKind.DATASET


def dataset(name: str, version: str, artifact: ArtifactRef | None = None) -> ComponentVersion:
    fields = {"owner": "data-team", "row_count": 2}
    return ComponentVersion(
        kind=DATASET,
        name=name,
        version=version,
        fields=fields,
        artifact=artifact,
        parents=(),
        digest=content_digest(DATASET, name, version, fields, artifact, ()),
        created_at=utc_now(),
        created_by="alice",
    )


def register_policies_exact(client: Client, *versions: ComponentVersion) -> None:
    def fn(tx: WriteTx) -> None:
        for v in versions:
            tx.insert_component(v)
        audit(tx, "component.register", v.key.node)

    store_of(client).write(fn)


# -- components (R1-R4, B2) ---------------------------------------------------------------


def test_component_insert_get_list(client: Client) -> None:
    """R1-R4: versions are stored field-for-field and listed by kind, oldest version first."""
    blob = artifact(7)
    p1 = policy("fraud-policy", "1.0", text="decline if score >= 0.9\n")
    p2 = policy("fraud-policy", "1.1", text="decline if score >= 0.95\nüñí\n")
    other = policy("other-policy", "1")
    ds = dataset("FRAUD-TRAIN", "1", artifact=blob)

    def fn(tx: WriteTx) -> None:
        assert tx.put_artifact(blob)
        for v in (p1, p2, other, ds):
            tx.insert_component(v)
        audit(tx, "component.register")

    store_of(client).write(fn)

    with store_of(client).read() as tx:
        assert tx.get_component(p1.key) == p1
        assert tx.get_component(p2.key) == p2
        assert tx.get_component(ds.key) == ds
        got = tx.get_component(ds.key)
        assert got is not None
        assert got.artifact == blob
        assert tx.get_component(ComponentKey(POLICY, "fraud-policy", "9.9")) is None
        assert tx.get_component(ComponentKey(DATASET, "fraud-policy", "1.0")) is None
        assert [v.version for v in tx.component_versions(POLICY, "fraud-policy")] == [
            "1.0",
            "1.1",
        ]
        assert tx.component_versions(DATASET, "fraud-policy") == []
        assert {v.key for v in tx.list_components(POLICY)} == {p1.key, p2.key, other.key}
        assert [v.key for v in tx.list_components(DATASET)] == [ds.key]
        everything = tx.list_components()
        assert {v.key for v in everything} == {p1.key, p2.key, other.key, ds.key}
        assert len(tx.list_components(limit=2)) == 2
    # The SDK reads the same rows.
    assert client.registry.component("policy", "fraud-policy:1.1") == p2
    assert len(client.registry.components("policy")) == 3


def test_component_insert_is_immutable(client: Client) -> None:
    """B2: a second insert of an existing (kind, name, version) is refused; the first stays."""
    original = policy("fraud-policy", "1.0", text="original\n")
    register_policies_exact(client, original)
    before = head(client)
    changed = policy("fraud-policy", "1.0", text="changed\n")

    def fn(tx: WriteTx) -> None:
        tx.insert_component(changed)
        audit(tx)

    with pytest.raises(AirelError):
        store_of(client).write(fn)
    with store_of(client).read() as tx:
        assert tx.get_component(original.key) == original
    assert head(client) == before


def test_registering_different_content_under_same_version_conflicts(
    client: Client, write: Callable[[str, str], Path], project: Path
) -> None:
    """B2 via the SDK: same name+version with other content is VERSION_CONFLICT, nothing kept."""
    spec = write("p.yaml", 'kind: policy\nname: pol\nversion: "1"\ntext: "one"\n')
    first = client.registry.register(spec, base_dir=project)
    assert first.created
    again = client.registry.register(spec, base_dir=project)
    assert not again.created
    assert again.component == first.component
    before = head(client)
    write("p.yaml", 'kind: policy\nname: pol\nversion: "1"\ntext: "two"\n')
    with pytest.raises(ConflictError) as exc:
        client.registry.register(spec, base_dir=project)
    assert exc.value.reason == Reason.VERSION_CONFLICT
    assert client.registry.component("policy", "pol:1") == first.component
    assert head(client) == before


# -- aliases (R5, concurrency) ------------------------------------------------------------


def test_alias_create_and_cas_move_through_write_tx(client: Client) -> None:
    """'concurrency': WriteTx.set_alias creates with None and moves only from the stored row."""
    register_policies(client, "pol", "a", "b")
    store = store_of(client)

    def create(tx: WriteTx) -> None:
        tx.set_alias(new_alias("pol", "a", 1), expected_row_version=None)
        audit(tx, "alias.set")

    store.write(create)
    with store.read() as tx:
        got = tx.get_alias(POLICY, "pol", "prod")
    assert got is not None
    assert (got.version, got.row_version) == ("a", 1)

    # Creating it again (expected None) loses: it exists.
    with pytest.raises(ConflictError) as exc:
        store.write(create)
    assert exc.value.reason == Reason.STALE_VERSION

    def move(target: str, row: int, expected: int) -> Callable[[WriteTx], None]:
        def fn(tx: WriteTx) -> None:
            tx.set_alias(new_alias("pol", target, row), expected_row_version=expected)
            audit(tx, "alias.set")

        return fn

    store.write(move("b", 2, 1))
    before = head(client)
    for stale in (1, 0, 3, 99):
        with pytest.raises(ConflictError) as exc:
            store.write(move("a", stale + 1, stale))
        assert exc.value.reason == Reason.STALE_VERSION
        assert exc.value.details["expected_row_version"] == stale
    with store.read() as tx:
        got = tx.get_alias(POLICY, "pol", "prod")
    assert got is not None
    assert (got.version, got.row_version) == ("b", 2)
    assert head(client) == before  # losers wrote nothing, not even an audit entry

    # Moving a missing alias with an expected row version is stale too.
    def ghost(tx: WriteTx) -> None:
        tx.set_alias(new_alias("pol", "a", 2, alias="ghost"), expected_row_version=1)
        audit(tx)

    with pytest.raises(ConflictError) as exc:
        store.write(ghost)
    assert exc.value.reason == Reason.STALE_VERSION
    with store.read() as tx:
        assert tx.get_alias(POLICY, "pol", "ghost") is None
        assert [a.alias for a in tx.list_aliases(POLICY, "pol")] == ["prod"]


def test_alias_cas_through_client(client: Client) -> None:
    """R5 + 'concurrency': set_alias(expected_row_version=...) wins only on the current row."""
    register_policies(client, "pol", "a", "b", "c")
    alias, moved = client.registry.set_alias("policy", "pol", "prod", "a", expected_row_version=0)
    assert moved
    assert (alias.version, alias.row_version) == ("a", 1)

    with pytest.raises(ConflictError) as exc:  # 0 = "must not exist yet"
        client.registry.set_alias("policy", "pol", "prod", "b", expected_row_version=0)
    assert exc.value.reason == Reason.STALE_VERSION

    alias, moved = client.registry.set_alias("policy", "pol", "prod", "b", expected_row_version=1)
    assert moved
    assert alias.row_version == 2
    before = head(client)
    for stale in (1, 3):
        with pytest.raises(ConflictError) as exc:
            client.registry.set_alias("policy", "pol", "prod", "c", expected_row_version=stale)
        assert exc.value.reason == Reason.STALE_VERSION
    assert head(client) == before
    assert client.registry.component("policy", "pol@prod").version == "b"

    # A move to the current target is a no-op: no new row version, no history, no audit.
    alias, moved = client.registry.set_alias("policy", "pol", "prod", "b", expected_row_version=2)
    assert not moved
    assert alias.row_version == 2
    assert head(client) == before

    # Without an expected version the move is unconditional (still serialised).
    alias, moved = client.registry.set_alias("policy", "pol", "prod", "c", reason="hotfix")
    assert moved
    assert alias.row_version == 3
    assert head(client)[0] == before[0] + 1


def test_alias_history_is_kept_in_full(client: Client) -> None:
    """R5: every move is kept, seq = row version, each from_version is the previous target."""
    register_policies(client, "pol", "a", "b", "c")
    targets = ["a", "b", "a", "c", "b", "a"]
    for i, target in enumerate(targets):
        client.registry.set_alias("policy", "pol", "prod", target, reason=f"move {i}")
    client.registry.set_alias("policy", "pol", "canary", "c")

    history = client.registry.alias_history("policy", "pol", "prod")
    assert [m.seq for m in history] == list(range(1, len(targets) + 1))
    assert [m.to_version for m in history] == targets
    assert [m.from_version for m in history] == [None, *targets[:-1]]
    assert [m.reason for m in history] == [f"move {i}" for i in range(len(targets))]
    assert {m.actor for m in history} == {"alice"}
    with store_of(client).read() as tx:
        assert tx.alias_history(POLICY, "pol", "prod") == history
        assert [m.to_version for m in tx.alias_history(POLICY, "pol", "canary")] == ["c"]
        assert tx.alias_history(POLICY, "pol", "nope") == []
        assert [a.alias for a in tx.list_aliases(POLICY, "pol")] == ["canary", "prod"]
        prod = tx.get_alias(POLICY, "pol", "prod")
    assert prod is not None
    assert prod.row_version == len(targets)
    alias_entries = [e for e in all_audit(client) if e.action == "alias.set"]
    assert len(alias_entries) == len(targets) + 1


def test_alias_move_rows_are_unique_per_seq(client: Client) -> None:
    """R5: a history row for an existing seq is refused (history is append-only)."""
    register_policies(client, "pol", "a", "b")
    client.registry.set_alias("policy", "pol", "prod", "a")
    before = head(client)
    forged = AliasMove(
        kind=POLICY,
        name="pol",
        alias="prod",
        seq=1,
        from_version=None,
        to_version="b",
        at=utc_now(),
        actor="mallory",
        reason=None,
    )

    def fn(tx: WriteTx) -> None:
        tx.insert_alias_move(forged)
        audit(tx)

    with pytest.raises(AirelError):
        store_of(client).write(fn)
    assert [m.to_version for m in client.registry.alias_history("policy", "pol", "prod")] == ["a"]
    assert head(client) == before


# -- artifacts (R1, R2) -------------------------------------------------------------------


def test_artifacts_put_get_list(client: Client) -> None:
    """R1/R2: an artifact is recorded once; a repeat put reports False and is not a mutation."""
    file_ref, tree_ref = artifact(3), artifact(2, tree=True)

    def fn(tx: WriteTx) -> tuple[bool, bool, bool]:
        results = (tx.put_artifact(file_ref), tx.put_artifact(tree_ref), tx.put_artifact(file_ref))
        audit(tx, "artifact.put")
        return results

    assert store_of(client).write(fn) == (True, True, False)
    before = head(client)
    assert store_of(client).write(lambda tx: tx.put_artifact(tree_ref)) is False
    assert head(client) == before  # nothing changed, so nothing to audit
    with store_of(client).read() as tx:
        assert tx.get_artifact(file_ref.digest) == file_ref
        assert tx.get_artifact(tree_ref.digest) == tree_ref
        assert tx.get_artifact("sha256:" + "e" * 64) is None
        assert tx.list_artifacts() == [tree_ref, file_ref]  # sorted by digest
    assert client.registry.artifacts() == [tree_ref, file_ref]


def test_large_artifact_sizes_round_trip(client: Client) -> None:
    """R1: sizes beyond 2**31 (BigInteger) survive on both backends."""
    big = ArtifactRef(digest="sha256:" + "b" * 64, type=ArtifactType.FILE, size=5 * 2**32, files=1)
    store_of(client).write(lambda tx: (tx.put_artifact(big), audit(tx)))
    with store_of(client).read() as tx:
        assert tx.get_artifact(big.digest) == big
