"""Registered components and artifacts, aliases and lineage (``airel register``, ``component``,
``alias``, ``lineage``, ``artifact``).

A facet of :class:`airel.Client` (``client.registry``), loaded when first used; each method is one
service call with its arguments translated.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from airel.domain.release.alias import Alias, AliasMove
from airel.domain.release.artifact import ArtifactReport, BlobCheck, StagingReport
from airel.domain.release.components import ComponentVersion
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.lineage import Direction, LineageGraph
from airel.sdk.facet import Facet
from airel.services.release import (
    aliases,
    artifacts,
    components,
    lineage,
    openlineage,
)
from airel.services.release.components import Registered, VersionDiff


class Registry(Facet):
    """The ``client.registry`` facet (see the module docstring)."""

    def register(
        self,
        path: Path | str,
        *,
        kind: ComponentKind | str | None = None,
        base_dir: Path | str | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> Registered:
        """Register a component version from its spec file (``on_progress(bytes_hashed)``)."""
        return components.register_component(
            self.ctx,
            Path(path),
            kind=ComponentKind(kind) if isinstance(kind, str) else kind,
            base_dir=Path(base_dir) if base_dir else None,
            on_progress=on_progress,
        )

    def component(self, kind: ComponentKind | str, ref: str) -> ComponentVersion:
        """One version by name:version, name@alias, or a bare name with one version."""
        return components.get_component(self.ctx, ComponentKind(kind), ref)

    def components(self, kind: ComponentKind | str | None = None) -> list[ComponentVersion]:
        """Registered versions, optionally of one kind."""
        return components.list_components(self.ctx, ComponentKind(kind) if kind else None)

    def diff(self, kind: ComponentKind | str, name: str, old: str, new: str) -> VersionDiff:
        """Field changes and a readable text diff between two versions."""
        return components.diff_versions(self.ctx, ComponentKind(kind), name, old, new)

    def set_alias(
        self,
        kind: ComponentKind | str,
        name: str,
        alias: str,
        version: str,
        *,
        expected_row_version: int | None = None,
        reason: str | None = None,
    ) -> tuple[Alias, bool]:
        """Move ``name@alias`` to ``version`` (compare-and-set when expected is given)."""
        return aliases.set_alias(
            self.ctx,
            ComponentKind(kind),
            name,
            alias,
            version,
            expected_row_version=expected_row_version,
            reason=reason,
        )

    def alias_history(self, kind: ComponentKind | str, name: str, alias: str) -> list[AliasMove]:
        """Every move of an alias, oldest first."""
        return aliases.alias_history(self.ctx, ComponentKind(kind), name, alias)

    def lineage(
        self,
        node: str,
        *,
        direction: Direction | str = Direction.UPSTREAM,
        max_depth: int | None = None,
    ) -> LineageGraph:
        """Walk lineage from a release or component, upstream or downstream."""
        return lineage.walk(self.ctx, node, Direction(direction), max_depth=max_depth)

    def openlineage(
        self, node: str, *, direction: Direction | str = Direction.UPSTREAM
    ) -> list[dict[str, Any]]:
        """Lineage from ``node`` as OpenLineage 2-0-2 RunEvents."""
        return openlineage.export_events(self.ctx, node, Direction(direction))

    def artifacts(self) -> list[Any]:
        """Recorded artifacts."""
        with self.ctx.store.read() as tx:
            return list(tx.list_artifacts())

    def verify_artifacts(self, digest: str | None = None) -> list[BlobCheck]:
        """Re-hash recorded artifacts and report mismatches."""
        return artifacts.verify_artifacts(self.ctx, digest)

    def artifact_report(self, digest: str | None = None) -> ArtifactReport:
        """Re-hash recorded artifacts and count stale staging of interrupted ingests."""
        return artifacts.artifact_report(self.ctx, digest)

    def collect_staging(self) -> StagingReport:
        """Remove stale staging of interrupted ingests (never a live writer's)."""
        return artifacts.collect_staging(self.ctx)
