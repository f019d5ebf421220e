"""Schema migrations (airel.store.migrate): the migrations build exactly airel.store.schema on
both backends, re-running them is a no-op, a store from another airel version is refused with
the right reason, and a store written by airel 0.1.0 still upgrades and reads back intact.

Requirements: 'audit' (the chain survives upgrades), B2 (frozen bundles keep their digest),
R1-R5 (registered versions and alias history survive upgrades).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from airel.client import Client
from airel.config import load_settings
from airel.domain.release.bundle import frozen_digest
from airel.domain.release.components import content_digest
from airel.errors import Reason, StoreError
from airel.store import migrate, schema
from airel.store.migrations import HEAD
from airel.store.sql import SqlStore

COMPAT_DB = Path(__file__).parents[1] / "compat" / "airel-0.1.0.db"


def engine(client: Client) -> sa.Engine:
    return cast(SqlStore, client.ctx.store).engine


def fresh_client(url: str, project: Path) -> Client:
    return Client(load_settings({"database_url": url, "actor": "alice"}, cwd=project, environ={}))


def raw_revision(url: str) -> str | None:
    """The alembic revision read with a plain engine (no airel checks)."""
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return migrate.current_revision(eng)
    finally:
        eng.dispose()


def snapshot(eng: sa.Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability), primary keys and indexes of the live schema."""
    inspector = sa.inspect(eng)
    out: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        out[table] = {
            "columns": [
                (c["name"], type(c["type"]).__name__, c["nullable"])
                for c in inspector.get_columns(table)
            ],
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
                if not i.get("duplicates_constraint")  # PostgreSQL: a unique constraint's index
            ),
        }
    return out


def test_script_head_is_the_declared_head() -> None:
    """The HEAD constant names the newest migration script."""
    assert migrate.script_head() == HEAD


