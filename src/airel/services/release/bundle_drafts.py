"""Use cases: bundle drafts (B1, B2) — store and edit a release before freezing it.

``bundle create FILE`` stores the file as the release's *draft*: strictly parsed and validated
like any bundle, but its registry references may not resolve yet and it may be incomplete —
both are reported as findings, and kept in the draft's summary. The same file again is a no-op;
another file under the same release id edits the draft, a compare-and-set on its ``version``
(a stale version is ``STALE_VERSION``, so concurrent editors never lose an update). Nothing may
cite a draft: approvals, waivers, evidence and gates look up frozen bundles only and refuse a
draft with ``BUNDLE_DRAFT`` (:func:`airel.services.release.bundles.get_bundle`).

``bundle freeze RELEASE`` resolves the stored draft and freezes it exactly as ``bundle create
--freeze`` would (:func:`airel.services.release.bundles.freeze_spec`): refused while completeness
fails unless a reason is given; the draft row is removed in the freeze's own transaction. A refused
freeze writes nothing, so the release id is not used up by a mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airel.domain.release.bundle import BundleDraft, BundleSpec, DraftSummary, FrozenBundle
from airel.domain.release.completeness import CompletenessReport, Severity
from airel.domain.release.kinds import BundleState
from airel.errors import AirelError, ConflictError, NotFoundError, Reason
from airel.services.kernel.context import Context
from airel.services.release.bundles import (
    Frozen,
    check_spec,
    completeness_of,
    freeze_spec,
    load_bundle_spec,
    not_frozen,
)
from airel.store.contract import WriteTx


@dataclass(frozen=True)
class Drafted:
    """The outcome of ``bundle create`` (without ``--freeze``)."""

    draft: BundleDraft
    completeness: CompletenessReport  # as the registry stands now
    created: bool  # False when the stored draft already said exactly this (idempotent)
    dry_run: bool = False


@dataclass(frozen=True)
class BundleView:
    """One release as ``bundle show`` presents it: its state and the record of that state."""

    release_id: str
    state: BundleState
    bundle: FrozenBundle | None  # when frozen
    draft: BundleDraft | None  # when a draft
    completeness: CompletenessReport
    unresolved: tuple[dict[str, Any], ...] = ()  # a draft's references that do not resolve


def _problem(error: AirelError) -> dict[str, Any]:
    return {
        "reason": error.reason.value,
        "field": error.details.get("field"),
        "message": error.message,
    }


def _summary(report: CompletenessReport, problems: list[AirelError]) -> DraftSummary:
    return DraftSummary(
        complete=report.complete,
        failures=tuple(f.reason for f in report.findings if f.severity is Severity.FAILURE),
        warnings=tuple(f.reason for f in report.findings if f.severity is Severity.WARNING),
        unresolved=tuple(_problem(p) for p in problems),
    )


def frozen_error(spec: BundleSpec, frozen: FrozenBundle) -> ConflictError:
    """A draft of a release that is already frozen (its id is used: B2)."""
    same = frozen.spec_digest == spec.spec_digest()
    return ConflictError(
        Reason.BUNDLE_FROZEN if same else Reason.RELEASE_CONFLICT,
        f"release {spec.release_id} is already frozen as {frozen.digest}"
        + ("" if same else " with other content"),
        fix="a frozen bundle never changes: give new content a new release_id"
        if not same
        else f"nothing to draft: see it with `airel bundle show {spec.release_id}`",
        details={"existing_digest": frozen.digest, "state": BundleState.FROZEN.value},
    )


def _stale(release_id: str, expected: int | None, current: BundleDraft | None) -> ConflictError:
    return ConflictError(
        Reason.STALE_VERSION,
        f"draft {release_id} is at version {current.version if current else 'none'}, "
        f"not {expected}",
        fix=f"re-read it (`airel bundle show {release_id}`) and retry with its current version",
        details={"expected_version": expected, "version": current.version if current else None},
    )


def save_draft(
    ctx: Context, path: Path, *, expected_version: int | None = None, dry_run: bool = False
) -> Drafted:
    """Store the bundle at ``path`` as its release's draft, or edit the stored draft.

    ``expected_version``: the draft version the edit is based on (compare-and-set); without
    it, the version read at the start of this call.
    """
    spec = load_bundle_spec(ctx, path)
    with ctx.store.read() as tx:
        checked = check_spec(tx, spec)
    if checked.frozen is not None:
        raise frozen_error(spec, checked.frozen)
    current = checked.draft
    if expected_version is not None and (current is None or current.version != expected_version):
        raise _stale(spec.release_id, expected_version, current)
    summary = _summary(checked.completeness, checked.problems)
    if current is not None and (current.spec_digest, current.summary) == (
        spec.spec_digest(),
        summary,
    ):
        return Drafted(current, checked.completeness, created=False, dry_run=dry_run)
    now = ctx.stamp()
    draft = BundleDraft(
        release_id=spec.release_id,
        use_case_id=spec.use_case_id,
        risk_tier=spec.risk_tier,
        pipeline_type=spec.pipeline_type,
        spec=spec.canonical(),
        spec_digest=spec.spec_digest(),
        summary=summary,
        version=current.version + 1 if current else 1,
        created_at=current.created_at if current else now,
        created_by=current.created_by if current else ctx.actor,
        updated_at=now,
        updated_by=ctx.actor,
    )
    if dry_run:
        return Drafted(draft, checked.completeness, created=False, dry_run=True)
    expected = current.version if current else None

    def write(tx: WriteTx) -> Drafted:
        frozen = tx.get_bundle(spec.release_id)
        if frozen is not None:
            raise frozen_error(spec, frozen)
        tx.save_draft(draft, expected_version=expected)
        tx.append_audit(
            actor=ctx.actor,
            action="bundle.draft",
            subject=draft.node,
            before=current.spec_digest if current else None,
            after=draft.spec_digest,
            details={
                "version": draft.version,
                "complete": summary.complete,
                "failures": list(summary.failures),
                "unresolved": len(summary.unresolved),
            },
        )
        return Drafted(draft, checked.completeness, created=True)

    return ctx.store.write(write)


def freeze_draft(
    ctx: Context,
    release_id: str,
    *,
    allow_incomplete: str | None = None,
    expected_version: int | None = None,
    dry_run: bool = False,
) -> Frozen:
    """Freeze the stored draft of ``release_id`` (``bundle freeze``). An already frozen
    release with no draft is a no-op (created False)."""
    with ctx.store.read() as tx:
        draft = tx.get_draft(release_id)
        frozen = tx.get_bundle(release_id) if draft is None else None
    if draft is None:
        if frozen is not None:
            return Frozen(frozen, completeness_of(ctx, frozen), created=False, dry_run=dry_run)
        raise NotFoundError(
            Reason.RELEASE_NOT_FOUND,
            f"release {release_id} has no draft to freeze",
            fix="store one with `airel bundle create FILE` (list them: `airel bundle list`)",
        )
    if expected_version is not None and draft.version != expected_version:
        raise _stale(release_id, expected_version, draft)
    return freeze_spec(
        ctx,
        draft.bundle_spec(),
        allow_incomplete=allow_incomplete,
        dry_run=dry_run,
        from_draft=draft,
    )


def view(ctx: Context, release_id: str) -> BundleView:
    """A release, frozen or draft, with its completeness as the registry stands now."""
    with ctx.store.read() as tx:
        frozen = tx.get_bundle(release_id)
        draft = tx.get_draft(release_id) if frozen is None else None
        checked = check_spec(tx, draft.bundle_spec()) if draft is not None else None
    if frozen is not None:
        return BundleView(
            release_id, BundleState.FROZEN, frozen, None, completeness_of(ctx, frozen)
        )
    if draft is None or checked is None:
        raise not_frozen(release_id, None)
    return BundleView(
        release_id,
        BundleState.DRAFT,
        None,
        draft,
        checked.completeness,
        tuple(_problem(p) for p in checked.problems),
    )


def listing(
    ctx: Context, *, use_case_id: str | None = None, state: BundleState | None = None
) -> list[FrozenBundle | BundleDraft]:
    """Frozen bundles and drafts (optionally of one state), oldest first."""
    found: list[FrozenBundle | BundleDraft] = []
    with ctx.store.read() as tx:
        if state in (None, BundleState.FROZEN):
            found += tx.list_bundles(use_case_id=use_case_id)
        if state in (None, BundleState.DRAFT):
            found += tx.list_drafts(use_case_id=use_case_id)
    return sorted(found, key=lambda b: (b.created_at, b.release_id))
