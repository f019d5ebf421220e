"""The embedded profiling engine (V4): one streamed, multi-threaded pass over Arrow data.

``profile_path`` profiles a Parquet, CSV (``.csv``/``.csv.gz``) or Arrow IPC file;
``profile_table`` profiles an in-memory ``pyarrow.Table``. Both produce the same
:class:`~airel.domain.data.profile.Profile` every other engine produces for the same data (the
semantics are fixed in ``airel.domain.data.profile`` and ``arrow_kernels``).

How it runs: the calling thread pulls record batches of about ``batch_rows`` rows from the file
(Arrow decodes with its own thread pool) and hands each to a pool of ``threads`` workers. A
worker folds the batch into the accumulator set it holds for the duration of that batch
(vectorised numpy: no per-value Python, numpy and Arrow release the GIL); at most ``threads + 1``
batches are in flight, so memory is bounded by a few batches whatever the file size. At the end
the workers' accumulators are merged (exact moments by Chan's formula, sketch buckets by
addition, HLL sketches by union) and turned into one Profile.

Label statistics (``label``) are collected for every numeric (INT/FLOAT) column except the
label itself, and per category for every BOOL/STRING column except the label; a label value
other than 0/1 (NaN counts as NULL) is ``ValidationError(INVALID_VALUE)``. With a
``reference_time`` column (a timestamp), every other timestamp column counts the rows where it is
later than the reference time (both non-NULL). A label or reference-time column left out of
``columns`` is read but not profiled. Columns named in ``columns``, ``label`` or
``reference_time`` that the data does not have are ``ValidationError(COLUMN_MISSING)``; a
non-timestamp reference time is ``WRONG_TYPE``. Missing files are ``NotFoundError
(ARTIFACT_MISSING)``, unknown formats ``INVALID_VALUE``, unreadable data ``ParseError
(DATA_UNREADABLE)``.
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from airel.adapters.arrow.acc import Scratch
from airel.adapters.arrow.kernels import (
    ColumnAcc,
    ColumnPlan,
    Label,
    classify,
    label_vector,
    physical_name,
    to_float,
)
from airel.adapters.arrow.sources import FORMAT_NAMES, FORMATS, Source, format_of, rebatch
from airel.domain.data.profile import LogicalType, Profile
from airel.errors import NotFoundError, Reason, ValidationError

ENGINE = "arrow"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ProfileOptions:
    """What to profile and how."""

    label: str | None = None  # 0/1 label column
    reference_time: str | None = None  # prediction-time timestamp column
    columns: Sequence[str] | None = None  # restrict to these (default all)
    threads: int = 2
    batch_rows: int = 262_144  # rows per batch (Parquet batches, CSV blocks, IPC re-batching)


def profile_path(
    path: Path,
    options: ProfileOptions = ProfileOptions(),
    *,
    fmt: str | None = None,
    on_progress: Progress | None = None,
) -> Profile:
    """Profile a Parquet, CSV or Arrow IPC file in one streamed pass.

    The format comes from the file name's suffix unless ``fmt`` (``parquet``, ``csv`` or
    ``arrow``) names it, e.g. for content-addressed blobs that have no suffix.
    """
    fmt = fmt or format_of(path)
    if fmt not in FORMAT_NAMES:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"cannot profile {path.name}: unknown data format {fmt or ''}".rstrip(),
            fix=f"use a supported file suffix ({', '.join(sorted(FORMATS))}) "
            f"or format ({', '.join(FORMAT_NAMES)})",
            details={"path": str(path), "suffixes": sorted(FORMATS), "formats": list(FORMAT_NAMES)},
        )
    if not path.is_file():
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"data file {path} does not exist",
            fix="check the path (relative paths are resolved from the working directory)",
            details={"path": str(path)},
        )
    source = Source(path, fmt, max(options.batch_rows, 1))
    try:
        plans = plan_columns(source.schema, options)
        batches = source.batches([p.name for p in plans])
        profile = _run(batches, plans, options, source.total_rows, on_progress)
    finally:
        source.close()
    profile.source = {
        "path": str(path),
        "name": path.name,
        "format": fmt,
        "size_bytes": path.stat().st_size,
    }
    return profile


def profile_table(
    table: pa.Table,
    options: ProfileOptions = ProfileOptions(),
) -> Profile:
    """Profile an in-memory Arrow table (same results as writing it out and profiling the file)."""
    plans = plan_columns(table.schema, options)
    rows = max(options.batch_rows, 1)
    selected = table.select([p.name for p in plans])
    batches = rebatch(selected.to_batches(max_chunksize=rows), rows)
    profile = _run(batches, plans, options, table.num_rows, None)
    profile.source = {"format": "table"}
    return profile


def plan_columns(schema: pa.Schema, options: ProfileOptions) -> list[ColumnPlan]:
    """What to read and compute per column, in schema order (validates the named columns)."""
    names = list(schema.names)
    wanted = list(names if options.columns is None else options.columns)
    named = [*wanted, *(c for c in (options.label, options.reference_time) if c is not None)]
    missing = sorted({c for c in named if c not in names})
    if missing:
        raise ValidationError(
            Reason.COLUMN_MISSING,
            f"column(s) not in the data: {', '.join(missing)}",
            fix=f"name existing columns; the data has: {', '.join(names)}",
            details={"missing": missing, "available": names},
        )
    label, ref = options.label, options.reference_time
    if label is not None:
        logical, _ = classify(schema.field(label).type)
        if logical not in (LogicalType.INT, LogicalType.FLOAT, LogicalType.BOOL):
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"label column {label!r} has type {schema.field(label).type}, not 0/1 values",
                fix="name a label column holding 0/1 (int, float or bool) values",
                details={"column": label},
            )
    if ref is not None and classify(schema.field(ref).type)[0] is not LogicalType.TIMESTAMP:
        raise ValidationError(
            Reason.WRONG_TYPE,
            f"reference time column {ref!r} has type {schema.field(ref).type}, not a timestamp",
            fix="name the prediction-time timestamp column",
            details={"column": ref},
        )
    keep = set(wanted)
    plans: list[ColumnPlan] = []
    for name in dict.fromkeys(names):
        if name not in keep and name not in (label, ref):
            continue
        t = schema.field(name).type
        logical, kind = classify(t)
        plans.append(
            ColumnPlan(
                name=name,
                logical=logical,
                physical=physical_name(t),
                kind=kind,
                tz=t.tz if logical is LogicalType.TIMESTAMP else None,
                profile=name in keep,
                label_feature=label is not None
                and name != label
                and (logical.numeric or logical.categorical),
                after_reference=ref is not None
                and logical is LogicalType.TIMESTAMP
                and name != ref,
            )
        )
    return plans


class _Accs:
    """One worker's accumulators: one per profiled column."""

    def __init__(self, plans: list[ColumnPlan], options: ProfileOptions) -> None:
        self.options = options
        self.plans = plans
        with_label = options.label is not None
        self.cols = [ColumnAcc(p, with_label and p.label_feature) for p in plans if p.profile]
        self.scratch = Scratch()

    def add(self, batch: pa.RecordBatch) -> int:
        label: Label | None = None
        ref: np.ndarray | None = None
        o = self.options
        if o.label is not None:
            label = Label(*label_vector(batch.column(o.label), o.label))
        if o.reference_time is not None:
            plan = next(p for p in self.plans if p.name == o.reference_time)
            ref = to_float(batch.column(o.reference_time), plan)
        for acc in self.cols:
            acc.add(batch.column(acc.plan.name), label, ref, self.scratch)
        return int(batch.num_rows)

    def merge(self, other: _Accs) -> None:
        for mine, theirs in zip(self.cols, other.cols, strict=True):
            mine.merge(theirs)


