"""Dialect quirks, kept thin: engine set-up for SQLite and PostgreSQL, and error translation.

SQLite (the embedded default): WAL journal, ``synchronous=FULL`` so a committed audit entry
survives power loss, ``foreign_keys=ON``, a busy timeout, and write transactions opened with
``BEGIN IMMEDIATE`` so two writers never both read-then-write (pysqlite's own implicit
transactions are switched off). PostgreSQL: psycopg 3, READ COMMITTED plus a row lock on the
audit head as the global write lock; serialization failures and deadlocks are retried.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from airel.errors import AirelError, ConflictError, Reason, StoreError

WRITE_OPTION = "airel_write"
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def is_sqlite(url: str) -> bool:
    """True for ``sqlite://`` URLs."""
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory)."""
    parsed = sa.engine.make_url(url)
    database = parsed.database
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        database = database[5:].split("?")[0]
    return Path(database)


def create_engine(url: str, *, busy_timeout_s: float = 5.0) -> Engine:
    """An engine for ``url`` with airel's per-dialect settings."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(
            Reason.CONFIG_INVALID,
            f"database URL {url!r} is not valid: {exc}",
            fix="use sqlite:///path/to/airel.db or postgresql+psycopg://user@host/db",
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout_s)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(
            parsed,
            isolation_level="READ COMMITTED",
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10},
        )
    raise StoreError(
        Reason.CONFIG_INVALID,
        f"unsupported database {parsed.get_backend_name()!r}",
        fix="use SQLite (the default) or PostgreSQL via AIREL_DATABASE_URL",
    )


PAGE_SIZE = 16384  # bytes, for a new SQLite database
CACHE_KIB = 16384  # the page cache of each SQLite connection (the default is 2 MiB)


def _sqlite_engine(url: str, busy_timeout_s: float) -> Engine:
    uri = "file:" in url
    engine = sa.create_engine(
        url,
        connect_args={"timeout": busy_timeout_s, "uri": uri, "check_same_thread": False},
        # pooled: closing the last connection to a WAL database checkpoints it (tens of ms at
        # every transaction); SqlStore.close() disposes of the pool
        poolclass=sa.pool.QueuePool,
        pool_size=4,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            cur.execute("PRAGMA foreign_keys = ON")
            mode = cur.execute("PRAGMA journal_mode").fetchone()
            if mode and mode[0] != "wal":
                # A read-only database keeps its mode; writes will then say it is read-only.
                with contextlib.suppress(sqlite3.OperationalError):
                    # 16 KiB pages on a new database (a no-op on one that has tables): a
                    # trace batch dirties a third fewer pages, its commit costs 35 % less
                    # (bench/bench_traces.py); the page size is fixed once in WAL mode
                    cur.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                    cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
            cur.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error, if any."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None)


def is_retryable(exc: BaseException) -> bool:
    """Serialization failures and deadlocks are retried by :meth:`SqlStore.write`."""
    return sqlstate(exc) in RETRYABLE_SQLSTATES


def translate(exc: BaseException, url: str) -> AirelError | None:
    """Map a driver error to a StoreError with a fix, or None when it is not a store problem."""
    text = str(getattr(exc, "orig", exc)).lower()
    state = sqlstate(exc)
    where = redact(url)
    if "readonly database" in text or "read-only" in text or state == "25006":
        return StoreError(
            Reason.STORE_READ_ONLY,
            f"the database {where} is read-only",
            fix="check the file's permissions and mount, or point AIREL_DATABASE_URL at a "
            "writable database",
        )
    if "database is locked" in text or "database table is locked" in text or state == "55P03":
        return StoreError(
            Reason.STORE_LOCKED,
            f"the database {where} stayed locked by another writer past the busy timeout",
            fix="retry when the other airel process has finished, or raise AIREL_BUSY_TIMEOUT_S",
        )
    if "unique constraint" in text or state == "23505":
        return ConflictError(
            Reason.DUPLICATE_RECORD,
            f"the database already holds this record: {getattr(exc, 'orig', exc)}",
            fix="records are immutable: use a new version or release id",
        )
    if "no such table" in text or state == "42P01":
        return StoreError(
            Reason.STORE_NOT_INITIALISED,
            f"no airel store in {where}",
            fix="run `airel init` (or `airel db upgrade`)",
        )
    if (
        "unable to open database" in text
        or "connection refused" in text
        or "could not connect" in text
        or "connection failed" in text
        or (
            isinstance(getattr(exc, "orig", None), sqlite3.DatabaseError)
            and "file is not a database" in text
        )
    ):
        return StoreError(
            Reason.STORE_UNAVAILABLE,
            f"cannot open the database {where}: {getattr(exc, 'orig', exc)}",
            fix="check AIREL_DATABASE_URL / the .airel directory, then retry",
        )
    return None


def redact(url: str) -> str:
    """A URL safe to print (no password)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid url>"
