"""Use case: register a component version from a spec file; read and diff versions (R1–R4).

Registration validates the spec strictly for its kind, resolves every reference to an exact
registered version (a missing parent is refused, never left dangling), content-hashes the
artifact into the blob store, and then — in one transaction with its audit entry — records the
version and its lineage edges. Registering the same content again is a no-op; different
content under an existing version is a conflict, and nothing is written.

A dataset's or eval dataset's artifact is also *read*, cheaply (R2, E1): its Parquet or Arrow
footer, or a CSV's dialect and header (:mod:`airel.adapters.arrow.probe`). An unreadable file
(DATA_UNREADABLE), or a declared ``row_count`` / ``schema`` that differs from the file
(:mod:`airel.domain.release.data_shape`), is refused before anything is stored; what was read is
kept as the version's ``data_shape`` field. The source is read first, to fail before a long hash,
and the staged copy is read again before it is committed, so the stored shape is that of the
stored bytes.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airel.adapters.documents.parse import Document, load_document
from airel.adapters.files.blobs import hash_file, tree_manifest
from airel.domain.kernel.canonical import canonical_bytes, digest_bytes
from airel.domain.kernel.validation import parse_record
from airel.domain.release.artifact import ArtifactRef, ArtifactType
from airel.domain.release.components import (
    KIND_SPECS,
    ComponentKey,
    ComponentVersion,
    DatasetSpec,
    EvalDatasetSpec,
    ModelSpec,
    TextSpec,
    ToolSchemaSpec,
    content_digest,
    parse_ref,
    text_hash,
)
from airel.domain.release.components import (
    _Spec as Spec,
)
from airel.domain.release.data_shape import DataShape, check_declared, declared_mismatch
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.lineage import REFERENCE_RELATIONS, Edge, Relation
from airel.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    Reason,
    ValidationError,
)
from airel.services.kernel.context import Context
from airel.store.contract import ReadTx, WriteTx

ENVELOPE = ("kind", "name", "version", "artifact", "artifact_hash")
SHAPE_FIELD = "data_shape"  # what registration read from a dataset's artifact


@dataclass(frozen=True)
class Registered:
    """The outcome of a registration: the stored version and whether this call created it."""

    component: ComponentVersion
    created: bool


def resolve_reference(tx: ReadTx, kind: ComponentKind, value: str, *, field: str) -> ComponentKey:
    """Resolve ``name``, ``name:version`` or ``name@alias`` to one registered version."""
    ref = parse_ref(value, field=field)
    fix = f"register it first (`airel register {kind.value} …`) or correct {field}"
    if ref.version is not None:
        key = ComponentKey(kind, ref.name, ref.version)
        if tx.get_component(key) is None:
            raise NotFoundError(
                Reason.DANGLING_REFERENCE,
                f"{field}: {kind.value} {ref.name}:{ref.version} is not registered",
                fix=fix,
                details={"field": field, "reference": value},
            )
        return key
    if ref.alias is not None:
        alias = tx.get_alias(kind, ref.name, ref.alias)
        if alias is None:
            raise NotFoundError(
                Reason.DANGLING_REFERENCE,
                f"{field}: alias {ref.name}@{ref.alias} ({kind.value}) does not exist",
                fix=f"set it with `airel alias set {kind.value} {ref.name} {ref.alias} VERSION`",
                details={"field": field, "reference": value},
            )
        return ComponentKey(kind, ref.name, alias.version)
    versions = tx.component_versions(kind, ref.name)
    if not versions:
        raise NotFoundError(
            Reason.DANGLING_REFERENCE,
            f"{field}: {kind.value} {ref.name!r} is not registered",
            fix=fix,
            details={"field": field, "reference": value},
        )
    if len(versions) > 1:
        raise NotFoundError(
            Reason.AMBIGUOUS_REFERENCE,
            f"{field}: {kind.value} {ref.name!r} has {len(versions)} versions",
            fix=f"pin one: {ref.name}:{versions[-1].version} or use an alias {ref.name}@production",
            details={"field": field, "versions": [v.version for v in versions]},
        )
    return versions[0].key


def _kind_checks(spec: Spec, kind: ComponentKind) -> None:
    problems: list[str] = []
    if isinstance(spec, ModelSpec) and spec.vendor_model is None:
        if spec.artifact is None and spec.artifact_hash is None:
            problems.append("a model needs `artifact` (a path) or `artifact_hash`")
        if spec.training_run_id is None:
            problems.append("`training_run_id` is required for a trained model (§7.4)")
        if spec.training_dataset is None:
            problems.append("`training_dataset` is required for a trained model (§7.4)")
    if isinstance(spec, TextSpec) and (spec.text is None) == (spec.text_file is None):
        problems.append("give exactly one of `text` or `text_file`")
    rule = KIND_SPECS[kind]
    if rule.artifact == "never" and spec.artifact is not None:
        problems.append(f"a {kind.value} has no artifact; remove `artifact`")
    if (
        rule.artifact == "required_or_content_hash"
        and spec.artifact is None
        and getattr(spec, "content_hash", None) is None
        and spec.artifact_hash is None
    ):
        problems.append(f"a {kind.value} needs `artifact` (a path) or `content_hash`")
    if problems:
        raise ValidationError(
            Reason.MISSING_FIELD,
            f"{kind.value} {spec.name}:{spec.version}: {problems[0]}",
            fix="; ".join(problems),
            problems=[{"reason": Reason.MISSING_FIELD.value, "message": p} for p in problems],
        )


def _peek_digest(ctx: Context, base: Path, rel: str) -> str:
    """The digest a path would get, without storing it (used before refusing a conflict)."""
    source = ctx.blobs.resolve_source(base, rel)
    if source.is_dir():
        return digest_bytes(canonical_bytes(tree_manifest(source)))
    return hash_file(source)[0]


def _fields(ctx: Context, spec: Spec, base: Path) -> dict[str, Any]:
    fields = spec.model_dump(mode="json", by_alias=True, exclude=set(ENVELOPE), exclude_none=True)
    if spec.artifact is None and spec.artifact_hash is not None:
        # No bytes to ingest: the declared digest is the only record of the artifact.
        fields["artifact_hash"] = spec.artifact_hash
    if isinstance(spec, TextSpec):
        if spec.text_file is not None:
            source = ctx.blobs.resolve_source(base, spec.text_file)
            raw = source.read_bytes()
            if len(raw) > 262_144:
                raise ValidationError(
                    Reason.INVALID_VALUE,
                    f"text_file {spec.text_file} is larger than 256 KiB",
                    fix="register large documents as a dataset or rag_index artifact",
                )
            try:
                fields["text"] = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    Reason.INVALID_VALUE,
                    f"text_file {spec.text_file} is not UTF-8 (byte {exc.start})",
                    fix="re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or register "
                    "binary content as the component's artifact",
                ) from None
        fields["text_hash"] = text_hash(fields["text"])
    if isinstance(spec, ToolSchemaSpec):
        fields["text_hash"] = digest_bytes(canonical_bytes(spec.tool_schema))
    validation_spec = fields.pop("validation_spec", None)
    if isinstance(validation_spec, str):
        source = ctx.blobs.resolve_source(base, validation_spec)
        doc = load_document(source, ctx.limits)
        fields["validation"] = ctx.parser("feature_spec")(doc)  # the data context's rules
    transform = fields.get("transform")
    if isinstance(transform, str):
        actual = _peek_digest(ctx, base, transform)
        declared = fields.get("transform_hash")
        if declared is not None and declared != actual:
            raise IntegrityError(
                Reason.HASH_MISMATCH,
                f"transform_hash {declared} does not match {transform} ({actual})",
                fix="update transform_hash or restore the transform code",
                details={"expected": declared, "actual": actual},
            )
        fields["transform_hash"] = actual
    return fields


def _read_shape(
    spec: DatasetSpec | EvalDatasetSpec, files: Sequence[tuple[str, Path]], directory: bool
) -> DataShape:
    """Read the artifact's footer / header and check the spec's declared rows and schema."""
    assert spec.artifact is not None
    from airel.adapters.arrow.probe import probe_files  # noqa: PLC0415 (PyArrow, on use)

    shape = probe_files(files, directory=directory, label=spec.artifact)
    schema = spec.schema_ if isinstance(spec, DatasetSpec) else None
    problems = check_declared(shape, row_count=spec.row_count, schema=schema)
    if problems:
        kind = "dataset" if isinstance(spec, DatasetSpec) else "eval_dataset"
        raise declared_mismatch(f"{kind} {spec.name}:{spec.version}", shape, problems)
    return shape


def _source_shape(ctx: Context, spec: Spec, base: Path) -> DataShape | None:
    """The checked shape of a data artifact read at its source (None for other kinds)."""
    if not isinstance(spec, (DatasetSpec, EvalDatasetSpec)) or spec.artifact is None:
        return None
    source = ctx.blobs.resolve_source(base, spec.artifact)
    if not source.is_dir():
        return _read_shape(spec, [(spec.artifact, source)], directory=False)
    files: list[tuple[str, Path]] = []
    for top, dirs, names in os.walk(source):  # symlinks are not followed
        dirs.sort()
        for name in sorted(names):
            path = Path(top, name)
            if path.is_file() and not path.is_symlink():
                files.append((path.relative_to(source).as_posix(), path))
    return _read_shape(spec, files, directory=True)


def _resolve_parents(
    tx: ReadTx, spec: Spec, kind: ComponentKind
) -> tuple[list[Edge], tuple[str, ...]]:
    edges: list[Edge] = []
    for field, parent_kind in KIND_SPECS[kind].references.items():
        raw = getattr(spec, field, None)
        values = raw if isinstance(raw, list) else ([raw] if raw else [])
        for i, value in enumerate(values):
            label = f"{field}[{i}]" if isinstance(raw, list) else field
            key = resolve_reference(tx, parent_kind, value, field=label)
            relation = REFERENCE_RELATIONS.get(field, Relation.DERIVED_FROM)
            edges.append(Edge(parent=key.node, child="", relation=relation))
    parents = tuple(sorted({e.parent for e in edges}))
    return edges, parents


def load_spec(
    ctx: Context, path: Path, kind: ComponentKind | None
) -> tuple[Document, ComponentKind, Spec]:
    """Parse and validate a component spec file for ``kind`` (or the file's own ``kind``)."""
    doc = load_document(path, ctx.limits)
    declared = doc.data.get("kind")
    if kind is None:
        if not isinstance(declared, str) or declared not in {k.value for k in ComponentKind}:
            raise ValidationError(
                Reason.UNKNOWN_KIND,
                f"{doc.source}: kind {declared!r} is not a component kind",
                fix=f"set kind: to one of {', '.join(k.value for k in ComponentKind)}",
            )
        kind = ComponentKind(declared)
    elif declared is not None and declared != kind.value:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"{doc.source} declares kind {declared!r} but was registered as {kind.value!r}",
            fix="register it with the kind the file declares, or correct the file",
        )
    spec = parse_record(KIND_SPECS[kind].spec, doc.data, source=doc.source, lines=doc.lines)
    return doc, kind, spec


