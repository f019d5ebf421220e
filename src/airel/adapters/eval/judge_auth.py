"""Authentication headers for the LLM judge endpoint: from the environment or a secrets file.

A judge endpoint usually needs a key. The key is deployment configuration, like the endpoint
itself: it never comes from a suite file, and it is never stored, shown or written into an
error. Three sources, all optional, merged in this order (a later source replaces a header of
the same name, compared case-insensitively):

1. ``AIREL_JUDGE_SECRETS_FILE`` — a file of headers. Like ssh with a private key, airel refuses
   a file that its group or other users can read or write (``chmod 600 FILE`` fixes it), a file
   that is not a regular file, and one larger than :data:`MAX_SECRETS_BYTES`;
2. ``AIREL_JUDGE_HEADERS`` — headers in the environment;
3. ``AIREL_JUDGE_API_KEY`` — a key sent as ``Authorization: Bearer <key>``.

Headers are written either as one JSON object of strings (``{"Authorization": "Bearer …"}``) or
as ``Name: value`` lines (blank lines and lines starting with ``#`` are skipped). Names must be
HTTP tokens; values printable ASCII (no line breaks, so no header injection). ``Host``,
``Content-Length``, ``Transfer-Encoding`` and ``Connection`` are refused: they are the
transport's. Every problem is ``StoreError(CONFIG_INVALID)`` naming the source and the header
*name* with the fix — the value is never repeated.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airel.adapters.documents.parse import parse_json
from airel.errors import InputError, Reason, StoreError

__all__ = ["MAX_SECRETS_BYTES", "JudgeAuth", "parse_headers", "read_secrets_file", "scrub"]

MAX_SECRETS_BYTES = 64 * 1024
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 field-name
_VALUE = re.compile(r"^[\x20-\x7e\t]*$")  # printable ASCII and tab: no CR, LF or NUL
_TRANSPORT = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_MIN_SECRET = 4  # shorter fragments are not scrubbed from text (they would mangle it)


def _refuse(message: str, fix: str, **details: Any) -> StoreError:
    return StoreError(Reason.CONFIG_INVALID, message, fix=fix, details=details)


def _checked(name: str, value: str, source: str) -> tuple[str, str]:
    name = name.strip()
    if not _TOKEN.match(name):
        raise _refuse(
            f"{source}: {name[:40]!r} is not a valid HTTP header name",
            "write headers as `Name: value` lines or a JSON object of strings",
            source=source,
        )
    if name.lower() in _TRANSPORT:
        raise _refuse(
            f"{source}: header {name} is set by the transport and cannot be configured",
            f"remove {name} from {source}",
            source=source,
            header=name,
        )
    value = value.strip()
    if not value or not _VALUE.match(value):
        raise _refuse(
            f"{source}: the value of header {name} is empty or not printable ASCII "
            "(line breaks are refused)",
            f"give {name} a one-line ASCII value",
            source=source,
            header=name,
        )
    return name, value


def parse_headers(text: str, *, source: str) -> dict[str, str]:
    """Headers from a JSON object of strings or ``Name: value`` lines; values never echoed."""
    stripped = text.strip()
    pairs: list[tuple[str, str]] = []
    if stripped.startswith("{"):
        try:
            value = parse_json(stripped, source=source)
        except InputError as exc:
            raise _refuse(
                f"{source} is not a valid JSON object ({exc.reason.value})",
                'write {"Header-Name": "value", ...} or `Name: value` lines',
                source=source,
            ) from None
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise _refuse(
                f"{source}: every header value must be a string",
                'write {"Header-Name": "value", ...}',
                source=source,
            )
        pairs = list(value.items())
    else:
        for number, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, rest = line.partition(":")
            if not sep:
                raise _refuse(
                    f"{source}: line {number} is not `Name: value`",
                    "write one `Name: value` header per line",
                    source=source,
                    line=number,
                )
            pairs.append((name, rest))
    out: dict[str, str] = {}
    for name, value in pairs:
        key, checked = _checked(name, value, source)
        _put(out, key, checked)
    return out


def _put(headers: dict[str, str], name: str, value: str) -> None:
    for existing in [k for k in headers if k.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def read_secrets_file(path: Path) -> dict[str, str]:
    """The headers in a secrets file only its owner can read (refused otherwise, like ssh)."""
    source = f"AIREL_JUDGE_SECRETS_FILE {path}"
    try:
        info = path.stat()
    except OSError as exc:
        raise _refuse(
            f"{source} cannot be read: {exc.strerror or type(exc).__name__}",
            "point AIREL_JUDGE_SECRETS_FILE at an existing file of judge headers",
            path=str(path),
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(
            f"{source} is not a regular file",
            "point AIREL_JUDGE_SECRETS_FILE at a file of judge headers",
            path=str(path),
        )
    mode = stat.S_IMODE(info.st_mode)
    if os.name == "posix" and mode & 0o077:
        raise _refuse(
            f"{source} has permissions {mode:04o}, which are too open: other users could read "
            "the judge's credentials",
            f"chmod 600 {path}",
            path=str(path),
            mode=f"{mode:04o}",
        )
    if info.st_size > MAX_SECRETS_BYTES:
        raise _refuse(
            f"{source} is larger than {MAX_SECRETS_BYTES} bytes",
            "keep only the judge's headers in the file",
            path=str(path),
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(
            f"{source} cannot be read as UTF-8 text ({type(exc).__name__})",
            "write the headers as UTF-8 text",
            path=str(path),
        ) from None
    return parse_headers(text, source=source)


@dataclass(frozen=True)
class JudgeAuth:
    """Where the judge's headers come from. The secret values are kept out of ``repr``."""

    headers: str | None = field(default=None, repr=False)  # AIREL_JUDGE_HEADERS text
    api_key: str | None = field(default=None, repr=False)  # AIREL_JUDGE_API_KEY
    secrets_file: Path | None = None  # AIREL_JUDGE_SECRETS_FILE

    @property
    def configured(self) -> bool:
        """True when any source is set."""
        return bool(self.headers or self.api_key or self.secrets_file)

    def resolve(self) -> dict[str, str]:
        """The merged headers (secrets file < AIREL_JUDGE_HEADERS < AIREL_JUDGE_API_KEY)."""
        out: dict[str, str] = {}
        if self.secrets_file is not None:
            for name, value in read_secrets_file(self.secrets_file).items():
                _put(out, name, value)
        if self.headers:
            for name, value in parse_headers(self.headers, source="AIREL_JUDGE_HEADERS").items():
                _put(out, name, value)
        if self.api_key:
            name, value = _checked(
                "Authorization", f"Bearer {self.api_key.strip()}", "AIREL_JUDGE_API_KEY"
            )
            _put(out, name, value)
        return out


def _fragments(headers: Mapping[str, str]) -> list[str]:
    """Each header value, and its parts after the first (``Bearer <key>`` → the key)."""
    found: set[str] = set()
    for value in headers.values():
        found.add(value)
        found.update(value.split()[1:])
    return sorted((f for f in found if len(f) >= _MIN_SECRET), key=len, reverse=True)


def scrub(value: Any, headers: Mapping[str, str] | Iterable[str]) -> Any:
    """``value`` (text, or JSON lists and objects) with every header value replaced by ``***``.

    Used on what an endpoint sends back before it is stored: a server that echoes the key in an
    error body must not put it into an eval record.
    """
    secrets = _fragments(headers) if isinstance(headers, Mapping) else list(headers)
    if not secrets:
        return value
    return _scrub(value, secrets)


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value
