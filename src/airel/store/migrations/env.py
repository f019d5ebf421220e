"""Alembic environment: runs migrations on the connection airel hands over."""

from __future__ import annotations

from alembic import context

from airel.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - airel always passes a connection
    raise RuntimeError("airel migrations run through `airel db upgrade`, not the alembic CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
