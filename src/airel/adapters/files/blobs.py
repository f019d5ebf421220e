"""Content-addressed artifact storage: blobs under ``<root>/sha256/<hex>`` and directory trees.

A blob's name is always the SHA-256 of its bytes, never a path a user chose, so a blob can only
be found by its digest and can never be silently swapped for other content. A directory is
stored as one blob per file plus its manifest blob (the ``airel-tree/1`` manifest and the walk
that builds it live in :mod:`airel.adapters.files.tree`), and the tree's digest is the digest of
that manifest. Files are read and hashed by :mod:`airel.adapters.files.hashing`; :data:`CHUNK`,
:func:`hash_file`, :data:`TREE_FORMAT` and :func:`tree_manifest` are re-exported from those
two modules for existing importers.

Bytes are only hashed and copied: nothing is ever unpickled, imported or executed.

Writing is crash-safe and all-or-nothing per call: every blob an :meth:`BlobStore.ingest` call
writes is staged under ``<root>/tmp/``, hashed in the same streaming pass that copies it, and
moved into ``sha256/`` with :func:`os.replace` (fsynced, members before the manifest) only once
the whole artifact is read, its digest matches any ``expected`` digest and the caller's
``inspect`` hook (registration reads a data file's footer there) accepted the staged bytes. A
failed call therefore never leaves a blob in ``sha256/``, and never deletes a blob another call
wrote.

A writer killed mid-ingest (``kill -9``, a power cut) cannot clean up, so staging is made
reclaimable: each call's staging directory ``tmp/ingest-*`` holds a ``lock`` file the writer
keeps ``flock``-ed while it runs. The directory is created as ``tmp/.new-*``, locked, and only
then renamed to ``ingest-*``, so an ``ingest-*`` directory is never unlocked while its writer
lives — the kernel drops the lock when the process dies, however it dies.
:meth:`BlobStore.staging` reports what is left (files and bytes) and, with ``collect=True``,
removes the stale part: an ``ingest-*`` directory whose lock can be taken, and anything else
under ``tmp/`` (an unrenamed ``.new-*``, staging of an older airel without a lock, a stray file)
once it is older than :data:`STAGING_GRACE`. A live writer's staging is never removed. Every
:meth:`BlobStore.ingest` collects first; ``airel artifact gc`` does it on demand and
``airel artifact verify`` reports it. Where the platform has no ``flock`` (Windows) only the
age rule applies.

Source paths are claims to be checked: :meth:`BlobStore.resolve_source` validates them with
:func:`airel.domain.kernel.names.check_relative_path` and re-checks containment after following
symlinks. Directory walks use directory file descriptors and ``O_NOFOLLOW`` where the platform
has them, so a file swapped for a symlink mid-walk is refused rather than followed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from airel.adapters.files import tree
from airel.adapters.files.hashing import (
    CHUNK,
    Progress,
    ProgressCallback,
    hash_file,
    missing,
    not_regular,
    open_regular,
    stream,
)
from airel.adapters.files.tree import (
    MANIFEST_PREFIX,
    TREE_FORMAT,
    TreeWalker,
    parse_manifest,
    tree_manifest,
)
from airel.domain.kernel.canonical import DIGEST_PREFIX, canonical_bytes, check_digest, digest_bytes
from airel.domain.kernel.names import check_relative_path
from airel.domain.release.artifact import (
    ArtifactRef,
    ArtifactType,
    BlobCheck,
    StagingEntry,
    StagingReport,
)
from airel.errors import AirelError, IntegrityError, NotFoundError, Reason, ValidationError

__all__ = [
    "CHUNK",
    "STAGING_GRACE",
    "TREE_FORMAT",
    "BlobStore",
    "Inspector",
    "ProgressCallback",
    "hash_file",
    "tree_manifest",
]

# Called with every staged file of an ingest — (path inside the artifact, where its bytes can be
# read) — and the artifact's type, before anything is committed; raising refuses the artifact.
Inspector = Callable[[Sequence[tuple[str, Path]], ArtifactType], None]

# Whether ingest walks directories with descriptors; read at call time from this module, so a
# test can force the by-path walk that platforms without directory descriptors use.
_USE_DIR_FD = tree.USE_DIR_FD

_BLOB_DIR = "sha256"
_TMP_DIR = "tmp"
_BLOB_MODE = 0o444  # blobs are immutable: read-only for everyone
_HEX64 = frozenset("0123456789abcdef")

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)

_MISSING = "missing"
_MISMATCH = "mismatch"
_UNREADABLE = "unreadable"
_MEMBER_MISSING = "tree-member-missing"
_MEMBER_MISMATCH = "tree-member-mismatch"

STAGING_GRACE = 3600.0  # seconds: an unlocked leftover under tmp/ younger than this is kept
_STAGING_PREFIX = "ingest-"  # a staging directory whose writer holds <dir>/lock while it runs
_BIRTH_PREFIX = ".new-"  # a staging directory being created, before it is locked and renamed
_LOCK_NAME = "lock"


# --------------------------------------------------------------------------- staging locks

if sys.platform == "win32":  # pragma: no cover - no flock: only the age rule applies
    HAVE_FLOCK = False

    def _try_lock(fd: int) -> bool:
        return True

else:
    import fcntl

    HAVE_FLOCK = True

    def _try_lock(fd: int) -> bool:
        """Take the exclusive lock without waiting; False if another open file holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


