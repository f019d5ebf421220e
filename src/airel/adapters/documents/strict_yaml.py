"""Strict YAML: untrusted text to :class:`~airel.adapters.documents.parse.Document` values via
events.

The text is read as a stream of PyYAML *events* and the Python values are built here, without
recursion and without PyYAML's composer or constructor, so nothing an input says can construct
a Python object, expand an alias bomb or exhaust the stack. The rules, each with its own
:class:`~airel.errors.Reason` and a 1-based line:

* Anchors and aliases are refused (``YAML_ALIAS``); nesting and node count are bounded while
  streaming (``DOC_TOO_DEEP``, ``DOC_TOO_MANY_NODES``); explicit tags other than the core
  ``!!str``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map`` and ``!!seq`` are refused
  (``YAML_TAG``); malformed text is ``YAML_SYNTAX``.
* Plain scalars resolve by the YAML 1.2 *core* schema: only ``true``/``false`` (three
  spellings) are booleans, ``1:20`` and ``2026-01-01`` stay strings, ``1.10`` is the float
  ``1.1``; NaN and infinities are refused (``NON_FINITE_NUMBER``) because JSON cannot carry
  them. Quoted and block scalars are always strings. No ``datetime`` ever appears.
* Mapping keys must be strings (``NON_STRING_KEY``) and unique (``DUPLICATE_KEY``); each root
  must be a mapping (``NOT_A_MAPPING``); with ``single``, a second document is
  ``MULTIPLE_DOCUMENTS``.

Every document records, for each mapping value and sequence item, the line it starts on (for a
mapping value: the line of its key). Size and encoding are checked before the text gets here,
by :mod:`airel.adapters.documents.parse`, which is also where the public entry points live.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import yaml

from airel.adapters.documents.common import (
    MAX_INT_DIGITS,
    DocPath,
    Document,
    ParseLimits,
    at,
    dotted,
    non_finite,
)
from airel.errors import ParseError, Reason

__all__ = ["C_LOADER", "LOADER", "Loader", "parse_documents"]

Loader = type[yaml.SafeLoader] | type[yaml.CSafeLoader]
"""A PyYAML loader class; only its event parser is used."""

LOADER: Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when available (an order of magnitude faster), else PyYAML's; both produce
the same events."""

C_LOADER = LOADER is not yaml.SafeLoader
"""True when :data:`LOADER` is libyaml's, which reports reader errors at byte offsets."""

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

_TAG_PREFIX = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (
    _TAG_PREFIX + name for name in ("str", "int", "float", "bool", "null")
)
_MAP, _SEQ = _TAG_PREFIX + "map", _TAG_PREFIX + "seq"

_KIND_STR = "string"


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


def _to_int(text: str, source: str, line: int | None, path: DocPath) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    if len(text) > MAX_INT_DIGITS:
        raise non_finite(source, line, text, path)
    return int(text)


def _to_float(text: str, source: str, line: int | None, path: DocPath) -> float:
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e999
        raise non_finite(source, line, text, path)
    return value


def _resolve_plain(text: str, source: str, line: int | None, path: DocPath) -> Any:
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
    raise non_finite(source, line, text, path)


def _tag_error(source: str, line: int | None, path: DocPath, tag: str, why: str) -> ParseError:
    return ParseError(
        Reason.YAML_TAG,
        f"{at(source, line)}: {dotted(path)}: tag {tag!r} {why}",
        line=line,
        fix="remove the explicit tag; airel documents contain only plain strings, numbers, "
        "booleans, nulls, lists and mappings",
        details={"source": source, "path": list(path), "tag": tag},
    )


def _scalar_value(event: yaml.ScalarEvent, source: str, line: int | None, path: DocPath) -> Any:
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
        raise non_finite(source, line, text, path)
    raise _tag_error(source, line, path, tag, f"does not match the value {text[:40]!r}")


def _key_of(event: yaml.Event, source: str, path: DocPath) -> str:
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
        f"{at(source, line)}: {dotted(path)}: mapping key is {shown}, not a string",
        line=line,
        fix='use plain text keys; quote keys such as "1", "true" or "null" to make them strings',
        details={"source": source, "path": list(path)},
    )


class _Frame:
    """One open mapping or sequence while a document is being built."""

    __slots__ = ("container", "key", "key_line", "path")

    def __init__(self, container: dict[str, Any] | list[Any], path: DocPath) -> None:
        self.container = container
        self.path = path
        self.key: str | None = None  # mapping only: key awaiting its value
        self.key_line: int | None = None


