"""Use cases: store request traces a batch at a time, read them back, verify them, and record
feedback against them (T1).

:func:`ingest` writes one batch in ONE audited transaction: the traces, and the batch record
(count, root over the traces' digests) that the audit entry binds. A trace is *acknowledged*
only when the transaction that holds it has committed. :class:`TraceWriter` (in
:mod:`airel.services.monitoring.writer`) groups concurrent requests into such batches.

:func:`verify_traces` recomputes every trace's digest and every batch root: an edited, added,
removed or reordered trace is reported with its batch and place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from airel.domain.monitoring.trace import (
    Feedback,
    FeedbackKind,
    HumanReview,
    Trace,
    TraceBatch,
    TraceQuery,
    TraceRow,
    batch_root,
    trace_row,
)
from airel.errors import ConflictError, NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.store.contract import WriteTx


def _write(ctx: Context, rows: list[TraceRow]) -> TraceBatch:
    first = min(r.columns.at for r in rows)
    last = max(r.columns.at for r in rows)
    root = batch_root(r.digest for r in rows)

    def write(tx: WriteTx) -> TraceBatch:
        previous = tx.last_trace_batch()
        batch = TraceBatch(
            batch_id=(previous.batch_id if previous else 0) + 1,
            count=len(rows),
            root=root,
            first_at=first,
            last_at=last,
            created_at=ctx.stamp(),
            created_by=ctx.actor,
        )
        tx.insert_trace_batch(batch, rows)
        tx.append_audit(
            actor=ctx.actor,
            action="traces.ingest",
            subject=f"trace_batch/{batch.batch_id}",
            before=previous.root if previous else None,
            after=root,
            details={"count": len(rows), "first_at": first, "last_at": last},
        )
        return batch

    return ctx.store.write(write)


def ingest(ctx: Context, traces: Sequence[Trace]) -> TraceBatch | None:
    """Commit ``traces`` as one batch (None: nothing to write). A (request, release) traced
    already — a retried delivery — is dropped, not stored twice."""
    return ingest_rows(ctx, [trace_row(t) for t in traces])


def ingest_rows(ctx: Context, rows: Sequence[TraceRow]) -> TraceBatch | None:
    """:func:`ingest` of traces already in their stored form (:func:`trace_row`: what a
    writer process receives from the gateway)."""
    unique: dict[tuple[str, str], TraceRow] = {}
    for row in rows:
        unique.setdefault((row.columns.request_id, row.columns.release_id), row)
    kept = list(unique.values())
    if not kept:
        return None
    try:
        return _write(ctx, kept)
    except ConflictError as exc:
        if exc.reason is not Reason.DUPLICATE_RECORD:
            raise
    with ctx.store.read() as tx:  # a retry after a crash: keep only what is new
        seen = {
            (t.request_id, t.release_id)
            for request_id in {r.columns.request_id for r in kept}
            for t in tx.get_traces(request_id)
        }
    fresh = [r for r in kept if (r.columns.request_id, r.columns.release_id) not in seen]
    return _write(ctx, fresh) if fresh else None


def query(ctx: Context, query: TraceQuery) -> list[Trace]:
    """Traces matching ``query``, oldest first."""
    with ctx.store.read() as tx:
        return tx.query_traces(query)


def request_traces(ctx: Context, request_id: str) -> list[Trace]:
    """Every trace of one request; NotFoundError when there is none."""
    with ctx.store.read() as tx:
        found = tx.get_traces(request_id)
    if not found:
        raise NotFoundError(
            Reason.TRACE_NOT_FOUND,
            f"no trace of request {request_id}",
            fix="give the x-airel-request-id header of a response the gateway returned",
            details={"request_id": request_id},
        )
    return found


@dataclass(frozen=True)
class TraceProblem:
    """One trace or batch that does not match what the chain vouches for."""

    batch_id: int
    position: int | None  # the trace's place in its batch (None: the batch itself)
    problem: str


def verify_traces(ctx: Context) -> tuple[int, int, list[TraceProblem]]:
    """(batches, traces, problems): every digest and every root recomputed."""
    problems: list[TraceProblem] = []
    batches = traces = 0
    with ctx.store.read() as tx:
        after = 0
        while page := tx.list_trace_batches(after=after):
            for batch in page:
                batches += 1
                digests: list[str] = []
                for pos, (digest, body) in enumerate(tx.iter_batch_traces(batch.batch_id)):
                    traces += 1
                    actual = "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()
                    if actual != digest:
                        problems.append(
                            TraceProblem(batch.batch_id, pos, "the trace body was changed")
                        )
                    digests.append(digest)
                if len(digests) != batch.count:
                    problems.append(
                        TraceProblem(
                            batch.batch_id,
                            None,
                            f"{len(digests)} traces stored, the batch vouches for {batch.count}",
                        )
                    )
                elif batch_root(digests) != batch.root:
                    problems.append(
                        TraceProblem(batch.batch_id, None, "the traces do not match the batch root")
                    )
            after = page[-1].batch_id
    return batches, traces, problems


def record_feedback(
    ctx: Context,
    request_id: str,
    kind: FeedbackKind | str,
    *,
    review: HumanReview | str | None = None,
    note: str | None = None,
) -> Feedback:
    """Record a human override or a complaint against a traced request (one audited
    transaction); an unknown request id is TRACE_NOT_FOUND, nothing written."""
    from airel.domain.monitoring.masking import mask_text  # noqa: PLC0415

    try:
        feedback = Feedback(
            request_id=request_id,
            kind=FeedbackKind(kind),
            at=ctx.stamp(),
            by=ctx.actor,
            review=HumanReview(review) if review is not None else None,
            note=mask_text(note) if note else None,
        )
    except ValueError as exc:
        raise ValidationError(
            Reason.FEEDBACK_INVALID,
            f"feedback for {request_id[:128]!r} is not valid: {exc}".splitlines()[0],
            fix="kind is override or complaint; an override gives review accepted, modified "
            "or rejected",
        ) from None
    if feedback.kind is FeedbackKind.OVERRIDE and feedback.review is None:
        raise ValidationError(
            Reason.FEEDBACK_INVALID,
            "an override needs the reviewer's verdict",
            fix="give review: accepted, modified or rejected",
        )
    feedback_id = (
        "sha256:"
        + hashlib.sha256(
            f"{request_id}\n{feedback.kind.value}\n{feedback.at}\n{feedback.by}".encode()
        ).hexdigest()
    )

    def write(tx: WriteTx) -> Feedback:
        if not tx.get_traces(request_id):
            raise NotFoundError(
                Reason.TRACE_NOT_FOUND,
                f"no trace of request {request_id}",
                fix="feedback is recorded against a request the gateway traced",
                details={"request_id": request_id},
            )
        tx.insert_feedback(feedback_id, feedback)
        tx.append_audit(
            actor=ctx.actor,
            action=f"traces.feedback.{feedback.kind.value}",
            subject=f"request/{request_id}",
            before=None,
            after=feedback_id,
            details={"review": feedback.review.value if feedback.review else None},
        )
        return feedback

    return ctx.store.write(write)
