"""Group commit for traces: many requests, one transaction, no acknowledged trace lost (T1).

A writer owns one thread. :meth:`TraceWriter.submit` adds a trace to the batch being formed
and returns that batch's future, which completes only once the batch has committed
(``synchronous=FULL`` on SQLite, the server's fsync on PostgreSQL) — that completion is the
acknowledgement. Once free, the thread takes the batch being formed as soon as it holds
``max_batch`` traces or at most ``linger_s`` later, and commits it. Under load batches grow, so
the cost of a commit is shared by many traces; when idle a trace waits at most ``linger_s``.

The work per trace is an append under a lock: one future per *batch*, not per trace, and
:meth:`write` wakes each event loop once per batch (one ``call_soon_threadsafe``, not one per
request) — at 20,000 traces a second per-trace futures and wake-ups cost as much as the insert.

Two writers:

* :class:`TraceWriter` commits on its own thread with
  :func:`airel.services.monitoring.traces.ingest` — for the SDK and tests;
* :class:`PipedTraceWriter` hands each batch, already in its stored form (serialised by the
  caller: the request's own work), to an *ingest process* (:func:`serve_ingest`) over a pipe,
  with up to ``window`` batches in flight. The SQL work and its interpreter lock are then not
  the gateway's: its event loop never waits for a commit's Python, and serialising batch n+1
  overlaps committing batch n (``airel serve gateway``; bench/bench_traces.py).

:meth:`close` stops taking traces and flushes everything submitted before it returns: the
gateway calls it on shutdown. A batch that fails to commit fails its future (every caller in
it answers with an error rather than pretend), and the writer keeps going; a writer whose
ingest process died fails every batch and reports itself not alive (readiness fails).
"""

from __future__ import annotations

import asyncio
import marshal
import signal
import subprocess
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from airel import errors
from airel.domain.monitoring.trace import Trace, TraceBatch, TraceColumns, TraceRow, trace_row
from airel.errors import AirelError, Reason, StoreError
from airel.services.kernel.context import Context
from airel.services.monitoring.traces import ingest, ingest_rows

T = TypeVar("T")
Wire = tuple[tuple[Any, ...], str, str]  # a trace row on the pipe: (columns, body, digest)


class WriterClosed(RuntimeError):
    """The writer no longer takes traces (it is shutting down)."""


class _Batch(Generic[T]):
    """Items that will commit together, and the one future that acknowledges them."""

    __slots__ = ("future", "items", "loops")

    def __init__(self) -> None:
        self.items: list[T] = []
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


class _Batching(Generic[T]):
    """Forms batches of items on submit; a thread hands each to :meth:`_commit`."""

    def __init__(
        self,
        *,
        max_batch: int,
        linger_s: float,
        on_commit: Callable[[int, float], None] | None,
    ) -> None:
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.on_commit = on_commit  # (traces, seconds) after each commit: metrics
        self.committed = 0
        self.failed = 0
        self._cond = threading.Condition(threading.Lock())
        self._open: _Batch[T] = _Batch()  # the batch new items join
        self._full: deque[_Batch[T]] = deque()  # closed to new items, not yet taken
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

    def _item(self, trace: Trace) -> T:
        raise NotImplementedError

    def _join(self, trace: Trace) -> _Batch[T]:
        item = self._item(trace)  # outside the lock: the caller's own work
        with self._cond:
            if self._closed:
                raise WriterClosed("the trace writer is closed")
            batch = self._open
            batch.items.append(item)
            self._pending += 1
            size = len(batch.items)
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

    def _take(self) -> _Batch[T] | None:
        """The next batch to commit (None: closed and nothing left)."""
        with self._cond:
            while not self._full and not self._open.items:
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

    def _commit(self, batch: _Batch[T]) -> None:
        raise NotImplementedError

    def _settled(self, batch: _Batch[T], result: TraceBatch | None, seconds: float) -> None:
        n = len(batch.items)
        self.committed += n
        self._done(n)
        if self.on_commit is not None:
            self.on_commit(n, seconds)
        batch.future.set_result(result)

    def _failed(self, batch: _Batch[T], exc: BaseException) -> None:
        n = len(batch.items)
        self.failed += n
        self._done(n)
        batch.future.set_exception(exc)

    def _done(self, n: int) -> None:
        with self._cond:
            self._pending -= n


class TraceWriter(_Batching[Trace]):
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
        super().__init__(max_batch=max_batch, linger_s=linger_s, on_commit=on_commit)

    def _item(self, trace: Trace) -> Trace:
        return trace

    def _commit(self, batch: _Batch[Trace]) -> None:
        t0 = time.perf_counter()
        try:
            written = ingest(self.ctx, batch.items)
        except Exception as exc:
            self._failed(batch, exc)
            return
        self._settled(batch, written, time.perf_counter() - t0)


# -- the ingest process ------------------------------------------------------------------------

_STOP = b""  # parent → child: no more batches
_READY = ("ready",)
_BYE = ("bye",)


def _load(data: bytes) -> Any:
    """A message from the other end of the writer's own anonymous pipe (a parent and the child
    it spawned; nothing else can write to it). marshal, not pickle: it builds plain values and
    never calls code; rows are tuples of str/int/float/bool/None (3x faster than JSON here)."""
    return marshal.loads(data)  # noqa: S302 - our own pipe, plain values (see above)


def _wire(trace: Trace) -> Wire:
    row = trace_row(trace)
    return tuple(row.columns), row.body_json, row.digest


