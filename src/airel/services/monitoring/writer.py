"""Group commit for traces: many requests, one transaction, no acknowledged trace lost (T1).

A :class:`TraceWriter` owns one thread. :meth:`TraceWriter.submit` queues a trace and returns
a future that completes only once the batch holding the trace has committed (``synchronous=
FULL`` on SQLite, the server's fsync on PostgreSQL) — that completion is the acknowledgement.
The thread takes whatever is queued (up to ``max_batch``), waiting at most ``linger_s`` for
more once it has one, and writes it with :func:`airel.services.monitoring.traces.ingest`. Under
load batches grow, so the cost of a commit is shared by many traces; when idle a trace waits
at most ``linger_s``.

:meth:`close` stops taking traces and flushes everything queued before it returns: the
gateway calls it on shutdown. A batch that fails to commit fails every future in it (the
caller answers with an error rather than pretend), and the writer keeps going.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from airel.domain.monitoring.trace import Trace, TraceBatch
from airel.services.kernel.context import Context
from airel.services.monitoring.traces import ingest

_STOP = object()


class WriterClosed(RuntimeError):
    """The writer no longer takes traces (it is shutting down)."""


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
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="airel-trace-writer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Traces queued and not yet committed (approximate)."""
        return self._queue.qsize()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed

    def submit(self, trace: Trace) -> Future[TraceBatch | None]:
        """Queue ``trace``; the future completes when it is committed."""
        future: Future[TraceBatch | None] = Future()
        with self._lock:
            if self._closed:
                raise WriterClosed("the trace writer is closed")
            self._queue.put((trace, future))
        return future

    async def write(self, trace: Trace) -> None:
        """Queue ``trace`` and wait (without blocking the event loop) until it is committed."""
        await asyncio.wrap_future(self.submit(trace))

    def close(self, timeout: float = 30.0) -> None:
        """Take no more traces, commit everything queued, stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)

    def _take(self) -> tuple[list[tuple[Trace, Future[TraceBatch | None]]], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        items = [first]
        stop = False
        deadline = time.monotonic() + self.linger_s
        while len(items) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if item is _STOP:
                stop = True
                break
            items.append(item)
        return items, stop  # type: ignore[return-value]

    def _run(self) -> None:
        stop = False
        while not stop:
            items, stop = self._take()
            if items:
                self._commit(items)
        # drain anything that raced in before the stop marker
        rest: list[tuple[Trace, Future[TraceBatch | None]]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                rest.append(item)  # type: ignore[arg-type]
        for start in range(0, len(rest), self.max_batch):
            self._commit(rest[start : start + self.max_batch])

    def _commit(self, items: list[tuple[Trace, Future[TraceBatch | None]]]) -> None:
        t0 = time.perf_counter()
        try:
            batch = ingest(self.ctx, [trace for trace, _ in items])
        except Exception as exc:
            self.failed += len(items)
            for _, future in items:
                future.set_exception(exc)
            return
        self.committed += len(items)
        if self.on_commit is not None:
            self.on_commit(len(items), time.perf_counter() - t0)
        for _, future in items:
            future.set_result(batch)
