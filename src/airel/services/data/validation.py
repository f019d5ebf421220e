"""Use case: validate a dataset against a reference and a feature spec; keep the evidence.

One run = the nine dimensions of §5.5 on (current, reference, serving sample) under the
feature spec of a feature view: profiles come from the profile store when the same content
was profiled before (a reference is read once, however many candidates are checked), the
skew join runs in DuckDB, the checks are pure functions, and the run — inputs, every
finding, the §8.3 card — is stored in one audited transaction as G1/G3 evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airel.adapters.arrow.engine import ProfileOptions
from airel.adapters.arrow.skew import join_stats
from airel.adapters.documents.parse import Document, load_document
from airel.domain.data.checks import run_checks_detailed
from airel.domain.data.drift import compare_columns
from airel.domain.data.evidence import ValidationRun
from airel.domain.data.featurespec import FeatureSpec, parse_feature_spec
from airel.domain.data.findings import ColumnSkew, Finding, SkewResult
from airel.domain.data.profile import Profile
from airel.domain.data.validation_card import CardMetadata, build_card, render_markdown
from airel.domain.kernel.canonical import digest_of
from airel.domain.release.kinds import ComponentKind
from airel.errors import NotFoundError, Reason, ValidationError
from airel.services.data.profiling import DataSource, get_or_compute, resolve_source
from airel.services.kernel.context import Context
from airel.services.release.components import resolve_reference
from airel.store.contract import WriteTx

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class LoadedSpec:
    """A feature spec and where it came from."""

    spec: FeatureSpec
    digest: str
    feature_view: str | None  # feature_view/NAME:VERSION when taken from the registry


@dataclass(frozen=True)
class ValidationOutcome:
    """A finished validation: the stored run, its findings and the rendered card."""

    run: ValidationRun
    findings: list[Finding]
    markdown: str
    profiles_reused: int  # how many of the profiles came from the profile store


def load_spec(ctx: Context, text: str, *, base: Path | None = None) -> LoadedSpec:
    """A spec file (YAML/JSON) or a registered feature view whose ``validation`` holds one."""
    path = Path(text) if base is None or Path(text).is_absolute() else base / text
    if path.is_file():
        doc = load_document(path, ctx.limits)
        spec = parse_feature_spec(doc.data, source=doc.source, lines=doc.lines)
        return LoadedSpec(spec, digest_of(spec.model_dump(mode="json")), None)
    ref = text.removeprefix("feature_view/")
    with ctx.store.read() as tx:
        try:
            key = resolve_reference(tx, ComponentKind.FEATURE_VIEW, ref, field="spec")
        except NotFoundError:
            raise NotFoundError(
                Reason.ARTIFACT_MISSING,
                f"{text!r} is neither a spec file nor a registered feature view",
                fix="pass a feature spec YAML, or a feature view registered with validation_spec",
            ) from None
        view = tx.get_component(key)
    assert view is not None
    body = view.fields.get("validation")
    if not isinstance(body, dict):
        raise ValidationError(
            Reason.MISSING_FIELD,
            f"{key.node} has no validation spec",
            fix="register a new version of the feature view with `validation_spec: spec.yaml`",
        )
    spec = parse_feature_spec(body, source=key.node)
    return LoadedSpec(spec, digest_of(spec.model_dump(mode="json")), key.node)


def _skew(
    spec: FeatureSpec, current: DataSource, serving: DataSource, cur: Profile, srv: Profile
) -> SkewResult:
    if len(current.files) != 1 or len(serving.files) != 1:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "the skew join needs one file per side",
            fix="compact the training and serving samples into one file each",
        )
    (left, left_fmt), (right, right_fmt) = current.files[0], serving.files[0]
    features = [c for c in spec.columns if not spec.is_identifier(c)]
    stats = join_stats(
        left,
        right,
        spec.entity_keys,
        left_format=left_fmt,
        right_format=right_fmt,
        features=features,
        numeric_tolerance=spec.skew.numeric_tolerance,
    )
    columns: dict[str, ColumnSkew] = {}
    for name in stats.compared:
        a, b = cur.columns.get(name), srv.columns.get(name)
        drift = compare_columns(a, b, spec.drift_thresholds(name)) if a and b else None
        columns[name] = ColumnSkew(stats.joined, stats.mismatches[name], drift)
    return SkewResult(
        joined_rows=stats.joined,
        unmatched_left=stats.left_unmatched,
        unmatched_right=stats.right_unmatched,
        columns=columns,
        duplicates_left=stats.left_duplicates,
        duplicates_right=stats.right_duplicates,
    )


def validate(
    ctx: Context,
    *,
    current: str,
    spec: str,
    reference: str | None = None,
    serving: str | None = None,
    use_case: str | None = None,
    as_of: datetime | None = None,
    base: Path | None = None,
    on_progress: Progress | None = None,
) -> ValidationOutcome:
    """Validate ``current`` (and store the run); see the module docstring."""
    when = (as_of or ctx.clock.now()).astimezone(UTC)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    loaded = load_spec(ctx, spec, base=base)
    options = ProfileOptions(label=loaded.spec.label, reference_time=loaded.spec.prediction_time)
    sources = {
        "current": resolve_source(ctx, current, base=base),
        "reference": resolve_source(ctx, reference, base=base) if reference else None,
        "serving": resolve_source(ctx, serving, base=base) if serving else None,
    }
    if serving and not loaded.spec.entity_keys:
        raise ValidationError(
            Reason.MISSING_FIELD,
            "a serving sample was given but the spec declares no entity_key to join on",
            fix="add `entity_key: COLUMN` (or a list) to the feature spec, or drop --serving",
        )
    profiles: dict[str, Profile] = {}
    reused = 0
    for role, source in sources.items():
        if source is None:
            continue
        t0 = time.perf_counter()

        def progress(done: int, total: int, role: str = role) -> None:
            if on_progress is not None:
                on_progress(role, done, total)

        profile, _record, computed = get_or_compute(ctx, source, options, on_progress=progress)
        profiles[role] = profile
        reused += 0 if computed else 1
        timings[f"profile_{role}"] = round(time.perf_counter() - t0, 3)

    skew: SkewResult | None = None
    cur_source, srv_source = sources["current"], sources["serving"]
    assert cur_source is not None
    if srv_source is not None:
        t0 = time.perf_counter()
        skew = _skew(loaded.spec, cur_source, srv_source, profiles["current"], profiles["serving"])
        timings["skew_join"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    findings, drift = run_checks_detailed(
        loaded.spec,
        profiles.get("reference"),
        profiles["current"],
        use_case=use_case,
        as_of=when,
        skew=skew,
    )
    timings["checks"] = round(time.perf_counter() - t0, 3)
    timings["total"] = round(time.perf_counter() - started, 3)

    def label(source: DataSource | None) -> str | None:
        return None if source is None else (source.node or source.digest)

    inputs: dict[str, Any] = {
        "current": label(cur_source),
        "reference": label(sources["reference"]),
        "serving": label(srv_source),
        "spec_digest": loaded.digest,
        "feature_view": loaded.feature_view,
        "use_case": use_case,
        "as_of": when.isoformat(),
        "findings": [f.to_dict() for f in findings],
    }
    run_id = digest_of(inputs)
    component = cur_source.component
    meta = CardMetadata(
        validation_id=run_id,
        dataset=inputs["current"],
        feature_view=loaded.feature_view,
        reference=inputs["reference"],
        serving=inputs["serving"],
        owner=component.fields.get("owner") if component else None,
        source_systems=tuple(component.fields.get("source_lineage", ())) if component else (),
        sampling_method=(
            component.fields.get("snapshot", {}).get("sampling") if component else None
        ),
        use_case=use_case,
        as_of=inputs["as_of"],
        engine=profiles["current"].engine,
        timings=timings,
        spec_digest=loaded.digest,
    )
    card = build_card(
        loaded.spec,
        profiles.get("reference"),
        profiles["current"],
        findings,
        meta,
        drift=drift,
        skew_checked=skew is not None,
    )
    hard = sum(f.hard for f in findings)
    run = ValidationRun(
        run_id=run_id,
        current=inputs["current"],
        reference=inputs["reference"],
        serving=inputs["serving"],
        feature_view=loaded.feature_view,
        spec_digest=loaded.digest,
        use_case=use_case,
        as_of=inputs["as_of"],
        passed=hard == 0,
        hard=hard,
        soft=len(findings) - hard,
        findings=inputs["findings"],
        card=card,
        created_at=ctx.stamp(),
        created_by=ctx.actor,
    )

    def write(tx: WriteTx) -> ValidationRun:
        existing = tx.get_validation_run(run_id)
        if existing is not None:  # the same inputs and findings were recorded already
            return existing
        tx.insert_validation_run(run)
        tx.append_audit(
            actor=ctx.actor,
            action="validation.run",
            subject=run.current,
            before=None,
            after=run_id,
            details={
                "passed": run.passed,
                "hard": run.hard,
                "soft": run.soft,
                "feature_view": run.feature_view,
                "reference": run.reference,
            },
        )
        return run

    stored = ctx.store.write(write)
    return ValidationOutcome(stored, findings, render_markdown(stored.card), reused)


def get_run(ctx: Context, run_id: str) -> ValidationRun:
    """A stored validation run."""
    with ctx.store.read() as tx:
        run = tx.get_validation_run(run_id)
    if run is None:
        raise NotFoundError(
            Reason.COMPONENT_NOT_FOUND,
            f"validation run {run_id} not found",
            fix="list runs with `airel validation list`",
        )
    return run


def list_runs(ctx: Context, *, current: str | None = None) -> list[ValidationRun]:
    """Stored validation runs, oldest first."""
    with ctx.store.read() as tx:
        return tx.list_validation_runs(current=current)


def feature_spec_fields(doc: Document) -> dict[str, Any]:
    """A feature view's validation spec as stored with the component (the ``feature_spec``
    parser the registry is given: see :mod:`airel.services.kernel.context`)."""
    return parse_feature_spec(doc.data, source=doc.source, lines=doc.lines).model_dump(mode="json")
