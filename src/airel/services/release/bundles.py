"""Use cases: freeze a release bundle, show, list, verify and diff bundles (B1–B5).

Freezing parses the YAML strictly (or takes a stored draft,
:mod:`airel.services.release.bundle_drafts`),
resolves every registry reference to an exact component version, checks declared hashes against
what was registered, refuses a rollback target that is not an earlier release of the same use
case, and stores the frozen form with its lineage edges and audit entry in one transaction —
removing the release's draft in the same transaction. The same content again is a no-op; other
content under the same release id is a conflict. A bundle that fails completeness (B3) is
frozen only with a recorded reason (``allow_incomplete``); what a missing component blocks is
still the gate engine's to decide. A release id that is only a draft is never a frozen bundle:
:func:`get_bundle` refuses it with ``BUNDLE_DRAFT``, so approvals, waivers, evidence and gates
cannot cite it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airel.adapters.documents.parse import ParseLimits, load_document
from airel.domain.kernel.validation import parse_record
from airel.domain.release.bundle import (
    REGISTRY_FIELDS,
    BundleDraft,
    BundleSpec,
    ComponentChange,
    FrozenBundle,
    Resolution,
    diff_bundles,
    field_values,
    frozen_digest,
)
from airel.domain.release.completeness import CompletenessReport, Severity, evaluate_completeness
from airel.domain.release.components import ComponentKey, ComponentVersion
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.lineage import Edge, Relation
from airel.errors import (
    AirelError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    Reason,
    ValidationError,
)
from airel.services.kernel.context import Context
from airel.services.release.components import resolve_reference
from airel.store.contract import ReadTx, WriteTx

_ABBREVIATED = re.compile(r"^(?:sha256:)?([0-9a-f]{4,64})(?:\.\.\.|…)?$")
MAX_REASON = 1000  # characters of an --allow-incomplete reason


@dataclass(frozen=True)
class Frozen:
    """The outcome of freezing (``bundle create --freeze``, ``bundle freeze``)."""

    bundle: FrozenBundle
    completeness: CompletenessReport
    created: bool  # False when the same bundle was already frozen (idempotent)
    dry_run: bool = False


def load_bundle_spec(ctx: Context, path: Path) -> BundleSpec:
    """Parse and validate a bundle YAML without touching the store."""
    return parse_bundle_file(path, ctx.limits)


def parse_bundle_file(path: Path, limits: ParseLimits) -> BundleSpec:
    """Strictly parse and validate a bundle file (no store needed)."""
    doc = load_document(path, limits)
    return parse_record(BundleSpec, doc.data, source=doc.source, lines=doc.lines)


def check_bundle_file(path: Path, limits: ParseLimits) -> tuple[BundleSpec, CompletenessReport]:
    """Offline check for CI and pre-commit: parse, validate and report completeness as
    written (hashes the registry would pin at freeze time count as missing here)."""
    spec = parse_bundle_file(path, limits)
    return spec, evaluate_completeness(spec)


def hash_matches(declared: str, actual: str | None) -> bool:
    """A declared hash matches a full digest, or is its abbreviated hex prefix (``c55a...``)."""
    if actual is None:
        return False
    if declared == actual:
        return True
    match = _ABBREVIATED.match(declared.strip().lower())
    if match is None:
        return False
    return actual.removeprefix("sha256:").startswith(match.group(1))


def _resolution(path: str, written: str, component: ComponentVersion) -> Resolution:
    return Resolution(
        path=path,
        written=written,
        node=component.key.node,
        digest=component.digest,
        artifact=component.artifact.digest if component.artifact else None,
    )


def _resolve(tx: ReadTx, spec: BundleSpec) -> tuple[list[Resolution], list[AirelError]]:
    resolutions: list[Resolution] = []
    problems: list[AirelError] = []

    def add(path: str, written: str, key: ComponentKey) -> ComponentVersion | None:
        component = tx.get_component(key)
        if component is not None:
            resolutions.append(_resolution(path, written, component))
        return component

    for rule in REGISTRY_FIELDS:
        for path, value in field_values(spec, rule.path):
            try:
                add(path, value, resolve_reference(tx, rule.kind, value, field=path))
            except AirelError as exc:
                problems.append(exc)

    m = spec.model
    if m.model_id and m.model_version:
        # model_version may name an alias ("@production"), pinned at freeze time.
        sep = "" if m.model_version.startswith("@") else ":"
        written = f"{m.model_id}{sep}{m.model_version}"
        try:
            key = resolve_reference(tx, ComponentKind.MODEL, written, field="model")
            model = add("model", written, key)
            declared = m.artifact_hash
            actual = (model.artifact.digest if model and model.artifact else None) or (
                model.fields.get("artifact_hash") if model else None
            )
            if model and declared and actual and not hash_matches(declared, actual):
                problems.append(
                    IntegrityError(
                        Reason.HASH_MISMATCH,
                        f"model.artifact_hash {declared} does not match the registered "
                        f"{written} artifact {actual}",
                        fix="correct model.artifact_hash or reference the right model version",
                        details={
                            "field": "model.artifact_hash",
                            "expected": declared,
                            "actual": actual,
                        },
                    )
                )
        except AirelError as exc:
            problems.append(exc)

    declared_transform = spec.features.transform_hash
    view = next((r for r in resolutions if r.path == "features.feature_view"), None)
    if declared_transform and view is not None:
        component = tx.get_component(ComponentKey.from_node(view.node))
        actual = component.fields.get("transform_hash") if component else None
        if not hash_matches(declared_transform, actual):
            problems.append(
                IntegrityError(
                    Reason.HASH_MISMATCH,
                    f"features.transform_hash {declared_transform} does not match the "
                    f"feature view's transform_hash {actual}",
                    fix="correct features.transform_hash or reference the right feature view",
                    details={"field": "features.transform_hash"},
                )
            )

    resolutions.extend(_resolve_code(tx, spec))
    return resolutions, problems


def _resolve_code(tx: ReadTx, spec: BundleSpec) -> list[Resolution]:
    """Link code commits and images to registered code/container components when present."""
    out: list[Resolution] = []
    commit = spec.code.repo_commit
    if commit:
        for component in tx.list_components(ComponentKind.CODE, limit=100_000):
            if str(component.fields.get("commit", "")).startswith(commit.lower()):
                out.append(_resolution("code.repo_commit", commit, component))
                break
    for path in ("code.pipeline_image", "code.serving_image"):
        values = [v for _, v in field_values(spec, path)]
        if not values:
            continue
        value = values[0]
        for component in tx.list_components(ComponentKind.CONTAINER_IMAGE, limit=100_000):
            if component.fields.get("image") == value:
                out.append(_resolution(path, value, component))
                break
    return out


def _check_rollback(tx: ReadTx, spec: BundleSpec) -> FrozenBundle | None:
    target = spec.deployment.rollback_target
    if target is None:
        return None
    if target == spec.release_id:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"deployment.rollback_target {target} is the release itself",
            fix="name the previously approved release to return to",
        )
    found = tx.get_bundle(target)
    if found is None and tx.get_draft(target) is not None:
        raise NotFoundError(
            Reason.ROLLBACK_TARGET_NOT_FOUND,
            f"deployment.rollback_target {target} is a draft, not a frozen release",
            fix=f"freeze it first (`airel bundle freeze {target}`) or correct the id",
            details={"field": "deployment.rollback_target"},
        )
    if found is None:
        raise NotFoundError(
            Reason.ROLLBACK_TARGET_NOT_FOUND,
            f"deployment.rollback_target {target} is not a frozen release",
            fix="freeze the previous release first (`airel bundle create`) or correct the id",
            details={"field": "deployment.rollback_target"},
        )
    if found.use_case_id != spec.use_case_id:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"rollback target {target} belongs to use case {found.use_case_id}, "
            f"not {spec.use_case_id}",
            fix="roll back to an earlier release of the same use case",
        )
    return found


def _raise_all(problems: list[AirelError]) -> None:
    if not problems:
        return
    if len(problems) == 1:
        raise problems[0]
    first = problems[0]
    raise type(first)(
        first.reason,
        f"{first.message} (and {len(problems) - 1} more problem(s))",
        fix=first.fix,
        details={**first.details, "problems": [p.to_dict() for p in problems]},
    )


def _pinned(tx: ReadTx, resolutions: Sequence[Resolution]) -> frozenset[str]:
    """Hash fields the registry pinned at freeze time (see ``evaluate_completeness``)."""
    pinned: set[str] = set()
    for r in resolutions:
        if r.path == "model":
            model = tx.get_component(ComponentKey.from_node(r.node))
            if r.artifact or (model and model.fields.get("vendor_model")):
                pinned.add("model.artifact_hash")
        if r.path == "features.feature_view":
            view = tx.get_component(ComponentKey.from_node(r.node))
            if view and view.fields.get("transform_hash"):
                pinned.add("features.transform_hash")
    return frozenset(pinned)


@dataclass(frozen=True)
class Checked:
    """A spec resolved against the registry (one read transaction), not yet written."""

    spec: BundleSpec
    resolutions: tuple[Resolution, ...]  # sorted by path
    problems: list[AirelError]  # references that do not resolve as written, bad hashes …
    completeness: CompletenessReport
    target: FrozenBundle | None  # the rollback target
    frozen: FrozenBundle | None  # the release as already frozen
    draft: BundleDraft | None  # the release's stored draft


def check_spec(tx: ReadTx, spec: BundleSpec) -> Checked:
    """Resolve, pin and check a spec in ``tx``: every problem collected, nothing raised."""
    resolutions, problems = _resolve(tx, spec)
    completeness = evaluate_completeness(spec, _pinned(tx, resolutions))
    try:
        target = _check_rollback(tx, spec)
    except AirelError as exc:
        problems.append(exc)
        target = None
    return Checked(
        spec=spec,
        resolutions=tuple(sorted(resolutions, key=lambda r: r.path)),
        problems=problems,
        completeness=completeness,
        target=target,
        frozen=tx.get_bundle(spec.release_id),
        draft=tx.get_draft(spec.release_id),
    )


def create_bundle(
    ctx: Context, path: Path, *, allow_incomplete: str | None = None, dry_run: bool = False
) -> Frozen:
    """Freeze the bundle at ``path`` directly (``bundle create --freeze``); a draft of the
    release is replaced. With ``dry_run`` resolve and report without writing."""
    return freeze_spec(
        ctx, load_bundle_spec(ctx, path), allow_incomplete=allow_incomplete, dry_run=dry_run
    )


def freeze_spec(
    ctx: Context,
    spec: BundleSpec,
    *,
    allow_incomplete: str | None = None,
    dry_run: bool = False,
    from_draft: BundleDraft | None = None,
) -> Frozen:
    """Freeze ``spec``: resolve, refuse an incomplete bundle unless a reason is given, and
    store it with its edges, removing the release's draft, in one audited transaction.

    ``from_draft``: the draft version being frozen; a draft changed since is STALE_VERSION.
    """
    reason = incomplete_reason(allow_incomplete)
    with ctx.store.read() as tx:
        checked = check_spec(tx, spec)
    _raise_all(checked.problems)
    completeness, ordered = checked.completeness, checked.resolutions
    digest = frozen_digest(spec, ordered)
    existing = checked.frozen
    if existing is not None:
        if existing.digest == digest:
            return Frozen(existing, completeness, created=False, dry_run=dry_run)
        raise _release_conflict(spec, existing, digest)
    if not completeness.complete and reason is None:
        raise incomplete_error(completeness)
    bundle = FrozenBundle(
        release_id=spec.release_id,
        use_case_id=spec.use_case_id,
        risk_tier=spec.risk_tier,
        pipeline_type=spec.pipeline_type,
        spec=spec.canonical(),
        resolutions=ordered,
        spec_digest=spec.spec_digest(),
        digest=digest,
        created_at=ctx.stamp(),
        created_by=ctx.actor,
        incomplete_reason=None if completeness.complete else reason,
    )
    if dry_run:
        return Frozen(bundle, completeness, created=False, dry_run=True)

    edges = [Edge(parent=r.node, child=bundle.node, relation=Relation.BUNDLES) for r in ordered]
    if checked.target is not None:
        target = checked.target
        edges.append(Edge(parent=target.node, child=bundle.node, relation=Relation.ROLLS_BACK_TO))

    def write(tx: WriteTx) -> Frozen:
        current = tx.get_bundle(bundle.release_id)
        if current is not None:
            if current.digest == bundle.digest:
                return Frozen(current, completeness, created=False)
            raise _release_conflict(spec, current, bundle.digest)
        draft = tx.get_draft(bundle.release_id)
        if from_draft is not None and (draft is None or draft.version != from_draft.version):
            raise ConflictError(
                Reason.STALE_VERSION,
                f"draft {bundle.release_id} changed while it was being frozen "
                f"(version {from_draft.version} was checked)",
                fix=f"review it again (`airel bundle show {bundle.release_id}`) and re-freeze",
                details={
                    "expected_version": from_draft.version,
                    "version": draft.version if draft else None,
                },
            )
        for r in ordered:  # components are immutable; a vanished one means tampering
            if tx.get_component(ComponentKey.from_node(r.node)) is None:
                raise NotFoundError(
                    Reason.DANGLING_REFERENCE,
                    f"{r.node} vanished",
                    fix="it was removed while the bundle was frozen; run the same command again",
                )
        tx.insert_bundle(bundle)
        tx.add_edges(edges)
        details: dict[str, Any] = {
            "spec_digest": bundle.spec_digest,
            "complete": completeness.complete,
            "risk_tier": int(bundle.risk_tier),
        }
        if bundle.incomplete_reason is not None:
            details["incomplete_reason"] = bundle.incomplete_reason
            details["failures"] = failure_codes(completeness)
        if draft is not None:
            tx.remove_draft(bundle.release_id, expected_version=draft.version)
            details["draft_version"] = draft.version
        tx.append_audit(
            actor=ctx.actor,
            action="bundle.freeze",
            subject=bundle.node,
            before=None,
            after=bundle.digest,
            details=details,
        )
        return Frozen(bundle, completeness, created=True)

    return ctx.store.write(write)


def incomplete_reason(text: str | None) -> str | None:
    """An ``--allow-incomplete`` reason, checked: it must say something."""
    if text is None:
        return None
    reason = text.strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"--allow-incomplete needs a reason of 1 to {MAX_REASON} characters",
            fix='say why the release may be frozen incomplete: --allow-incomplete "WHY"',
            details={"field": "allow_incomplete"},
        )
    return reason


def failure_codes(report: CompletenessReport) -> list[str]:
    """The reason codes of a report's failures, in table order."""
    return [f.reason for f in report.findings if f.severity is Severity.FAILURE]


