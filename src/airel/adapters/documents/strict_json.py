"""Strict JSON: a non-recursive pre-scan of untrusted JSON text, then a hooked ``json.loads``.

:func:`scan_json` walks the tokens without recursion and without building values, enforcing
the limits and rules before :mod:`json` sees the text: nesting depth (``DOC_TOO_DEEP``), node
count (``DOC_TOO_MANY_NODES``), duplicate keys (``DUPLICATE_KEY``) and numbers JSON cannot
carry (``NON_FINITE_NUMBER``: ``NaN``, ``Infinity``, overflowing floats, integers too long to
convert in linear time), each with its 1-based line; it also records the line every value
starts on. :func:`json_value` then decodes with hooks that refuse the same things again, as a
backstop, and reports malformed text as ``JSON_SYNTAX`` with its line and column.

Size and encoding are checked before the text gets here, by :mod:`airel.adapters.documents.parse`,
which also combines the two steps into the public entry points.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from airel.adapters.documents.common import (
    MAX_INT_DIGITS,
    DocPath,
    ParseLimits,
    at,
    dotted,
    non_finite,
)
from airel.errors import ParseError, Reason

__all__ = ["json_value", "scan_json"]

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


def _json_number_check(token: str, source: str, line: int, path: DocPath) -> None:
    if token in _JSON_NON_FINITE:
        raise non_finite(source, line, token, path)
    digits = token.lstrip("-")
    if "e" in token or "E" in token or "." in token:
        try:
            value = float(token)
        except ValueError:
            return  # not a number: json reports the syntax error
        if not math.isfinite(value):
            raise non_finite(source, line, token, path)
    elif len(digits) > MAX_INT_DIGITS and digits.isdigit():
        raise non_finite(source, line, token, path)


def scan_json(text: str, source: str, limits: ParseLimits) -> dict[DocPath, int]:
    """Walk JSON tokens without recursion: depth, nodes, duplicates, non-finite numbers, lines.

    Exact for well-formed JSON; on malformed input it never raises for structure (json.loads
    reports the syntax error) but may stop early with a limit error.
    """
    lines: dict[DocPath, int] = {}
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
                f"{at(source, line)}: more than {max_nodes} values (scalars, keys and collections)",
                line=line,
                fix="split the document, or move bulk data into an artifact referenced by digest",
                details={"source": source, "max_nodes": max_nodes},
            )
        top = stack[-1] if stack else None
        value_line = line
        if top is None:
            path: DocPath = ()
        elif top[1] is not None:  # object
            if top[2] is None:  # expecting a key
                if first == '"':
                    key = _json_key(token)
                    if key in top[1]:
                        raise ParseError(
                            Reason.DUPLICATE_KEY,
                            f"{at(source, line)}: {dotted(top[0])}: duplicate key {key!r}",
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
                    f"{at(source, line)}: {dotted(path)}: nesting deeper than {max_depth} levels",
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
    if len(text) > MAX_INT_DIGITS:
        raise ParseError(
            Reason.NON_FINITE_NUMBER,
            f"integer of {len(text)} digits is too large",
            fix="use a smaller number, or a string",
        )
    return int(text)


def json_value(text: str, source: str) -> Any:
    """Decode ``text`` (any JSON value at the root) with hooks that refuse what the scan does.

    Duplicate keys and non-finite numbers raise again here; malformed text is JSON_SYNTAX.
    """
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
