"""Interrupted ingests clean up (B2, issue 18 point 5).

A writer killed with SIGKILL mid-ingest cannot remove its staging copy under the artifact
store's ``tmp/``. The next write (or ``airel artifact gc``) removes it, ``airel artifact verify``
reports it (files and bytes), and a live writer's staging — held by an ``flock`` — is never
removed, however old its files look. The writers here are real child processes paused inside
the hashing loop (in the progress callback, after the first chunk was copied).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airel.adapters.files.blobs import CHUNK, HAVE_FLOCK, STAGING_GRACE, BlobStore
from airel.cli.main import app
from airel.client import Client

pytestmark = pytest.mark.skipif(not HAVE_FLOCK, reason="staging locks need flock")

runner = CliRunner()
Write = Callable[[str, str], Path]

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from airel.adapters.files.blobs import BlobStore

    root, base, rel, started, go = sys.argv[1:]

    def pause(done: int) -> None:
        if not Path(started).exists():
            Path(started).write_text(str(done))
        while not Path(go).exists():
            time.sleep(0.01)

    ref = BlobStore(Path(root)).ingest(Path(base), rel, on_progress=pause)
    print(ref.digest)
    """
)


class Writer:
    """A child process ingesting ``rel``, paused after its first chunk until released."""

    def __init__(self, root: Path, base: Path, rel: str, work: Path) -> None:
        self.started = work / f"started-{os.getpid()}-{time.monotonic_ns()}"
        self.go = work / f"go-{time.monotonic_ns()}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(root),
                str(base),
                rel,
                str(self.started),
                str(self.go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_started(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.started.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"writer died: {self.proc.communicate()}")
            if time.monotonic() > deadline:
                raise AssertionError("writer did not start")
            time.sleep(0.01)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=30)  # reaps it and closes the pipes
        assert self.proc.returncode == -signal.SIGKILL

    def release(self) -> str:
        self.go.write_text("go")
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        return out.strip()


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    started: list[Writer] = []
    yield started
    for w in started:  # never leave a paused child behind
        if w.proc.poll() is None:
            w.proc.kill()
        w.proc.communicate(timeout=30)


def big_file(project: Path, name: str = "big.bin", chunks: int = 4) -> Path:
    path = project / name
    with path.open("wb") as fh:
        for i in range(chunks):
            fh.write(bytes([i % 251]) * CHUNK)
    return path


def staged_files(root: Path) -> list[Path]:
    tmp = root / "tmp"
    return sorted(p for p in tmp.rglob("*") if p.is_file() and p.name != "lock")


def cli(client: Client, *args: str) -> tuple[int, object]:
    url = client.settings.database_url
    result = runner.invoke(app, ["--database-url", url, "--actor", "tester", *args])
    text = result.stdout.strip()
    try:
        return result.exit_code, json.loads(text) if text else None
    except json.JSONDecodeError:
        return result.exit_code, text


def register_model(client: Client, write: Write, project: Path, version: str) -> None:
    (project / f"m{version}").mkdir()
    (project / f"m{version}" / "w.bin").write_bytes(version.encode() * 100)
    spec = write(
        f"model-{version}.yaml",
        f"""
        kind: model
        name: m
        version: "{version}"
        owner: team
        risk_tier: 1
        signature: {{inputs: [{{name: x}}], outputs: [{{name: y}}]}}
        training_run_id: T-1
        training_dataset: D:1
        artifact: m{version}
        """,
    )
    dataset = project / "d.csv"
    if not dataset.exists():
        dataset.write_text("x\n1\n")
        client.registry.register(
            write(
                "d.yaml",
                """
                kind: dataset
                name: D
                version: "1"
                owner: team
                source_lineage: [src]
                snapshot: {query: q}
                schema: {x: int64}
                classification: internal
                retention: 1y
                allowed_use: [test]
                row_count: 1
                artifact: d.csv
                """,
            )
        )
    client.registry.register(spec)


def test_killed_ingest_is_reported_by_verify_and_removed_by_the_next_write(
    client: Client, project: Path, write: Write, writers: list[Writer], tmp_path: Path
) -> None:
    """B2: a SIGKILLed ingest leaves its staging copy; `artifact verify` reports its files and
    bytes (exit 0: no blob is bad), the next registration removes it, and verify is clean."""
    root = client.settings.artifact_root
    big_file(project)
    writer = Writer(root, project, "big.bin", tmp_path)
    writers.append(writer)
    writer.wait_started()
    writer.kill()
    left = staged_files(root)
    assert len(left) == 1
    assert left[0].stat().st_size >= CHUNK  # the first chunk was copied
    report = client.registry.artifact_report()
    assert report.staging.stale_files == 1
    assert report.staging.stale_bytes == left[0].stat().st_size
    assert report.staging.live == 0
    code, data = cli(client, "artifact", "verify", "--json")
    assert code == 0
    assert isinstance(data, dict)
    assert data["staging"]["stale_files"] == 1
    assert data["staging"]["stale_bytes"] == left[0].stat().st_size
    code, text = cli(client, "artifact", "verify")
    assert code == 0
    assert "1 stale file(s)" in str(text)
    assert "airel artifact gc" in str(text)

    register_model(client, write, project, "1")  # the next write collects first
    assert staged_files(root) == []
    assert [p.name for p in (root / "tmp").iterdir()] == []
    assert client.registry.artifact_report().staging.stale_files == 0