def test_migrated_schema_matches_metadata(client: Client) -> None:
    """The migrations create exactly the tables, columns, keys and indexes of schema.py."""
    eng = engine(client)
    with eng.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, schema.metadata)
    assert diff == []

    live = snapshot(eng)
    assert set(live) == {*schema.metadata.tables, "alembic_version"}
    for name, table in schema.metadata.tables.items():
        assert [c[0] for c in live[name]["columns"]] == [c.name for c in table.columns], name
        assert [c[2] for c in live[name]["columns"]] == [c.nullable for c in table.columns], name
        assert live[name]["pk"] == [c.name for c in table.primary_key.columns], name
        expected_indexes = sorted(
            (i.name, tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes
        )
        assert live[name]["indexes"] == expected_indexes, name
    # Spot-check types that matter: 64-bit seq and sizes, unbounded text for JSON.
    columns = {c["name"]: c["type"] for c in sa.inspect(eng).get_columns("audit_log")}
    assert isinstance(columns["seq"], sa.BigInteger)
    assert isinstance(columns["details_json"], sa.Text)
    sizes = {c["name"]: c["type"] for c in sa.inspect(eng).get_columns("artifacts")}
    assert isinstance(sizes["size"], sa.BigInteger)


def test_upgrade_twice_is_a_no_op(client: Client) -> None:
    """Re-running the migrations (and init) changes neither schema nor data."""
    eng = engine(client)
    schema_before = snapshot(eng)
    with client.ctx.store.read() as tx:
        head_before, store_id = tx.audit_head(), tx.store_id()
    assert client.upgrade() == (HEAD, HEAD)
    assert client.upgrade() == (HEAD, HEAD)
    info = client.init()
    assert info["store_id"] == store_id
    assert info["schema_before"] == HEAD
    assert snapshot(eng) == schema_before
    with eng.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
    with client.ctx.store.read() as tx:
        assert tx.audit_head() == head_before
    assert migrate.current_revision(eng) == HEAD


def test_init_on_an_empty_database_reports_no_previous_schema(
    database_url: str, project: Path
) -> None:
    """A new store starts from no revision and ends at HEAD."""
    client = fresh_client(database_url, project)
    try:
        info = client.init()
        assert (info["schema_before"], info["schema"]) == (None, HEAD)
        assert migrate.current_revision(engine(client)) == HEAD
    finally:
        client.close()


def test_store_from_a_newer_airel_is_refused(
    client: Client, database_url: str, project: Path
) -> None:
    """A schema revision this airel does not know is STORE_SCHEMA_NEWER, even for upgrade."""
    with engine(client).begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    client.close()
    newer = fresh_client(database_url, project)
    try:
        for call in (newer.components, newer.verify_audit, newer.upgrade, newer.init):
            with pytest.raises(StoreError) as exc:
                call()
            assert exc.value.reason == Reason.STORE_SCHEMA_NEWER, call
        assert raw_revision(database_url) == "9999_future"  # left untouched
    finally:
        newer.close()


def test_store_at_an_older_revision_is_outdated(
    client: Client, database_url: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A known but older revision is STORE_SCHEMA_OUTDATED (pretend a newer HEAD exists)."""
    monkeypatch.setattr(migrate, "HEAD", "0002_pretend_next")
    client.close()
    older = fresh_client(database_url, project)
    try:
        with pytest.raises(StoreError) as exc:
            older.registry.components()
        assert exc.value.reason == Reason.STORE_SCHEMA_OUTDATED
    finally:
        older.close()


@pytest.mark.parametrize("how", ["delete-row", "drop-table"])
def test_store_without_a_version_record_is_not_initialised(
    client: Client, database_url: str, project: Path, how: str
) -> None:
    """No alembic_version row (or table) means no airel store: STORE_NOT_INITIALISED."""
    statement = (
        "DELETE FROM alembic_version" if how == "delete-row" else "DROP TABLE alembic_version"
    )
    with engine(client).begin() as conn:
        conn.execute(sa.text(statement))
    client.close()
    bare = fresh_client(database_url, project)
    try:
        with pytest.raises(StoreError) as exc:
            bare.registry.components()
        assert exc.value.reason == Reason.STORE_NOT_INITIALISED
    finally:
        bare.close()


# -- compatibility with stores written by airel 0.1.0 -------------------------------------


@pytest.fixture
def compat_client(tmp_path: Path) -> Any:
    home = tmp_path / "compat"
    (home / ".airel").mkdir(parents=True)
    db = home / ".airel" / "airel.db"
    shutil.copyfile(COMPAT_DB, db)
    client = Client(
        load_settings({"database_url": f"sqlite:///{db}", "actor": "carol"}, cwd=home, environ={})
    )
    yield client
    client.close()


def test_compat_fixture_is_small_and_at_the_first_schema() -> None:
    """The committed 0.1.0 store is a small SQLite file at revision 0001_initial."""
    assert COMPAT_DB.stat().st_size < 64 * 1024
    assert COMPAT_DB.read_bytes()[:16] == b"SQLite format 3\x00"
    assert raw_revision(f"sqlite:///file:{COMPAT_DB}?mode=ro&uri=true") == "0001_initial"


def test_store_written_by_0_1_0_upgrades_and_reads_back(compat_client: Client) -> None:
    """'audit', B2, R1-R5: a 0.1.0 store upgrades to HEAD and every record survives intact."""
    client = compat_client
    assert client.upgrade() == ("0001_initial", HEAD)

    versions = client.registry.components()
    assert sorted((v.kind.value, v.name, v.version) for v in versions) == [
        ("policy", "fraud-threshold-policy", "1.0"),
        ("policy", "fraud-threshold-policy", "1.1"),
        ("prompt", "support-system-prompt", "3"),
    ]
    for v in versions:  # stored fields still hash to the stored digest
        assert v.digest == content_digest(
            v.kind, v.name, v.version, v.fields, v.artifact, v.parents
        )
    prompt = client.registry.component("prompt", "support-system-prompt:3")
    assert "ünïcødé" in (prompt.text() or "")
    assert client.registry.component("policy", "fraud-threshold-policy@production").version == "1.1"

    history = client.registry.alias_history("policy", "fraud-threshold-policy", "production")
    assert [(m.seq, m.from_version, m.to_version) for m in history] == [
        (1, None, "1.0"),
        (2, "1.0", "1.1"),
    ]
    assert history[1].reason == "tighten"

    bundle = client.bundles.get("COMPAT-2026-001")
    assert bundle.digest == frozen_digest(bundle.bundle_spec(), bundle.resolutions)
    assert {r.node for r in bundle.resolutions} == {
        "prompt/support-system-prompt:3",
        "policy/fraud-threshold-policy:1.1",
    }
    assert [b.release_id for b in client.bundles.list()] == ["COMPAT-2026-001"]
    assert client.bundles.verify("COMPAT-2026-001").ok
    upstream = client.registry.lineage("release/COMPAT-2026-001")
    assert "policy/fraud-threshold-policy:1.1" in upstream.nodes

    report = client.audit.verify()
    assert report.ok, (report.problems, report.record_problems)
    # 7 written by 0.1.0, then the audited schema migration and the baseline that vouches for
    # the records 0.1.0 wrote (issue 18: every live record is bound to the chain)
    assert report.entries == 9
    assert report.records_checked is not None
    assert report.records_checked > 0
    with client.ctx.store.read() as tx:
        actions = [e.action for e in tx.iter_audit()]
    assert actions == [
        "store.init",
        "component.register",
        "component.register",
        "component.register",
        "alias.set",
        "alias.set",
        "bundle.freeze",
        "store.migrate",
        "audit.baseline",
    ]

    # The upgraded store keeps working: a new move extends the old chain.
    client.registry.set_alias("policy", "fraud-threshold-policy", "production", "1.0")
    report = client.audit.verify()
    assert report.ok
    assert report.entries == 10


def test_schema_changes_are_audited(client: Client) -> None:
    """Creating the store is an audited state change; a no-op upgrade writes nothing."""
    report = client.audit.verify()
    with client.ctx.store.read() as tx:
        actions = [e.action for e in tx.iter_audit()]
    assert actions == ["store.init"]
    client.upgrade()
    assert client.audit.verify().entries == report.entries
