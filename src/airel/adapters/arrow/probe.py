"""Cheap reads of registered data: a Parquet or Arrow footer, the first block of a CSV.

Registration reads what a data artifact holds without reading its data, so a truncated or
mislabelled file is refused before it becomes a version, and the declared row count and schema
can be checked (:mod:`airel.domain.release.data_shape`):

- **Parquet**: the ``PAR1`` magic and the footer (``pyarrow.parquet.ParquetFile`` metadata):
  schema, rows, row groups. A file cut short has no footer and is refused.
- **Arrow IPC**: a file's footer (schema, rows per record batch, memory-mapped) or a stream's
  schema message (rows not counted).
- **CSV** (gzip recognised by its magic bytes): the delimiter is sniffed with
  :class:`csv.Sniffer` on the first few KiB and the header and column types are read from the
  first block with ``pyarrow.csv.open_csv``, the way the profiler infers them; rows are not
  counted (that needs a full read).

The format comes from the artifact's name (``.parquet``, ``.csv``, ``.csv.gz``, ``.arrow`` …;
:data:`airel.adapters.arrow.sources.FORMATS`); a single file with no known suffix is recognised
by its Parquet or Arrow magic bytes. A name that says Parquet or CSV must read as one
(``ParseError(DATA_UNREADABLE)`` otherwise); anything else is ``format: unknown``, hashed as
before. In a directory, every data part is read (names starting with ``_`` or ``.`` — Spark's
``_SUCCESS``, ``_metadata`` — are skipped) and the parts' shapes are combined.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pyarrow import ipc

from airel.adapters.arrow.sources import format_of
from airel.domain.release.data_shape import (
    DataFormat,
    DataShape,
    ShapeColumn,
    TypeSource,
    combine_parts,
)
from airel.errors import ParseError, Reason

__all__ = ["csv_delimiter_hint", "detect_format", "probe_file", "probe_files", "sniff_delimiter"]

SNIFF_BYTES = 16 * 1024  # what csv.Sniffer looks at
CSV_BLOCK = 1 << 20  # the first block pyarrow parses to read the header and infer types
DELIMITERS = ",;\t|"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_PARQUET_MAGIC = b"PAR1"
_ARROW_MAGIC = b"ARROW1"
_GZIP_MAGIC = b"\x1f\x8b"
_FIXES = {
    DataFormat.PARQUET: "re-export the file; a Parquet file that was cut short (an interrupted "
    "copy or write) has no footer",
    DataFormat.ARROW: "re-export the file as an Arrow IPC file or stream",
    DataFormat.CSV: "check that the file is delimited text with a header row, or correct its "
    "name if it is in another format",
}


def unreadable(name: str, fmt: DataFormat, why: str) -> ParseError:
    """The error for a data file that does not read as the format its name says."""
    return ParseError(
        Reason.DATA_UNREADABLE,
        f"{name} cannot be read as {fmt.value}: {why}",
        fix=_FIXES[fmt],
        details={"path": name, "format": fmt.value},
    )


def _head(path: Path, size: int) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def detect_format(path: Path, name: str, *, magic: bool = True) -> DataFormat:
    """The format ``name`` says (its suffix), else — with ``magic`` — its magic bytes."""
    by_name = format_of(PurePosixPath(name))
    if by_name is not None:
        return DataFormat(by_name)
    if magic:
        head = _head(path, len(_ARROW_MAGIC))
        if head.startswith(_PARQUET_MAGIC):
            return DataFormat.PARQUET
        if head.startswith(_ARROW_MAGIC):
            return DataFormat.ARROW
    return DataFormat.UNKNOWN


def _columns(schema: pa.Schema) -> tuple[ShapeColumn, ...]:
    return tuple(ShapeColumn(name=f.name, type=str(f.type)) for f in schema)


def _parquet(path: Path, name: str) -> DataShape:
    if not _head(path, len(_PARQUET_MAGIC)).startswith(_PARQUET_MAGIC):
        raise unreadable(name, DataFormat.PARQUET, "it does not start with the magic bytes PAR1")
    try:
        with pq.ParquetFile(path) as pf:  # reads the footer only
            meta = pf.metadata
            schema = pf.schema_arrow
            groups = meta.num_row_groups
            in_groups = sum(meta.row_group(i).num_rows for i in range(groups))
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(name, DataFormat.PARQUET, str(exc)) from exc
    if in_groups != meta.num_rows:
        raise unreadable(
            name,
            DataFormat.PARQUET,
            f"its footer counts {meta.num_rows} rows but its row groups {in_groups}",
        )
    return DataShape(
        format=DataFormat.PARQUET,
        columns=_columns(schema),
        types=TypeSource.STORED,
        rows=meta.num_rows,
        row_groups=groups,
    )


def _arrow(path: Path, name: str) -> DataShape:
    try:
        with pa.memory_map(str(path)) as source:
            if _head(path, len(_ARROW_MAGIC)) == _ARROW_MAGIC:
                reader = ipc.open_file(source)
                schema, rows = reader.schema, reader.count_rows()
            else:
                schema, rows = ipc.open_stream(source).schema, None
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(name, DataFormat.ARROW, str(exc)) from exc
    return DataShape(
        format=DataFormat.ARROW, columns=_columns(schema), types=TypeSource.STORED, rows=rows
    )


def sniff_delimiter(sample: str) -> str:
    """The field delimiter of a CSV sample (``,`` when the sniffer cannot tell)."""
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample cut a line short
    text = "\n".join(lines[:200])
    try:
        delimiter = csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","
    if delimiter not in DELIMITERS or not lines or delimiter not in lines[0]:
        return ","  # a delimiter the header line does not hold is not the file's
    return delimiter


def _csv_sample(path: Path) -> tuple[bytes, str | None]:
    gzipped = _head(path, 2) == _GZIP_MAGIC
    if not gzipped:
        return _head(path, SNIFF_BYTES), None
    with gzip.open(path, "rb") as fh:
        return fh.read(SNIFF_BYTES), "gzip"


def _csv_schema(path: Path, compression: str | None, delimiter: str) -> pa.Schema:
    """Header and inferred types from the first block only, read as the profiler reads it."""
    with (
        pa.input_stream(str(path), compression=compression) as stream,
        pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                check_utf8=False,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        ) as reader,
    ):
        return reader.schema


def _csv(path: Path, name: str) -> DataShape:
    try:
        raw, compression = _csv_sample(path)
    except (OSError, EOFError, zlib.error) as exc:
        raise unreadable(name, DataFormat.CSV, f"its first block cannot be read ({exc})") from exc
    if not raw.strip():
        raise unreadable(name, DataFormat.CSV, "it is empty (no header row)")
    if b"\x00" in raw:
        raise unreadable(name, DataFormat.CSV, "it holds NUL bytes: binary data, not text")
    delimiter = sniff_delimiter(raw.decode("utf-8", errors="replace").lstrip("\ufeff"))
    try:
        schema = _csv_schema(path, compression, delimiter)
    except (pa.ArrowException, OSError, EOFError, zlib.error) as exc:
        if delimiter == ",":
            raise unreadable(name, DataFormat.CSV, str(exc)) from exc
        try:  # the sniffer guessed wrong (e.g. "; " inside a text column): try commas
            schema = _csv_schema(path, compression, ",")
        except (pa.ArrowException, OSError, EOFError, zlib.error):
            raise unreadable(name, DataFormat.CSV, str(exc)) from exc
        delimiter = ","
    return DataShape(
        format=DataFormat.CSV,
        columns=_columns(schema),
        types=TypeSource.INFERRED,
        delimiter=delimiter,
        compression=compression,
    )


_READERS = {DataFormat.PARQUET: _parquet, DataFormat.ARROW: _arrow, DataFormat.CSV: _csv}


def probe_file(path: Path, name: str, *, magic: bool = True) -> DataShape:
    """The shape of one file; ``name`` is the path the user gave (blobs have no suffix)."""
    fmt = detect_format(path, name, magic=magic)
    reader = _READERS.get(fmt)
    return DataShape(format=DataFormat.UNKNOWN) if reader is None else reader(path, name)


def _skipped(rel: str) -> bool:
    return any(part.startswith(("_", ".")) for part in PurePosixPath(rel).parts)


def probe_files(files: Sequence[tuple[str, Path]], *, directory: bool, label: str) -> DataShape:
    """The shape of an artifact ``label``: one file, or a directory's data parts (every footer
    read). ``files`` pairs each file's path (the artifact's own for a file, inside it for a
    directory) with where its bytes can be read; a directory's members are recognised by
    suffix only.
    """
    if not directory:
        ((name, path),) = files
        return probe_file(path, name)
    parts: list[tuple[str, DataShape]] = []
    for rel, path in files:
        if _skipped(rel):
            continue
        member = f"{label.rstrip('/')}/{rel}"
        shape = probe_file(path, member, magic=False)
        if shape.format is not DataFormat.UNKNOWN:
            parts.append((member, shape))
    return combine_parts(parts)


def csv_delimiter_hint(path: Path, label: str, columns: Sequence[str]) -> str | None:
    """A hint when a CSV read with commas came out as one column but is delimited otherwise."""
    if len(columns) != 1:
        return None
    try:
        raw, _ = _csv_sample(path)
    except (OSError, EOFError, zlib.error):
        return None
    delimiter = sniff_delimiter(raw.decode("utf-8", errors="replace").lstrip("\ufeff"))
    if delimiter == "," or delimiter not in columns[0]:
        return None
    name = DELIMITER_NAMES[delimiter]
    return (
        f"{label} was read as one column {columns[0]!r}, but it looks {name}-delimited "
        f"({delimiter!r}); airel reads CSV with commas: re-export it comma-delimited "
        "(or as Parquet)"
    )
