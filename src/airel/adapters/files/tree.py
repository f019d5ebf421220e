"""Deterministic directory trees: the walk and the ``airel-tree/1`` manifest it produces.

A directory is described by a *manifest* — the RFC 8785 canonical JSON of
``{"format": "airel-tree/1", "entries": [...]}`` — whose digest is the tree's digest. The
manifest records relative POSIX paths, file digests, sizes, the executable bit, internal
symlinks and empty directories; it never records mtimes, owners, inode order or where the tree
lived, so the same content has the same digest anywhere. :func:`tree_manifest` builds one,
hashing every file with :mod:`airel.adapters.files.hashing`; :func:`parse_manifest` recognises one,
strictly, in stored bytes.

The walk is defensive: names and link targets must be clean UTF-8 without control characters
or backslashes, symlinks must stay inside the tree (``UNSAFE_SYMLINK``), and FIFOs, sockets and
devices are refused. It uses directory file descriptors and ``O_NOFOLLOW`` where the platform
has them, so a file or directory swapped for a symlink mid-walk is refused rather than
followed; elsewhere it falls back to walking by path.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airel.adapters.files.hashing import missing, not_regular, open_regular, stream
from airel.domain.kernel.canonical import canonical_bytes, is_digest
from airel.errors import Reason, ValidationError

__all__ = [
    "MANIFEST_PREFIX",
    "TREE_FORMAT",
    "USE_DIR_FD",
    "TreeWalker",
    "parse_manifest",
    "tree_manifest",
]

TREE_FORMAT = "airel-tree/1"
"""The ``format`` value of a tree manifest."""

MANIFEST_PREFIX = b'{"entries":['
"""JCS sorts keys, so every manifest starts with these bytes; anything else is not a manifest."""

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# Walk with directory descriptors where supported (Linux, macOS, BSD); else fall back to paths.
USE_DIR_FD = (
    os.open in os.supports_dir_fd
    and os.stat in os.supports_dir_fd
    and os.readlink in os.supports_dir_fd
    and os.listdir in os.supports_fd
    and bool(_O_NOFOLLOW)
    and bool(_O_DIRECTORY)
)


# --------------------------------------------------------------------------- tree walking


def _utf8_key(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _check_member_text(text: str, where: str, what: str) -> str:
    """A name or link target recorded in a manifest must be clean UTF-8 without control chars."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"{what} {where!r} is not valid UTF-8",
            fix="rename the file so its name is valid UTF-8",
            details={"path": where},
        ) from exc
    for ch in text:
        if ch == "\\" or unicodedata.category(ch) == "Cc":
            problem = "a backslash" if ch == "\\" else f"control character U+{ord(ch):04X}"
            raise ValidationError(
                Reason.PATH_TRAVERSAL,
                f"{what} {where!r} contains {problem}",
                fix="rename it: manifest paths must be portable POSIX paths",
                details={"path": where},
            )
    return text


