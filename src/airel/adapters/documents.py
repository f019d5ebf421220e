"""Strict, bounded parsing of untrusted YAML and JSON documents (release bundles, specs).

Everything a user hands airel as a document passes through here first, so this module assumes
the worst: files of any size, alias bombs, nesting deep enough to exhaust the stack, tags that
construct Python objects, duplicate keys that silently shadow each other, and YAML 1.1
surprises such as ``country: NO`` becoming ``False``.

The rules, each enforced with its own :class:`~airel.errors.Reason` and a 1-based line:

* Size is checked on the raw bytes before any parsing (``DOC_TOO_LARGE``); bytes must be UTF-8
  (``NOT_UTF8``, with the byte offset); a leading UTF-8 BOM is accepted and dropped.
* YAML is read as a stream of PyYAML *events* and the Python values are built here, without
  recursion and without PyYAML's composer or constructor. Anchors and aliases are refused
  (``YAML_ALIAS``), nesting and node count are bounded while streaming (``DOC_TOO_DEEP``,
  ``DOC_TOO_MANY_NODES``), and explicit tags other than the core ``!!str``, ``!!int``,
  ``!!float``, ``!!bool``, ``!!null``, ``!!map`` and ``!!seq`` are refused (``YAML_TAG``).
* Plain scalars resolve by the YAML 1.2 *core* schema: only ``true``/``false`` (three
  spellings) are booleans, ``1:20`` and ``2026-01-01`` stay strings, ``1.10`` is the float
  ``1.1``; NaN and infinities are refused (``NON_FINITE_NUMBER``) because JSON cannot carry
  them. Quoted and block scalars are always strings. No ``datetime`` ever appears.
* Mapping keys must be strings (``NON_STRING_KEY``) and unique (``DUPLICATE_KEY``); the root
  must be a mapping (``NOT_A_MAPPING``).
* JSON is pre-scanned without recursion (depth, node count, duplicate keys, non-finite numbers,
  value lines), then decoded by :func:`json.loads` with hooks that refuse the same things again.

Every parsed YAML document records, for each mapping value and sequence item, the line it
starts on (for a mapping value: the line of its key), so later layers can say
"release.yaml line 12: model.model_version ...".
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from airel.errors import NotFoundError, ParseError, Reason

__all__ = [
    "Document",
    "ParseLimits",
    "load_document",
    "parse_json",
    "parse_yaml",
    "parse_yaml_stream",
    "read_bounded",
]

_DocPath = tuple[str | int, ...]

# libyaml is an order of magnitude faster; both produce the same events.
_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
_C_LOADER = _LOADER is not yaml.SafeLoader

_BOM = b"\xef\xbb\xbf"

# -- YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1023-core-schema) --
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}
_INT_RE = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_NON_FINITE_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
# A plain scalar whose first character is not one of these is always a string (fast path).
_NON_STRING_STARTS = frozenset("0123456789+-.~nNtTfF")
# Longer decimal integers cannot be converted in linear time (CPython's int/str limit).
_MAX_INT_DIGITS = 4300

_TAG_PREFIX = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (
    _TAG_PREFIX + name for name in ("str", "int", "float", "bool", "null")
)
_MAP, _SEQ = _TAG_PREFIX + "map", _TAG_PREFIX + "seq"

_KIND_STR = "string"


@dataclass(frozen=True)
class ParseLimits:
    """Upper bounds applied to every untrusted document before and while it is parsed."""

    max_bytes: int = 1_048_576  # 1 MiB of raw input
    max_depth: int = 32  # nesting of mappings/sequences; the root mapping is depth 1
    max_nodes: int = 100_000  # total scalars (keys included) + collections in one input


@dataclass(frozen=True)
class Document:
    """A parsed document whose root is a mapping, with the line of every value.

    ``lines`` maps a path of keys and sequence indices (``("eval", "dataset_versions", 1)``)
    to the 1-based line its value starts on; ``()`` is the root. ``source`` names the input
    in messages: a file path, or ``"<string>"``.
    """

    data: dict[str, Any]
    lines: Mapping[_DocPath, int]
    source: str

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its longest prefix that has one; None if none does."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


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


def read_bounded(path: Path, limits: ParseLimits = ParseLimits()) -> bytes:
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


def _at(source: str, line: int | None) -> str:
    return f"{source} line {line}" if line is not None else source


def _dotted(path: _DocPath) -> str:
    return ".".join(str(p) for p in path) if path else "<root>"


def _line(event: yaml.Event) -> int | None:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else None


def _plain_kind(text: str) -> str:
    """What a plain (unquoted, untagged) scalar is under the YAML 1.2 core schema."""
    if text and text[0] not in _NON_STRING_STARTS:
        return _KIND_STR
    if text in _NULLS:
        return "null"
    if text in _BOOLS:
        return "boolean"
    if _INT_RE.fullmatch(text):
        return "integer"
    if _FLOAT_RE.fullmatch(text):
        return "float"
    if _NON_FINITE_RE.fullmatch(text):
        return "non-finite float"
    return _KIND_STR


def _non_finite(source: str, line: int | None, text: str, path: _DocPath) -> ParseError:
    return ParseError(
        Reason.NON_FINITE_NUMBER,
        f"{_at(source, line)}: {_dotted(path)}: {text[:40]!r} is not a finite number",
        line=line,
        fix="use a finite number (NaN and infinities cannot be represented in JSON), or quote "
        "the value to make it a string",
        details={"source": source, "path": list(path)},
    )


def _to_int(text: str, source: str, line: int | None, path: _DocPath) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    if len(text) > _MAX_INT_DIGITS:
        raise _non_finite(source, line, text, path)
    return int(text)


def _to_float(text: str, source: str, line: int | None, path: _DocPath) -> float:
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e999
        raise _non_finite(source, line, text, path)
    return value


def _resolve_plain(text: str, source: str, line: int | None, path: _DocPath) -> Any:
    kind = _plain_kind(text)
    if kind == _KIND_STR:
        return text
    if kind == "null":
        return None
    if kind == "boolean":
        return _BOOLS[text]
    if kind == "integer":
        return _to_int(text, source, line, path)
    if kind == "float":
        return _to_float(text, source, line, path)
    raise _non_finite(source, line, text, path)


def _tag_error(source: str, line: int | None, path: _DocPath, tag: str, why: str) -> ParseError:
    return ParseError(
        Reason.YAML_TAG,
        f"{_at(source, line)}: {_dotted(path)}: tag {tag!r} {why}",
        line=line,
        fix="remove the explicit tag; airel documents contain only plain strings, numbers, "
        "booleans, nulls, lists and mappings",
        details={"source": source, "path": list(path), "tag": tag},
    )


def _scalar_value(event: yaml.ScalarEvent, source: str, line: int | None, path: _DocPath) -> Any:
    tag = event.tag
    text = event.value
    if tag is None:
        if event.implicit[0]:  # plain scalar
            return _resolve_plain(text, source, line, path)
        return text  # quoted or block scalar
    if tag == _STR:
        return text
    if tag not in (_INT, _FLOAT, _BOOL, _NULL):
        raise _tag_error(source, line, path, tag, "is not allowed")
    kind = _plain_kind(text)
    if tag == _NULL and kind == "null":
        return None
    if tag == _BOOL and kind == "boolean":
        return _BOOLS[text]
    if tag == _INT and kind == "integer":
        return _to_int(text, source, line, path)
    if tag == _FLOAT and kind in ("integer", "float") and not text.startswith(("0o", "0x")):
        return _to_float(text, source, line, path)
    if tag == _FLOAT and kind == "non-finite float":
        raise _non_finite(source, line, text, path)
    raise _tag_error(source, line, path, tag, f"does not match the value {text[:40]!r}")


def _key_of(event: yaml.Event, source: str, path: _DocPath) -> str:
    """The string key a mapping-key event stands for; anything else is NON_STRING_KEY."""
    line = _line(event)
    if isinstance(event, yaml.ScalarEvent):
        if event.tag is not None and event.tag not in (_STR, _INT, _FLOAT, _BOOL, _NULL):
            raise _tag_error(source, line, path, event.tag, "is not allowed")
        if event.tag == _STR or (event.tag is None and not event.implicit[0]):
            return event.value
        if event.tag is None:
            kind = _plain_kind(event.value)
            if kind == _KIND_STR:
                return event.value
        else:
            kind = "tagged scalar"
        shown = f"{kind} {event.value[:40]!r}"
    else:
        shown = "a sequence or mapping"
    raise ParseError(
        Reason.NON_STRING_KEY,
        f"{_at(source, line)}: {_dotted(path)}: mapping key is {shown}, not a string",
        line=line,
        fix='use plain text keys; quote keys such as "1", "true" or "null" to make them strings',
        details={"source": source, "path": list(path)},
    )


class _Frame:
    """One open mapping or sequence while a document is being built."""

    __slots__ = ("container", "key", "key_line", "path")

    def __init__(self, container: dict[str, Any] | list[Any], path: _DocPath) -> None:
        self.container = container
        self.path = path
        self.key: str | None = None  # mapping only: key awaiting its value
        self.key_line: int | None = None


class _DocState:
    """The values, lines and open collections of the document being built."""

    __slots__ = ("lines", "root", "root_line", "stack")

    def __init__(self, root_line: int | None) -> None:
        self.lines: dict[_DocPath, int] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.root_line = root_line


class _Builder:
    """Builds Python values for one stream from events: iterative, bounded, strict."""

    def __init__(self, source: str, limits: ParseLimits) -> None:
        self.source = source
        self.limits = limits
        self.nodes = 0

    def _count(self, event: yaml.Event) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            line = _line(event)
            raise ParseError(
                Reason.DOC_TOO_MANY_NODES,
                f"{_at(self.source, line)}: more than {self.limits.max_nodes} values "
                "(scalars, keys and collections)",
                line=line,
                fix="split the document, or move bulk data into an artifact referenced by digest",
                details={"source": self.source, "max_nodes": self.limits.max_nodes},
            )

    def documents(self, text: str, *, single: bool) -> Iterator[Document]:
        """Yield each document of ``text``; with ``single``, a second one is an error."""
        events = yaml.parse(text, Loader=_LOADER)
        seen = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                seen += 1
                if single and seen > 1:
                    line = _line(event)
                    raise ParseError(
                        Reason.MULTIPLE_DOCUMENTS,
                        f"{_at(self.source, line)}: a second YAML document starts here; "
                        "exactly one is expected",
                        line=line,
                        fix="remove the '---' separator and the extra document, or put each "
                        "document in its own file",
                        details={"source": self.source},
                    )
                yield self._document(events, event)

    def _document(self, events: Iterator[yaml.Event], start: yaml.Event) -> Document:
        doc = _DocState(_line(start))
        for event in events:
            if isinstance(event, yaml.NodeEvent):
                self._node(event, doc)
            elif isinstance(event, yaml.CollectionEndEvent):
                doc.stack.pop()
            elif isinstance(event, yaml.DocumentEndEvent):
                break
        root, source = doc.root, self.source
        if not isinstance(root, dict):
            kind = "empty" if root is None else f"a {type(root).__name__}"
            raise ParseError(
                Reason.NOT_A_MAPPING,
                f"{_at(source, doc.root_line)}: the document is {kind}; its root must be a "
                "mapping of keys to values",
                line=doc.root_line,
                fix="write the document as 'key: value' lines at the top level",
                details={"source": source},
            )
        return Document(data=root, lines=MappingProxyType(doc.lines), source=source)

    def _node(self, event: yaml.NodeEvent, doc: _DocState) -> None:
        """Place one scalar, collection start or alias event into the document being built."""
        stack = doc.stack
        if event.anchor is not None:  # an anchor, or an alias (which always names one)
            self._refuse_alias(event, stack)
        self._count(event)
        top = stack[-1] if stack else None
        if top is None:  # the root
            path: _DocPath = ()
            line = doc.root_line = _line(event)
        else:
            container = top.container
            if isinstance(container, dict):
                if top.key is None:  # this event is a key
                    key = _key_of(event, self.source, top.path)
                    if key in container:
                        self._refuse_duplicate(event, key, top.path)
                    top.key, top.key_line = key, _line(event)
                    return
                path, line = (*top.path, top.key), top.key_line
            else:
                path, line = (*top.path, len(container)), _line(event)
        if line is not None:
            doc.lines[path] = line
        value: Any
        if isinstance(event, yaml.ScalarEvent):
            value = _scalar_value(event, self.source, _line(event), path)
        else:
            assert isinstance(event, yaml.CollectionStartEvent)
            self._check_collection(event, path, len(stack) + 1)
            value = {} if isinstance(event, yaml.MappingStartEvent) else []
            stack.append(_Frame(value, path))
        if top is None:
            doc.root = value
        elif isinstance(top.container, dict):
            assert top.key is not None
            top.container[top.key] = value
            top.key = None
        else:
            top.container.append(value)

    def _check_collection(
        self, event: yaml.CollectionStartEvent, path: _DocPath, depth: int
    ) -> None:
        line, max_depth = _line(event), self.limits.max_depth
        if depth > max_depth:
            raise ParseError(
                Reason.DOC_TOO_DEEP,
                f"{_at(self.source, line)}: {_dotted(path)}: nesting deeper than "
                f"{max_depth} levels",
                line=line,
                fix=f"keep nesting of mappings and lists within {max_depth} levels",
                details={"source": self.source, "max_depth": max_depth},
            )
        is_map = isinstance(event, yaml.MappingStartEvent)
        tag = event.tag
        if tag is not None and tag != (_MAP if is_map else _SEQ):
            what = "is not allowed" if tag not in (_MAP, _SEQ) else "does not match the value"
            raise _tag_error(self.source, line, path, tag, what)

    def _refuse_alias(self, event: yaml.NodeEvent, stack: list[_Frame]) -> None:
        line = _line(event)
        what = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
        path = stack[-1].path if stack else ()
        raise ParseError(
            Reason.YAML_ALIAS,
            f"{_at(self.source, line)}: {_dotted(path)}: YAML {what} "
            f"'{'*' if what == 'alias' else '&'}{event.anchor}' is not allowed",
            line=line,
            fix="write every value out in full; anchors (&name) and aliases (*name) are refused "
            "because they hide sharing and enable alias bombs",
            details={"source": self.source, "anchor": event.anchor},
        )

    def _refuse_duplicate(self, event: yaml.Event, key: str, path: _DocPath) -> None:
        line = _line(event)
        raise ParseError(
            Reason.DUPLICATE_KEY,
            f"{_at(self.source, line)}: {_dotted(path)}: duplicate key {key!r}",
            line=line,
            fix=f"remove one of the {key!r} entries; YAML would silently keep only the last",
            details={"source": self.source, "key": key, "path": list(path)},
        )


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> ParseError:
    line: int | None = None
    problem = str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        parts = [p for p in (exc.context, exc.problem) if p]
        problem = ": ".join(parts) if parts else problem
    elif isinstance(exc, yaml.reader.ReaderError):
        position = int(exc.position)
        if _C_LOADER:  # libyaml reports a byte offset
            line = text.encode("utf-8")[:position].count(b"\n") + 1
        else:
            line = text.count("\n", 0, position) + 1
        problem = f"unacceptable character #x{int(exc.character):04x}: {exc.reason}"
    return ParseError(
        Reason.YAML_SYNTAX,
        f"{_at(source, line)}: invalid YAML: {problem}",
        line=line,
        fix="fix the YAML syntax at that line (indentation, quoting, unclosed brackets)",
        details={"source": source},
    )


def _yaml_documents(
    data: bytes | str, source: str, limits: ParseLimits, *, single: bool
) -> list[Document]:
    text = _decode(data, source, limits)
    builder = _Builder(source, limits)
    try:
        return list(builder.documents(text, single=single))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from exc


def parse_yaml(
    data: bytes | str,
    *,
    source: str = "<string>",
    limits: ParseLimits = ParseLimits(),
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
    limits: ParseLimits = ParseLimits(),
) -> list[Document]:
    """Parse every document of a ``---``-separated YAML stream; each root must be a mapping.

    A stream with no documents at all (empty, or only comments) gives an empty list. The node
    limit applies to the whole stream.
    """
    return _yaml_documents(data, source, limits, single=False)


# ---------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"?|[{}\[\],:\n]|[^\s{}\[\],:"]+', re.DOTALL)
_JSON_NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})


def _json_key(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    try:
        key = json.loads(token)
    except ValueError:
        return token[1:-1]
    return key if isinstance(key, str) else token[1:-1]


def _json_number_check(token: str, source: str, line: int, path: _DocPath) -> None:
    if token in _JSON_NON_FINITE:
        raise _non_finite(source, line, token, path)
    digits = token.lstrip("-")
    if "e" in token or "E" in token or "." in token:
        try:
            value = float(token)
        except ValueError:
            return  # not a number: json reports the syntax error
        if not math.isfinite(value):
            raise _non_finite(source, line, token, path)
    elif len(digits) > _MAX_INT_DIGITS and digits.isdigit():
        raise _non_finite(source, line, token, path)


def _scan_json(text: str, source: str, limits: ParseLimits) -> dict[_DocPath, int]:
    """Walk JSON tokens without recursion: depth, nodes, duplicates, non-finite numbers, lines.

    Exact for well-formed JSON; on malformed input it never raises for structure (json.loads
    reports the syntax error) but may stop early with a limit error.
    """
    lines: dict[_DocPath, int] = {}
    # each frame: [path, keys-seen (None for arrays), pending key, key line, item count]
    stack: list[list[Any]] = []
    line = 1
    nodes = 0
    max_depth, max_nodes = limits.max_depth, limits.max_nodes
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == "\n":
            line += 1
            continue
        if first in ",:":
            continue
        if first in "}]":
            if stack:
                stack.pop()
            continue
        nodes += 1
        if nodes > max_nodes:
            raise ParseError(
                Reason.DOC_TOO_MANY_NODES,
                f"{_at(source, line)}: more than {max_nodes} values (scalars, keys and "
                "collections)",
                line=line,
                fix="split the document, or move bulk data into an artifact referenced by digest",
                details={"source": source, "max_nodes": max_nodes},
            )
        top = stack[-1] if stack else None
        value_line = line
        if top is None:
            path: _DocPath = ()
        elif top[1] is not None:  # object
            if top[2] is None:  # expecting a key
                if first == '"':
                    key = _json_key(token)
                    if key in top[1]:
                        raise ParseError(
                            Reason.DUPLICATE_KEY,
                            f"{_at(source, line)}: {_dotted(top[0])}: duplicate key {key!r}",
                            line=line,
                            fix=f"remove one of the {key!r} entries",
                            details={"source": source, "key": key, "path": list(top[0])},
                        )
                    top[1].add(key)
                    top[2], top[3] = key, line
                    line += token.count("\n")
                continue  # anything else in key position is a syntax error for json
            path, value_line = (*top[0], top[2]), top[3]
            top[2] = None
        else:  # array
            path = (*top[0], top[4])
            top[4] += 1
        lines[path] = value_line
        if first in "{[":
            if len(stack) + 1 > max_depth:
                raise ParseError(
                    Reason.DOC_TOO_DEEP,
                    f"{_at(source, line)}: {_dotted(path)}: nesting deeper than {max_depth} levels",
                    line=line,
                    fix=f"keep nesting of objects and arrays within {max_depth} levels",
                    details={"source": source, "max_depth": max_depth},
                )
            stack.append([path, set() if first == "{" else None, None, None, 0])
        elif first == '"':
            line += token.count("\n")
        else:
            _json_number_check(token, source, line, path)
    return lines


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ParseError(
                Reason.DUPLICATE_KEY,
                f"duplicate key {key!r}",
                fix=f"remove one of the {key!r} entries",
                details={"key": key},
            )
        out[key] = value
    return out


def _json_constant(name: str) -> Any:
    raise ParseError(
        Reason.NON_FINITE_NUMBER,
        f"{name} is not a finite number",
        fix="use a finite number; NaN and Infinity are not JSON",
    )


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ParseError(
            Reason.NON_FINITE_NUMBER,
            f"{text[:40]!r} is not a finite number",
            fix="use a finite number",
        )
    return value


def _json_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS:
        raise ParseError(
            Reason.NON_FINITE_NUMBER,
            f"integer of {len(text)} digits is too large",
            fix="use a smaller number, or a string",
        )
    return int(text)


def _json_value(text: str, source: str) -> Any:
    try:
        return json.loads(
            text,
            object_pairs_hook=_json_pairs,
            parse_constant=_json_constant,
            parse_float=_json_float,
            parse_int=_json_int,
        )
    except json.JSONDecodeError as exc:
        raise ParseError(
            Reason.JSON_SYNTAX,
            f"{source} line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}",
            line=exc.lineno,
            fix="fix the JSON syntax at that position (commas, quotes, brackets)",
            details={"source": source, "column": exc.colno},
        ) from exc
    except RecursionError as exc:  # pragma: no cover - the pre-scan bounds depth first
        raise ParseError(
            Reason.DOC_TOO_DEEP,
            f"{source}: nesting too deep",
            fix="reduce nesting",
            details={"source": source},
        ) from exc


def _json_with_lines(
    data: bytes | str, source: str, limits: ParseLimits
) -> tuple[Any, dict[_DocPath, int]]:
    text = _decode(data, source, limits)
    lines = _scan_json(text, source, limits)
    return _json_value(text, source), lines


def parse_json(
    data: bytes | str,
    *,
    source: str = "<string>",
    limits: ParseLimits = ParseLimits(),
) -> Any:
    """Parse one JSON value (any type at the root) under the same limits and strictness."""
    value, _ = _json_with_lines(data, source, limits)
    return value


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def load_document(path: Path, limits: ParseLimits = ParseLimits()) -> Document:
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
            f"{_at(source, line)}: the document is a JSON {type(value).__name__}; its root "
            "must be an object",
            line=line,
            fix="wrap the content in a top-level JSON object of keys to values",
            details={"source": source},
        )
    return Document(data=value, lines=MappingProxyType(lines), source=source)
