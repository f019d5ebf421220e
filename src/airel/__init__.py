"""airel: release AI systems under control.

The public SDK surface. Everything importable from ``airel`` is listed in ``__all__`` and
pinned by a test; anything else is internal and may change.
"""

from airel.client import Client
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

__version__ = "0.1.0"

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