def test_gc_removes_a_killed_ingest(
    client: Client, project: Path, writers: list[Writer], tmp_path: Path
) -> None:
    """B2: `airel artifact gc` removes what a killed ingest left and says how much."""
    root = client.settings.artifact_root
    big_file(project)
    writer = Writer(root, project, "big.bin", tmp_path)
    writers.append(writer)
    writer.wait_started()
    writer.kill()
    size = sum(p.stat().st_size for p in staged_files(root))
    code, data = cli(client, "artifact", "gc", "--json")
    assert code == 0
    assert isinstance(data, dict)
    assert (data["removed_files"], data["removed_bytes"]) == (1, size)
    assert data["stale_files"] == 0
    assert staged_files(root) == []
    code, data = cli(client, "artifact", "gc", "--json")  # nothing left: a no-op
    assert code == 0
    assert isinstance(data, dict)
    assert data["entries"] == []


def test_a_live_writers_staging_is_never_removed(
    client: Client, project: Path, write: Write, writers: list[Writer], tmp_path: Path
) -> None:
    """B2: gc and the next write skip a running ingest's staging even when its files are
    older than the grace period (the lock decides, not the age); the writer then finishes."""
    root = client.settings.artifact_root
    big_file(project)
    writer = Writer(root, project, "big.bin", tmp_path)
    writers.append(writer)
    writer.wait_started()
    staging = list((root / "tmp").iterdir())
    assert len(staging) == 1
    assert staging[0].name.startswith("ingest-")
    old = time.time() - 2 * STAGING_GRACE
    for path in [staging[0], *staging[0].iterdir()]:
        os.utime(path, (old, old))

    gc = client.registry.collect_staging()
    assert [(e.live, e.removed) for e in gc.entries] == [(True, False)]
    assert gc.live == 1
    assert gc.stale_files == 0
    register_model(client, write, project, "1")  # another write in the meantime
    assert staging[0].is_dir()
    assert client.registry.artifact_report().staging.live == 1

    digest = writer.release()
    store = BlobStore(root)
    assert store.exists(digest)
    assert store.verify(digest)[0].ok
    assert client.registry.artifact_report().staging.entries == ()  # the writer cleaned up itself


def test_unlocked_leftovers_go_by_age(tmp_path: Path) -> None:
    """B2: a stray file, staging of an airel without locks, or a directory that crashed before
    it was locked is kept while younger than the grace period and removed after it."""
    store = BlobStore(tmp_path / "artifacts")
    tmp = store.tmp_dir
    (tmp / "ingest-legacy").mkdir(parents=True)
    (tmp / "ingest-legacy" / "x.part").write_bytes(b"x" * 10)
    (tmp / ".new-crashed").mkdir()
    (tmp / "stray.part").write_bytes(b"y" * 5)

    young = store.staging(collect=True)
    assert {e.name: (e.live, e.removed) for e in young.entries} == {
        ".new-crashed": (True, False),
        "ingest-legacy": (True, False),
        "stray.part": (True, False),
    }
    later = time.time() + 2 * STAGING_GRACE
    report = store.staging(now=later)
    assert (report.stale_files, report.stale_bytes) == (2, 15)
    collected = store.staging(collect=True, now=later)
    assert all(e.removed for e in collected.entries)
    assert (collected.removed_files, collected.removed_bytes) == (2, 15)
    assert list(tmp.iterdir()) == []


def test_an_unlocked_ingest_directory_is_stale_at_once(tmp_path: Path) -> None:
    """B2: an ingest-* directory whose lock nobody holds belongs to a dead writer: it is
    removed on the next write without waiting for the grace period."""
    store = BlobStore(tmp_path / "artifacts")
    dead = store.tmp_dir / "ingest-dead"
    dead.mkdir(parents=True)
    (dead / "lock").write_bytes(b"")
    (dead / "a.part").write_bytes(b"z" * 7)
    base = tmp_path / "src"
    base.mkdir()
    (base / "f.bin").write_bytes(b"content")
    ref = store.ingest(base, "f.bin")
    assert store.exists(ref.digest)
    assert list(store.tmp_dir.iterdir()) == []