def incomplete_error(report: CompletenessReport) -> ValidationError:
    """Freezing refused: completeness fails and no reason was given (B3)."""
    failures = [f for f in report.findings if f.severity is Severity.FAILURE]
    where = f"Tier {report.risk_tier} / {report.pipeline_type or 'no pipeline type'}"
    return ValidationError(
        Reason.BUNDLE_INCOMPLETE,
        f"release {report.release_id} is incomplete for {where}: "
        + ", ".join(f.reason for f in failures),
        fix="add the missing components, or freeze it anyway with "
        '--allow-incomplete "WHY" (the reason is recorded with the release)',
        problems=[{"field": f.component, "reason": f.reason, "message": f.risk} for f in failures],
        details={"completeness": report.model_dump(mode="json")},
    )


def _release_conflict(spec: BundleSpec, existing: FrozenBundle, digest: str) -> ConflictError:
    return ConflictError(
        Reason.RELEASE_CONFLICT,
        f"release {spec.release_id} is already frozen as {existing.digest}; this content "
        f"would be {digest}",
        fix="a frozen bundle never changes: give the new content a new release_id",
        details={"existing_digest": existing.digest, "new_digest": digest},
    )


def get_bundle(ctx: Context, release_id: str) -> FrozenBundle:
    """A frozen bundle by release id — what approvals, waivers, evidence and gates cite."""
    with ctx.store.read() as tx:
        found = tx.get_bundle(release_id)
        draft = tx.get_draft(release_id) if found is None else None
    if found is None:
        raise not_frozen(release_id, draft)
    return found


