"""Tests for ingesting single files into the blob store (airel.adapters.files.blobs).

``hash_file``; ingesting a file (a read-only blob named by its digest, idempotent, deduplicated,
the expected digest, progress); the source path's safety (traversal forms, symlinks out of the
base, FIFOs, a store inside the artifact); and the B2 ``inspect`` hook on the staged bytes before
commit. Directory trees are in ``test_blobs_tree.py``, ``verify`` in ``test_blobs_verify.py``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest

from airel.adapters.files.blobs import CHUNK, BlobStore, hash_file
from airel.domain.release.artifact import ArtifactType
from airel.errors import IntegrityError, NotFoundError, Reason, ValidationError
from blobs_helpers import (
    blob_names,
    leftovers,
    needs_symlinks,
    project_fixture,  # noqa: F401  (the pytest fixture ``project``)
    sha,
    store_fixture,  # noqa: F401  (the pytest fixture ``store``)
    tree_fixture,  # noqa: F401  (the pytest fixture ``tree``)
    write,
)

# --------------------------------------------------------------------------- hash_file


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 17])
def test_hash_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = write(tmp_path / "f.bin", data)
    assert hash_file(path) == (sha(data), size)


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_hash_file_matches_sha256sum(tmp_path: Path) -> None:
    path = write(tmp_path / "f.bin", os.urandom(3 * CHUNK + 5))
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    assert hash_file(path)[0] == "sha256:" + out.stdout.split()[0]


def test_hash_file_missing_and_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as missing:
        hash_file(tmp_path / "nope")
    assert missing.value.reason is Reason.ARTIFACT_MISSING
    with pytest.raises(ValidationError) as directory:
        hash_file(tmp_path)
    assert directory.value.reason is Reason.INVALID_VALUE


# --------------------------------------------------------------------------- file ingest


def test_ingest_file_stores_blob_named_by_digest(project: Path, store: BlobStore) -> None:
    data = os.urandom(CHUNK + 123)
    write(project / "data" / "train.parquet", data)
    assert not store.root.exists()  # created lazily
    ref = store.ingest(project, "data/train.parquet")
    assert ref.digest == sha(data)
    assert ref.type is ArtifactType.FILE
    assert (ref.size, ref.files) == (len(data), 1)
    blob = store.root / "sha256" / ref.digest.removeprefix("sha256:")
    assert store.path_of(ref.digest) == blob
    assert blob.read_bytes() == data
    assert store.exists(ref.digest)
    assert not os.access(blob, os.X_OK)
    assert stat.S_IMODE(blob.stat().st_mode) & 0o222 == 0  # read-only
    assert leftovers(store) == []


def test_ingest_file_is_idempotent(project: Path, store: BlobStore) -> None:
    write(project / "m.bin", b"model bytes")
    first = store.ingest(project, "m.bin")
    before = blob_names(store)
    mtime = store.path_of(first.digest).stat().st_mtime_ns
    second = store.ingest(project, "m.bin")
    assert first == second
    assert blob_names(store) == before
    assert store.path_of(first.digest).stat().st_mtime_ns == mtime  # existing blob kept
    assert leftovers(store) == []


def test_identical_content_under_two_names_is_one_blob(project: Path, store: BlobStore) -> None:
    write(project / "a.bin", b"same")
    write(project / "b.bin", b"same")
    assert store.ingest(project, "a.bin") == store.ingest(project, "b.bin")
    assert len(blob_names(store)) == 1


def test_ingest_empty_file(project: Path, store: BlobStore) -> None:
    write(project / "empty.txt", b"")
    ref = store.ingest(project, "empty.txt")
    assert (ref.digest, ref.size, ref.files) == (sha(b""), 0, 1)


def test_expected_digest_match(project: Path, store: BlobStore) -> None:
    write(project / "m.bin", b"abc")
    assert store.ingest(project, "m.bin", expected=sha(b"abc")).digest == sha(b"abc")


def test_expected_digest_mismatch_leaves_nothing(project: Path, store: BlobStore) -> None:
    write(project / "m.bin", b"abc")
    wrong = sha(b"abd")
    with pytest.raises(IntegrityError) as exc:
        store.ingest(project, "m.bin", expected=wrong)
    assert exc.value.reason is Reason.HASH_MISMATCH
    assert exc.value.details == {"expected": wrong, "actual": sha(b"abc")}
    assert blob_names(store) == set()
    assert leftovers(store) == []


def test_expected_digest_must_be_well_formed(project: Path, store: BlobStore) -> None:
    write(project / "m.bin", b"abc")
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "m.bin", expected="sha256:abc")
    assert exc.value.reason is Reason.INVALID_VALUE


def test_progress_is_cumulative_per_chunk(project: Path, store: BlobStore) -> None:
    size = 2 * CHUNK + 10
    write(project / "big.bin", os.urandom(size))
    seen: list[int] = []
    store.ingest(project, "big.bin", on_progress=seen.append)
    assert seen == [CHUNK, 2 * CHUNK, size]


def test_missing_file(project: Path, store: BlobStore) -> None:
    with pytest.raises(NotFoundError) as exc:
        store.ingest(project, "models/absent.bin")
    assert exc.value.reason is Reason.ARTIFACT_MISSING
    assert "absent.bin" in exc.value.message
    assert exc.value.fix


def test_missing_base(tmp_path: Path, store: BlobStore) -> None:
    with pytest.raises(NotFoundError) as exc:
        store.resolve_source(tmp_path / "no-such-dir", "m.bin")
    assert exc.value.reason is Reason.ARTIFACT_MISSING


@pytest.mark.parametrize(
    "rel",
    [
        "../x",
        "a/../../x",
        "a/..",
        "%2e%2e/x",
        "..\\x",
        "/etc/passwd",
        "C:\\x",
        "C:x",
        "~/x",
        "a\x00b",
        "a//b",
        "",
        " a",
    ],
)
def test_traversal_forms_are_refused(project: Path, store: BlobStore, rel: str) -> None:
    write(project.parent / "x", b"outside")
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, rel)
    assert exc.value.reason is Reason.PATH_TRAVERSAL
    with pytest.raises(ValidationError) as again:
        store.resolve_source(project, rel)
    assert again.value.reason is Reason.PATH_TRAVERSAL
    assert not store.root.exists()


def test_non_string_path_is_wrong_type(project: Path, store: BlobStore) -> None:
    with pytest.raises(ValidationError) as exc:
        store.resolve_source(project, cast(Any, 42))
    assert exc.value.reason is Reason.WRONG_TYPE


@needs_symlinks
def test_symlinked_file_outside_base_is_refused(
    tmp_path: Path, project: Path, store: BlobStore
) -> None:
    secret = write(tmp_path / "secret.txt", b"do not copy")
    (project / "model.bin").symlink_to(secret)
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "model.bin")
    assert exc.value.reason is Reason.UNSAFE_SYMLINK
    assert not store.root.exists()


@needs_symlinks
def test_symlinked_directory_component_outside_base_is_refused(
    tmp_path: Path, project: Path, store: BlobStore
) -> None:
    write(tmp_path / "elsewhere" / "m.bin", b"x")
    (project / "models").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ValidationError) as exc:
        store.resolve_source(project, "models/m.bin")
    assert exc.value.reason is Reason.UNSAFE_SYMLINK
    with pytest.raises(ValidationError) as tree_exc:
        store.ingest(project, "models")
    assert tree_exc.value.reason is Reason.UNSAFE_SYMLINK


@needs_symlinks
def test_dangling_or_looping_top_level_symlink(project: Path, store: BlobStore) -> None:
    (project / "dangling").symlink_to("nowhere.bin")
    with pytest.raises(NotFoundError) as missing:
        store.ingest(project, "dangling")
    assert missing.value.reason is Reason.ARTIFACT_MISSING
    (project / "outside").symlink_to("../../../nowhere.bin")
    with pytest.raises(ValidationError) as out:
        store.ingest(project, "outside")
    assert out.value.reason is Reason.UNSAFE_SYMLINK
    (project / "loop1").symlink_to("loop2")
    (project / "loop2").symlink_to("loop1")
    with pytest.raises(ValidationError) as loop:
        store.ingest(project, "loop1")
    assert loop.value.reason is Reason.UNSAFE_SYMLINK


@needs_symlinks
def test_symlink_inside_base_is_followed_at_top_level(project: Path, store: BlobStore) -> None:
    write(project / "real" / "m.bin", b"weights")
    (project / "current.bin").symlink_to("real/m.bin")
    assert store.resolve_source(project, "current.bin") == (project / "real" / "m.bin").resolve()
    assert store.ingest(project, "current.bin").digest == sha(b"weights")


def test_store_inside_the_artifact_is_refused(project: Path) -> None:
    write(project / "m.bin", b"x")
    store = BlobStore(project / ".airel" / "artifacts")
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, ".")
    assert exc.value.reason is Reason.INVALID_VALUE
    assert store.ingest(project, "m.bin").digest == sha(b"x")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_fifo_is_refused_without_blocking(project: Path, store: BlobStore) -> None:
    os.mkfifo(project / "pipe")
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "pipe")
    assert exc.value.reason is Reason.INVALID_VALUE
    with pytest.raises(ValidationError) as hashed:
        hash_file(project / "pipe")
    assert hashed.value.reason is Reason.INVALID_VALUE


# --------------------------------------------------------------------------- inspect and staging


def test_inspect_sees_the_staged_files_before_commit(
    project: Path, store: BlobStore, tree: Path
) -> None:
    """B2: the inspect hook gets each member's path in the tree and readable staged bytes
    (an already stored member is read from its blob), while the staging is locked as live."""
    write(project / "loose.txt", b"a\nb\nc\n")
    store.ingest(project, "loose.txt")  # tok/vocab.txt's content is already stored
    seen: dict[str, bytes] = {}
    live: list[int] = []

    def inspect(files: Any, artifact_type: ArtifactType) -> None:
        assert artifact_type is ArtifactType.TREE
        seen.update({rel: path.read_bytes() for rel, path in files})
        live.append(store.staging().live)

    store.ingest(project, "model", inspect=inspect)
    assert seen == {
        "config.json": b'{"layers": 3}\n',
        "run.sh": b"#!/bin/sh\necho hi\n",
        "tok/copy.txt": b"a\nb\nc\n",
        "tok/vocab.txt": b"a\nb\nc\n",
        "weights.bin": b"\x00\x01" * 1000,
    }
    assert live == [1]
    assert leftovers(store) == []


def test_inspect_refusal_keeps_nothing(project: Path, store: BlobStore) -> None:
    """B2: when the hook refuses the staged bytes, no blob is committed and staging is gone."""
    write(project / "data.parquet", b"not parquet")

    def refuse(files: Any, artifact_type: ArtifactType) -> None:
        ((rel, path),) = files
        assert (rel, artifact_type, path.read_bytes()) == (
            "data.parquet",
            ArtifactType.FILE,
            b"not parquet",
        )
        raise ValidationError(Reason.DATA_UNREADABLE, "no")

    with pytest.raises(ValidationError):
        store.ingest(project, "data.parquet", inspect=refuse)
    assert blob_names(store) == set()
    assert leftovers(store) == []
