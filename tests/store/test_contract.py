"""The Store contract (airel.store.contract) on SQLite and PostgreSQL alike: initialisation,
the audit chain and transactions.

Every test takes ``client`` and so runs once per backend. Writes go through
``client.ctx.store.write(fn)`` and reads through ``client.ctx.store.read()``: the same calls
every service makes. Requirements covered: "audit" (every mutation is audited, the chain is
linked and the head tracks it) and "concurrency" (all-or-nothing writes, readers see only
committed rows, serialization failures are retried). Components, aliases and artifacts are in
test_contract_registry.py; bundles and lineage in test_contract_bundles_lineage.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from airel.client import Client
from airel.domain.kernel.clock import utc_now
from airel.domain.release.alias import AliasMove
from airel.domain.release.audit import GENESIS_HASH, AuditEntry, recompute, verify_entries
from airel.domain.release.components import ComponentKey, ComponentVersion
from airel.domain.release.lineage import Edge, Relation
from airel.errors import AirelError
from airel.store.contract import ReadTx, WriteTx
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
    table_counts,
)

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
