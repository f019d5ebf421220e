"""Strict, bounded parsing of untrusted YAML and JSON documents (release bundles, specs).

Everything a user hands airel as a document passes through here first, so the parsers assume
the worst: files of any size, alias bombs, nesting deep enough to exhaust the stack, tags that
construct Python objects, duplicate keys that silently shadow each other, and YAML 1.1
surprises such as ``country: NO`` becoming ``False``.

This module is the public face of the parsers: :func:`read_bounded`, :func:`parse_yaml`,
:func:`parse_yaml_stream`, :func:`parse_json` and :func:`load_document`, with
:class:`ParseLimits` and :class:`Document` re-exported from :mod:`airel.adapters.documents.common`.
It owns the byte-level rules and hands decoded text on:

* Size is checked on the raw bytes before any parsing (``DOC_TOO_LARGE``); bytes must be UTF-8
  (``NOT_UTF8``, with the byte offset); a leading UTF-8 BOM is accepted and dropped. Missing or
  unreadable files are ``ARTIFACT_MISSING``.
* YAML goes to :mod:`airel.adapters.documents.strict_yaml` (event stream, no constructor: aliases,
  tags,
  non-string and duplicate keys, depth and node limits, YAML 1.2 core-schema scalars).
* JSON goes to :mod:`airel.adapters.documents.strict_json` (non-recursive pre-scan for the same
  limits
  and rules, then a hooked :func:`json.loads`).
* A document's root must be a mapping (``NOT_A_MAPPING``); :func:`parse_json` alone accepts
  any root value.

Every rule has its own :class:`~airel.errors.Reason` and a 1-based line, and every parsed
document records the line each value starts on, so later layers can say
"release.yaml line 12: model.model_version ...".
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from airel.adapters.documents import strict_json
from airel.adapters.documents.common import DEFAULT_LIMITS, DocPath, Document, ParseLimits, at
from airel.errors import NotFoundError, ParseError, Reason

if TYPE_CHECKING:
    from airel.adapters.documents import strict_yaml

__all__ = [
    "Document",
    "ParseLimits",
    "load_document",
    "parse_json",
    "parse_yaml",
    "parse_yaml_stream",
    "read_bounded",
]

# The YAML parser and the JSON pre-scan the entry points below use. They are read at call time
# from this module, so a test can run the YAML rules on PyYAML's pure-Python parser instead of
# libyaml, or check that the JSON decoder hooks refuse what the pre-scan would have. ``None``
# is strict_yaml's own (PyYAML is imported with the first YAML document, not by a store read).
_LOADER: strict_yaml.Loader | None = None
_C_LOADER: bool | None = None
_scan_json = strict_json.scan_json

_BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------------------------------------
# Bytes: size, encoding, files
# ---------------------------------------------------------------------------------------------


def _too_large(source: str, size: int | None, limits: ParseLimits) -> ParseError:
    shown = f"{size} bytes" if size is not None else "larger than that"
    return ParseError(
        Reason.DOC_TOO_LARGE,
        f"{source}: document exceeds the limit of {limits.max_bytes} bytes ({shown})",
        fix=f"keep documents under {limits.max_bytes} bytes; move large content into artifacts "
        "referenced by digest",
        details={"source": source, "max_bytes": limits.max_bytes, "size": size},
    )


def read_bounded(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> bytes:
    """Read at most ``limits.max_bytes`` bytes of ``path``; larger files are refused unread.

    Regular files are sized with ``fstat`` first; anything else (pipes, devices, files that
    grow) is read only up to one byte past the limit.
    """
    source = str(path)
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limits.max_bytes:
                raise _too_large(source, size, limits)
            data = handle.read(limits.max_bytes + 1)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"{source}: file does not exist",
            fix="check the path and the current directory",
            details={"path": source},
        ) from exc
    except IsADirectoryError as exc:
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"{source}: is a directory, not a document file",
            fix="pass the path of a YAML or JSON file",
            details={"path": source},
        ) from exc
    except PermissionError as exc:
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"{source}: file cannot be read (permission denied)",
            fix="give the current user read permission on the file",
            details={"path": source},
        ) from exc
    if len(data) > limits.max_bytes:
        raise _too_large(source, None, limits)
    return data


def _decode(data: bytes | str, source: str, limits: ParseLimits) -> str:
    """Size-check, UTF-8-decode and BOM-strip ``data``."""
    if isinstance(data, str):
        if len(data) > limits.max_bytes:  # every character is at least one byte
            raise _too_large(source, None, limits)
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ParseError(
                Reason.NOT_UTF8,
                f"{source}: character {exc.start} is a lone surrogate that is not valid UTF-8",
                line=data.count("\n", 0, exc.start) + 1,
                fix="save the document as UTF-8 text",
                details={"source": source, "offset": exc.start},
            ) from exc
    else:
        raw = data
    if len(raw) > limits.max_bytes:
        raise _too_large(source, len(raw), limits)
    skip = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        raise ParseError(
            Reason.NOT_UTF8,
            f"{source}: byte {offset} (0x{raw[offset]:02x}) is not valid UTF-8",
            line=raw.count(b"\n", 0, offset) + 1,
            fix="save the document as UTF-8 text (not Latin-1, UTF-16 or Windows-1252)",
            details={"source": source, "offset": offset},
        ) from exc


# ---------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------


def _yaml_documents(
    data: bytes | str, source: str, limits: ParseLimits, *, single: bool
) -> list[Document]:
    from airel.adapters.documents import strict_yaml  # noqa: PLC0415 -- see _LOADER

    text = _decode(data, source, limits)
    loader = strict_yaml.LOADER if _LOADER is None else _LOADER
    offsets = strict_yaml.C_LOADER if _C_LOADER is None else _C_LOADER
    return strict_yaml.parse_documents(
        text, source, limits, single=single, loader=loader, byte_offsets=offsets
    )


def parse_yaml(
    data: bytes | str,
    *,
    source: str = "<string>",
    limits: ParseLimits = DEFAULT_LIMITS,
) -> Document:
    """Parse exactly one YAML document whose root is a mapping."""
    docs = _yaml_documents(data, source, limits, single=True)
    if not docs:
        raise ParseError(
            Reason.NOT_A_MAPPING,
            f"{source}: the document is empty; its root must be a mapping of keys to values",
            line=1,
            fix="write the document as 'key: value' lines at the top level",
            details={"source": source},
        )
    return docs[0]


def parse_yaml_stream(
    data: bytes | str,
    *,
    source: str = "<string>",
    limits: ParseLimits = DEFAULT_LIMITS,
) -> list[Document]:
    """Parse every document of a ``---``-separated YAML stream; each root must be a mapping.

    A stream with no documents at all (empty, or only comments) gives an empty list. The node
    limit applies to the whole stream.
    """
    return _yaml_documents(data, source, limits, single=False)


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------


def _json_with_lines(
    data: bytes | str, source: str, limits: ParseLimits
) -> tuple[Any, dict[DocPath, int]]:
    text = _decode(data, source, limits)
    lines = _scan_json(text, source, limits)
    return strict_json.json_value(text, source), lines


def parse_json(
    data: bytes | str,
    *,
    source: str = "<string>",
    limits: ParseLimits = DEFAULT_LIMITS,
) -> Any:
    """Parse one JSON value (any type at the root) under the same limits and strictness."""
    value, _ = _json_with_lines(data, source, limits)
    return value


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def load_document(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> Document:
    """Read and parse ``path``: ``.json`` files as JSON, everything else as one YAML document."""
    data = read_bounded(path, limits)
    source = str(path)
    if path.suffix.lower() != ".json":
        return parse_yaml(data, source=source, limits=limits)
    value, lines = _json_with_lines(data, source, limits)
    if not isinstance(value, dict):
        line = lines.get((), 1)
        raise ParseError(
            Reason.NOT_A_MAPPING,
            f"{at(source, line)}: the document is a JSON {type(value).__name__}; its root "
            "must be an object",
            line=line,
            fix="wrap the content in a top-level JSON object of keys to values",
            details={"source": source},
        )
    return Document(data=value, lines=MappingProxyType(lines), source=source)
