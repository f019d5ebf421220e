"""Naming rules for everything a user names: components, versions, aliases, releases, paths.

Rules as data: each name class is a regular expression plus a length limit. Names are plain
ASCII so that look-alikes (Cyrillic ``а`` for Latin ``a``), control characters, NUL, path
separators and percent-encoding can never reach a file system, a URL or a log line. Each
rejection says exactly which character is wrong and what is allowed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from airel.errors import Reason, ValidationError


class NameClass(StrEnum):
    """What a name names; each has its own pattern in :data:`NAME_RULES`."""

    COMPONENT = "component"  # a component (model, dataset, prompt …) name
    VERSION = "version"  # a component version label
    ALIAS = "alias"  # a movable alias such as ``production``
    RELEASE = "release"  # a release id such as ``AIREL-FRAUD-2026-002``
    USE_CASE = "use_case"  # a use case id
    ACTOR = "actor"  # who did something (user or service account)


@dataclass(frozen=True)
class NameRule:
    """A pattern, its maximum length and the sentence shown when a name breaks it."""

    pattern: re.Pattern[str]
    max_length: int
    allowed: str


_IDENT = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"

NAME_RULES: dict[NameClass, NameRule] = {
    NameClass.COMPONENT: NameRule(
        re.compile(rf"^{_IDENT}$"), 128, "ASCII letters, digits, '.', '_' and '-'"
    ),
    NameClass.VERSION: NameRule(
        re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._+-]*[A-Za-z0-9])?$"),
        64,
        "ASCII letters, digits, '.', '_', '+' and '-'",
    ),
    NameClass.ALIAS: NameRule(
        re.compile(r"^[a-z](?:[a-z0-9_-]*[a-z0-9])?$"), 64, "lower-case letters, digits, '_', '-'"
    ),
    NameClass.RELEASE: NameRule(
        re.compile(rf"^{_IDENT}$"), 128, "ASCII letters, digits, '.', '_' and '-'"
    ),
    NameClass.USE_CASE: NameRule(
        re.compile(rf"^{_IDENT}$"), 128, "ASCII letters, digits, '.', '_' and '-'"
    ),
    NameClass.ACTOR: NameRule(
        re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._@+-]*[A-Za-z0-9])?$"),
        128,
        "ASCII letters, digits, '.', '_', '@', '+' and '-'",
    ),
}


def _describe_char(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    name = unicodedata.name(ch, "")
    if ch == "\x00":
        return f"NUL ({code})"
    if unicodedata.category(ch).startswith("C"):
        return f"control character {code}"
    if ord(ch) > 127:
        return f"non-ASCII character {ch!r} ({code} {name}), a possible look-alike"
    return f"character {ch!r}"


def _traversal_problem(value: str) -> str | None:
    if "\\" in value:
        return "a backslash"
    if "%" in value:
        return "percent-encoding"
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        return "an absolute path"
    if ".." in value.split("/") or ".." in value:
        return "'..'"
    if "/" in value:
        return "a path separator '/'"
    return None


def check_name(value: object, kind: NameClass, *, field: str | None = None) -> str:
    """Return ``value`` if it is a valid name of class ``kind``; raise ValidationError otherwise."""
    label = field or f"{kind.value} name"
    rule = NAME_RULES[kind]
    if not isinstance(value, str):
        raise ValidationError(
            Reason.WRONG_TYPE,
            f"{label} must be a string, got {type(value).__name__} {value!r}",
            fix='quote the value in YAML, e.g. "1.10"',
            details={"field": label},
        )
    if not value:
        raise ValidationError(
            Reason.INVALID_NAME,
            f"{label} is empty",
            fix=f"use {rule.allowed}",
            details={"field": label},
        )
    traversal = _traversal_problem(value)
    if traversal:
        raise ValidationError(
            Reason.PATH_TRAVERSAL,
            f"{label} {value!r} contains {traversal}",
            fix=f"names are not paths: use only {rule.allowed}",
            details={"field": label, "value": value},
        )
    for ch in value:
        if ch.isascii() and (ch.isalnum() or ch in "._-+@") and ch.isprintable():
            continue
        raise ValidationError(
            Reason.INVALID_NAME,
            f"{label} {value!r} contains {_describe_char(ch)}",
            fix=f"use only {rule.allowed}",
            details={"field": label, "codepoint": f"U+{ord(ch):04X}"},
        )
    if len(value) > rule.max_length:
        raise ValidationError(
            Reason.INVALID_NAME,
            f"{label} is {len(value)} characters long; the limit is {rule.max_length}",
            fix="shorten the name",
            details={"field": label},
        )
    if not rule.pattern.match(value):
        raise ValidationError(
            Reason.INVALID_NAME,
            f"{label} {value!r} is not a valid {kind.value} name",
            fix=f"use {rule.allowed}, starting and ending with a letter or digit",
            details={"field": label, "value": value},
        )
    return value


def check_relative_path(value: object, *, field: str = "path") -> PurePosixPath:
    """Validate a user-supplied relative artifact path (POSIX form, inside its root).

    Refuses absolute paths, drive letters, backslashes, percent-encoding, ``..`` segments,
    NUL/control characters and empty segments. The result is still only a *claim*: the caller
    must resolve it under its root and re-check containment after following symlinks.
    """
    if not isinstance(value, str):
        raise ValidationError(
            Reason.WRONG_TYPE, f"{field} must be a string path", details={"field": field}
        )
    fix = "give a relative path inside the project directory, with '/' separators and no '..'"
    if not value or value.strip() != value:
        raise ValidationError(
            Reason.PATH_TRAVERSAL,
            f"{field} {value!r} is empty or padded",
            fix=fix,
            details={"field": field},
        )
    for ch in value:
        if unicodedata.category(ch).startswith("C"):
            raise ValidationError(
                Reason.PATH_TRAVERSAL,
                f"{field} {value!r} contains {_describe_char(ch)}",
                fix=fix,
                details={"field": field},
            )
    problem: str | None = None
    if "\\" in value:
        problem = "a backslash"
    elif "%" in value:
        problem = "percent-encoding"
    elif value.startswith("/") or re.match(r"^[A-Za-z]:", value) or value.startswith("~"):
        problem = "an absolute path"
    else:
        parts = value.split("/")
        if any(p == ".." for p in parts):
            problem = "a '..' segment"
        elif any(p == "" for p in parts[:-1]):
            problem = "an empty segment"
    if problem:
        raise ValidationError(
            Reason.PATH_TRAVERSAL,
            f"{field} {value!r} contains {problem}",
            fix=fix,
            details={"field": field, "value": value},
        )
    return PurePosixPath(value)
