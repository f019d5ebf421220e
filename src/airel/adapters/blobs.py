"""Content-addressed artifact storage: blobs under ``<root>/sha256/<hex>`` and directory trees.

A blob's name is always the SHA-256 of its bytes, never a path a user chose, so a blob can only
be found by its digest and can never be silently swapped for other content. A directory is
stored as one blob per file plus its manifest blob (the ``airel-tree/1`` manifest and the walk
that builds it live in :mod:`airel.adapters.tree`), and the tree's digest is the digest of that
manifest. Files are read and hashed by :mod:`airel.adapters.hashing`; :data:`CHUNK`,
:func:`hash_file`, :data:`TREE_FORMAT` and :func:`tree_manifest` are re-exported from those
two modules for existing importers.

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

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

from airel.adapters import tree
from airel.adapters.hashing import (
    CHUNK,
    Progress,
    ProgressCallback,
    hash_file,
    missing,
    not_regular,
    open_regular,
    stream,
)
from airel.adapters.tree import (
    MANIFEST_PREFIX,
    TREE_FORMAT,
    TreeWalker,
    parse_manifest,
    tree_manifest,
)
from airel.domain.artifact import ArtifactRef, ArtifactType, BlobCheck
from airel.domain.canonical import DIGEST_PREFIX, canonical_bytes, check_digest, digest_bytes
from airel.domain.names import check_relative_path
from airel.errors import AirelError, IntegrityError, NotFoundError, Reason, ValidationError

__all__ = ["CHUNK", "TREE_FORMAT", "BlobStore", "ProgressCallback", "hash_file", "tree_manifest"]

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


# --------------------------------------------------------------------------- the store


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


class _Staging:
    """The blobs one ingest call writes, held in a private ``<root>/tmp/`` directory.

    Blobs reach ``sha256/`` only in :meth:`commit`; :meth:`discard` removes whatever is left, so
    a failed call (mismatch, refused symlink, I/O error) leaves nothing in the store.
    """

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.dir = Path(tempfile.mkdtemp(prefix="ingest-", dir=store.tmp_dir))
        self.pending: dict[str, Path] = {}  # digest -> staged file, in commit order

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
            raise not_regular(source)
        self._refuse_overlap(source, rel)
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
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
