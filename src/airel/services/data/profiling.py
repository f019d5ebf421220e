"""Use case: profile a dataset once and keep the profile as evidence (V3, V4).

A source is either a registered dataset (``dataset/NAME:VERSION``, ``NAME:VERSION``,
``NAME@alias``; also eval datasets) whose bytes live in the content-addressed store, or a
local file or directory the CLI user names. Its profile is stored under (content digest,
profile options) and reused: validating ten candidates against one reference profiles the
reference once. Multi-file sources (a directory, a tree artifact of Parquet parts) are
profiled file by file and merged — profiles are mergeable by construction.

CSV is read comma-delimited. A CSV that comes out as a single column whose name holds another
delimiter (``a;b;c``) gets a hint naming that delimiter in the profile's ``source.hints``
(shown by ``airel profile``), instead of a silently useless one-column profile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from airel.adapters.arrow.engine import ProfileOptions, profile_path
from airel.adapters.arrow.probe import csv_delimiter_hint
from airel.adapters.arrow.sources import Source
from airel.adapters.files.blobs import hash_file, tree_manifest
from airel.domain.data.evidence import ProfileRecord
from airel.domain.data.profile import Profile, profile_from_dict, profile_to_dict
from airel.domain.kernel.canonical import canonical_bytes, digest_bytes, digest_of
from airel.domain.release.components import ComponentVersion
from airel.domain.release.kinds import ComponentKind
from airel.errors import AirelError, NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.services.release.components import resolve_reference
from airel.store.contract import WriteTx

DATA_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".gz": "csv",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
DATA_KINDS = (ComponentKind.DATASET, ComponentKind.EVAL_DATASET)


@dataclass(frozen=True)
class DataSource:
    """Something to profile: where its bytes are, what it is called, what its content is."""

    label: str  # as the user named it (node id or path)
    node: str | None  # dataset/NAME:VERSION when registered
    files: tuple[tuple[Path, str], ...]  # (readable path, format) — more than one for trees
    digest: str  # content digest (file sha256 or tree manifest digest)
    component: ComponentVersion | None = None


def sniff_format(path: Path, hint: str = "") -> str:
    """parquet / arrow / csv from magic bytes, then from the (hinted) suffix."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"cannot read {path}: {exc.strerror or exc}",
            fix="check the path (relative paths are resolved from the working directory)",
        ) from None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1"):
        return "arrow"
    suffix = Path(hint or path.name).suffix.lower()
    return DATA_SUFFIXES.get(suffix, "csv")


def _registered(ctx: Context, text: str) -> ComponentVersion | None:
    kind_text, sep, rest = text.partition("/")
    candidates: tuple[ComponentKind, ...] = DATA_KINDS
    if sep:
        if kind_text not in {k.value for k in DATA_KINDS}:
            return None
        candidates = (ComponentKind(kind_text),)
        text = rest
    if not any(ch in text for ch in ":@") and Path(text).exists():
        return None  # a local file that happens to look like a name
    with ctx.store.read() as tx:
        for kind in candidates:
            try:
                key = resolve_reference(tx, kind, text, field="data")
            except AirelError:
                continue
            return tx.get_component(key)
    return None


def resolve_source(ctx: Context, text: str, *, base: Path | None = None) -> DataSource:
    """A registered dataset's stored bytes, or a local file/directory (CLI and SDK only)."""
    component = _registered(ctx, text) if ("/" in text or ":" in text or "@" in text) else None
    if component is not None:
        return _from_component(ctx, component)
    path = Path(text) if base is None or Path(text).is_absolute() else base / text
    if not path.exists():
        raise NotFoundError(
            Reason.ARTIFACT_MISSING,
            f"{text!r} is neither a registered dataset nor an existing file",
            fix="register it (`airel register dataset …`) or give a Parquet/CSV/Arrow path",
        )
    if path.is_dir():
        members = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
        )
        if not members:
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"directory {path} holds no Parquet, CSV or Arrow files",
                fix="point at a data file or a directory of data files",
            )
        return DataSource(
            label=str(text),
            node=None,
            files=tuple((m, sniff_format(m)) for m in members),
            digest=digest_bytes(canonical_bytes(tree_manifest(path))),
        )
    return DataSource(str(text), None, ((path, sniff_format(path)),), hash_file(path)[0])