def not_frozen(release_id: str, draft: BundleDraft | None) -> AirelError:
    """The error for a release id that names no frozen bundle: a draft, or nothing."""
    if draft is not None:
        return ConflictError(
            Reason.BUNDLE_DRAFT,
            f"release {release_id} is a draft; freeze it with `airel bundle freeze {release_id}`",
            fix="a draft can be edited, so nothing may cite it: freeze it first",
            details={"release_id": release_id, "state": "draft", "version": draft.version},
        )
    return NotFoundError(
        Reason.RELEASE_NOT_FOUND,
        f"release {release_id} is not frozen in this store",
        fix="list releases with `airel bundle list`",
    )


def list_bundles(ctx: Context, *, use_case_id: str | None = None) -> list[FrozenBundle]:
    """Frozen bundles, oldest first."""
    with ctx.store.read() as tx:
        return tx.list_bundles(use_case_id=use_case_id)


def completeness_of(ctx: Context, bundle: FrozenBundle) -> CompletenessReport:
    """The completeness report of a stored bundle."""
    with ctx.store.read() as tx:
        return evaluate_completeness(bundle.bundle_spec(), _pinned(tx, bundle.resolutions))


def diff(ctx: Context, old_id: str, new_id: str) -> list[ComponentChange]:
    """B4: what changed between two releases, component by component."""
    return diff_bundles(get_bundle(ctx, old_id), get_bundle(ctx, new_id))


