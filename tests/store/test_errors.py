"""Store failures become StoreErrors with stable reasons and a fix, never raw driver errors.

Covers: a SQLite writer blocked past its busy timeout (STORE_LOCKED), a read-only database
(STORE_READ_ONLY, reads still work), no store (STORE_NOT_INITIALISED), a corrupt file or an
unreachable server (STORE_UNAVAILABLE), a bad URL (CONFIG_INVALID); and the SQLite settings
that make a committed audit entry durable ('audit', 'concurrency').
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from airel.client import Client
from airel.config import load_settings
from airel.errors import Reason, StoreError
from airel.store.sql import SqlWriteTx


def make_client(project: Path, url: str, **overrides: Any) -> Client:
    return Client(
        load_settings({"database_url": url, "actor": "alice", **overrides}, cwd=project, environ={})
    )


@pytest.fixture
def sqlite_db(project: Path) -> Path:
    """An initialised SQLite store holding one policy; yields the database file."""
    db = project / ".airel" / "airel.db"
    client = make_client(project, f"sqlite:///{db}")
    client.init()
    spec = project / "p1.yaml"
    spec.write_text('kind: policy\nname: pol\nversion: "1"\ntext: "one"\n', encoding="utf-8")
    client.registry.register(spec, base_dir=project)
    client.close()
    (project / "p2.yaml").write_text(
        'kind: policy\nname: pol\nversion: "2"\ntext: "two"\n', encoding="utf-8"
    )
    return db


def raw_count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def test_locked_database_is_store_locked_and_writes_nothing(sqlite_db: Path, project: Path) -> None:
    """'concurrency': a writer blocked past busy_timeout_s gets STORE_LOCKED; no partial write."""
    entries = raw_count(sqlite_db, "SELECT count(*) FROM audit_log")
    blocker = sqlite3.connect(sqlite_db, isolation_level=None, timeout=0)
    client = make_client(project, f"sqlite:///{sqlite_db}", busy_timeout_s=0.2)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        assert [v.version for v in client.registry.components("policy")] == [
            "1"
        ]  # reads still work
        started = time.monotonic()
        with pytest.raises(StoreError) as exc:
            client.registry.register(project / "p2.yaml", base_dir=project)
        waited = time.monotonic() - started
        assert exc.value.reason == Reason.STORE_LOCKED
        assert exc.value.fix
        assert 0.15 <= waited < 5  # it waited for the lock, but not for the 30 s default
        with pytest.raises(StoreError) as exc:
            client.registry.set_alias("policy", "pol", "prod", "1")
        assert exc.value.reason == Reason.STORE_LOCKED
        blocker.execute("ROLLBACK")
        assert raw_count(sqlite_db, "SELECT count(*) FROM audit_log") == entries
        assert raw_count(sqlite_db, "SELECT count(*) FROM components") == 1
        assert raw_count(sqlite_db, "SELECT count(*) FROM aliases") == 0
        # Once the lock is gone the same client writes normally.
        assert client.registry.register(project / "p2.yaml", base_dir=project).created
        assert client.audit.verify().ok
    finally:
        blocker.close()
        client.close()


def test_read_only_database_refuses_writes_but_reads(sqlite_db: Path, project: Path) -> None:
    """A database opened read-only (mode=ro) gives STORE_READ_ONLY on write; reads work."""
    entries = raw_count(sqlite_db, "SELECT count(*) FROM audit_log")
    client = make_client(project, f"sqlite:///file:{sqlite_db}?mode=ro&uri=true")
    try:
        assert [v.version for v in client.registry.components("policy")] == ["1"]
        assert client.audit.verify().ok
        for write in (
            lambda: client.registry.register(project / "p2.yaml", base_dir=project),
            lambda: client.registry.set_alias("policy", "pol", "prod", "1"),
        ):
            with pytest.raises(StoreError) as exc:
                write()
            assert exc.value.reason == Reason.STORE_READ_ONLY
        assert client.registry.component("policy", "pol:1").version == "1"
        # init on an initialised store has nothing to write, so it succeeds read-only.
        assert client.init()["schema_before"] is not None
    finally:
        client.close()
    assert raw_count(sqlite_db, "SELECT count(*) FROM audit_log") == entries
    assert raw_count(sqlite_db, "SELECT count(*) FROM components") == 1


def test_uninitialised_directory_is_not_initialised(project: Path) -> None:
    """No .airel store here: STORE_NOT_INITIALISED, and nothing is created by asking."""
    client = make_client(project, f"sqlite:///{project / '.airel' / 'airel.db'}")
    try:
        calls: list[Callable[[], object]] = [
            client.components,
            client.verify_audit,
            lambda: client.registry.set_alias("policy", "pol", "prod", "1"),
        ]
        for call in calls:
            with pytest.raises(StoreError) as exc:
                call()
            assert exc.value.reason == Reason.STORE_NOT_INITIALISED
    finally:
        client.close()
    assert not (project / ".airel").exists()


def test_empty_database_is_not_initialised(database_url: str, project: Path) -> None:
    """An existing but empty database (SQLite file or PostgreSQL schema) has no airel store."""
    if database_url.startswith("sqlite"):
        db = project / ".airel" / "airel.db"
        db.parent.mkdir()
        sqlite3.connect(db).close()  # a valid, empty SQLite file
        assert db.exists()
    client = make_client(project, database_url)
    try:
        with pytest.raises(StoreError) as exc:
            client.registry.components()
        assert exc.value.reason == Reason.STORE_NOT_INITIALISED
    finally:
        client.close()


@pytest.mark.parametrize("size", [100, 8192])
def test_corrupt_file_is_unavailable(project: Path, size: int) -> None:
    """Random bytes where the database should be: STORE_UNAVAILABLE (also for init)."""
    db = project / ".airel" / "airel.db"
    db.parent.mkdir()
    garbage = hashlib.shake_256(b"not a database").digest(size)
    db.write_bytes(garbage)
    client = make_client(project, f"sqlite:///{db}")
    try:
        for call in (client.components, client.init, client.verify_audit):
            with pytest.raises(StoreError) as exc:
                call()
            assert exc.value.reason == Reason.STORE_UNAVAILABLE
    finally:
        client.close()
    assert db.read_bytes() == garbage  # never "repaired" by overwriting


def test_unreachable_postgres_is_unavailable(project: Path) -> None:
    """Nothing listens on 127.0.0.1:1: STORE_UNAVAILABLE, quickly, with the password hidden."""
    url = "postgresql+psycopg://airel:s3cret@127.0.0.1:1/airel"
    client = make_client(project, url)
    try:
        for call in (client.components, client.init):
            started = time.monotonic()
            with pytest.raises(StoreError) as exc:
                call()
            assert exc.value.reason == Reason.STORE_UNAVAILABLE
            assert time.monotonic() - started < 10
            assert "s3cret" not in str(exc.value)
    finally:
        client.close()


@pytest.mark.parametrize(
    "url",
    ["not a url", "://nohost", "mysql://user@localhost/db", "oracle+cx://x/y"],
)
def test_invalid_url_is_config_invalid(project: Path, url: str) -> None:
    """A database URL airel cannot use is CONFIG_INVALID, before anything is touched."""
    client = make_client(project, url)
    try:
        for call in (client.components, client.init):
            with pytest.raises(StoreError) as exc:
                call()
            assert exc.value.reason == Reason.CONFIG_INVALID
    finally:
        client.close()


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_invalid_busy_timeout_is_config_invalid(project: Path, value: str) -> None:
    """busy_timeout_s must be a positive number."""
    with pytest.raises(StoreError) as exc:
        load_settings({"busy_timeout_s": value}, cwd=project, environ={})
    assert exc.value.reason == Reason.CONFIG_INVALID


def test_sqlite_write_connection_pragmas(sqlite_db: Path, project: Path) -> None:
    """'audit': WAL journal, synchronous=FULL, foreign keys on, busy timeout as configured."""
    client = make_client(project, f"sqlite:///{sqlite_db}", busy_timeout_s=1.5)
    try:

        def pragmas(tx: Any) -> dict[str, Any]:
            conn = cast(SqlWriteTx, tx).conn
            return {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }

        found = client.ctx.store.write(pragmas)
    finally:
        client.close()
    assert found == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": 1500,
    }


def test_sqlite_write_transaction_takes_the_write_lock_at_begin(
    sqlite_db: Path, project: Path
) -> None:
    """'concurrency': a write transaction holds the lock from its first statement
    (BEGIN IMMEDIATE), so no two writers both read and then write."""
    client = make_client(project, f"sqlite:///{sqlite_db}")
    outcome: list[str] = []
    try:

        def probe(tx: Any) -> None:
            other = sqlite3.connect(sqlite_db, isolation_level=None, timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")
                outcome.append("acquired")
                other.execute("ROLLBACK")
            except sqlite3.OperationalError as exc:
                outcome.append("locked" if "locked" in str(exc) else str(exc))
            finally:
                other.close()

        client.ctx.store.write(probe)
        with client.ctx.store.read():  # a reader does not take it
            probe(None)
    finally:
        client.close()
    assert outcome == ["locked", "acquired"]
