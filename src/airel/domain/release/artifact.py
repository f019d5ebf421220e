"""Artifact references: what a content-addressed blob or tree is, independent of where it lives."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field


class ArtifactType(StrEnum):
    """How an artifact's digest was formed."""

    FILE = "file"  # digest = sha256 of the file's bytes
    TREE = "tree"  # digest = sha256 of the JCS manifest of a directory (paths, digests, sizes)


class ArtifactRef(BaseModel):
    """A content-addressed artifact: its digest, type, total size and file count."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)

    digest: str = Field(description="sha256:<hex> of the file, or of the tree manifest")
    type: ArtifactType
    size: int = Field(ge=0, description="bytes; for a tree, the sum of its files")
    files: int = Field(ge=1, description="1 for a file; the number of files in a tree")


class BlobCheck(BaseModel):
    """The outcome of re-hashing one stored blob."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    digest: str
    ok: bool
    actual: str | None = None  # the digest found when it differs; None when the blob is missing
    problem: str | None = None  # "missing", "mismatch", "tree-member-missing", …


class StagingEntry(BaseModel):
    """One entry under the artifact store's ``tmp/``: an ingest's staging directory (or a
    stray file) with the blobs it was writing."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    name: str
    files: int = Field(ge=0)
    size: int = Field(ge=0, description="bytes")
    age_seconds: float  # since its newest file was last written
    live: bool  # a live writer holds its lock (or, unlocked kinds, younger than the grace period)
    removed: bool = False


class StagingReport(BaseModel):
    """What is left under ``tmp/``: stale staging of interrupted ingests, and live ones."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    entries: tuple[StagingEntry, ...] = ()

    # pydantic's documented way to serialise a property (mypy does not know a decorated
    # property; https://docs.pydantic.dev/latest/concepts/fields/#the-computed_field-decorator)
    @computed_field  # type: ignore[prop-decorator]
    @property
    def stale_files(self) -> int:
        """Files of stale staging still on disk."""
        return sum(e.files for e in self.entries if not e.live and not e.removed)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stale_bytes(self) -> int:
        """Bytes of stale staging still on disk."""
        return sum(e.size for e in self.entries if not e.live and not e.removed)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def removed_files(self) -> int:
        """Files of stale staging this call removed."""
        return sum(e.files for e in self.entries if e.removed)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def removed_bytes(self) -> int:
        """Bytes of stale staging this call removed."""
        return sum(e.size for e in self.entries if e.removed)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def live(self) -> int:
        """Staging areas of writers that are still running."""
        return sum(1 for e in self.entries if e.live)


class ArtifactReport(BaseModel):
    """``airel artifact verify``: every blob re-hashed, and what interrupted ingests left."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    checks: tuple[BlobCheck, ...]
    staging: StagingReport

    @property
    def bad(self) -> list[BlobCheck]:
        """The checks that failed."""
        return [c for c in self.checks if not c.ok]