def _error_message(exc: BaseException) -> tuple[Any, ...]:
    if isinstance(exc, AirelError):
        return ("error", type(exc).__name__, exc.reason.value, exc.message, exc.fix)
    return ("error", "StoreError", Reason.STORE_UNAVAILABLE.value,
            f"{type(exc).__name__}: {exc}".splitlines()[0][:500], None)  # fmt: skip


def _error_from(message: tuple[Any, ...]) -> AirelError:
    _, kind, reason, text, fix = message
    cls = getattr(errors, str(kind), StoreError)
    if not (isinstance(cls, type) and issubclass(cls, AirelError)):
        cls = StoreError
    return cls(Reason(reason), str(text), fix=fix)


def serve_ingest(open_ctx: Callable[[], Context], conn: Connection) -> None:
    """The ingest process's loop: open the store, say ready, then commit each batch received
    with :func:`ingest_rows` and answer with its record (or the error), in order, until the
    parent says stop or goes away. SIGINT and SIGTERM are ignored: a Ctrl-C reaches the whole
    process group, and the parent decides when the last batch has been flushed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        ctx = open_ctx()
    except Exception as exc:
        conn.send_bytes(marshal.dumps(_error_message(exc)))
        return
    conn.send_bytes(marshal.dumps(_READY))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):  # the parent is gone: nothing more can be acknowledged
            return
        if data == _STOP:
            conn.send_bytes(marshal.dumps(_BYE))
            return
        t0 = time.perf_counter()
        try:
            rows = [TraceRow(TraceColumns._make(c), b, d) for c, b, d in _load(data)]
            written = ingest_rows(ctx, rows)
        except Exception as exc:
            reply = _error_message(exc)
        else:
            body = written.model_dump() if written is not None else None
            reply = ("ok", body, time.perf_counter() - t0)
        conn.send_bytes(marshal.dumps(reply))


class PipedTraceWriter(_Batching[Wire]):
    """Batches traces, serialised by their callers, into commits made by an ingest process.

    ``start`` launches the process running :func:`serve_ingest` and returns the parent's end
    of its pipe and the process (the composition root knows how to open the store there:
    :func:`airel.sdk.ingest.ingest_process`).
    """

    def __init__(
        self,
        start: Callable[[], tuple[Connection, subprocess.Popen[bytes]]],
        *,
        max_batch: int = 2000,
        linger_s: float = 0.002,
        window: int = 2,
        on_commit: Callable[[int, float], None] | None = None,
        start_timeout_s: float = 120.0,
    ) -> None:
        self._conn, self._proc = start()
        if not self._conn.poll(start_timeout_s):
            self._proc.kill()
            self._proc.wait()
            raise StoreError(
                Reason.STORE_UNAVAILABLE,
                f"the trace ingest process did not start within {start_timeout_s:g} s",
                fix="check the database with `airel doctor`",
            )
        try:
            hello = _load(self._conn.recv_bytes())
        except (EOFError, OSError):
            hello = ("error", "StoreError", Reason.STORE_UNAVAILABLE.value,
                     "the trace ingest process exited while starting", None)  # fmt: skip
        if hello != _READY:
            self._conn.close()
            self._reap(10)
            raise _error_from(hello)
        # a writer dropped without close(), or the interpreter exiting: the socket closes, so
        # the ingest process (which ignores SIGINT and SIGTERM) reads the end and exits
        weakref.finalize(self, self._conn.close)
        self._inflight: deque[_Batch[Wire]] = deque()
        self._slots = threading.Semaphore(window)
        self._dead: StoreError | None = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="airel-trace-acks", daemon=True)
        self._reader.start()
        super().__init__(max_batch=max_batch, linger_s=linger_s, on_commit=on_commit)

    @property
    def alive(self) -> bool:
        return super().alive and self._dead is None and self._proc.poll() is None

    def _item(self, trace: Trace) -> Wire:
        return _wire(trace)

    def _commit(self, batch: _Batch[Wire]) -> None:
        payload = marshal.dumps(batch.items)
        self._slots.acquire()
        with self._lock:
            if self._dead is not None:
                self._slots.release()
                self._failed(batch, self._dead)
                return
            self._inflight.append(batch)
        try:
            self._conn.send_bytes(payload)
        except OSError:
            self._died()

    def _read(self) -> None:
        while True:
            try:
                reply = _load(self._conn.recv_bytes())
            except (EOFError, OSError, ValueError):
                self._died()
                return
            if reply == _BYE:
                return
            with self._lock:
                batch = self._inflight.popleft()
            self._slots.release()
            if reply[0] == "ok":
                _, body, seconds = reply
                result = TraceBatch.model_validate(body) if body is not None else None
                self._settled(batch, result, float(seconds))
            else:
                self._failed(batch, _error_from(reply))

    def _died(self) -> None:
        """The ingest process is gone: fail what is in flight and everything after it."""
        with self._lock:
            if self._dead is None:
                self._dead = StoreError(
                    Reason.STORE_UNAVAILABLE,
                    "the trace ingest process exited: these traces were not committed",
                    fix="restart the gateway; check `airel doctor` and the gateway's log",
                )
            lost = list(self._inflight)
            self._inflight.clear()
        for batch in lost:
            self._slots.release()
            self._failed(batch, self._dead)

    def close(self, timeout: float = 30.0) -> None:
        """Flush every batch through the ingest process, then stop it."""
        super().close(timeout)
        if self._dead is None:
            try:
                self._conn.send_bytes(_STOP)
            except OSError:
                self._died()
        self._reader.join(timeout)
        self._reap(timeout)
        self._conn.close()

    def _reap(self, timeout: float) -> None:
        """Wait for the ingest process to exit (killed if it does not within ``timeout``)."""
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