class _DocState:
    """The values, lines and open collections of the document being built."""

    __slots__ = ("lines", "root", "root_line", "stack")

    def __init__(self, root_line: int | None) -> None:
        self.lines: dict[DocPath, int] = {}
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.root_line = root_line


class _Builder:
    """Builds Python values for one stream from events: iterative, bounded, strict."""

    def __init__(self, source: str, limits: ParseLimits, loader: Loader) -> None:
        self.source = source
        self.limits = limits
        self.loader = loader
        self.nodes = 0

    def _count(self, event: yaml.Event) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            line = _line(event)
            raise ParseError(
                Reason.DOC_TOO_MANY_NODES,
                f"{at(self.source, line)}: more than {self.limits.max_nodes} values "
                "(scalars, keys and collections)",
                line=line,
                fix="split the document, or move bulk data into an artifact referenced by digest",
                details={"source": self.source, "max_nodes": self.limits.max_nodes},
            )

    def documents(self, text: str, *, single: bool) -> Iterator[Document]:
        """Yield each document of ``text``; with ``single``, a second one is an error."""
        events = yaml.parse(text, Loader=self.loader)
        seen = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                seen += 1
                if single and seen > 1:
                    line = _line(event)
                    raise ParseError(
                        Reason.MULTIPLE_DOCUMENTS,
                        f"{at(self.source, line)}: a second YAML document starts here; "
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
                f"{at(source, doc.root_line)}: the document is {kind}; its root must be a "
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
            path: DocPath = ()
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
        self, event: yaml.CollectionStartEvent, path: DocPath, depth: int
    ) -> None:
        line, max_depth = _line(event), self.limits.max_depth
        if depth > max_depth:
            raise ParseError(
                Reason.DOC_TOO_DEEP,
                f"{at(self.source, line)}: {dotted(path)}: nesting deeper than {max_depth} levels",
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
            f"{at(self.source, line)}: {dotted(path)}: YAML {what} "
            f"'{'*' if what == 'alias' else '&'}{event.anchor}' is not allowed",
            line=line,
            fix="write every value out in full; anchors (&name) and aliases (*name) are refused "
            "because they hide sharing and enable alias bombs",
            details={"source": self.source, "anchor": event.anchor},
        )

    def _refuse_duplicate(self, event: yaml.Event, key: str, path: DocPath) -> None:
        line = _line(event)
        raise ParseError(
            Reason.DUPLICATE_KEY,
            f"{at(self.source, line)}: {dotted(path)}: duplicate key {key!r}",
            line=line,
            fix=f"remove one of the {key!r} entries; YAML would silently keep only the last",
            details={"source": self.source, "key": key, "path": list(path)},
        )


def _yaml_error(exc: yaml.YAMLError, text: str, source: str, *, byte_offsets: bool) -> ParseError:
    line: int | None = None
    problem = str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        parts = [p for p in (exc.context, exc.problem) if p]
        problem = ": ".join(parts) if parts else problem
    elif isinstance(exc, yaml.reader.ReaderError):
        position = int(exc.position)
        if byte_offsets:  # libyaml reports a byte offset
            line = text.encode("utf-8")[:position].count(b"\n") + 1
        else:
            line = text.count("\n", 0, position) + 1
        problem = f"unacceptable character #x{int(exc.character):04x}: {exc.reason}"
    return ParseError(
        Reason.YAML_SYNTAX,
        f"{at(source, line)}: invalid YAML: {problem}",
        line=line,
        fix="fix the YAML syntax at that line (indentation, quoting, unclosed brackets)",
        details={"source": source},
    )


def parse_documents(
    text: str,
    source: str,
    limits: ParseLimits,
    *,
    single: bool,
    loader: Loader = LOADER,
    byte_offsets: bool = C_LOADER,
) -> list[Document]:
    """Every document of the decoded YAML ``text``; with ``single``, a second one is an error.

    ``loader`` supplies the event parser; ``byte_offsets`` says whether it reports reader errors
    at byte (libyaml) rather than character offsets. The node limit applies to the whole stream.
    """
    builder = _Builder(source, limits, loader)
    try:
        return list(builder.documents(text, single=single))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source, byte_offsets=byte_offsets) from exc
