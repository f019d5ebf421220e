"""Reading untrusted files safely and hashing them in one streaming pass.

:func:`open_regular` opens only regular files, without ever blocking on a FIFO, and can refuse
a symlink in the last component (``O_NOFOLLOW``) or a file swapped for another inode since it
was ``lstat``-ed; FIFOs, sockets and devices are refused. :func:`stream` hashes an open file in
:data:`CHUNK`-sized reads into one reused buffer and can hand each chunk to a copy, so hashing
and copying are one pass. Bytes are only hashed: nothing is ever unpickled, imported or
executed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from airel.domain.kernel.canonical import DIGEST_PREFIX
from airel.errors import NotFoundError, Reason, ValidationError

__all__ = [
    "CHUNK",
    "Progress",
    "ProgressCallback",
    "hash_file",
    "missing",
    "not_regular",
    "open_regular",
    "stream",
]

CHUNK = 1 << 20
"""Bytes read per system call when hashing or copying (1 MiB)."""

ProgressCallback = Callable[[int], None]
"""Called with the cumulative number of source bytes read so far by one call."""

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # so that opening a FIFO never blocks
_O_BINARY = getattr(os, "O_BINARY", 0)
_READ_FLAGS = os.O_RDONLY | _O_CLOEXEC | _O_NONBLOCK | _O_BINARY


class Progress:
    """Cumulative byte counter feeding an optional progress callback."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.done = 0

    def advance(self, n: int) -> None:
        self.done += n
        if self.callback is not None:
            self.callback(self.done)


def stream(
    fd: int,
    sink: Callable[[memoryview], None] | None = None,
    progress: Progress | None = None,
) -> tuple[str, int]:
    """Hash an open file in :data:`CHUNK`-sized reads into one reused buffer.

    Each chunk is also handed to ``sink`` (the copy) before the next read, so hashing and
    copying are one pass over the source.
    """
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    with open(fd, "rb", buffering=0, closefd=False) as raw:
        while True:
            n = raw.readinto(buf)
            if not n:
                break
            chunk = view[:n]
            digest.update(chunk)
            if sink is not None:
                sink(chunk)
            size += n
            if progress is not None:
                progress.advance(n)
    return DIGEST_PREFIX + digest.hexdigest(), size


def not_regular(path: Path | str) -> ValidationError:
    return ValidationError(
        Reason.INVALID_VALUE,
        f"{path} is not a regular file or directory (FIFO, socket or device)",
        fix="artifacts must be regular files or directories of regular files",
        details={"path": str(path)},
    )


def missing(path: Path | str, fix: str) -> NotFoundError:
    return NotFoundError(
        Reason.ARTIFACT_MISSING,
        f"artifact {path} does not exist",
        fix=fix,
        details={"path": str(path)},
    )


def open_regular(
    name: Path | str,
    *,
    dir_fd: int | None = None,
    follow: bool = True,
    expect: os.stat_result | None = None,
) -> int:
    """Open a regular file for reading; refuse anything else without ever blocking on it.

    With ``follow=False`` a symlink in the last component is refused (UNSAFE_SYMLINK). With
    ``expect`` the opened file must be the very inode that was ``lstat``-ed during a walk.
    """
    flags = _READ_FLAGS | (0 if follow else _O_NOFOLLOW)
    try:
        fd = os.open(name, flags, dir_fd=dir_fd) if dir_fd is not None else os.open(name, flags)
    except FileNotFoundError as exc:
        raise missing(name, "check the path and that the file still exists") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValidationError(
                Reason.UNSAFE_SYMLINK,
                f"{name} became a symlink while it was being read",
                fix="do not modify an artifact while airel reads it",
                details={"path": str(name)},
            ) from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular(name)
        if expect is not None and (st.st_dev, st.st_ino) != (expect.st_dev, expect.st_ino):
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"{name} was replaced while it was being read",
                fix="do not modify an artifact while airel reads it",
                details={"path": str(name)},
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def hash_file(path: Path) -> tuple[str, int]:
    """``("sha256:<hex>", size)`` of a regular file, streamed in 1 MiB chunks.

    Raises NotFoundError(ARTIFACT_MISSING) for a missing file and ValidationError(INVALID_VALUE)
    for a directory, FIFO, socket or device.
    """
    fd = open_regular(path)
    try:
        return stream(fd)
    finally:
        os.close(fd)
