"""Running and checking Alembic migrations (``airel db upgrade``).

Migrations run inside one transaction together with Alembic's version record, so a failed
upgrade leaves the schema as it was (on PostgreSQL; SQLite DDL is transactional too).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from airel.errors import Reason, StoreError
from airel.store.migrations import HEAD

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported inside the functions that migrate or read the scripts: a store that is
# at HEAD (every command but `init` / `db upgrade`) never loads it.

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """A programmatic Alembic config pointing at airel's migrations."""
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def script_head() -> str:
    """The newest revision according to the migration scripts."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return str(head)


def _known_revisions() -> set[str]:
    """Every revision the migration scripts define."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision, or None for an empty database."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
        return str(row[0]) if row else None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Upgrade to head; return (revision before, revision after)."""
    from alembic import command  # noqa: PLC0415

    before = current_revision(engine)
    cfg = alembic_config()
    if before is not None and before not in _known_revisions():
        raise StoreError(
            Reason.STORE_SCHEMA_NEWER,
            f"the store is at schema {before}, newer than this airel knows",
            fix="upgrade airel to the version that wrote this store",
        )
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, HEAD


def check_current(engine: Engine, where: str) -> None:
    """Raise a StoreError with the fix unless the schema is exactly at head."""
    revision = current_revision(engine)
    if revision is None:
        raise StoreError(
            Reason.STORE_NOT_INITIALISED,
            f"no airel store in {where}",
            fix="run `airel init` here, or set AIREL_DATABASE_URL / AIREL_HOME to your store",
        )
    if revision == HEAD:
        return
    if revision in _known_revisions():
        raise StoreError(
            Reason.STORE_SCHEMA_OUTDATED,
            f"the store {where} is at schema {revision}; this airel needs {HEAD}",
            fix="run `airel db upgrade`",
        )
    raise StoreError(
        Reason.STORE_SCHEMA_NEWER,
        f"the store {where} is at schema {revision}, newer than this airel knows",
        fix="upgrade airel to the version that wrote this store",
    )
