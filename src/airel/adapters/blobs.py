"""Content-addressed artifact storage: blobs under ``<root>/sha256/<hex>`` and directory trees.

A blob's name is always the SHA-256 of its bytes, never a path a user chose, so a blob can only
be found by its digest and can never be silently swapped for other content. A directory is
stored as one blob per file plus a *manifest* blob — the RFC 8785 canonical JSON of
``{"format": "airel-tree/1", "entries": [...]}`` — and the tree's digest is the digest of that
manifest. The manifest records relative POSIX paths, file digests, sizes, the executable bit,
internal symlinks and empty directories; it never records mtimes, owners, inode order or where
the tree lived, so the same content has the same digest anywhere.

Bytes are only hashed and copied: nothing is ever unpickled, imported or executed.

Writing is crash-safe and all-or-nothing per call: every blob an :meth:`BlobStore.ingest` call
writes is staged under ``<root>/tmp/``, hashed in the same streaming pass that copies it, and
moved into ``sha256/`` with :func:`os.replace` (fsynced, members before the manifest) only once
the whole artifact is read and its digest matches any ``expected`` digest. A failed call
therefore never leaves a blob in ``sha256/``, and never deletes a blob another call wrote.

Source paths are claims to be checked: :meth:`BlobStore.resolve_source` validates them with
:func:`airel.domain.names.check_relative_path` and re-checks containment after following
symlinks. Directory walks use directory file descriptors and ``O_NOFOLLOW`` where the platform
has them, so a file swapped for a symlink mid-walk is refused rather than followed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airel.domain.artifact import ArtifactRef, ArtifactType, BlobCheck
from airel.domain.canonical import (
    DIGEST_PREFIX,
    canonical_bytes,
    check_digest,
    digest_bytes,
    is_digest,
)
from airel.domain.names import check_relative_path
from airel.errors import AirelError, IntegrityError, NotFoundError, Reason, ValidationError

CHUNK = 1 << 20
"""Bytes read per system call when hashing or copying (1 MiB)."""

TREE_FORMAT = "airel-tree/1"
"""The ``format`` value of a tree manifest."""

ProgressCallback = Callable[[int], None]
"""Called with the cumulative number of source bytes read so far by one call."""

_BLOB_DIR = "sha256"
_TMP_DIR = "tmp"
_BLOB_MODE = 0o444  # blobs are immutable: read-only for everyone
# JCS sorts keys, so every manifest starts with these bytes; anything else is not a manifest.
_MANIFEST_PREFIX = b'{"entries":['
_HEX64 = frozenset("0123456789abcdef")

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # so that opening a FIFO never blocks
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_READ_FLAGS = os.O_RDONLY | _O_CLOEXEC | _O_NONBLOCK | _O_BINARY
# Walk with directory descriptors where supported (Linux, macOS, BSD); else fall back to paths.
_USE_DIR_FD = (
    os.open in os.supports_dir_fd
    and os.stat in os.supports_dir_fd
    and os.readlink in os.supports_dir_fd
    and os.listdir in os.supports_fd
    and bool(_O_NOFOLLOW)
    and bool(_O_DIRECTORY)
)

_MISSING = "missing"
_MISMATCH = "mismatch"
_UNREADABLE = "unreadable"
_MEMBER_MISSING = "tree-member-missing"
_MEMBER_MISMATCH = "tree-member-mismatch"


# --------------------------------------------------------------------------- hashing


class _Progress:
    """Cumulative byte counter feeding an optional progress callback."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.done = 0

    def advance(self, n: int) -> None:
        self.done += n
        if self.callback is not None:
            self.callback(self.done)