def _from_component(ctx: Context, component: ComponentVersion) -> DataSource:
    node = component.key.node
    artifact = component.artifact
    if artifact is None:
        raise ValidationError(
            Reason.ARTIFACT_MISSING,
            f"{node} records only a content hash; its bytes are not in the artifact store",
            fix="profile the data file directly, or register the dataset with `artifact:`",
        )
    manifest = ctx.blobs.read_manifest(artifact.digest)
    if manifest is None:
        blob = ctx.blobs.path_of(artifact.digest)
        if not blob.exists():
            raise NotFoundError(
                Reason.ARTIFACT_MISSING,
                f"blob of {node} is missing",
                fix="run `airel artifact verify`",
            )
        return DataSource(node, node, ((blob, sniff_format(blob)),), artifact.digest, component)
    files = []
    for entry in manifest["entries"]:
        suffix = Path(entry["path"]).suffix.lower()
        if entry.get("type") == "file" and suffix in DATA_SUFFIXES:
            blob = ctx.blobs.path_of(entry["digest"])
            files.append((blob, sniff_format(blob, entry["path"])))
    if not files:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"{node} holds no data files",
            fix="register the data files themselves",
        )
    return DataSource(node, node, tuple(files), artifact.digest, component)


def applicable(source: DataSource, options: ProfileOptions) -> ProfileOptions:
    """Drop the label / prediction-time options a source does not carry (a serving sample has
    no label); the checks then report what could not be measured instead of failing to read."""
    if options.label is None and options.reference_time is None:
        return options
    path, fmt = source.files[0]
    reader = Source(path, fmt, 1)
    try:
        names = set(reader.schema.names)
    finally:
        reader.close()
    return replace(
        options,
        label=options.label if options.label in names else None,
        reference_time=options.reference_time if options.reference_time in names else None,
    )


def options_key(options: ProfileOptions) -> str:
    """The options that change a profile, canonically (the cache key next to the digest)."""
    return canonical_bytes(
        {
            "label": options.label,
            "reference_time": options.reference_time,
            "columns": list(options.columns) if options.columns else None,
        }
    ).decode()


def compute(
    source: DataSource,
    options: ProfileOptions,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> Profile:
    """Profile every file of the source and merge (no store access)."""
    profile: Profile | None = None
    hints: list[str] = []
    for path, fmt in source.files:
        part = profile_path(path, options, fmt=fmt, on_progress=on_progress)
        if fmt == "csv":
            label = source.label if len(source.files) == 1 else f"{source.label} ({path.name})"
            hint = csv_delimiter_hint(path, label, list(part.columns))
            if hint is not None and hint not in hints:
                hints.append(hint)
        profile = part if profile is None else profile.merge(part)
    assert profile is not None
    profile.source.update(
        {"label": source.label, "digest": source.digest, "files": len(source.files)}
    )
    if hints:
        profile.source["hints"] = hints
    return profile


def get_or_compute(
    ctx: Context,
    source: DataSource,
    options: ProfileOptions,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[Profile, ProfileRecord, bool]:
    """The stored profile for this content and options, computing and storing it if new."""
    options = applicable(source, options)
    key = options_key(options)
    with ctx.store.read() as tx:
        stored = tx.get_profile(source.digest, key)
    if stored is not None:
        return profile_from_dict(stored.body), stored, False
    profile = compute(source, options, on_progress=on_progress)
    body: dict[str, Any] = profile_to_dict(profile)
    record = ProfileRecord(
        digest=digest_of(body),
        source_digest=source.digest,
        options_key=key,
        engine=profile.engine or "arrow",
        rows=profile.rows,
        dataset_node=source.node,
        body=body,
        created_at=ctx.stamp(),
        created_by=ctx.actor,
    )

    def write(tx: WriteTx) -> ProfileRecord:
        existing = tx.get_profile(source.digest, key)
        if existing is not None:
            return existing
        tx.insert_profile(record)
        tx.append_audit(
            actor=ctx.actor,
            action="profile.store",
            subject=source.node or source.digest,
            before=None,
            after=record.digest,
            details={"rows": record.rows, "options": key, "engine": record.engine},
        )
        return record

    return profile, ctx.store.write(write), True
