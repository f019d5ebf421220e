"""Traces (issue 12; SPEC T1): batches committed and audited, read back, verified, feedback.

* One batch = one transaction = one audit entry binding the batch (count, root).
* A retried delivery of an already-traced (request, release) is dropped, not stored twice.
* ``verify_traces`` catches an edited, deleted or reordered trace, naming batch and place.
* Feedback against an unknown request id is TRACE_NOT_FOUND, nothing written; an override
  needs a verdict; notes are masked.
* The TraceWriter (a thread) and the PipedTraceWriter (an ingest process, what
  ``airel serve gateway`` runs) acknowledge only committed traces and flush everything on
  close; an ingest process that dies fails every unacknowledged batch and the writer reports
  itself not alive; one that cannot open the store fails the writer's start with its reason.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
import sqlalchemy as sa

from airel.client import Client
from airel.config import load_settings
from airel.domain.monitoring.trace import Mode, Trace, TraceColumns, TraceQuery, trace_row
from airel.errors import AirelError, Reason
from airel.sdk.ingest import ingest_process
from airel.services.monitoring import traces as svc
from airel.services.monitoring.writer import PipedTraceWriter, TraceWriter, WriterClosed
from airel.store import schema as t


def make(i: int, release: str = "REL-2", **kw: Any) -> Trace:
    base: dict[str, Any] = {
        "request_id": f"req-{i:08d}",
        "at": f"2026-12-04T10:{i // 60 % 60:02d}:{i % 60:02d}.000000Z",
        "release_id": release,
        "deployment_route": "fraud-score@production",
        "status": 200,
        "latency_ms": 10.0 + i % 7,
        "model_version": "fraud-score:2.0.0" if release == "REL-2" else "fraud-score:1.0.0",
        "segments": ["retail"],
        "risk_tier": 1,
    }
    base.update(kw)
    return Trace(**base)


def head(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def test_a_batch_is_one_audited_commit(client: Client) -> None:
    """T1: the batch record is bound to the chain; traces read back exactly."""
    before = head(client)
    batch = svc.ingest(client.ctx, [make(i) for i in range(50)])
    assert batch is not None
    assert (batch.batch_id, batch.count) == (1, 50)
    assert head(client) == before + 1
    with client.ctx.store.read() as tx:
        entry = tx.get_audit(head(client))
    assert entry is not None
    assert entry.action == "traces.ingest"
    assert entry.after == batch.root
    assert client.audit.verify().ok
    got = svc.query(client.ctx, TraceQuery(release_id="REL-2", limit=100))
    assert [g.request_id for g in got] == [f"req-{i:08d}" for i in range(50)]
    assert got[3] == make(3)
    second = svc.ingest(client.ctx, [make(i, release="REL-1") for i in range(3)])
    assert second is not None
    assert second.batch_id == 2


def test_a_redelivered_trace_is_not_stored_twice(client: Client) -> None:
    """T1: a retry after a crash re-sends some traces: only the new ones are stored."""
    svc.ingest(client.ctx, [make(i) for i in range(10)])
    again = svc.ingest(client.ctx, [make(i) for i in range(5, 15)] + [make(14)])
    assert again is not None
    assert again.count == 5
    assert len(svc.query(client.ctx, TraceQuery(limit=100))) == 15
    assert svc.ingest(client.ctx, [make(1)]) is None


def test_query_by_component_window_and_mode(client: Client) -> None:
    """The runbook's impacted-population question: which requests a component version
    served between two times."""
    svc.ingest(
        client.ctx,
        [make(i) for i in range(20)]
        + [make(i, release="REL-1") for i in range(20, 30)]
        + [make(i, release="REL-3", mode=Mode.SHADOW) for i in range(5)],
    )
    q = TraceQuery(
        component=("model_version", "fraud-score:2.0.0"),
        since="2026-12-04T10:00:05",
        until="2026-12-04T10:00:10",
    )
    assert [x.request_id for x in svc.query(client.ctx, q)] == [
        f"req-{i:08d}" for i in range(5, 10)
    ]
    shadow = svc.query(client.ctx, TraceQuery(mode=Mode.SHADOW))
    assert {x.release_id for x in shadow} == {"REL-3"}
    assert [x.release_id for x in svc.request_traces(client.ctx, "req-00000002")] == [
        "REL-2",
        "REL-3",
    ]
    with client.ctx.store.read() as tx:
        cols = tx.trace_columns(TraceQuery(release_id="REL-1"))
    assert len(cols["latency_ms"]) == 10
    assert cols["segments"][0] == "retail"
    with pytest.raises(AirelError) as exc:
        svc.request_traces(client.ctx, "req-99999999")
    assert exc.value.reason is Reason.TRACE_NOT_FOUND


@pytest.mark.parametrize("attack", ["edit", "delete", "reorder"])
def test_verify_names_the_changed_trace(client: Client, attack: str) -> None:
    """T1/C2: every trace is vouched for by its batch root."""
    svc.ingest(client.ctx, [make(i) for i in range(10)])
    svc.ingest(client.ctx, [make(i) for i in range(10, 20)])
    assert svc.verify_traces(client.ctx) == (2, 20, [])
    c = t.traces.c
    engine = sa.create_engine(client.ctx.store.url)
    with engine.begin() as conn:
        if attack == "edit":
            body = conn.execute(
                sa.select(c.body_json).where(c.request_id == "req-00000013")
            ).scalar_one()
            conn.execute(
                t.traces.update()
                .where(c.request_id == "req-00000013")
                .values(body_json=body.replace('"status":200', '"status":201'))
            )
        elif attack == "delete":
            conn.execute(t.traces.delete().where(c.request_id == "req-00000013"))
        else:
            conn.execute(t.traces.update().where(c.request_id == "req-00000012").values(pos=99))
            conn.execute(t.traces.update().where(c.request_id == "req-00000013").values(pos=2))
            conn.execute(t.traces.update().where(c.request_id == "req-00000012").values(pos=3))
    engine.dispose()
    _, _, problems = svc.verify_traces(client.ctx)
    assert [p.batch_id for p in problems] == [2]
    if attack == "edit":
        assert problems[0].position == 3
        assert "changed" in problems[0].problem
    elif attack == "delete":
        assert "9 traces stored" in problems[0].problem
    else:
        assert "root" in problems[0].problem


def test_feedback_needs_a_traced_request_and_masks_notes(client: Client) -> None:
    """T1: overrides and complaints are audited records against a traced request."""
    svc.ingest(client.ctx, [make(1)])
    before = head(client)
    cases: tuple[tuple[str, dict[str, Any], Reason], ...] = (
        ("complaint", {}, Reason.TRACE_NOT_FOUND),
        ("override", {}, Reason.FEEDBACK_INVALID),
        ("praise", {}, Reason.FEEDBACK_INVALID),
    )
    for kind, kw, reason in cases:
        rid = "req-00000404" if reason is Reason.TRACE_NOT_FOUND else "req-00000001"
        with pytest.raises(AirelError) as exc:
            svc.record_feedback(client.ctx, rid, kind, **kw)
        assert exc.value.reason is reason
    assert head(client) == before
    fb = svc.record_feedback(
        client.ctx, "req-00000001", "complaint", note="call me on jan@example.com"
    )
    assert fb.note is not None
    assert "jan@example.com" not in fb.note
    svc.record_feedback(client.ctx, "req-00000001", "override", review="rejected")
    with client.ctx.store.read() as tx:
        stored = tx.list_feedback(request_ids=["req-00000001"])
    assert [(f.kind.value, f.review) for f in stored] == [
        ("complaint", None),
        ("override", "rejected"),
    ]
    assert client.audit.verify().ok


Writer = TraceWriter | PipedTraceWriter


def new_writer(kind: str, client: Client, **kw: Any) -> Writer:
    if kind == "thread":
        return TraceWriter(client.ctx, **kw)
    return PipedTraceWriter(ingest_process(client.settings), **kw)


@pytest.fixture
def piped(client: Client) -> Iterator[PipedTraceWriter]:
    writer = PipedTraceWriter(ingest_process(client.settings), linger_s=0.005)
    yield writer
    writer.close(timeout=30)


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_the_writer_acknowledges_committed_traces_only(client: Client, kind: str) -> None:
    """T1: a future completes after its batch commits; close flushes everything queued."""
    commits: list[int] = []
    writer = new_writer(kind, client, linger_s=0.005, on_commit=lambda n, _s: commits.append(n))
    futures = []

    def produce(offset: int) -> None:
        for i in range(250):
            futures.append(writer.submit(make(offset + i)))

    threads = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    first = futures[0].result(timeout=30)
    assert first is not None
    with client.ctx.store.read() as tx:
        assert tx.get_traces("req-00000000")
    writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert sum(commits) == 1000 == writer.committed
    assert len(commits) < 1000  # grouped
    assert len(svc.query(client.ctx, TraceQuery(limit=5000))) == 1000
    with pytest.raises(WriterClosed):
        writer.submit(make(1))
    assert not writer.alive
    assert svc.verify_traces(client.ctx)[2] == []
    if isinstance(writer, PipedTraceWriter):
        assert writer._proc.returncode == 0  # stopped when told, after the last batch


def test_the_ingest_process_drops_retried_deliveries(
    client: Client, piped: PipedTraceWriter
) -> None:
    """T1: the same (request, release) twice in a batch, or again in a later batch: stored once,
    both callers acknowledged; another release of the same request is a second trace."""
    first = [piped.submit(make(i)) for i in range(10)] + [piped.submit(make(3))]
    assert all(f.result(timeout=30) is not None for f in first)
    again = [piped.submit(make(i)) for i in range(5, 12)]
    again.append(piped.submit(make(5, release="REL-1")))
    [f.result(timeout=30) for f in again]
    stored = svc.query(client.ctx, TraceQuery(limit=100))
    assert len(stored) == 13  # 0..11 on REL-2 and req 5 on REL-1
    assert {(t.request_id, t.release_id) for t in stored} == {
        *((f"req-{i:08d}", "REL-2") for i in range(12)),
        ("req-00000005", "REL-1"),
    }
    assert svc.verify_traces(client.ctx)[2] == []


def test_a_killed_ingest_process_fails_what_it_did_not_acknowledge(
    client: Client, piped: PipedTraceWriter
) -> None:
    """T1: SIGKILL of the ingest process mid-stream: every future completes — committed, or
    failed with STORE_UNAVAILABLE — none hangs; what was acknowledged is stored, what failed
    is not; the writer is no longer alive (readiness fails) and refuses later traces."""
    assert bool(piped.alive)  # (bool: not narrowed for the check below)
    futures: list[tuple[str, Future[Any]]] = []
    stop = threading.Event()

    def produce(k: int) -> None:
        i = 0
        while not stop.is_set():
            trace = make(k * 1_000_000 + i)
            futures.append((trace.request_id, piped.submit(trace)))
            i += 1
            if i % 200 == 0:
                time.sleep(0.001)

    threads = [threading.Thread(target=produce, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 60
    while piped.committed < 2000 and time.monotonic() < deadline:
        time.sleep(0.005)
    pid = piped._proc.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert piped._proc.wait(30) == -signal.SIGKILL
    time.sleep(0.05)
    stop.set()
    for th in threads:
        th.join()
    outcomes: dict[str, bool] = {}
    for rid, f in futures:
        exc = f.exception(timeout=30)  # completes: never left hanging
        if exc is not None:
            assert isinstance(exc, AirelError)
            assert exc.reason is Reason.STORE_UNAVAILABLE
        outcomes[rid] = exc is None
    acked = {rid for rid, ok in outcomes.items() if ok}
    failed = {rid for rid, ok in outcomes.items() if not ok}
    assert len(acked) >= 2000
    assert failed, "traces submitted after the kill cannot have been acknowledged"
    assert not piped.alive
    late = piped.submit(make(99_999_999))
    assert isinstance(late.exception(timeout=30), AirelError)
    with client.ctx.store.read() as tx:
        stored = set(tx.trace_columns(TraceQuery(limit=1_000_000))["request_id"])
    assert acked <= stored
    assert not (failed & stored)
    assert svc.verify_traces(client.ctx)[2] == []
    assert client.audit.verify().ok


def test_an_ingest_process_that_cannot_open_the_store_fails_the_start(
    project: Any, tmp_path: Any
) -> None:
    """The gateway does not start with a writer that could never acknowledge: the ingest
    process's own error (here: no store initialised) is raised in the parent, reason intact."""
    url = f"sqlite:///{tmp_path / 'nowhere' / 'airel.db'}"
    settings = load_settings({"database_url": url, "actor": "gw"}, cwd=project, environ={})
    with pytest.raises(AirelError) as exc:
        PipedTraceWriter(ingest_process(settings))
    with Client(settings) as c, pytest.raises(AirelError) as direct:
        _ = c.ctx
    assert exc.value.reason is direct.value.reason