class TreeWalker:
    """Deterministic walk of one directory into manifest entries.

    ``on_file(fd)`` receives an open descriptor of each regular file and returns its digest and
    size (hash only, or hash and stage a copy). ``use_dir_fd`` walks with directory
    descriptors (the default where the platform supports them) or, when false, by path.
    """

    def __init__(
        self,
        root: Path,
        on_file: Callable[[int], tuple[str, int]],
        *,
        use_dir_fd: bool = USE_DIR_FD,
    ) -> None:
        self.root = root  # fully resolved
        self.on_file = on_file
        self.use_dir_fd = use_dir_fd
        self.entries: list[dict[str, Any]] = []
        self.size = 0
        self.files = 0

    def run(self) -> dict[str, Any]:
        if self.use_dir_fd:
            fd = os.open(self.root, os.O_RDONLY | _O_CLOEXEC | _O_DIRECTORY | _O_NOFOLLOW)
            try:
                self._walk(fd, self.root, "")
            finally:
                os.close(fd)
        else:
            self._walk(None, self.root, "")
        self.entries.sort(key=lambda e: _utf8_key(e["path"]))
        return {"format": TREE_FORMAT, "entries": self.entries}

    def _walk(self, dir_fd: int | None, real: Path, prefix: str) -> None:
        names = os.listdir(dir_fd if dir_fd is not None else real)
        if not names:
            if prefix:
                self.entries.append({"path": prefix, "type": "dir"})
            return
        for name in sorted(names, key=_utf8_key):
            rel = f"{prefix}/{name}" if prefix else name
            _check_member_text(name, rel, "file name")
            target: str | Path = name if dir_fd is not None else real / name
            st = os.stat(target, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                link = os.readlink(target, dir_fd=dir_fd)
                self.entries.append(
                    {"path": rel, "type": "symlink", "target": self._check_link(real, rel, link)}
                )
            elif stat.S_ISDIR(st.st_mode):
                self._descend(dir_fd, target, real / name, rel, st)
            elif stat.S_ISREG(st.st_mode):
                fd = open_regular(target, dir_fd=dir_fd, follow=False, expect=st)
                try:
                    digest, size = self.on_file(fd)
                finally:
                    os.close(fd)
                self.entries.append(
                    {
                        "path": rel,
                        "type": "file",
                        "digest": digest,
                        "size": size,
                        "executable": bool(st.st_mode & stat.S_IXUSR),
                    }
                )
                self.size += size
                self.files += 1
            else:
                raise not_regular(real / name)

    def _descend(
        self, dir_fd: int | None, target: str | Path, real: Path, rel: str, st: os.stat_result
    ) -> None:
        if dir_fd is None:
            self._walk(None, real, rel)
            return
        flags = os.O_RDONLY | _O_CLOEXEC | _O_DIRECTORY | _O_NOFOLLOW
        try:
            child = os.open(target, flags, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise ValidationError(
                    Reason.UNSAFE_SYMLINK,
                    f"directory {real} became a symlink while it was being read",
                    fix="do not modify an artifact while airel reads it",
                    details={"path": rel},
                ) from exc
            raise
        try:
            cst = os.fstat(child)
            if (cst.st_dev, cst.st_ino) != (st.st_dev, st.st_ino):
                raise ValidationError(
                    Reason.INVALID_VALUE,
                    f"directory {real} was replaced while it was being read",
                    fix="do not modify an artifact while airel reads it",
                    details={"path": rel},
                )
            self._walk(child, real, rel)
        finally:
            os.close(child)

    def _check_link(self, real_dir: Path, rel: str, link: str) -> str:
        """Return ``link`` if following it stays inside the tree; UNSAFE_SYMLINK otherwise."""
        _check_member_text(link, rel, "symlink target of")
        fix = (
            "replace the symlink with the file it points to, or make it a relative link to a "
            "file inside the artifact directory"
        )
        details = {"path": rel, "target": link}
        if not link or os.path.isabs(link) or link.startswith("/"):
            raise ValidationError(
                Reason.UNSAFE_SYMLINK,
                f"symlink {rel!r} has an absolute target {link!r}",
                fix=fix,
                details=details,
            )
        try:
            resolved = (real_dir / link).resolve(strict=True)
        except FileNotFoundError as exc:
            raise ValidationError(
                Reason.UNSAFE_SYMLINK,
                f"symlink {rel!r} -> {link!r} is dangling",
                fix=fix,
                details=details,
            ) from exc
        except (RuntimeError, OSError) as exc:  # symlink loop, permission denied
            raise ValidationError(
                Reason.UNSAFE_SYMLINK,
                f"symlink {rel!r} -> {link!r} cannot be resolved: {exc}",
                fix=fix,
                details=details,
            ) from exc
        if not resolved.is_relative_to(self.root):
            raise ValidationError(
                Reason.UNSAFE_SYMLINK,
                f"symlink {rel!r} -> {link!r} points outside the artifact directory",
                fix=fix,
                details=details,
            )
        return link


def _resolve_dir(root: Path) -> Path:
    try:
        real = Path(root).resolve(strict=True)
    except FileNotFoundError as exc:
        raise missing(root, "check the directory path") from exc
    if not real.is_dir():
        raise ValidationError(
            Reason.INVALID_VALUE, f"{root} is not a directory", details={"path": str(root)}
        )
    return real


def tree_manifest(root: Path) -> dict[str, Any]:
    """The deterministic manifest of a directory, hashing (not storing) every file.

    ``digest_bytes(canonical_bytes(tree_manifest(d)))`` equals the digest
    :meth:`airel.adapters.files.blobs.BlobStore.ingest` gives the same directory. Unlike ``ingest``,
    a directory without files is described (with an empty or dir-only entry list) rather than
    refused.
    """
    return TreeWalker(_resolve_dir(root), stream).run()


# --------------------------------------------------------------------------- manifest parsing


class _NotJson(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _NotJson(f"duplicate key {key!r}")
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"non-finite number {name}")


_ENTRY_KEYS = {
    "file": {"path", "type", "digest", "size", "executable"},
    "symlink": {"path", "type", "target"},
    "dir": {"path", "type"},
}


def _is_manifest(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) != {"format", "entries"}:
        return False
    if value["format"] != TREE_FORMAT or not isinstance(value["entries"], list):
        return False
    previous: bytes | None = None
    for entry in value["entries"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            return False
        if set(entry) != _ENTRY_KEYS.get(entry["type"], set()):
            return False
        path = entry["path"]
        if not isinstance(path, str) or not path:
            return False
        key = _utf8_key(path)
        if previous is not None and key <= previous:
            return False
        previous = key
        if entry["type"] == "file" and not (
            is_digest(entry["digest"])
            and type(entry["size"]) is int
            and entry["size"] >= 0
            and isinstance(entry["executable"], bool)
        ):
            return False
        if entry["type"] == "symlink" and not isinstance(entry["target"], str):
            return False
    return True


def parse_manifest(data: bytes) -> dict[str, Any] | None:
    """The tree manifest ``data`` encodes, or None if it is not exactly one.

    It must be strict JSON (no duplicate keys, no NaN), have the ``airel-tree/1`` shape (known
    entry types and keys, sorted unique paths, valid digests and sizes) and be byte-for-byte in
    canonical form.
    """
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError):  # includes UnicodeDecodeError and _NotJson
        return None
    if not _is_manifest(value):
        return None
    try:
        if canonical_bytes(value) != data:
            return None
    except ValidationError:
        return None
    manifest: dict[str, Any] = value
    return manifest
