"""SPEC T1: no acknowledged trace is lost when the gateway process is killed (SIGKILL).

A child process runs a trace writer over the store — a :class:`TraceWriter` (its own thread)
or a :class:`PipedTraceWriter` (an ingest process, what ``airel serve gateway`` runs) — with
four threads submitting traces without pause, and prints a request id only once its future
completed — that line is the acknowledgement a caller would get. The parent reads a few
thousand of them, SIGKILLs the child mid-stream (batches queued, one committing), reads
whatever acknowledgements were already in the pipe, and opens the store: every acknowledged
id is there, every batch root and the audit chain verify, and the next ingest carries on from
the last committed batch. With the ingest process, it sees its parent gone and exits too: no
process is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from airel.client import Client
from airel.config import load_settings
from airel.domain.monitoring.trace import Trace, TraceQuery
from airel.services.monitoring import traces as svc

ACKNOWLEDGED = 4000  # ids to read before the kill
CHILD = textwrap.dedent(
    """
    import sys
    import threading
    from pathlib import Path

    from airel.client import Client
    from airel.config import load_settings
    from airel.domain.monitoring.trace import Trace
    from airel.sdk.ingest import ingest_process
    from airel.services.monitoring.writer import PipedTraceWriter, TraceWriter

    out = sys.stdout
    lock = threading.Lock()


    def produce(k: int) -> None:
        i = 0
        while True:
            pending = []
            for _ in range(64):
                rid = f"req-{k}-{i:09d}"
                trace = Trace(
                    request_id=rid,
                    at=f"2026-12-04T10:00:00.{i % 1_000_000:06d}Z",
                    release_id="FRAUD-2026-002",
                    deployment_route="fraud-score@production",
                    model_version="fraud-score:2.0.0",
                    status=200,
                    latency_ms=3.5,
                    segments=["retail"],
                    risk_tier=1,
                )
                pending.append((rid, writer.submit(trace)))
                i += 1
            for rid, future in pending:
                future.result()  # committed: only now is it acknowledged
                with lock:
                    out.write(rid + "\\n")
            with lock:
                out.flush()


    # no `if __name__ == "__main__"` guard: embedding the gateway must not need one
    url, cwd, kind = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    settings = load_settings({"database_url": url, "actor": "gateway"}, cwd=cwd, environ={})
    if kind == "thread":
        writer = TraceWriter(Client(settings).ctx, linger_s=0.002)
    else:
        writer = PipedTraceWriter(ingest_process(settings), linger_s=0.002)
        print(f"ingest-pid {writer._proc.pid}", file=sys.stderr, flush=True)
    threads = [threading.Thread(target=produce, args=(k,), daemon=True) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    """
)


def _gone(pid: int, timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    stat = Path(f"/proc/{pid}/stat")
    while time.monotonic() < deadline:
        try:  # the state follows the ")" ending the name; a zombie has exited (its parent is gone)
            if stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()[0] in {"Z", "X"}:
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.02)
    return False


def _read_acks(stream: IO[str], acked: list[str]) -> None:
    """Every complete line the child wrote (a line cut by the kill was not acknowledged)."""
    while line := stream.readline():
        if line.endswith("\n"):
            acked.append(line[:-1])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["thread", "process"])
def test_no_acknowledged_trace_is_lost_on_sigkill(
    database_url: str, project: Path, tmp_path: Path, kind: str
) -> None:
    settings = load_settings(
        {"database_url": database_url, "actor": "alice"}, cwd=project, environ={}
    )
    with Client(settings) as client:
        client.init()
    script = tmp_path / "gateway_child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), database_url, str(project), kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    acked: list[str] = []
    reader = threading.Thread(target=_read_acks, args=(child.stdout, acked), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < ACKNOWLEDGED and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        running = child.poll() is None
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        errors = child.stderr.read()
        child.stderr.close()
    assert running, f"the child stopped before it was killed:\n{errors}"
    assert child.returncode == -signal.SIGKILL
    assert len(acked) >= ACKNOWLEDGED, errors
    if kind == "process":
        pid = int(errors.split("ingest-pid ", 1)[1].split()[0])
        assert _gone(pid), "the ingest process outlived the gateway"

    with Client(settings) as client:
        with client.ctx.store.read() as tx:
            stored = tx.trace_columns(TraceQuery(limit=1_000_000))["request_id"]
        lost = set(acked) - set(stored)
        assert not lost, f"{len(lost)} acknowledged traces lost, e.g. {sorted(lost)[:5]}"
        assert len(stored) == len(set(stored)) >= len(acked)
        batches, traces, problems = svc.verify_traces(client.ctx)
        assert problems == []
        assert (traces, batches > 1) == (len(stored), True)
        assert client.audit.verify().ok
        after = svc.ingest(
            client.ctx,
            [
                Trace(
                    request_id="req-after-crash",
                    at="2026-12-04T11:00:00.000000Z",
                    release_id="FRAUD-2026-002",
                    deployment_route="fraud-score@production",
                    status=200,
                    latency_ms=1.0,
                )
            ],
        )
        assert after is not None
        assert after.batch_id == batches + 1
        assert svc.verify_traces(client.ctx)[2] == []
