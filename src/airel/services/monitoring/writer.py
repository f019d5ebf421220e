"""Group commit for traces: many requests, one transaction, no acknowledged trace lost (T1).

A :class:`TraceWriter` owns one thread. :meth:`TraceWriter.submit` adds a trace to the batch
being formed and returns that batch's future, which completes only once the batch has
committed (``synchronous=FULL`` on SQLite, the server's fsync on PostgreSQL) — that completion
is the acknowledgement. Once free, the thread takes the batch being formed as soon as it holds
``max_batch`` traces or at most ``linger_s`` later, and writes it with
:func:`airel.services.monitoring.traces.ingest`. Under load batches grow, so the cost of a
commit is shared by many traces; when idle a trace waits at most ``linger_s``.

The work per trace is an append under a lock: one future per *batch*, not per trace, and
:meth:`write` wakes each event loop once per batch (one ``call_soon_threadsafe``, not one per
request) — at 20,000 traces a second per-trace futures and wake-ups cost as much as the
insert.

:meth:`close` stops taking traces and flushes everything submitted before it returns: the
gateway calls it on shutdown. A batch that fails to commit fails its future (every caller in
it answers with an error rather than pretend), and the writer keeps going.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

from airel.domain.monitoring.trace import Trace, TraceBatch
from airel.services.kernel.context import Context
from airel.services.monitoring.traces import ingest


class WriterClosed(RuntimeError):
    """The writer no longer takes traces (it is shutting down)."""


class _Batch:
    """Traces that will commit together, and the one future that acknowledges them."""

    __slots__ = ("future", "loops", "traces")

    def __init__(self) -> None:
        self.traces: list[Trace] = []
        self.future: Future[TraceBatch | None] = Future()
        # per event loop, the asyncio future its writers await (created on first use)
        self.loops: dict[asyncio.AbstractEventLoop, asyncio.Future[TraceBatch | None]] = {}


def _settle(waiter: asyncio.Future[TraceBatch | None], done: Future[TraceBatch | None]) -> None:
    if waiter.done():
        return
    exc = done.exception()
    if exc is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(done.result())


class TraceWriter:
    """Batches traces into durable, audited commits on its own thread."""

    def __init__(
        self,
        ctx: Context,
        *,
        max_batch: int = 2000,
        linger_s: float = 0.002,
        on_commit: Callable[[int, float], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.on_commit = on_commit  # (traces, seconds) after each commit: metrics
        self.committed = 0
        self.failed = 0
        self._cond = threading.Condition(threading.Lock())
        self._open = _Batch()  # the batch new traces join
        self._full: deque[_Batch] = deque()  # closed to new traces, not yet taken
        self._pending = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="airel-trace-writer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Traces submitted and not yet committed."""
        return self._pending

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed

    def _join(self, trace: Trace) -> _Batch:
        with self._cond:
            if self._closed:
                raise WriterClosed("the trace writer is closed")
            batch = self._open
            batch.traces.append(trace)
            self._pending += 1
            size = len(batch.traces)
            if size >= self.max_batch:
                self._full.append(batch)
                self._open = _Batch()
                self._cond.notify()
            elif size == 1:  # the writer may be idle: start its linger
                self._cond.notify()
            return batch

    def submit(self, trace: Trace) -> Future[TraceBatch | None]:
        """Add ``trace`` to the batch being formed; the future (shared by the batch)
        completes when the batch is committed."""
        return self._join(trace).future

    async def write(self, trace: Trace) -> None:
        """Add ``trace`` and wait (without blocking the event loop) until it is committed."""
        batch = self._join(trace)
        loop = asyncio.get_running_loop()
        waiter = batch.loops.get(loop)
        if waiter is None:
            fresh: asyncio.Future[TraceBatch | None] = loop.create_future()
            waiter = batch.loops.setdefault(loop, fresh)
            if waiter is fresh:
                batch.future.add_done_callback(
                    lambda done: loop.call_soon_threadsafe(_settle, fresh, done)
                )
        # shielded: a cancelled request must not cancel the wait of the others in its batch
        await asyncio.shield(waiter)

    def close(self, timeout: float = 30.0) -> None:
        """Take no more traces, commit everything submitted, stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def _take(self) -> _Batch | None:
        """The next batch to commit (None: closed and nothing left)."""
        with self._cond:
            while not self._full and not self._open.traces:
                if self._closed:
                    return None
                self._cond.wait()
            if not self._full and not self._closed:  # linger for a fuller batch
                deadline = time.monotonic() + self.linger_s
                while not self._full and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            if self._full:
                return self._full.popleft()
            batch, self._open = self._open, _Batch()
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        n = len(batch.traces)
        t0 = time.perf_counter()
        try:
            written = ingest(self.ctx, batch.traces)
        except Exception as exc:
            self.failed += n
            self._done(n)
            batch.future.set_exception(exc)
            return
        self.committed += n
        self._done(n)
        if self.on_commit is not None:
            self.on_commit(n, time.perf_counter() - t0)
        batch.future.set_result(written)

    def _done(self, n: int) -> None:
        with self._cond:
            self._pending -= n
