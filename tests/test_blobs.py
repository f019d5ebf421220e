"""Tests for the content-addressed blob store (airel.adapters.files.blobs)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airel.adapters.files.blobs import CHUNK, TREE_FORMAT, BlobStore, hash_file, tree_manifest
from airel.domain.kernel.canonical import canonical_bytes, digest_bytes
from airel.domain.release.artifact import ArtifactType
from airel.errors import IntegrityError, NotFoundError, Reason, ValidationError

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes, *, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if executable:
        path.chmod(0o755)
    return path


def blob_names(store: BlobStore) -> set[str]:
    return {p.name for p in store.blob_dir.iterdir()} if store.blob_dir.is_dir() else set()


def leftovers(store: BlobStore) -> list[Path]:
    return list(store.tmp_dir.rglob("*")) if store.tmp_dir.is_dir() else []


def tamper(path: Path, data: bytes) -> None:
    path.chmod(0o644)
    path.write_bytes(data)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    base = tmp_path / "project"
    base.mkdir()
    return base


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "store" / "artifacts")


@pytest.fixture
def tree(project: Path) -> Path:
    """A small model directory: nested files, an executable, a duplicate, an empty dir."""
    root = project / "model"
    write(root / "weights.bin", b"\x00\x01" * 1000)
    write(root / "config.json", b'{"layers": 3}\n')
    write(root / "tok" / "vocab.txt", b"a\nb\nc\n")
    write(root / "tok" / "copy.txt", b"a\nb\nc\n")
    write(root / "run.sh", b"#!/bin/sh\necho hi\n", executable=True)
    (root / "empty").mkdir()
    return root


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


# --------------------------------------------------------------------------- tree ingest


def test_ingest_tree_manifest(tree: Path, project: Path, store: BlobStore) -> None:
    ref = store.ingest(project, "model")
    assert ref.type is ArtifactType.TREE
    assert ref.files == 5
    assert ref.size == 2000 + 14 + 6 + 6 + 18
    manifest = store.read_manifest(ref.digest)
    assert manifest is not None
    assert ref.digest == digest_bytes(canonical_bytes(manifest))
    assert store.path_of(ref.digest).read_bytes() == canonical_bytes(manifest)
    assert manifest["format"] == TREE_FORMAT
    entries: list[dict[str, Any]] = manifest["entries"]
    assert [e["path"] for e in entries] == [
        "config.json",
        "empty",
        "run.sh",
        "tok/copy.txt",
        "tok/vocab.txt",
        "weights.bin",
    ]
    by_path = {e["path"]: e for e in entries}
    assert by_path["empty"] == {"path": "empty", "type": "dir"}
    assert by_path["run.sh"]["executable"] is True
    assert by_path["weights.bin"] == {
        "path": "weights.bin",
        "type": "file",
        "digest": sha(b"\x00\x01" * 1000),
        "size": 2000,
        "executable": False,
    }
    # Every member is a blob; the duplicate file is stored once; the manifest is a blob too.
    members = {e["digest"] for e in entries if e["type"] == "file"}
    assert len(members) == 4
    assert all(store.exists(d) for d in members)
    assert blob_names(store) == {d.removeprefix("sha256:") for d in {*members, ref.digest}}
    assert leftovers(store) == []


def test_tree_manifest_function_matches_ingest(tree: Path, project: Path, store: BlobStore) -> None:
    ref = store.ingest(project, "model")
    assert digest_bytes(canonical_bytes(tree_manifest(tree))) == ref.digest
    assert store.read_manifest(ref.digest) == tree_manifest(tree)


def test_ingest_tree_is_idempotent(tree: Path, project: Path, store: BlobStore) -> None:
    first = store.ingest(project, "model")
    before = blob_names(store)
    assert store.ingest(project, "model") == first
    assert blob_names(store) == before


def test_tree_progress_spans_all_files(tree: Path, project: Path, store: BlobStore) -> None:
    seen: list[int] = []
    ref = store.ingest(project, "model", on_progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == ref.size


def test_tree_digest_independent_of_location_and_mtime(
    tree: Path, tmp_path: Path, store: BlobStore, project: Path
) -> None:
    original = store.ingest(project, "model").digest
    elsewhere = tmp_path / "far" / "away"
    shutil.copytree(tree, elsewhere / "copy", symlinks=True)
    os.utime(elsewhere / "copy" / "weights.bin", (1, 1))
    assert store.ingest(elsewhere, "copy").digest == original

    changed = tmp_path / "changed"
    shutil.copytree(tree, changed)
    (changed / "config.json").write_bytes(b'{"layers": 4}\n')
    assert digest_bytes(canonical_bytes(tree_manifest(changed))) != original

    renamed = tmp_path / "renamed"
    shutil.copytree(tree, renamed)
    (renamed / "config.json").rename(renamed / "config2.json")
    assert digest_bytes(canonical_bytes(tree_manifest(renamed))) != original

    chmodded = tmp_path / "chmodded"
    shutil.copytree(tree, chmodded)
    (chmodded / "config.json").chmod(0o755)
    assert digest_bytes(canonical_bytes(tree_manifest(chmodded))) != original


def test_tree_expected_mismatch_leaves_only_preexisting_blobs(
    tree: Path, project: Path, store: BlobStore
) -> None:
    # config.json's content is already stored; it must survive the failed call.
    kept = store.ingest(project, "model/config.json")
    before = blob_names(store)
    wrong = sha(b"not this tree")
    with pytest.raises(IntegrityError) as exc:
        store.ingest(project, "model", expected=wrong)
    assert exc.value.reason is Reason.HASH_MISMATCH
    assert exc.value.details["expected"] == wrong
    assert exc.value.details["actual"] == digest_bytes(canonical_bytes(tree_manifest(tree)))
    assert blob_names(store) == before
    assert store.exists(kept.digest)
    assert leftovers(store) == []
    # ... and the right digest then succeeds.
    ref = store.ingest(project, "model", expected=exc.value.details["actual"])
    assert ref.digest == exc.value.details["actual"]


def test_empty_directory_is_refused(project: Path, store: BlobStore) -> None:
    (project / "empty" / "nested" / "deeper").mkdir(parents=True)
    (project / "empty" / "also").mkdir()
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "empty")
    assert exc.value.reason is Reason.INVALID_VALUE
    assert blob_names(store) == set()
    assert tree_manifest(project / "empty")["entries"] == [
        {"path": "also", "type": "dir"},
        {"path": "nested/deeper", "type": "dir"},
    ]


def test_paths_sort_by_utf8_bytes(project: Path, store: BlobStore) -> None:
    root = project / "t"
    for name in ["a-b", "a/b", "B", "é", "z", "\U0001f600", "\uff5e"]:
        write(root / name, name.encode())
    paths = [e["path"] for e in tree_manifest(root)["entries"]]
    assert paths == sorted(paths, key=lambda p: p.encode("utf-8"))
    assert paths[:4] == ["B", "a-b", "a/b", "z"]


@needs_symlinks
def test_internal_symlinks_are_recorded_not_followed(project: Path, store: BlobStore) -> None:
    root = project / "t"
    write(root / "a" / "b.bin", b"payload")
    (root / "link").symlink_to("a/b.bin")
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to("../a/b.bin")
    (root / "dirlink").symlink_to("a", target_is_directory=True)
    ref = store.ingest(project, "t")
    assert ref.files == 1
    manifest = store.read_manifest(ref.digest)
    assert manifest is not None
    assert manifest["entries"] == [
        {
            "path": "a/b.bin",
            "type": "file",
            "digest": sha(b"payload"),
            "size": 7,
            "executable": False,
        },
        {"path": "dirlink", "type": "symlink", "target": "a"},
        {"path": "link", "type": "symlink", "target": "a/b.bin"},
        {"path": "sub/up", "type": "symlink", "target": "../a/b.bin"},
    ]


@needs_symlinks
@pytest.mark.parametrize(
    "target",
    ["../../secret.txt", "{secret}", "{tree}/a.bin", "missing.bin", "../../t2/a.bin", "../.."],
)
def test_unsafe_symlinks_inside_tree_are_refused(
    tmp_path: Path, project: Path, store: BlobStore, target: str
) -> None:
    secret = write(tmp_path / "secret.txt", b"secret")
    root = project / "t"
    write(root / "a.bin", b"a")
    write(project / "t2" / "a.bin", b"a")
    link = target.format(secret=secret, tree=root)
    (root / "sub").mkdir()
    (root / "sub" / "evil").symlink_to(link)
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "t")
    assert exc.value.reason is Reason.UNSAFE_SYMLINK
    assert blob_names(store) == set()
    assert leftovers(store) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_special_files_inside_tree_are_refused(project: Path, store: BlobStore) -> None:
    root = project / "t"
    write(root / "a.bin", b"a")
    os.mkfifo(root / "pipe")
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "t")
    assert exc.value.reason is Reason.INVALID_VALUE
    assert blob_names(store) == set()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix sockets")
def test_socket_inside_tree_is_refused(store: BlobStore) -> None:
    # AF_UNIX paths are short: bind in a short temporary directory.
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        base = Path(tmp)
        write(base / "t" / "a.bin", b"a")
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(base / "t" / "s"))
            with pytest.raises(ValidationError) as exc:
                store.ingest(base, "t")
    assert exc.value.reason is Reason.INVALID_VALUE


def test_control_characters_in_member_names_are_refused(project: Path, store: BlobStore) -> None:
    root = project / "t"
    write(root / "bad\nname", b"a")
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "t")
    assert exc.value.reason is Reason.PATH_TRAVERSAL


def test_non_utf8_member_names_are_refused(project: Path, store: BlobStore) -> None:
    root = project / "t"
    write(root / "ok.bin", b"a")
    try:
        fd = os.open(os.fsencode(root) + b"/\xff.bin", os.O_CREAT | os.O_WRONLY, 0o644)
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    os.close(fd)
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "t")
    assert exc.value.reason is Reason.INVALID_VALUE


# --------------------------------------------------------------------------- verify


def test_verify_all_ok(tree: Path, project: Path, store: BlobStore) -> None:
    assert store.verify() == []  # nothing stored yet
    ref = store.ingest(project, "model")
    checks = store.verify()
    assert len(checks) == len(blob_names(store)) == 5
    assert all(c.ok and c.problem is None for c in checks)
    assert [c.digest for c in checks] == sorted(c.digest for c in checks)
    (single,) = store.verify(ref.digest)
    assert single.ok


def test_verify_detects_tampered_blob(project: Path, store: BlobStore) -> None:
    write(project / "m.bin", b"original")
    ref = store.ingest(project, "m.bin")
    tamper(store.path_of(ref.digest), b"0riginal")
    (check,) = store.verify(ref.digest)
    assert (check.ok, check.problem, check.actual) == (False, "mismatch", sha(b"0riginal"))
    assert [c.problem for c in store.verify()] == ["mismatch"]


def test_verify_detects_missing_blob(project: Path, store: BlobStore) -> None:
    write(project / "m.bin", b"original")
    ref = store.ingest(project, "m.bin")
    store.path_of(ref.digest).unlink()
    (check,) = store.verify(ref.digest)
    assert (check.ok, check.problem, check.actual) == (False, "missing", None)
    assert not store.exists(ref.digest)


def test_verify_detects_deleted_tree_member(tree: Path, project: Path, store: BlobStore) -> None:
    ref = store.ingest(project, "model")
    member = sha(b"a\nb\nc\n")  # shared by tok/vocab.txt and tok/copy.txt
    store.path_of(member).unlink()
    checks = store.verify(ref.digest)
    assert [(c.digest, c.ok, c.problem) for c in checks] == [
        (ref.digest, False, "tree-member-missing"),
        (member, False, "tree-member-missing"),
    ]
    everything = store.verify()
    assert {(c.digest, c.problem) for c in everything if not c.ok} == {
        (ref.digest, "tree-member-missing"),
        (member, "tree-member-missing"),
    }


def test_verify_detects_tampered_tree_member(tree: Path, project: Path, store: BlobStore) -> None:
    ref = store.ingest(project, "model")
    member = sha(b'{"layers": 3}\n')
    tamper(store.path_of(member), b'{"layers": 9}\n')
    tree_check, member_check = store.verify(ref.digest)
    assert (tree_check.ok, tree_check.problem) == (False, "tree-member-mismatch")
    assert (member_check.digest, member_check.problem) == (member, "tree-member-mismatch")
    assert member_check.actual == sha(b'{"layers": 9}\n')
    problems = {(c.digest, c.problem) for c in store.verify() if not c.ok}
    assert (member, "mismatch") in problems
    assert (ref.digest, "tree-member-mismatch") in problems


def test_verify_detects_tampered_manifest(tree: Path, project: Path, store: BlobStore) -> None:
    ref = store.ingest(project, "model")
    tamper(store.path_of(ref.digest), b'{"entries":[],"format":"airel-tree/1"}')
    (check,) = store.verify(ref.digest)
    assert (check.ok, check.problem) == (False, "mismatch")


def test_verify_rejects_malformed_digest(store: BlobStore) -> None:
    with pytest.raises(ValidationError) as exc:
        store.verify("sha256:XYZ")
    assert exc.value.reason is Reason.INVALID_VALUE


# --------------------------------------------------------------------------- manifests, paths


def test_read_manifest(tree: Path, project: Path, store: BlobStore) -> None:
    tree_ref = store.ingest(project, "model")
    file_ref = store.ingest(project, "model/config.json")
    assert store.read_manifest(tree_ref.digest) is not None
    assert store.read_manifest(file_ref.digest) is None
    # JSON that looks like a manifest but is not canonical, or has the wrong shape, is not one.
    write(project / "fake1.json", b'{"entries":[], "format":"airel-tree/1"}')
    write(project / "fake2.json", b'{"entries":[],"format":"airel-tree/2"}')
    write(
        project / "fake3.json", b'{"entries":[{"path":"a","type":"fifo"}],"format":"airel-tree/1"}'
    )
    write(project / "fake4.json", b'{"entries":[],"entries":[],"format":"airel-tree/1"}')
    write(project / "fake5.json", b'{"entries":[\xff],"format":"airel-tree/1"}')
    for name in ["fake1.json", "fake2.json", "fake3.json", "fake4.json", "fake5.json"]:
        assert store.read_manifest(store.ingest(project, name).digest) is None
    with pytest.raises(NotFoundError) as exc:
        store.read_manifest(sha(b"never stored"))
    assert exc.value.reason is Reason.ARTIFACT_MISSING


@pytest.mark.parametrize(
    "digest", ["", "sha256:", "sha256:" + "A" * 64, "md5:" + "a" * 64, "a" * 64, "../../etc"]
)
def test_path_of_validates_digest(store: BlobStore, digest: str) -> None:
    with pytest.raises(ValidationError) as exc:
        store.path_of(digest)
    assert exc.value.reason is Reason.INVALID_VALUE
    with pytest.raises(ValidationError):
        store.exists(digest)


def test_exists_is_false_for_unknown_digest(store: BlobStore) -> None:
    assert store.exists(sha(b"nothing")) is False


# --------------------------------------------------------------------------- property


_names = st.text(alphabet="abcxyz019._-é", min_size=1, max_size=6).filter(
    lambda s: s not in {".", ".."}
)
_files = st.dictionaries(
    st.lists(_names, min_size=1, max_size=3).map("/".join),
    st.binary(max_size=64),
    min_size=1,
    max_size=8,
)


def _make_tree(root: Path, files: dict[str, bytes], order: list[str]) -> None:
    root.mkdir()
    for rel in order:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[rel])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=_files, data=st.data())
def test_tree_digest_independent_of_creation_order(files: dict[str, bytes], data: Any) -> None:
    # A path that is also a prefix directory of another path cannot exist as both.
    paths = sorted(files)
    files = {p: files[p] for p in paths if not any(q.startswith(p + "/") for q in paths if q != p)}
    order = data.draw(st.permutations(sorted(files)))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _make_tree(base / "one", files, sorted(files))
        _make_tree(base / "two", files, list(order))
        store = BlobStore(base / "store")
        first = store.ingest(base, "one")
        second = store.ingest(base, "two")
        assert first == second
        assert first.digest == digest_bytes(canonical_bytes(tree_manifest(base / "two")))
        assert first.files == len(files)


@needs_symlinks
def test_path_based_walk_fallback_agrees(
    tree: Path, project: Path, store: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Platforms without directory descriptors walk by path and must give the same digests."""
    (tree / "link").symlink_to("config.json")
    with_fds = store.ingest(project, "model")
    monkeypatch.setattr("airel.adapters.files.blobs._USE_DIR_FD", False)
    assert store.ingest(project, "model") == with_fds
    (tree / "tok" / "evil").symlink_to("../../../outside")
    with pytest.raises(ValidationError) as exc:
        store.ingest(project, "model")
    assert exc.value.reason is Reason.UNSAFE_SYMLINK


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
