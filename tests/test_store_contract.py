"""The Store contract (airel.store.contract) on SQLite and PostgreSQL alike.

Every test takes ``client`` and so runs once per backend. Writes go through
``client.ctx.store.write(fn)`` and reads through ``client.ctx.store.read()``: the same calls
every service makes. Requirements covered: B2 (frozen things never change), R1-R8 registry,
alias and lineage storage, "audit" (every mutation is audited, the chain is linked and the
head tracks it) and "concurrency" (compare-and-set on aliases, all-or-nothing writes).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa

from airel.client import Client
from airel.domain.kernel.clock import utc_now
from airel.domain.release.alias import Alias, AliasMove
from airel.domain.release.artifact import ArtifactRef, ArtifactType
from airel.domain.release.audit import GENESIS_HASH, AuditEntry, recompute, verify_entries
from airel.domain.release.bundle import FrozenBundle
from airel.domain.release.components import (
    ComponentKey,
    ComponentVersion,
    content_digest,
    text_hash,
)
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.lineage import Edge, Relation
from airel.errors import AirelError, ConflictError, Reason
from airel.store import schema
from airel.store.contract import ReadTx, Store, WriteTx
from airel.store.sql import SqlStore

POLICY = ComponentKind.POLICY
DATASET = ComponentKind.DATASET


def store_of(client: Client) -> Store:
    return client.ctx.store


def engine_of(client: Client) -> sa.Engine:
    return cast(SqlStore, client.ctx.store).engine


def policy(
    name: str, version: str, text: str = "allow\n", actor: str = "alice"
) -> ComponentVersion:
    fields = {"text": text, "text_hash": text_hash(text), "format": "text"}
    return ComponentVersion(
        kind=POLICY,
        name=name,
        version=version,
        fields=fields,
        artifact=None,
        parents=(),
        digest=content_digest(POLICY, name, version, fields, None, ()),
        created_at=utc_now(),
        created_by=actor,
    )


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


def artifact(n: int, *, tree: bool = False) -> ArtifactRef:
    return ArtifactRef(
        digest="sha256:" + f"{n:x}".rjust(64, "0"),
        type=ArtifactType.TREE if tree else ArtifactType.FILE,
        size=100 * n,
        files=3 if tree else 1,
    )


def audit(tx: WriteTx, action: str = "test.write", subject: str = "test") -> AuditEntry:
    return tx.append_audit(
        actor="alice", action=action, subject=subject, before=None, after=None, details={}
    )


def head(client: Client) -> tuple[int, str]:
    with store_of(client).read() as tx:
        return tx.audit_head()


def all_audit(client: Client) -> list[AuditEntry]:
    with store_of(client).read() as tx:
        return list(tx.iter_audit())


def table_counts(client: Client) -> dict[str, int]:
    """Row counts of every airel table (to prove a failed write left nothing behind)."""
    names = [
        "store_meta",
        "components",
        "artifacts",
        "aliases",
        "alias_moves",
        "bundles",
        "lineage_edges",
        "audit_log",
    ]
    with engine_of(client).connect() as conn:
        return {
            n: int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(schema.metadata.tables[n])
                ).scalar_one()
            )
            for n in names
        }


def new_alias(name: str, target: str, row_version: int, alias: str = "prod") -> Alias:
    return Alias(
        kind=POLICY,
        name=name,
        alias=alias,
        version=target,
        row_version=row_version,
        updated_at=utc_now(),
        updated_by="alice",
    )


def register_policies_exact(client: Client, *versions: ComponentVersion) -> None:
    def fn(tx: WriteTx) -> None:
        for v in versions:
            tx.insert_component(v)
        audit(tx, "component.register", v.key.node)

    store_of(client).write(fn)


def register_policies(client: Client, name: str, *versions: str) -> None:
    def fn(tx: WriteTx) -> None:
        for v in versions:
            tx.insert_component(policy(name, v, text=f"text of {v}\n"))
            audit(tx, "component.register", f"policy/{name}:{v}")

    store_of(client).write(fn)


# -- initialisation ------------------------------------------------------------------------


def test_init_records_store_id_and_genesis_entry(client: Client) -> None:
    """'audit': init stamps a store id and the chain starts at seq 1 from the genesis hash."""
    with store_of(client).read() as tx:
        store_id = tx.store_id()
        entries = list(tx.iter_audit())
        seq, entry_hash = tx.audit_head()
    assert len(store_id) == 36
    assert [e.action for e in entries] == ["store.init"]
    assert entries[0].seq == 1
    assert entries[0].prev_hash == GENESIS_HASH
    assert entries[0].details["store_id"] == store_id
    assert (seq, entry_hash) == (1, entries[0].entry_hash)
    assert client.init()["store_id"] == store_id  # re-init keeps the id and adds nothing
    assert head(client) == (1, entries[0].entry_hash)


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


# -- bundles (B1, B2) ---------------------------------------------------------------------


def test_bundle_insert_get_list(
    client: Client, bundle_yaml: Callable[..., str], write: Callable[[str, str], Path]
) -> None:
    """B1/B2: a frozen bundle round-trips exactly; bundles list oldest first, by use case."""
    frozen = client.bundles.create(
        write("release.yaml", bundle_yaml()), freeze=True, allow_incomplete="first release"
    ).bundle
    store = store_of(client)
    with store.read() as tx:
        assert tx.get_bundle("FRAUD-2026-001") == frozen
        assert tx.get_bundle("NOPE") is None

    other = frozen.model_copy(
        update={"release_id": "OTHER-1", "use_case_id": "OTHER-USE", "created_at": utc_now()}
    )
    third = frozen.model_copy(update={"release_id": "FRAUD-2026-003", "created_at": utc_now()})

    def fn(tx: WriteTx) -> None:
        tx.insert_bundle(other)
        tx.insert_bundle(third)
        audit(tx, "bundle.freeze")

    store.write(fn)
    with store.read() as tx:
        assert tx.get_bundle("OTHER-1") == other
        assert [b.release_id for b in tx.list_bundles()] == [
            "FRAUD-2026-001",
            "OTHER-1",
            "FRAUD-2026-003",
        ]
        assert [b.release_id for b in tx.list_bundles(use_case_id="FRAUD-SCORING")] == [
            "FRAUD-2026-001",
            "FRAUD-2026-003",
        ]
        assert [b.release_id for b in tx.list_bundles(use_case_id="OTHER-USE")] == ["OTHER-1"]
        assert tx.list_bundles(use_case_id="NONE") == []
        assert len(tx.list_bundles(limit=1)) == 1
    assert client.bundles.get("OTHER-1") == other


def test_bundle_insert_is_immutable(
    client: Client, bundle_yaml: Callable[..., str], write: Callable[[str, str], Path]
) -> None:
    """B2: inserting a bundle under an existing release id is refused; the original stays."""
    frozen: FrozenBundle = client.bundles.create(
        write("release.yaml", bundle_yaml()), freeze=True, allow_incomplete="first release"
    ).bundle
    before = head(client)
    changed = frozen.model_copy(update={"digest": "sha256:" + "f" * 64})

    def fn(tx: WriteTx) -> None:
        tx.insert_bundle(changed)
        audit(tx)

    with pytest.raises(AirelError):
        store_of(client).write(fn)
    assert client.bundles.get(frozen.release_id) == frozen
    assert head(client) == before


# -- lineage (R7) -------------------------------------------------------------------------


def test_lineage_edges_both_directions(client: Client) -> None:
    """R7: edges are found from parents (downstream) and from children (upstream)."""
    ds, fv, model, release = (
        "dataset/D:1",
        "feature_view/F:1",
        "model/M:1",
        "release/R-1",
    )
    edges = [
        Edge(parent=ds, child=fv, relation=Relation.DERIVED_FROM),
        Edge(parent=ds, child=model, relation=Relation.TRAINED_ON),
        Edge(parent=fv, child=model, relation=Relation.USES_FEATURES),
        Edge(parent=model, child=release, relation=Relation.BUNDLES),
        Edge(parent=ds, child=release, relation=Relation.BUNDLES),
    ]

    def fn(tx: WriteTx) -> None:
        tx.add_edges([*edges, edges[0]])  # a duplicate in one call is stored once
        audit(tx, "lineage.add")

    store_of(client).write(fn)

    def key(e: Edge) -> tuple[str, str, str]:
        return (e.parent, e.child, e.relation.value)

    with store_of(client).read() as tx:
        assert sorted(tx.edges_from_parents([ds]), key=key) == sorted(
            [e for e in edges if e.parent == ds], key=key
        )
        assert sorted(tx.edges_from_children([model]), key=key) == sorted(
            [e for e in edges if e.child == model], key=key
        )
        assert sorted(tx.edges_from_children([release, fv]), key=key) == sorted(
            [e for e in edges if e.child in {release, fv}], key=key
        )
        assert tx.edges_from_parents([release]) == []
        assert tx.edges_from_children([ds]) == []
        assert tx.edges_from_parents([]) == []

    # Adding only known edges is not a mutation: it needs no audit entry and changes nothing.
    before = head(client)
    store_of(client).write(lambda tx: tx.add_edges(edges))
    assert head(client) == before
    assert table_counts(client)["lineage_edges"] == len(edges)


def test_lineage_queries_cross_chunk_boundaries(client: Client) -> None:
    """R7: a walk over more than 500 nodes (one IN-list chunk) misses no edge."""
    children = [f"release/R-{i:04d}" for i in range(1203)]
    edges = [Edge(parent="model/M:1", child=c, relation=Relation.BUNDLES) for c in children]

    def fn(tx: WriteTx) -> None:
        tx.add_edges(edges)
        audit(tx, "lineage.add")

    store_of(client).write(fn)
    with store_of(client).read() as tx:
        assert len(tx.edges_from_parents(["model/M:1"])) == len(children)
        up = tx.edges_from_children(children)
    assert sorted(e.child for e in up) == children


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


# -- the audit chain ----------------------------------------------------------------------


def test_audit_append_forms_a_chain_and_head_tracks_it(client: Client) -> None:
    """'audit': seq runs 1..n, each prev_hash is the previous entry_hash, head = last entry."""
    returned: list[AuditEntry] = []
    for i in range(4):

        def fn(tx: WriteTx, i: int = i) -> None:
            returned.append(
                tx.append_audit(
                    actor=f"user{i}",
                    action="test.step",
                    subject=f"thing/{i}",
                    before=None if i == 0 else f"sha256:{i - 1:064x}",
                    after=f"sha256:{i:064x}",
                    details={"i": i, "text": "ünïcødé \u0001", "nested": {"list": [1, None]}},
                )
            )
            if i == 3:  # several entries in one transaction chain as well
                returned.append(audit(tx, "test.extra"))

        store_of(client).write(fn)

    entries = all_audit(client)
    assert [e.seq for e in entries] == list(range(1, 7))
    assert entries[0].prev_hash == GENESIS_HASH
    for prev, entry in itertools.pairwise(entries):
        assert entry.prev_hash == prev.entry_hash
    for entry in entries:
        assert recompute(entry) == entry.entry_hash
    assert entries[1:] == returned  # what append_audit returned is what was stored
    assert head(client) == (6, entries[-1].entry_hash)
    with store_of(client).read() as tx:
        assert tx.get_audit(3) == entries[2]
        assert tx.get_audit(7) is None
        assert tx.get_audit(0) is None
    count, last_seq, last_hash, problems = verify_entries(entries)
    assert (count, last_seq, last_hash, problems) == (6, 6, entries[-1].entry_hash, [])
    report = client.audit.verify()
    assert report.ok
    assert (report.entries, report.head_seq) == (6, 6)


def test_failed_write_leaves_nothing_behind(client: Client) -> None:
    """'audit'/'concurrency': a write function that raises rolls back every row and entry."""
    register_policies(client, "pol", "a")
    store = store_of(client)
    counts, before = table_counts(client), head(client)

    class Boom(Exception):
        pass

    def fn(tx: WriteTx) -> None:
        tx.insert_component(policy("pol", "b"))
        tx.put_artifact(artifact(11))
        tx.set_alias(new_alias("pol", "a", 1), expected_row_version=None)
        tx.insert_alias_move(
            AliasMove(
                kind=POLICY,
                name="pol",
                alias="prod",
                seq=1,
                from_version=None,
                to_version="a",
                at=utc_now(),
                actor="alice",
                reason=None,
            )
        )
        tx.add_edges([Edge(parent="policy/pol:a", child="release/X", relation=Relation.BUNDLES)])
        audit(tx, "test.doomed")
        assert tx.audit_head()[0] == before[0] + 1  # visible inside the transaction
        raise Boom

    with pytest.raises(Boom):
        store.write(fn)
    assert table_counts(client) == counts
    assert head(client) == before
    with store.read() as tx:
        assert tx.get_component(ComponentKey(POLICY, "pol", "b")) is None
        assert tx.get_alias(POLICY, "pol", "prod") is None
        assert tx.get_artifact(artifact(11).digest) is None
        assert tx.edges_from_children(["release/X"]) == []
        assert tx.get_audit(before[0] + 1) is None
    assert client.audit.verify().ok
    # The store is still usable afterwards, and the chain continues from the old head.
    register_policies(client, "pol", "b")
    entries = all_audit(client)
    assert entries[-1].seq == before[0] + 1
    assert entries[-1].prev_hash == before[1]


def _mutate_component(tx: WriteTx) -> None:
    tx.insert_component(policy("sneaky", "1"))


def _mutate_artifact(tx: WriteTx) -> None:
    tx.put_artifact(artifact(99))


def _mutate_alias(tx: WriteTx) -> None:
    tx.set_alias(new_alias("pol", "a", 1, alias="sneaky"), expected_row_version=None)


def _mutate_edges(tx: WriteTx) -> None:
    tx.add_edges([Edge(parent="policy/pol:a", child="release/S", relation=Relation.BUNDLES)])


def _mutate_store_id(tx: WriteTx) -> None:
    tx.set_store_id("x")  # also a duplicate key; either refusal must roll back


@pytest.mark.parametrize(
    "mutate",
    [_mutate_component, _mutate_artifact, _mutate_alias, _mutate_edges],
    ids=["component", "artifact", "alias", "edges"],
)
def test_mutation_without_audit_is_refused(
    client: Client, mutate: Callable[[WriteTx], None]
) -> None:
    """'audit': a transaction that changes state without an audit entry is not committed."""
    register_policies(client, "pol", "a")
    counts, before = table_counts(client), head(client)
    with pytest.raises(RuntimeError):
        store_of(client).write(mutate)
    assert table_counts(client) == counts
    assert head(client) == before


def test_store_id_is_set_once(client: Client) -> None:
    """'audit': the store id that binds checkpoints cannot be replaced."""
    with store_of(client).read() as tx:
        original = tx.store_id()

    def fn(tx: WriteTx) -> None:
        _mutate_store_id(tx)
        audit(tx)

    with pytest.raises(AirelError):
        store_of(client).write(fn)
    with store_of(client).read() as tx:
        assert tx.store_id() == original


def test_read_only_write_function_needs_no_audit(client: Client) -> None:
    """'audit': a write function that only reads commits without appending anything."""
    before = head(client)

    def fn(tx: WriteTx) -> int:
        return len(tx.list_components())

    assert store_of(client).write(fn) == 0
    assert head(client) == before


@pytest.mark.parametrize("total", [9, 10, 11])
def test_iter_audit_streams_in_order_across_batches(client: Client, total: int) -> None:
    """'audit': iter_audit(batch=3) yields every entry once, in seq order, at any boundary."""

    def fn(tx: WriteTx) -> None:
        for i in range(total - 1):  # plus the store.init entry
            audit(tx, "test.batch", f"thing/{i}")

    store_of(client).write(fn)
    with store_of(client).read() as tx:
        streamed = list(tx.iter_audit(batch=3))
        single = list(tx.iter_audit(batch=1))
        whole = list(tx.iter_audit())
    assert [e.seq for e in streamed] == list(range(1, total + 1))
    assert streamed == whole == single
    assert [e.subject for e in streamed[1:]] == [f"thing/{i}" for i in range(total - 1)]


def test_read_transaction_sees_committed_writes_only(client: Client) -> None:
    """'concurrency': a reader never sees a writer's uncommitted rows."""
    seen: list[ComponentVersion | None] = []
    key = ComponentKey(POLICY, "pol", "x")

    def fn(tx: WriteTx) -> None:
        tx.insert_component(policy("pol", "x"))
        audit(tx)
        with store_of(client).read() as other:  # another connection, mid-transaction
            seen.append(other.get_component(key))

    store_of(client).write(fn)
    assert seen == [None]
    with store_of(client).read() as tx:
        assert tx.get_component(key) is not None


