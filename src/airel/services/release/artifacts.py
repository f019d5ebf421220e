"""Use cases: re-hash stored artifacts and report mismatches (B2, ``airel artifact verify``);
report and collect what interrupted ingests left under the store's ``tmp/``
(``airel artifact gc``)."""

from __future__ import annotations

from airel.domain.kernel.canonical import check_digest
from airel.domain.release.artifact import ArtifactReport, BlobCheck, StagingReport
from airel.errors import NotFoundError, Reason
from airel.services.kernel.context import Context


def verify_artifacts(ctx: Context, digest: str | None = None) -> list[BlobCheck]:
    """Re-hash one recorded artifact, or every artifact the store records."""
    with ctx.store.read() as tx:
        if digest is not None:
            check_digest(digest, field="artifact digest")
            if tx.get_artifact(digest) is None:
                raise NotFoundError(
                    Reason.ARTIFACT_MISSING,
                    f"artifact {digest} is not recorded in this store",
                    fix="list artifacts with `airel artifact list`",
                )
            digests = [digest]
        else:
            digests = [a.digest for a in tx.list_artifacts()]
    checks: list[BlobCheck] = []
    for d in digests:
        checks.extend(ctx.blobs.verify(d))
    return checks


def artifact_report(ctx: Context, digest: str | None = None) -> ArtifactReport:
    """Re-hash recorded artifacts, and count the staging interrupted ingests left behind."""
    checks = verify_artifacts(ctx, digest)
    return ArtifactReport(checks=tuple(checks), staging=ctx.blobs.staging())


def collect_staging(ctx: Context) -> StagingReport:
    """Remove stale staging (never a live writer's); report what was removed and what is left.

    Only files under the artifact store's ``tmp/`` are touched — no blob, no database record —
    so there is nothing to audit.
    """
    return ctx.blobs.staging(collect=True)
