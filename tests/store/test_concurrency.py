"""'concurrency': 8 processes x 100 alias moves on one name lose no update (SQLite, PostgreSQL).

Each worker is a separate process (``spawn``) with its own Client. A move reads the alias's
current row version and target, then asks to move it to the other version *conditionally on
that row version*; losing the race raises ConflictError(STALE_VERSION) and the worker re-reads
and retries, until it has made exactly 100 successful moves. If any update were lost, two
moves would share a ``from_version``/row version, the history would skip or repeat a seq, or
the final row version would not be 1 + 8 x 100.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import queue
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from airel.client import Client
from airel.domain.release.kinds import ComponentKind
from concurrency_workers import ALIAS, KIND, MOVES, NAME, OTHER, WORKERS, mover


def _register(client: Client, project: Path) -> None:
    for version in ("a", "b"):
        spec = project / f"policy-{version}.yaml"
        spec.write_text(
            f'kind: policy\nname: {NAME}\nversion: "{version}"\ntext: "threshold {version}"\n',
            encoding="utf-8",
        )
        client.registry.register(spec, base_dir=project)


def _run_workers(database_url: str, project: Path) -> tuple[float, list[Any]]:
    """Start WORKERS spawned processes behind one barrier; return (seconds, their reports)."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=mover, args=(database_url, str(project), i, barrier, results))
        for i in range(WORKERS)
    ]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    reports: list[tuple[int, int, int, str | None]] = []
    try:
        for _ in procs:
            reports.append(results.get(timeout=120))
    except queue.Empty:
        pytest.fail(f"workers did not finish in time; got {reports}")
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
    elapsed = time.monotonic() - started
    assert all(proc.exitcode == 0 for proc in procs)
    return elapsed, reports


def _check_history(client: Client, total: int) -> Counter[str]:
    """The alias ends at row ``total`` and its history is one unbroken chain of moves."""
    with client.ctx.store.read() as tx:
        row = tx.get_alias(ComponentKind.POLICY, NAME, ALIAS)
    assert row is not None
    assert row.row_version == total
    assert client.registry.component(KIND, f"{NAME}@{ALIAS}").version == row.version
    # Strict alternation a -> b -> a ...: after an odd number of moves it points at "a".
    assert row.version == "a"

    history = client.registry.alias_history(KIND, NAME, ALIAS)
    assert len(history) == total
    assert [m.seq for m in history] == list(range(1, total + 1))
    assert (history[0].from_version, history[0].to_version) == (None, "a")
    for prev, move in itertools.pairwise(history):
        assert move.from_version == prev.to_version, f"lost update before seq {move.seq}"
        assert move.to_version == OTHER[prev.to_version]
    assert history[-1].to_version == row.version
    return Counter(m.actor for m in history)


def _check_audit(client: Client, total: int, per_actor: Counter[str]) -> None:
    """One audit entry per move, in row-version order, and the whole chain verifies."""
    with client.ctx.store.read() as tx:
        entries = list(tx.iter_audit())
        head_seq, head_hash = tx.audit_head()
    alias_entries = [e for e in entries if e.action == "alias.set"]
    assert len(alias_entries) == total
    assert [e.details["row_version"] for e in alias_entries] == list(range(1, total + 1))
    assert Counter(e.actor for e in alias_entries) == per_actor
    report = client.audit.verify()
    assert report.ok, report.problems
    assert report.entries == len(entries) == head_seq
    assert report.entries == 1 + 2 + total  # init, two registrations, every move
    assert report.head_hash == head_hash


@pytest.mark.slow
def test_parallel_alias_moves_lose_no_update(
    client: Client, database_url: str, project: Path, backend: str
) -> None:
    """'concurrency' (R5): 8 processes x 100 CAS moves on one alias; every one is kept."""
    _register(client, project)
    alias, moved = client.registry.set_alias(KIND, NAME, ALIAS, "a", expected_row_version=0)
    assert moved
    assert alias.row_version == 1

    elapsed, reports = _run_workers(database_url, project)
    errors = [r for r in reports if r[3] is not None]
    assert not errors, errors
    assert sorted(r[0] for r in reports) == list(range(WORKERS))
    assert all(r[1] == MOVES for r in reports)
    conflicts = sum(r[2] for r in reports)
    print(f"\n[{backend}] {WORKERS}x{MOVES} moves in {elapsed:.1f}s, {conflicts} stale retries")

    total = 1 + WORKERS * MOVES
    per_actor = _check_history(client, total)
    assert per_actor == {"alice": 1, **{f"w{i}": MOVES for i in range(WORKERS)}}
    _check_audit(client, total, per_actor)
    # The 8 spawned workers share the cores with the other pytest-xdist workers' tests.
    limit = 60 * int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    assert elapsed < limit, f"{backend}: {elapsed:.1f}s"