@dataclass(frozen=True)
class BundleCheck:
    """The result of re-verifying a stored bundle."""

    release_id: str
    ok: bool
    digest: str
    problems: list[dict[str, Any]]


def verify_bundle(ctx: Context, release_id: str) -> BundleCheck:
    """Recompute the bundle's digest and re-hash every artifact it pins (B2)."""
    bundle = get_bundle(ctx, release_id)
    problems: list[dict[str, Any]] = []
    spec = bundle.bundle_spec()
    if spec.spec_digest() != bundle.spec_digest:
        problems.append({"what": "spec_digest", "problem": "stored spec no longer matches"})
    recomputed = frozen_digest(spec, bundle.resolutions)
    if recomputed != bundle.digest:
        problems.append(
            {"what": "digest", "problem": f"recomputed {recomputed} != stored {bundle.digest}"}
        )
    with ctx.store.read() as tx:
        for r in bundle.resolutions:
            component = tx.get_component(ComponentKey.from_node(r.node))
            if component is None:
                problems.append({"what": r.node, "problem": "component missing"})
            elif component.digest != r.digest:
                problems.append({"what": r.node, "problem": "component content changed"})
    for r in bundle.resolutions:
        if r.artifact is None:
            continue
        for check in ctx.blobs.verify(r.artifact):
            if not check.ok:
                problems.append(
                    {"what": f"{r.node} artifact {check.digest}", "problem": check.problem}
                )
    return BundleCheck(release_id, not problems, bundle.digest, problems)
