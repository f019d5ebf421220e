"""Streaming readers of the Arrow engine: Parquet, CSV (optionally gzipped) and Arrow IPC.

Each reader exposes the file's schema as stored (its physical types) and yields record batches
of about ``batch_rows`` rows, so memory is bounded by a few batches, never the file:

- Parquet streams across row groups with ``iter_batches`` (a file written as one big row group
  is still cut into batches, so every worker thread has work); string columns are read
  dictionary-encoded straight from the Parquet dictionary pages.
- CSV (gzip recognised by its magic bytes) uses the streaming ``open_csv`` reader with type
  inference on the first block; blocks are sized from a sample to hold about ``batch_rows``
  rows. Only an unquoted empty field is NULL (a quoted ``""`` is the empty string; ``nan``,
  ``inf`` and ``-inf`` parse as floats; text such as ``NA`` stays text), which round-trips what
  ``pyarrow.csv.write_csv`` writes. Strings are not validated on read: bytes that are not UTF-8
  are counted as ``invalid`` by the profiler instead of failing the file.
- Arrow IPC files (``.arrow``/``.feather`` v2/``.ipc``, format name ``arrow``) are
  memory-mapped; IPC streams work too. Large record batches are sliced, small ones coalesced.

Every read failure (truncated file, wrong format, corrupt page, a CSV value that does not fit the
inferred type) becomes ``ParseError(DATA_UNREADABLE)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path, PurePath

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pyarrow import ipc

from airel.errors import ParseError, Reason

FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".csv.gz": "csv",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
FORMAT_NAMES = ("arrow", "csv", "parquet")  # "arrow" = Arrow IPC file or stream (Feather v2)
_CSV_SAMPLE = 1 << 20
_PARQUET_BUFFER = 1 << 20  # read column chunks through a 1 MiB buffer, not whole into memory
_FIXES = {
    "parquet": "re-export the file; a Parquet file that was cut short has no footer",
    "csv": "check the file is delimited text; the first block's values fix each column's type, "
    "so a later value that does not fit (e.g. text in a number column) needs a cleaned file",
    "arrow": "re-export the file as an Arrow IPC file or stream",
}


def format_of(path: PurePath) -> str | None:
    """The format named by the file's suffix, or None."""
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    return None


def unreadable(path: Path, fmt: str, exc: BaseException) -> ParseError:
    """The error for a file that cannot be read as its format."""
    return ParseError(
        Reason.DATA_UNREADABLE,
        f"cannot read {path.name} as {fmt}: {exc}",
        fix=_FIXES[fmt],
        details={"path": str(path), "format": fmt},
    )


class Source:
    """An opened data file: its schema, row count (0 = unknown) and a one-shot batch stream."""

    def __init__(self, path: Path, fmt: str, batch_rows: int) -> None:
        self.path = path
        self.format = fmt
        self.batch_rows = batch_rows
        self.total_rows = 0
        self._csv: pacsv.CSVStreamingReader | None = None
        self._ipc: ipc.RecordBatchFileReader | ipc.RecordBatchStreamReader | None = None
        opener = {"parquet": self._open_parquet, "csv": self._open_csv, "arrow": self._open_ipc}
        try:
            self.schema: pa.Schema = opener[fmt]()
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(path, fmt, exc) from exc

    def _open_parquet(self) -> pa.Schema:
        pf = pq.ParquetFile(self.path)
        self.total_rows = pf.metadata.num_rows
        return pf.schema_arrow

    def _open_csv(self) -> pa.Schema:
        with self.path.open("rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"  # by content: blobs have no suffix
        compression = "gzip" if gzipped else None
        with pa.input_stream(str(self.path), compression=compression) as head:
            sample = head.read(_CSV_SAMPLE)
        per_row = max(len(sample) / max(sample.count(b"\n"), 1), 1.0)
        block = int(min(max(per_row * self.batch_rows, 1 << 16), 1 << 28))
        self._csv = pacsv.open_csv(
            pa.input_stream(str(self.path), compression=compression),
            read_options=pacsv.ReadOptions(block_size=block),
            convert_options=pacsv.ConvertOptions(
                check_utf8=False,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        return self._csv.schema

    def _open_ipc(self) -> pa.Schema:
        try:
            reader = ipc.open_file(pa.memory_map(str(self.path)))
            self.total_rows = reader.count_rows()
        except pa.ArrowInvalid:
            reader = ipc.open_stream(pa.memory_map(str(self.path)))
        self._ipc = reader
        return reader.schema

    def close(self) -> None:
        """Release the file (CSV stream, IPC memory map)."""
        if self._csv is not None:
            self._csv.close()
        self._csv = self._ipc = None

    def batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        """Record batches of the given columns (read failures become DATA_UNREADABLE)."""
        try:
            yield from self._batches(columns)
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(self.path, self.format, exc) from exc

    def _batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        if self.format == "parquet":
            strings = [c for c in columns if _is_plain_string(self.schema.field(c).type)]
            pf = pq.ParquetFile(
                self.path, read_dictionary=strings, buffer_size=_PARQUET_BUFFER, pre_buffer=False
            )
            if not pf.metadata.num_rows:
                return
            yield from pf.iter_batches(batch_size=self.batch_rows, columns=columns)
        elif self._csv is not None:
            yield from rebatch((b.select(columns) for b in self._csv), self.batch_rows)
        elif isinstance(self._ipc, ipc.RecordBatchFileReader):
            reader = self._ipc
            stream = (reader.get_batch(i) for i in range(reader.num_record_batches))
            yield from rebatch((b.select(columns) for b in stream), self.batch_rows)
        elif self._ipc is not None:
            yield from rebatch((b.select(columns) for b in self._ipc), self.batch_rows)


def _is_plain_string(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of about ``rows`` rows: big ones sliced (zero-copy), small ones coalesced."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        if batch.num_rows >= rows // 2:
            if pending:
                yield pa.concat_batches(pending)
                pending, held = [], 0
            for start in range(0, batch.num_rows, rows):
                yield batch.slice(start, rows)
            continue
        pending.append(batch)
        held += batch.num_rows
        if held >= rows // 2:
            yield pa.concat_batches(pending)
            pending, held = [], 0
    if pending:
        yield pa.concat_batches(pending)