def register_component(
    ctx: Context,
    path: Path,
    *,
    kind: ComponentKind | None = None,
    base_dir: Path | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Registered:
    """Register the component version described by the spec file at ``path``."""
    _doc, kind, spec = load_spec(ctx, path, kind)
    base = base_dir or path.parent
    _kind_checks(spec, kind)
    fields = _fields(ctx, spec, base)
    shape = _source_shape(ctx, spec, base)  # refuses unreadable data before a long hash
    if shape is not None:
        fields[SHAPE_FIELD] = shape.as_field()
    key = ComponentKey(kind, spec.name, spec.version)

    with ctx.store.read() as tx:
        edges, parents = _resolve_parents(tx, spec, kind)
        existing = tx.get_component(key)

    if existing is not None:
        # Decide idempotent vs conflict without storing anything new.
        artifact_digest = _peek_digest(ctx, base, spec.artifact) if spec.artifact else None
        if spec.artifact_hash is not None and artifact_digest not in (None, spec.artifact_hash):
            raise IntegrityError(
                Reason.HASH_MISMATCH,
                f"artifact {spec.artifact!r} has digest {artifact_digest}, "
                f"but {spec.artifact_hash} was declared",
                fix="update or drop the declared artifact_hash, or restore the original artifact",
                details={"expected": spec.artifact_hash, "actual": artifact_digest},
            )
        artifact = (
            existing.artifact
            if existing.artifact and existing.artifact.digest == artifact_digest
            else None
        )
        if spec.artifact and artifact is None:
            raise _conflict(key, existing, "artifact content differs")
        if SHAPE_FIELD not in existing.fields:  # registered before airel read data shapes
            fields.pop(SHAPE_FIELD, None)
        digest = content_digest(kind, spec.name, spec.version, fields, artifact, parents)
        if digest == existing.digest:
            return Registered(existing, created=False)
        raise _conflict(key, existing, _changed_fields(existing.fields, fields))

    artifact_ref: ArtifactRef | None = None
    if spec.artifact is not None:
        staged: list[DataShape] = []

        def inspect(files: Sequence[tuple[str, Path]], artifact_type: ArtifactType) -> None:
            assert isinstance(spec, (DatasetSpec, EvalDatasetSpec))
            staged.append(_read_shape(spec, files, artifact_type is ArtifactType.TREE))

        artifact_ref = ctx.blobs.ingest(
            base,
            spec.artifact,
            expected=spec.artifact_hash,
            on_progress=on_progress,
            inspect=inspect if shape is not None else None,
        )
        if staged:  # the shape of the bytes stored, read from the staged copy
            fields[SHAPE_FIELD] = staged[0].as_field()
    digest = content_digest(kind, spec.name, spec.version, fields, artifact_ref, parents)
    version = ComponentVersion(
        kind=kind,
        name=spec.name,
        version=spec.version,
        fields=fields,
        artifact=artifact_ref,
        parents=parents,
        digest=digest,
        created_at=ctx.stamp(),
        created_by=ctx.actor,
    )

    def write(tx: WriteTx) -> Registered:
        current = tx.get_component(key)
        if current is not None:  # registered concurrently since we looked
            if current.digest == digest:
                return Registered(current, created=False)
            raise _conflict(key, current, "registered concurrently with other content")
        for edge in edges:  # parents may not vanish (they are immutable), but check anyway
            if tx.get_component(ComponentKey.from_node(edge.parent)) is None:
                raise NotFoundError(
                    Reason.DANGLING_REFERENCE,
                    f"{edge.parent} disappeared",
                    fix="it was removed during this registration; run the same command again",
                )
        if artifact_ref is not None:
            tx.put_artifact(artifact_ref)
        tx.insert_component(version)
        tx.add_edges([Edge(parent=e.parent, child=key.node, relation=e.relation) for e in edges])
        tx.append_audit(
            actor=ctx.actor,
            action="component.register",
            subject=key.node,
            before=None,
            after=digest,
            details={"artifact": artifact_ref.digest if artifact_ref else None},
        )
        return Registered(version, created=True)

    return ctx.store.write(write)


def _changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "changed fields: " + ", ".join(changed) if changed else "lineage parents differ"


def _conflict(key: ComponentKey, existing: ComponentVersion, what: str) -> ConflictError:
    return ConflictError(
        Reason.VERSION_CONFLICT,
        f"{key.kind.value} {key.ref} is already registered with different content ({what})",
        fix="versions are immutable: register the change under a new version",
        details={"existing_digest": existing.digest},
    )


def get_component(ctx: Context, kind: ComponentKind, ref: str) -> ComponentVersion:
    """One version by ``name:version``, ``name@alias`` or a bare name with one version."""
    with ctx.store.read() as tx:
        key = resolve_reference(tx, kind, ref, field="reference")
        found = tx.get_component(key)
    if found is None:  # pragma: no cover - resolve_reference checked existence
        raise NotFoundError(Reason.COMPONENT_NOT_FOUND, f"{kind.value} {ref} not found")
    return found


def list_components(
    ctx: Context, kind: ComponentKind | None = None, *, limit: int = 1000
) -> list[ComponentVersion]:
    """Registered versions, optionally of one kind."""
    with ctx.store.read() as tx:
        return tx.list_components(kind, limit=limit)


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions of one component."""

    kind: ComponentKind
    name: str
    old: str
    new: str
    changed_fields: dict[str, tuple[Any, Any]]
    text_diff: str | None  # unified diff of the prompt/policy/tool-schema text
    old_text_hash: str | None
    new_text_hash: str | None


def diff_versions(ctx: Context, kind: ComponentKind, name: str, old: str, new: str) -> VersionDiff:
    """Field changes and, for prompts/policies/tool schemas, a readable text diff (R4)."""
    with ctx.store.read() as tx:
        a = tx.get_component(ComponentKey(kind, name, old))
        b = tx.get_component(ComponentKey(kind, name, new))
    for version, found in ((old, a), (new, b)):
        if found is None:
            raise NotFoundError(
                Reason.COMPONENT_NOT_FOUND,
                f"{kind.value} {name}:{version} is not registered",
                fix=f"list versions with `airel component list --kind {kind.value}`",
            )
    assert a is not None
    assert b is not None
    skip = {"text", "text_hash", "tool_schema"}
    changed = {
        k: (a.fields.get(k), b.fields.get(k))
        for k in sorted(set(a.fields) | set(b.fields))
        if k not in skip and a.fields.get(k) != b.fields.get(k)
    }
    if (a.artifact and a.artifact.digest) != (b.artifact and b.artifact.digest):
        changed["artifact"] = (
            a.artifact.digest if a.artifact else None,
            b.artifact.digest if b.artifact else None,
        )
    text_a, text_b = a.text(), b.text()
    text_diff = None
    if text_a is not None or text_b is not None:
        text_diff = "".join(
            difflib.unified_diff(
                (text_a or "").splitlines(keepends=True),
                (text_b or "").splitlines(keepends=True),
                fromfile=f"{name}:{old}",
                tofile=f"{name}:{new}",
            )
        )
    return VersionDiff(
        kind=kind,
        name=name,
        old=old,
        new=new,
        changed_fields=changed,
        text_diff=text_diff,
        old_text_hash=a.fields.get("text_hash"),
        new_text_hash=b.fields.get("text_hash"),
    )
