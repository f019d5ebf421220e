"""Storage: the Store contract, its one SQL implementation, and Alembic migrations."""
