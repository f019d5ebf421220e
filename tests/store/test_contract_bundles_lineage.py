"""The Store contract (airel.store.contract) on SQLite and PostgreSQL alike: frozen bundles
and lineage edges.

Every test takes ``client`` and so runs once per backend. Writes go through
``client.ctx.store.write(fn)`` and reads through ``client.ctx.store.read()``: the same calls
every service makes. Requirements covered: B1/B2 (bundles round-trip and never change) and
R7 lineage storage (edges found both ways, across query chunks).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airel.client import Client
from airel.domain.kernel.clock import utc_now
from airel.domain.release.bundle import FrozenBundle
from airel.domain.release.lineage import Edge, Relation
from airel.errors import AirelError
from airel.store.contract import WriteTx
from store_contract_helpers import audit, head, store_of, table_counts

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
