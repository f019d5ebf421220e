"""Helpers shared by the tests of the content-addressed blob store (airel.adapters.files.blobs).

Small file and store helpers, and the ``project``, ``store`` and ``tree`` fixtures (import
``project_fixture``, ``store_fixture`` and ``tree_fixture``; the tests request them by the
short names).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from airel.adapters.files.blobs import BlobStore

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


@pytest.fixture(name="project")
def project_fixture(tmp_path: Path) -> Path:
    base = tmp_path / "project"
    base.mkdir()
    return base


@pytest.fixture(name="store")
def store_fixture(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "store" / "artifacts")


@pytest.fixture(name="tree")
def tree_fixture(project: Path) -> Path:
    """A small model directory: nested files, an executable, a duplicate, an empty dir."""
    root = project / "model"
    write(root / "weights.bin", b"\x00\x01" * 1000)
    write(root / "config.json", b'{"layers": 3}\n')
    write(root / "tok" / "vocab.txt", b"a\nb\nc\n")
    write(root / "tok" / "copy.txt", b"a\nb\nc\n")
    write(root / "run.sh", b"#!/bin/sh\necho hi\n", executable=True)
    (root / "empty").mkdir()
    return root
