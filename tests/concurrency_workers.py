"""The child-process side of tests/store/test_concurrency.py.

Spawned workers import their target by module name; a test module under ``tests/<context>/`` is
not importable by name in the child (pytest's importlib mode), this top-level helper is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airel.client import Client
from airel.config import load_settings
from airel.domain.release.kinds import ComponentKind
from airel.errors import ConflictError, Reason

WORKERS = 8
MOVES = 100
KIND, NAME, ALIAS = "policy", "fraud-threshold-policy", "prod"
OTHER = {"a": "b", "b": "a"}


def mover(
    url: str, cwd: str, index: int, barrier: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    """Make exactly MOVES successful compare-and-set moves; report (index, moves, conflicts)."""
    try:
        # A generous lock wait: this test is about lost updates, and on a loaded machine (CI,
        # parallel test workers) eight writers can queue for longer than the 5 s default.
        settings = load_settings(
            {"database_url": url, "actor": f"w{index}", "busy_timeout_s": 60.0},
            cwd=Path(cwd),
            environ={},
        )
        with Client(settings) as client:
            store = client.ctx.store  # open (and schema-check) before the start line
            barrier.wait(timeout=60)
            done = conflicts = 0
            while done < MOVES:
                with store.read() as tx:
                    current = tx.get_alias(ComponentKind.POLICY, NAME, ALIAS)
                assert current is not None
                try:
                    _, moved = client.registry.set_alias(
                        KIND,
                        NAME,
                        ALIAS,
                        OTHER[current.version],
                        expected_row_version=current.row_version,
                    )
                except ConflictError as exc:
                    if exc.reason != Reason.STALE_VERSION:
                        raise
                    conflicts += 1
                    continue
                if not moved:
                    raise AssertionError(f"move from row {current.row_version} was a no-op")
                done += 1
        results.put((index, done, conflicts, None))
    except BaseException as exc:
        results.put((index, 0, 0, f"{type(exc).__name__}: {exc}"))