def test_trace_rows_are_stable_compact_json() -> None:
    """The body is compact JSON in model field order, defaults left out, the format first;
    it reads back to the same trace; its digest is what the batch root covers."""
    row = trace_row(make(1))
    assert row.body_json.startswith('{"format":"airel-trace/1","request_id":"req-00000001",')
    assert ": " not in row.body_json
    assert '"mode"' not in row.body_json  # the default (live) is left out
    body = json.loads(row.body_json)
    assert Trace(**{k: v for k, v in body.items() if k != "format"}) == make(1)
    assert row.digest.startswith("sha256:")
    assert trace_row(make(1)).digest == row.digest != trace_row(make(2)).digest


def test_trace_columns_are_the_stored_columns_in_order() -> None:
    """The store binds a row as its TraceColumns then the batch's fields: same names, same
    order as the insert statement, and the columns say what the trace says."""
    from airel.store.sql.monitoring import _NAMES

    assert (*TraceColumns._fields, "batch_id", "pos", "digest", "body_json") == _NAMES
    trace = make(3).model_copy(
        update={"mode": Mode.SHADOW, "segments": ["eu", "retail"], "quality_flags": ["pii_leak"]}
    )
    cols = trace_row(trace).columns
    assert (cols.mode, cols.segments, cols.quality_failure) == ("shadow", "eu,retail", True)
    assert (cols.request_id, cols.release_id, cols.status) == (
        trace.request_id, trace.release_id, trace.status,
    )  # fmt: skip