# --------------------------------------------------------------------------- the store


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


class _Staging:
    """The blobs one ingest call writes, held in a private ``<root>/tmp/`` directory.

    Blobs reach ``sha256/`` only in :meth:`commit`; :meth:`discard` removes whatever is left, so
    a failed call (mismatch, refused symlink, I/O error) leaves nothing in the store. The
    directory's ``lock`` is held from before it is named ``ingest-*`` until after it is
    removed, so :meth:`BlobStore.staging` never takes a live writer's staging for stale.
    """

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        birth = Path(tempfile.mkdtemp(prefix=_BIRTH_PREFIX, dir=store.tmp_dir))
        try:
            self._lock = os.open(
                birth / _LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_EXCL | _O_CLOEXEC, 0o600
            )
        except OSError:
            shutil.rmtree(birth, ignore_errors=True)
            raise
        try:
            _try_lock(self._lock)  # a fresh file: nobody else can hold it
            self.dir = store.tmp_dir / (_STAGING_PREFIX + birth.name[len(_BIRTH_PREFIX) :])
            os.rename(birth, self.dir)
        except OSError:
            os.close(self._lock)
            shutil.rmtree(birth, ignore_errors=True)
            raise
        self.pending: dict[str, Path] = {}  # digest -> staged file, in commit order

    def readable(self, digest: str) -> Path:
        """Where the bytes of ``digest`` can be read now: staged, or already in the store."""
        return self.pending.get(digest) or self.store.path_of(digest)

    def add_fd(self, src: int, progress: Progress) -> tuple[str, int]:
        """Copy an open file into a staged blob, hashing in the same pass."""
        tmp_fd, tmp_name = tempfile.mkstemp(dir=self.dir, suffix=".part")
        try:
            digest, size = stream(src, lambda chunk: _write_all(tmp_fd, chunk), progress)
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
        try:
            shutil.rmtree(self.dir, ignore_errors=True)
        finally:
            os.close(self._lock)  # only now: an unlocked ingest-* directory counts as stale


