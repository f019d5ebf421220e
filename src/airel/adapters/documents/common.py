"""What the strict document parsers share: the limits, the parsed :class:`Document`, messages.

:mod:`airel.adapters.documents.parse` (the public entry points),
:mod:`airel.adapters.documents.strict_yaml`
and :mod:`airel.adapters.documents.strict_json` all import from here and this module imports none of
them, so the three never form an import cycle. Callers outside the adapters use the names
re-exported by :mod:`airel.adapters.documents.parse`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airel.errors import ParseError, Reason

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_INT_DIGITS",
    "DocPath",
    "Document",
    "ParseLimits",
    "at",
    "dotted",
    "non_finite",
]

DocPath = tuple[str | int, ...]
"""Keys and sequence indices leading from a document's root to one value; ``()`` is the root."""

MAX_INT_DIGITS = 4300
"""Longer decimal integers cannot be converted in linear time (CPython's int/str limit)."""


@dataclass(frozen=True)
class ParseLimits:
    """Upper bounds applied to every untrusted document before and while it is parsed."""

    max_bytes: int = 1_048_576  # 1 MiB of raw input
    max_depth: int = 32  # nesting of mappings/sequences; the root mapping is depth 1
    max_nodes: int = 100_000  # total scalars (keys included) + collections in one input


DEFAULT_LIMITS = ParseLimits()
"""The limits applied when a caller passes none."""


@dataclass(frozen=True)
class Document:
    """A parsed document whose root is a mapping, with the line of every value.

    ``lines`` maps a path of keys and sequence indices (``("eval", "dataset_versions", 1)``)
    to the 1-based line its value starts on; ``()`` is the root. ``source`` names the input
    in messages: a file path, or ``"<string>"``.
    """

    data: dict[str, Any]
    lines: Mapping[DocPath, int]
    source: str

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its longest prefix that has one; None if none does."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def at(source: str, line: int | None) -> str:
    """``"<source> line <n>"``, or just the source when the line is unknown."""
    return f"{source} line {line}" if line is not None else source


def dotted(path: DocPath) -> str:
    """A path as ``a.b.0`` for messages; ``<root>`` for the root."""
    return ".".join(str(p) for p in path) if path else "<root>"


def non_finite(source: str, line: int | None, text: str, path: DocPath) -> ParseError:
    """NON_FINITE_NUMBER for a NaN, an infinity, an overflowing float or an oversized integer."""
    return ParseError(
        Reason.NON_FINITE_NUMBER,
        f"{at(source, line)}: {dotted(path)}: {text[:40]!r} is not a finite number",
        line=line,
        fix="use a finite number (NaN and infinities cannot be represented in JSON), or quote "
        "the value to make it a string",
        details={"source": source, "path": list(path)},
    )
