"""Artifact references: what a content-addressed blob or tree is, independent of where it lives."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ArtifactType(StrEnum):
    """How an artifact's digest was formed."""

    FILE = "file"  # digest = sha256 of the file's bytes
    TREE = "tree"  # digest = sha256 of the JCS manifest of a directory (paths, digests, sizes)


class ArtifactRef(BaseModel):
    """A content-addressed artifact: its digest, type, total size and file count."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    digest: str = Field(description="sha256:<hex> of the file, or of the tree manifest")
    type: ArtifactType
    size: int = Field(ge=0, description="bytes; for a tree, the sum of its files")
    files: int = Field(ge=1, description="1 for a file; the number of files in a tree")


class BlobCheck(BaseModel):
    """The outcome of re-hashing one stored blob."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    digest: str
    ok: bool
    actual: str | None = None  # the digest found when it differs; None when the blob is missing
    problem: str | None = None  # "missing", "mismatch", "tree-member-missing", …
