"""airel: release AI systems under control.

The public SDK surface. Everything importable from ``airel`` is listed in ``__all__`` and
pinned by a test; anything else is internal and may change.
"""

from typing import TYPE_CHECKING, Any

from airel.errors import (
    AirelError,
    ConflictError,
    InputError,
    IntegrityError,
    NotFoundError,
    ParseError,
    Reason,
    StoreError,
    ValidationError,
)

if TYPE_CHECKING:
    from airel.client import Client

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The SDK client pulls in SQLAlchemy, Alembic and every service; import it on first use so
    # `import airel.<module>` (CLI start-up, engines, benchmarks) stays fast.
    if name == "Client":
        from airel.client import Client

        return Client
    raise AttributeError(f"module 'airel' has no attribute {name!r}")


__all__ = [
    "AirelError",
    "Client",
    "ConflictError",
    "InputError",
    "IntegrityError",
    "NotFoundError",
    "ParseError",
    "Reason",
    "StoreError",
    "ValidationError",
    "__version__",
]
