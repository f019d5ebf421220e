"""The store contract of the monitoring context: request traces, their ingest batches, and the
feedback recorded against them (T1).

Traces are append-only and many: they are written a batch at a time
(:meth:`MonitoringWrites.insert_trace_batch`), each batch one audited transaction whose record
is the batch (count and root over its traces' digests), so a committed trace is vouched for by
the chain through its batch. Feedback (an override, a complaint) is a record of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # a contract names the models; importing it builds none (issue 10)
    from airel.domain.monitoring.trace import Feedback, Trace, TraceBatch, TraceQuery, TraceRow


class MonitoringReads(Protocol):
    """Reads of the monitoring context."""

    def get_traces(self, request_id: str) -> list[Trace]:
        """Every trace of one request (the live answer and any shadow copies)."""
        ...

    def query_traces(self, query: TraceQuery) -> list[Trace]:
        """Traces matching ``query``, oldest first, at most ``query.limit``."""
        ...

    def trace_columns(self, query: TraceQuery) -> dict[str, list[Any]]:
        """The looked-up columns of the matching traces (request_id, release_id, mode, at,
        key_digest, status, latency_ms, critical, error, cost, quality_failure, override,
        segments), column-wise, for analyses over many traces without parsing bodies."""
        ...

    def last_trace_batch(self) -> TraceBatch | None: ...

    def list_trace_batches(self, *, after: int = 0, limit: int = 1000) -> list[TraceBatch]:
        """Batches with ``batch_id > after``, in order."""
        ...

    def iter_batch_traces(self, batch_id: int) -> Iterator[tuple[str, str]]:
        """(digest, body_json) of the batch's traces in batch order."""
        ...

    def list_feedback(
        self, *, request_ids: Sequence[str] | None = None, since: str | None = None
    ) -> list[Feedback]:
        """Feedback in the order it was written, of some requests or since a time."""
        ...


class MonitoringWrites(MonitoringReads, Protocol):
    """Mutations of the monitoring context (each needs the transaction's audit entry)."""

    def insert_trace_batch(self, batch: TraceBatch, rows: Sequence[TraceRow]) -> None:
        """Store a batch and its traces (a request already traced for that release is a
        DUPLICATE_RECORD conflict: nothing of the batch is kept)."""
        ...

    def insert_feedback(self, feedback_id: str, feedback: Feedback) -> None: ...