def _usage(path: Path) -> tuple[int, int, float]:
    """(files, bytes, newest mtime) of a staging entry, without following symlinks."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        return 1, st.st_size, st.st_mtime
    files, size, newest = 0, 0, st.st_mtime
    for top, _dirs, names in os.walk(path):
        for name in names:
            try:
                member = os.lstat(os.path.join(top, name))
            except FileNotFoundError:
                continue
            newest = max(newest, member.st_mtime)
            if top == str(path) and name == _LOCK_NAME:
                continue  # the lock is bookkeeping, not a staged blob
            files += 1
            size += member.st_size
    return files, size, newest


def _remove(path: Path) -> bool:
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _staging_entry(path: Path, now: float, grace: float, collect: bool) -> StagingEntry | None:
    """Report (and with ``collect``, remove if stale) one entry of ``tmp/``."""
    try:
        files, size, newest = _usage(path)
        is_dir = stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:  # its writer finished meanwhile
        return None
    except OSError:
        return None
    age = max(now - newest, 0.0)
    lock: int | None = None
    if HAVE_FLOCK and is_dir and path.name.startswith(_STAGING_PREFIX):
        try:
            lock = os.open(path / _LOCK_NAME, os.O_RDONLY | _O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            lock = None  # written by an airel without staging locks: the age rule decides
        except OSError:
            return None
    try:
        live = not _try_lock(lock) if lock is not None else age < grace
        removed = False
        if collect and not live:
            removed = _remove(path)  # while holding its lock: no writer can be using it
    finally:
        if lock is not None:
            os.close(lock)
    return StagingEntry(
        name=path.name,
        files=files,
        size=size,
        age_seconds=round(age, 3),
        live=live,
        removed=removed,
    )


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
        :func:`~airel.domain.kernel.names.check_relative_path`; after following symlinks the result
        must still be inside ``base`` (UNSAFE_SYMLINK when a symlink leads out, PATH_TRAVERSAL
        otherwise) and must exist (NotFoundError ARTIFACT_MISSING).
        """
        claim = check_relative_path(rel, field="artifact path")
        base_path = Path(base)
        try:
            base_real = base_path.resolve(strict=True)
        except FileNotFoundError as exc:
            raise missing(
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
            raise missing(
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
        inspect: Inspector | None = None,
    ) -> ArtifactRef:
        """Store the file or directory ``rel`` (under ``base``) and return its reference.

        A file is hashed while it is copied; a directory is walked deterministically, each file
        stored as a blob and the manifest stored last. With ``expected`` and a different actual
        digest, IntegrityError(HASH_MISMATCH) is raised and no blob of this call is kept.
        ``on_progress`` receives the cumulative number of bytes read, once per chunk.
        ``inspect`` sees the staged files before they are committed (see :data:`Inspector`);
        if it raises, nothing is kept. Stale staging of interrupted ingests is collected first.
        """
        if expected is not None:
            check_digest(expected, field="expected digest")
        source = self.resolve_source(base, rel)
        st = os.stat(source, follow_symlinks=False)
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise not_regular(source)
        self._refuse_overlap(source, rel)
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # housekeeping: never a reason to refuse a write
            self.staging(collect=True)
        progress = Progress(on_progress)
        staging = _Staging(self)
        try:
            if stat.S_ISREG(st.st_mode):
                fd = open_regular(source, follow=False, expect=st)
                try:
                    digest, size = staging.add_fd(fd, progress)
                finally:
                    os.close(fd)
                ref = ArtifactRef(digest=digest, type=ArtifactType.FILE, size=size, files=1)
                self._check_expected(rel, expected, digest)
                if inspect is not None:
                    inspect([(rel, staging.readable(digest))], ArtifactType.FILE)
            else:
                walker = TreeWalker(
                    source,
                    lambda fd: staging.add_fd(fd, progress),
                    use_dir_fd=_USE_DIR_FD,
                )
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
                if inspect is not None:
                    members = [
                        (str(e["path"]), staging.readable(str(e["digest"])))
                        for e in manifest["entries"]
                        if e["type"] == "file"
                    ]
                    inspect(members, ArtifactType.TREE)
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

    # -- staging of interrupted ingests ---------------------------------------------------

    def staging(
        self, *, collect: bool = False, grace: float = STAGING_GRACE, now: float | None = None
    ) -> StagingReport:
        """What is left under ``tmp/``; with ``collect``, remove the stale part (never a live
        writer's). See the module docstring for what counts as stale. Never raises for an
        entry it cannot read or remove: that entry is reported as it is."""
        if not self.tmp_dir.is_dir():
            return StagingReport()
        clock = time.time() if now is None else now
        entries: list[StagingEntry] = []
        for path in sorted(self.tmp_dir.iterdir()):
            entry = _staging_entry(path, clock, grace, collect)
            if entry is not None:
                entries.append(entry)
        return StagingReport(entries=tuple(entries))

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
                head = fh.read(len(MANIFEST_PREFIX))
                if head != MANIFEST_PREFIX:
                    return None
                data = head + fh.read()
        except FileNotFoundError as exc:
            raise missing(path, f"re-ingest the artifact with digest {digest}") from exc
        return parse_manifest(data)

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
