"""Release bundles: drafts, freezing, reading, diffs, verification and the §7.2 reproducibility
report (``airel bundle``).

A facet of :class:`airel.Client` (``client.bundles``), loaded when first used; each method is one
service call with its arguments translated.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Literal, overload

from airel.adapters.documents.parse import ParseLimits
from airel.domain.release.bundle import BundleDraft, BundleSpec, ComponentChange, FrozenBundle
from airel.domain.release.completeness import CompletenessReport
from airel.domain.release.kinds import BundleState
from airel.sdk.facet import Facet
from airel.services.gate.approval_record import reproducibility
from airel.services.release import (
    bundle_drafts,
    bundles,
)
from airel.services.release.bundle_drafts import BundleView, Drafted
from airel.services.release.bundles import BundleCheck, Frozen
from airel.services.release.reproducibility import ReproReport


class Bundles(Facet):
    """The ``client.bundles`` facet (see the module docstring)."""

    def __call__(self, *, use_case_id: str | None = None) -> builtins.list[FrozenBundle]:
        """``client.bundles()``: the earlier flat name of :meth:`list`, kept working."""
        return self.list(use_case_id=use_case_id)

    @overload
    def create(
        self,
        path: Path | str,
        *,
        freeze: Literal[False] = False,
        expected_version: int | None = None,
        dry_run: bool = False,
    ) -> Drafted: ...

    @overload
    def create(
        self,
        path: Path | str,
        *,
        freeze: Literal[True],
        allow_incomplete: str | None = None,
        dry_run: bool = False,
    ) -> Frozen: ...

    def create(
        self,
        path: Path | str,
        *,
        freeze: bool = False,
        allow_incomplete: str | None = None,
        expected_version: int | None = None,
        dry_run: bool = False,
    ) -> Drafted | Frozen:
        """``bundle create``: store (or edit, compare-and-set on ``expected_version``) the
        release's draft from YAML; with ``freeze=True`` validate and freeze it directly,
        refused while completeness fails unless ``allow_incomplete`` says why."""
        if freeze:
            return bundles.create_bundle(
                self.ctx, Path(path), allow_incomplete=allow_incomplete, dry_run=dry_run
            )
        return bundle_drafts.save_draft(
            self.ctx, Path(path), expected_version=expected_version, dry_run=dry_run
        )

    def freeze(
        self,
        release_id: str,
        *,
        allow_incomplete: str | None = None,
        expected_version: int | None = None,
        dry_run: bool = False,
    ) -> Frozen:
        """``bundle freeze``: resolve and freeze the release's stored draft (same completeness
        rule as ``create_bundle(freeze=True)``); an already frozen release is a no-op."""
        return bundle_drafts.freeze_draft(
            self.ctx,
            release_id,
            allow_incomplete=allow_incomplete,
            expected_version=expected_version,
            dry_run=dry_run,
        )

    def view(self, release_id: str) -> BundleView:
        """A release in either state (draft or frozen) with its completeness now."""
        return bundle_drafts.view(self.ctx, release_id)

    def listing(
        self, *, use_case_id: str | None = None, state: BundleState | str | None = None
    ) -> builtins.list[FrozenBundle | BundleDraft]:
        """Frozen bundles and drafts, optionally of one state, oldest first."""
        return bundle_drafts.listing(
            self.ctx, use_case_id=use_case_id, state=BundleState(state) if state else None
        )

    def check_file(self, path: Path | str) -> tuple[BundleSpec, CompletenessReport]:
        """Parse a bundle file and report completeness without opening the store."""
        limits = ParseLimits(max_bytes=self.settings.max_document_bytes)
        return bundles.check_bundle_file(Path(path), limits)

    def get(self, release_id: str) -> FrozenBundle:
        """A frozen bundle."""
        return bundles.get_bundle(self.ctx, release_id)

    def list(self, *, use_case_id: str | None = None) -> builtins.list[FrozenBundle]:
        """Frozen bundles, oldest first."""
        return bundles.list_bundles(self.ctx, use_case_id=use_case_id)

    def completeness(self, release_id: str) -> CompletenessReport:
        """B3 completeness of a frozen bundle."""
        return bundles.completeness_of(self.ctx, self.get(release_id))

    def diff(self, old: str, new: str) -> builtins.list[ComponentChange]:
        """B4 component-by-component diff."""
        return bundles.diff(self.ctx, old, new)

    def verify(self, release_id: str) -> BundleCheck:
        """Recompute a bundle's digest and re-hash its artifacts."""
        return bundles.verify_bundle(self.ctx, release_id)

    def reproducibility(self, release_id: str) -> ReproReport:
        """The §7.2 reproducibility report of a release."""
        return reproducibility(self.ctx, release_id)
