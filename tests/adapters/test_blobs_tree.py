"""Tests for ingesting directory trees into the blob store (airel.adapters.files.blobs).

The tree manifest (entries, order by UTF-8 bytes, executables, empty directories, internal
symlinks recorded, not followed), its digest's independence of location, mtime and creation
order (a Hypothesis property), the expected digest, unsafe members (symlinks out of the tree,
special files, control characters, non-UTF-8 names), and the path-based walk fallback.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airel.adapters.files.blobs import TREE_FORMAT, BlobStore, tree_manifest
from airel.domain.kernel.canonical import canonical_bytes, digest_bytes
from airel.domain.release.artifact import ArtifactType
from airel.errors import IntegrityError, Reason, ValidationError
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
