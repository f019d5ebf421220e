"""Tests for checking and reading back the blob store (airel.adapters.files.blobs).

``verify`` (tampered, missing and deleted or tampered tree members, a tampered manifest, a
malformed digest), ``read_manifest`` (only canonical tree manifests are manifests), and the
digest validation of ``path_of`` and ``exists``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airel.adapters.files.blobs import BlobStore
from airel.errors import NotFoundError, Reason, ValidationError
from blobs_helpers import (
    blob_names,
    project_fixture,  # noqa: F401  (the pytest fixture ``project``)
    sha,
    store_fixture,  # noqa: F401  (the pytest fixture ``store``)
    tamper,
    tree_fixture,  # noqa: F401  (the pytest fixture ``tree``)
    write,
)

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