def _run(
    batches: Iterable[pa.RecordBatch],
    plans: list[ColumnPlan],
    options: ProfileOptions,
    total: int,
    on_progress: Progress | None,
) -> Profile:
    threads = max(options.threads, 1)
    idle: queue.SimpleQueue[_Accs] = queue.SimpleQueue()
    sets = [_Accs(plans, options) for _ in range(threads)]
    for s in sets:
        idle.put(s)

    def work(batch: pa.RecordBatch) -> int:
        accs = idle.get()
        try:
            return accs.add(batch)
        finally:
            idle.put(accs)

    done = 0
    with ThreadPoolExecutor(threads, thread_name_prefix="airel-profile") as pool:
        inflight: deque[Future[int]] = deque()
        try:
            for batch in batches:
                inflight.append(pool.submit(work, batch))
                while len(inflight) > threads:
                    done += inflight.popleft().result()
                    if on_progress is not None:
                        on_progress(done, total)
            while inflight:
                done += inflight.popleft().result()
                if on_progress is not None:
                    on_progress(done, total)
        finally:
            for f in inflight:
                f.cancel()
    merged = sets[0]
    for other in sets[1:]:
        merged.merge(other)
    columns = {acc.plan.name: acc.profile() for acc in merged.cols}
    return Profile(rows=done, columns=columns, engine=ENGINE)
