"""Use cases: freeze a release bundle, show, list, verify and diff bundles (B1–B5).

Freezing parses the YAML strictly, resolves every registry reference to an exact component
version, checks declared hashes against what was registered, refuses a rollback target that
is not an earlier release of the same use case, and stores the frozen form with its lineage
edges and audit entry in one transaction. The same content again is a no-op; other content
under the same release id is a conflict. Completeness (B3) is reported, not enforced here:
the gate engine decides what a missing component blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airel.adapters.documents import ParseLimits, load_document
from airel.domain.bundle import (
    REGISTRY_FIELDS,
    BundleSpec,
    ComponentChange,
    FrozenBundle,
    Resolution,
    diff_bundles,
    field_values,
    frozen_digest,
)
from airel.domain.completeness import CompletenessReport, evaluate_completeness
from airel.domain.components import ComponentKey, ComponentKind, ComponentVersion
from airel.domain.lineage import Edge, Relation
from airel.domain.validation import parse_record
from airel.errors import (
    AirelError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    Reason,
    ValidationError,
)
from airel.services.components import resolve_reference
from airel.services.context import Context
from airel.store.contract import ReadTx, WriteTx
from airel.store.sql import utc_now

_ABBREVIATED = re.compile(r"^(?:sha256:)?([0-9a-f]{4,64})(?:\.\.\.|…)?$")


@dataclass(frozen=True)
class Frozen:
    """The outcome of ``bundle create``."""

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


def create_bundle(ctx: Context, path: Path, *, dry_run: bool = False) -> Frozen:
    """Freeze the bundle at ``path``; with ``dry_run`` resolve and report without writing."""
    spec = load_bundle_spec(ctx, path)
    with ctx.store.read() as tx:
        resolutions, problems = _resolve(tx, spec)
        completeness = evaluate_completeness(spec, _pinned(tx, resolutions))
        try:
            target = _check_rollback(tx, spec)
        except AirelError as exc:
            problems.append(exc)
            target = None
        existing = tx.get_bundle(spec.release_id)
    _raise_all(problems)
    ordered = tuple(sorted(resolutions, key=lambda r: r.path))
    digest = frozen_digest(spec, ordered)
    if existing is not None:
        if existing.digest == digest:
            return Frozen(existing, completeness, created=False, dry_run=dry_run)
        raise _release_conflict(spec, existing, digest)
    bundle = FrozenBundle(
        release_id=spec.release_id,
        use_case_id=spec.use_case_id,
        risk_tier=spec.risk_tier,
        pipeline_type=spec.pipeline_type,
        spec=spec.canonical(),
        resolutions=ordered,
        spec_digest=spec.spec_digest(),
        digest=digest,
        created_at=utc_now(),
        created_by=ctx.actor,
    )
    if dry_run:
        return Frozen(bundle, completeness, created=False, dry_run=True)

    edges = [Edge(parent=r.node, child=bundle.node, relation=Relation.BUNDLES) for r in ordered]
    if target is not None:
        edges.append(Edge(parent=target.node, child=bundle.node, relation=Relation.ROLLS_BACK_TO))

    def write(tx: WriteTx) -> Frozen:
        current = tx.get_bundle(bundle.release_id)
        if current is not None:
            if current.digest == bundle.digest:
                return Frozen(current, completeness, created=False)
            raise _release_conflict(spec, current, bundle.digest)
        for r in ordered:  # components are immutable; a vanished one means tampering
            if tx.get_component(ComponentKey.from_node(r.node)) is None:
                raise NotFoundError(Reason.DANGLING_REFERENCE, f"{r.node} vanished", fix="retry")
        tx.insert_bundle(bundle)
        tx.add_edges(edges)
        tx.append_audit(
            actor=ctx.actor,
            action="bundle.freeze",
            subject=bundle.node,
            before=None,
            after=bundle.digest,
            details={
                "spec_digest": bundle.spec_digest,
                "complete": completeness.complete,
                "risk_tier": int(bundle.risk_tier),
            },
        )
        return Frozen(bundle, completeness, created=True)

    return ctx.store.write(write)


def _release_conflict(spec: BundleSpec, existing: FrozenBundle, digest: str) -> ConflictError:
    return ConflictError(
        Reason.RELEASE_CONFLICT,
        f"release {spec.release_id} is already frozen as {existing.digest}; this content "
        f"would be {digest}",
        fix="a frozen bundle never changes: give the new content a new release_id",
        details={"existing_digest": existing.digest, "new_digest": digest},
    )


def get_bundle(ctx: Context, release_id: str) -> FrozenBundle:
    """A frozen bundle by release id."""
    with ctx.store.read() as tx:
        found = tx.get_bundle(release_id)
    if found is None:
        raise NotFoundError(
            Reason.RELEASE_NOT_FOUND,
            f"release {release_id} is not frozen in this store",
            fix="list releases with `airel bundle list`",
        )
    return found


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