def test_protocols_are_satisfied(client: Client) -> None:
    """The SQL implementation offers every method of the contract."""
    store = store_of(client)
    for name in ("read", "write", "close", "url"):
        assert hasattr(store, name)
    with store.read() as tx:
        reader: ReadTx = tx
        for name in ReadTx.__dict__:
            if not name.startswith("_"):
                assert callable(getattr(reader, name)), name
    writer_names = [n for n in WriteTx.__dict__ if not n.startswith("_")]
    found: list[str] = []
    store.write(lambda tx: found.extend(n for n in writer_names if callable(getattr(tx, n))))
    assert found == writer_names


class _SerializationFailure(Exception):
    """Stands in for psycopg's SerializationFailure: carries SQLSTATE 40001."""

    sqlstate = "40001"


def test_serialization_failures_are_retried(client: Client) -> None:
    """PostgreSQL 40001/40P01 restart the whole write function; only one commit lands."""
    calls: list[int] = []

    def fn(tx: WriteTx) -> int:
        calls.append(1)
        entry = tx.append_audit(
            actor="alice", action="test.retry", subject="s", before=None, after=None
        )
        if len(calls) < 3:
            raise sa.exc.OperationalError("COMMIT", {}, _SerializationFailure())
        return entry.seq

    seq = client.ctx.store.write(fn)
    assert len(calls) == 3
    with client.ctx.store.read() as tx:
        assert tx.audit_head()[0] == seq
        assert [e.action for e in tx.iter_audit()].count("test.retry") == 1