def _stream(
    fd: int,
    sink: Callable[[memoryview], None] | None = None,
    progress: _Progress | None = None,
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


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _not_regular(path: Path | str) -> ValidationError:
    return ValidationError(
        Reason.INVALID_VALUE,
        f"{path} is not a regular file or directory (FIFO, socket or device)",
        fix="artifacts must be regular files or directories of regular files",
        details={"path": str(path)},
    )


def _missing(path: Path | str, fix: str) -> NotFoundError:
    return NotFoundError(
        Reason.ARTIFACT_MISSING,
        f"artifact {path} does not exist",
        fix=fix,
        details={"path": str(path)},
    )


def _open_regular(
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
        raise _missing(name, "check the path and that the file still exists") from exc
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
            raise _not_regular(name)
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
    fd = _open_regular(path)
    try:
        return _stream(fd)
    finally:
        os.close(fd)


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


class _TreeWalker:
    """Deterministic walk of one directory into manifest entries.

    ``on_file(fd)`` receives an open descriptor of each regular file and returns its digest and
    size (hash only, or hash and stage a copy).
    """

    def __init__(self, root: Path, on_file: Callable[[int], tuple[str, int]]) -> None:
        self.root = root  # fully resolved
        self.on_file = on_file
        self.entries: list[dict[str, Any]] = []
        self.size = 0
        self.files = 0

    def run(self) -> dict[str, Any]:
        if _USE_DIR_FD:
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
                fd = _open_regular(target, dir_fd=dir_fd, follow=False, expect=st)
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
                raise _not_regular(real / name)

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
        raise _missing(root, "check the directory path") from exc
    if not real.is_dir():
        raise ValidationError(
            Reason.INVALID_VALUE, f"{root} is not a directory", details={"path": str(root)}
        )
    return real


def tree_manifest(root: Path) -> dict[str, Any]:
    """The deterministic manifest of a directory, hashing (not storing) every file.

    ``digest_bytes(canonical_bytes(tree_manifest(d)))`` equals the digest
    :meth:`BlobStore.ingest` gives the same directory. Unlike ``ingest``, a directory without
    files is described (with an empty or dir-only entry list) rather than refused.
    """
    return _TreeWalker(_resolve_dir(root), _stream).run()


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


# --------------------------------------------------------------------------- the store


class _Staging:
    """The blobs one ingest call writes, held in a private ``<root>/tmp/`` directory.

    Blobs reach ``sha256/`` only in :meth:`commit`; :meth:`discard` removes whatever is left, so
    a failed call (mismatch, refused symlink, I/O error) leaves nothing in the store.
    """

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.dir = Path(tempfile.mkdtemp(prefix="ingest-", dir=store.tmp_dir))
        self.pending: dict[str, Path] = {}  # digest -> staged file, in commit order

    def add_fd(self, src: int, progress: _Progress) -> tuple[str, int]:
        """Copy an open file into a staged blob, hashing in the same pass."""
        tmp_fd, tmp_name = tempfile.mkstemp(dir=self.dir, suffix=".part")
        try:
            digest, size = _stream(src, lambda chunk: _write_all(tmp_fd, chunk), progress)
        finally:
            os.close(tmp_fd)
        self._keep(digest, Path(tmp_name))
        return digest, size

    def add_bytes(self, data: bytes) -> str:
        digest = digest_bytes(data)
        if digest in self.pending or self.store.exists(digest):
            return digest
        tmp_fd, tmp_name = tempfile.mkstemp(dir=self.dir, suffix=".part")
        try:
            _write_all(tmp_fd, memoryview(data))
        finally:
            os.close(tmp_fd)
        self._keep(digest, Path(tmp_name))
        return digest

    def _keep(self, digest: str, tmp: Path) -> None:
        if digest in self.pending or self.store.exists(digest):
            tmp.unlink()  # already stored (or staged): keep the existing blob
        else:
            self.pending[digest] = tmp

    def commit(self) -> None:
        """fsync and atomically move every staged blob into ``sha256/`` (manifest last)."""
        moved = False
        for digest, tmp in self.pending.items():
            final = self.store.path_of(digest)
            if final.exists():
                continue  # written meanwhile by another call: keep the existing one
            _fsync_file(tmp)
            os.chmod(tmp, _BLOB_MODE)
            os.replace(tmp, final)
            moved = True
        if moved:
            _fsync_dir(self.store.blob_dir)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | _O_CLOEXEC | _O_BINARY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except OSError:  # platforms that cannot open directories (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class BlobStore:
    """A content-addressed store of file blobs and tree manifests under ``root``.

    Layout: ``<root>/sha256/<64 hex>`` for blobs (read-only files), ``<root>/tmp/`` for blobs
    being written. ``root`` is created lazily by the first write.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blob_dir = self.root / _BLOB_DIR
        self.tmp_dir = self.root / _TMP_DIR

    # -- paths ---------------------------------------------------------------------------

    def path_of(self, digest: str) -> Path:
        """Where the blob with ``digest`` lives (whether or not it exists)."""
        valid = check_digest(digest)
        return self.blob_dir / valid[len(DIGEST_PREFIX) :]

    def exists(self, digest: str) -> bool:
        """True when a blob with ``digest`` is stored (its content is not re-checked)."""
        return self.path_of(digest).is_file()

    def resolve_source(self, base: Path, rel: str) -> Path:
        """Resolve a user-supplied artifact path ``rel`` under ``base``, refusing escapes.

        Returns the fully resolved path. ``rel`` must pass
        :func:`~airel.domain.names.check_relative_path`; after following symlinks the result
        must still be inside ``base`` (UNSAFE_SYMLINK when a symlink leads out, PATH_TRAVERSAL
        otherwise) and must exist (NotFoundError ARTIFACT_MISSING).
        """
        claim = check_relative_path(rel, field="artifact path")
        base_path = Path(base)
        try:
            base_real = base_path.resolve(strict=True)
        except FileNotFoundError as exc:
            raise _missing(
                base_path, f"create {base_path} or run airel from the directory holding {rel}"
            ) from exc
        candidate = base_real.joinpath(*claim.parts)
        details = {"path": rel, "base": str(base_real)}
        try:
            resolved = candidate.resolve(strict=False)
        except (RuntimeError, OSError) as exc:  # symlink loop (RuntimeError before 3.13)
            raise ValidationError(
                Reason.UNSAFE_SYMLINK,
                f"artifact path {rel!r} cannot be resolved: {exc}",
                fix="remove the symlink loop",
                details=details,
            ) from exc
        if not resolved.is_relative_to(base_real):
            through_link = any(
                p.is_symlink()
                for p in [candidate, *candidate.parents]
                if p.is_relative_to(base_real)
            )
            raise ValidationError(
                Reason.UNSAFE_SYMLINK if through_link else Reason.PATH_TRAVERSAL,
                f"artifact path {rel!r} resolves to {resolved}, outside {base_real}",
                fix=f"copy the artifact into {base_real} instead of linking to it",
                details=details,
            )
        if not os.path.lexists(resolved):
            raise _missing(
                candidate,
                f"check that {rel!r} is spelled correctly and is relative to {base_real}, "
                "or create the artifact before registering it",
            )
        return resolved

    # -- writing -------------------------------------------------------------------------

    def ingest(
        self,
        base: Path,
        rel: str,
        *,
        expected: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> ArtifactRef:
        """Store the file or directory ``rel`` (under ``base``) and return its reference.

        A file is hashed while it is copied; a directory is walked deterministically, each file
        stored as a blob and the manifest stored last. With ``expected`` and a different actual
        digest, IntegrityError(HASH_MISMATCH) is raised and no blob of this call is kept.
        ``on_progress`` receives the cumulative number of bytes read, once per chunk.
        """
        if expected is not None:
            check_digest(expected, field="expected digest")
        source = self.resolve_source(base, rel)
        st = os.stat(source, follow_symlinks=False)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise _not_regular(source)
        self._refuse_overlap(source, rel)
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        progress = _Progress(on_progress)
        staging = _Staging(self)
        try:
            if stat.S_ISREG(st.st_mode):
                fd = _open_regular(source, follow=False, expect=st)
                try:
                    digest, size = staging.add_fd(fd, progress)
                finally:
                    os.close(fd)
                ref = ArtifactRef(digest=digest, type=ArtifactType.FILE, size=size, files=1)
                self._check_expected(rel, expected, digest)
            else:
                walker = _TreeWalker(source, lambda fd: staging.add_fd(fd, progress))
                manifest = walker.run()
                if walker.files == 0:
                    raise ValidationError(
                        Reason.INVALID_VALUE,
                        f"artifact directory {rel!r} is an empty directory (it holds no files)",
                        fix="point the artifact at a directory that contains files",
                        details={"path": rel},
                    )
                data = canonical_bytes(manifest)
                digest = digest_bytes(data)
                self._check_expected(rel, expected, digest)
                staging.add_bytes(data)
                ref = ArtifactRef(
                    digest=digest, type=ArtifactType.TREE, size=walker.size, files=walker.files
                )
            staging.commit()
        finally:
            staging.discard()
        return ref

    def _refuse_overlap(self, source: Path, rel: str) -> None:
        store = self.root.resolve(strict=False)
        if store.is_relative_to(source) or source.is_relative_to(store):
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"artifact path {rel!r} ({source}) overlaps the artifact store {store}",
                fix="point the artifact at a directory that does not contain the airel store",
                details={"path": rel, "store": str(store)},
            )

    @staticmethod
    def _check_expected(rel: str, expected: str | None, actual: str) -> None:
        if expected is not None and expected != actual:
            raise IntegrityError(
                Reason.HASH_MISMATCH,
                f"artifact {rel!r} has digest {actual}, but {expected} was declared",
                fix="if the artifact changed on purpose, update or drop the declared digest; "
                "otherwise restore the original artifact",
                details={"expected": expected, "actual": actual},
            )

    # -- reading and checking ------------------------------------------------------------

    def read_manifest(self, digest: str) -> dict[str, Any] | None:
        """The parsed tree manifest stored as ``digest``, or None if that blob is not one.

        A blob counts as a manifest only if it is strict JSON (no duplicate keys, no NaN), has
        the ``airel-tree/1`` shape and is byte-for-byte in canonical form. Raises
        NotFoundError(ARTIFACT_MISSING) if the blob does not exist.
        """
        path = self.path_of(digest)
        try:
            with path.open("rb") as fh:
                head = fh.read(len(_MANIFEST_PREFIX))
                if head != _MANIFEST_PREFIX:
                    return None
                data = head + fh.read()
        except FileNotFoundError as exc:
            raise _missing(path, f"re-ingest the artifact with digest {digest}") from exc
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

    def verify(self, digest: str | None = None) -> list[BlobCheck]:
        """Re-hash one blob, or every blob under ``sha256/``; never raises for a bad blob.

        Each checked blob gets one :class:`BlobCheck` (problem ``missing``, ``mismatch`` or
        ``unreadable`` when bad). A tree manifest whose members are missing or altered is
        reported with problem ``tree-member-missing`` (or ``tree-member-mismatch``) and is
        followed by one check per bad member, carrying the member's digest and the same
        problem. Each blob is hashed at most once per call.
        """
        if digest is not None:
            digests = [check_digest(digest)]
        elif self.blob_dir.is_dir():
            digests = sorted(
                DIGEST_PREFIX + p.name
                for p in self.blob_dir.iterdir()
                if len(p.name) == 64 and set(p.name) <= _HEX64
            )
        else:
            digests = []
        cache: dict[str, tuple[str | None, str | None]] = {}
        checks: list[BlobCheck] = []
        for item in digests:
            checks.extend(self._verify_one(item, cache))
        return checks

    def _rehash(
        self, digest: str, cache: dict[str, tuple[str | None, str | None]]
    ) -> tuple[str | None, str | None]:
        """(actual digest, problem) of a stored blob, memoised."""
        if digest not in cache:
            try:
                actual = hash_file(self.path_of(digest))[0]
                cache[digest] = (actual, None if actual == digest else _MISMATCH)
            except NotFoundError:
                cache[digest] = (None, _MISSING)
            except (AirelError, OSError):
                cache[digest] = (None, _UNREADABLE)
        return cache[digest]

    def _verify_one(
        self, digest: str, cache: dict[str, tuple[str | None, str | None]]
    ) -> list[BlobCheck]:
        actual, problem = self._rehash(digest, cache)
        if problem is not None:
            return [BlobCheck(digest=digest, ok=False, actual=actual, problem=problem)]
        try:
            manifest = self.read_manifest(digest)
        except (AirelError, OSError):
            return [BlobCheck(digest=digest, ok=False, problem=_UNREADABLE)]
        if manifest is None:
            return [BlobCheck(digest=digest, ok=True)]
        members: list[BlobCheck] = []
        seen: set[str] = set()
        for entry in manifest["entries"]:
            if entry["type"] != "file" or entry["digest"] in seen:
                continue
            member = entry["digest"]
            seen.add(member)
            m_actual, m_problem = self._rehash(member, cache)
            if m_problem is not None:
                kind = _MEMBER_MISSING if m_problem == _MISSING else _MEMBER_MISMATCH
                members.append(BlobCheck(digest=member, ok=False, actual=m_actual, problem=kind))
        if not members:
            return [BlobCheck(digest=digest, ok=True)]
        summary = (
            _MEMBER_MISSING
            if any(m.problem == _MEMBER_MISSING for m in members)
            else _MEMBER_MISMATCH
        )
        return [BlobCheck(digest=digest, ok=False, problem=summary), *members]
