"""Commands: ``bundle create|freeze|check|show|list|diff|verify|repro``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command
from airel.domain.release.kinds import BundleState
from airel.errors import AirelError, Reason

if TYPE_CHECKING:  # the models load with the command that runs, not for --help (issue 10)
    from airel.domain.release.bundle import BundleDraft, FrozenBundle
    from airel.domain.release.completeness import CompletenessReport

bundle_app = typer.Typer(
    help="Release bundles: draft, freeze, inspect, compare, verify.", no_args_is_help=True
)

AllowIncompleteOpt = Annotated[
    str | None,
    typer.Option(
        "--allow-incomplete",
        metavar="REASON",
        help="Freeze although completeness fails; the reason is recorded with the release.",
    ),
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Resolve and report; write nothing.")]
ExpectedVersionOpt = Annotated[
    int | None,
    typer.Option(help="The draft version this is based on (compare-and-set)."),
]


def show_bundle(bundle: FrozenBundle) -> None:
    """Print a frozen bundle: identity, spec sections and what each reference resolved to."""
    pairs = [
        ("digest", bundle.digest),
        ("use case", bundle.use_case_id),
        ("risk tier", bundle.risk_tier.label),
        ("pipeline type", bundle.pipeline_type.value if bundle.pipeline_type else None),
        ("frozen", f"{bundle.created_at} by {bundle.created_by}"),
    ]
    if bundle.incomplete_reason:
        pairs.append(("frozen incomplete because", bundle.incomplete_reason))
    output.kv(f"release {bundle.release_id}", pairs)
    _spec_table(bundle.spec)
    output.table(
        "pinned at freeze time",
        ["field", "component version", "content digest", "artifact"],
        [(r.path, r.node, r.digest, r.artifact or "-") for r in bundle.resolutions],
    )


def show_draft(draft: BundleDraft, unresolved: tuple[dict[str, Any], ...] = ()) -> None:
    """Print a draft: identity, spec sections, and references that do not resolve yet."""
    output.kv(
        f"release {draft.release_id} (draft, version {draft.version})",
        [
            ("spec digest", draft.spec_digest),
            ("use case", draft.use_case_id),
            ("risk tier", draft.risk_tier.label),
            ("pipeline type", draft.pipeline_type.value if draft.pipeline_type else None),
            ("created", f"{draft.created_at} by {draft.created_by}"),
            ("updated", f"{draft.updated_at} by {draft.updated_by}"),
        ],
    )
    _spec_table(draft.spec)
    if unresolved:
        output.table(
            "does not resolve yet (freezing needs it to)",
            ["field", "reason", "problem"],
            [(u.get("field") or "-", u["reason"], u["message"]) for u in unresolved],
        )


def _spec_table(spec: dict[str, Any]) -> None:
    rows = []
    for section, body in spec.items():
        if isinstance(body, dict):
            for key, value in body.items():
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                rows.append((f"{section}.{key}", shown or "-"))
    output.table("components", ["component", "value"], rows)


@contextmanager
def _show_refusal(as_json: bool) -> Iterator[None]:
    """A freeze refused for completeness (exit 1): list the findings as a table."""
    try:
        yield
    except AirelError as exc:
        if exc.reason is Reason.BUNDLE_INCOMPLETE and not as_json:
            from airel.domain.release.completeness import CompletenessReport  # noqa: PLC0415

            show_completeness(CompletenessReport.model_validate(exc.details["completeness"]))
        raise


def show_completeness(report: CompletenessReport) -> None:
    """Print a completeness report (B3)."""
    from airel.domain.release.completeness import Severity  # noqa: PLC0415

    tier = f"Tier {report.risk_tier}"
    if report.complete and not report.findings:
        output.ok(f"complete for {tier} {report.pipeline_type}")
        return
    title = "complete (with warnings)" if report.complete else "INCOMPLETE"
    output.table(
        f"completeness: {title} at {tier} / {report.pipeline_type or 'no pipeline type'}",
        ["severity", "reason", "component", "risk", "consequence"],
        [
            (
                f"[red]{f.severity.value}[/]"
                if f.severity is Severity.FAILURE
                else f.severity.value,
                f.reason,
                f.component,
                f.risk,
                f.consequence,
            )
            for f in report.findings
        ],
    )


@command
def create(
    spec: Annotated[Path, typer.Argument(help="Bundle YAML (the §3.3 format).")],
    freeze: Annotated[
        bool, typer.Option("--freeze", help="Validate and freeze it now, not as a draft.")
    ] = False,
    allow_incomplete: AllowIncompleteOpt = None,
    expected_version: ExpectedVersionOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> int:
    """Store the release as a draft (editable, not citable), or edit its draft; completeness
    findings and unresolved references are warnings. With --freeze: resolve and freeze it
    now; refused (exit 1, nothing written) while completeness fails unless
    --allow-incomplete says why."""
    if not freeze:
        if allow_incomplete is not None:
            raise typer.BadParameter("--allow-incomplete applies to --freeze only")
        drafted = client().bundles.create(spec, expected_version=expected_version, dry_run=dry_run)
        if as_json:
            output.emit_json(
                {
                    "state": BundleState.DRAFT,
                    "created": drafted.created,
                    "dry_run": drafted.dry_run,
                    "draft": drafted.draft,
                    "completeness": drafted.completeness,
                }
            )
        else:
            d = drafted.draft
            said = (
                "dry run (nothing written)"
                if drafted.dry_run
                else ("stored" if drafted.created else "unchanged")
            )
            output.ok(f"draft {d.release_id} version {d.version} {said}: {d.spec_digest}")
            show_draft(d, d.summary.unresolved)
            show_completeness(drafted.completeness)
            output.out.print(f"freeze it with `airel bundle freeze {d.release_id}`")
        return output.EXIT_OK
    if expected_version is not None:
        raise typer.BadParameter("--expected-version names a draft: use `airel bundle freeze`")
    with _show_refusal(as_json):
        result = client().bundles.create(
            spec, freeze=True, allow_incomplete=allow_incomplete, dry_run=dry_run
        )
    _show_frozen(result.bundle, result.completeness, result.created, result.dry_run, as_json)
    return output.EXIT_OK


@command
def freeze(
    release_id: str,
    allow_incomplete: AllowIncompleteOpt = None,
    expected_version: ExpectedVersionOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> int:
    """Freeze the release's draft: resolve every reference, store it immutably and remove the
    draft. Refused (exit 1, nothing written) while completeness fails unless
    --allow-incomplete says why. An already frozen release is a no-op."""
    with _show_refusal(as_json):
        result = client().bundles.freeze(
            release_id,
            allow_incomplete=allow_incomplete,
            expected_version=expected_version,
            dry_run=dry_run,
        )
    _show_frozen(result.bundle, result.completeness, result.created, result.dry_run, as_json)
    return output.EXIT_OK


def _show_frozen(
    bundle: FrozenBundle,
    completeness: CompletenessReport,
    created: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    if as_json:
        output.emit_json(
            {
                "state": BundleState.FROZEN,
                "created": created,
                "dry_run": dry_run,
                "bundle": bundle,
                "completeness": completeness,
            }
        )
        return
    said = (
        "dry run (nothing written)"
        if dry_run
        else "frozen"
        if created
        else "already frozen (unchanged)"
    )
    output.ok(f"release {bundle.release_id} {said}: {bundle.digest}")
    show_bundle(bundle)
    show_completeness(completeness)


@command
def check(
    spec: Annotated[Path, typer.Argument(help="Bundle YAML to check.")],
    as_json: JsonOpt = False,
) -> int:
    """Parse and check a bundle file offline (no store): exit 2 if malformed, 1 if
    incomplete for its tier as written, 0 otherwise."""
    parsed, report = client().bundles.check_file(spec)
    if as_json:
        output.emit_json(
            {
                "spec_digest": parsed.spec_digest(),
                "spec": parsed.canonical(),
                "completeness": report,
            }
        )
    else:
        output.ok(f"{spec} parses: release {parsed.release_id}, spec {parsed.spec_digest()}")
        show_completeness(report)
    return output.EXIT_OK if report.complete else output.EXIT_CHECK_FAILED


@command
def show(release_id: str, as_json: JsonOpt = False) -> int:
    """Show a release — frozen bundle or draft — and its completeness."""
    found = client().bundles.view(release_id)
    if as_json:
        output.emit_json(
            {
                "state": found.state,
                "bundle": found.bundle,
                "draft": found.draft,
                "completeness": found.completeness,
                "unresolved": found.unresolved,
            }
        )
        return output.EXIT_OK
    if found.bundle is not None:
        show_bundle(found.bundle)
    elif found.draft is not None:
        show_draft(found.draft, found.unresolved)
    show_completeness(found.completeness)
    return output.EXIT_OK


@command
def list_(
    use_case: Annotated[str | None, typer.Option(help="Only this use case.")] = None,
    state: Annotated[
        BundleState | None, typer.Option(help="Only drafts or only frozen bundles.")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """List releases — frozen bundles and drafts — oldest first."""
    from airel.domain.release.bundle import FrozenBundle  # noqa: PLC0415

    found = client().bundles.listing(use_case_id=use_case, state=state)
    if as_json:
        output.emit_json([{"state": _state(b), **output.to_jsonable(b)} for b in found])
        return output.EXIT_OK
    output.table(
        "releases",
        ["release", "state", "use case", "tier", "pipeline", "digest", "since"],
        [
            (
                b.release_id,
                _state(b).value
                if isinstance(b, FrozenBundle)
                else f"draft v{b.version}{'' if b.summary.complete else ' (incomplete)'}",
                b.use_case_id,
                b.risk_tier.label,
                b.pipeline_type.value if b.pipeline_type else "-",
                (b.digest if isinstance(b, FrozenBundle) else b.spec_digest)[:19],
                b.created_at if isinstance(b, FrozenBundle) else b.updated_at,
            )
            for b in found
        ],
    )
    return output.EXIT_OK


def _state(b: FrozenBundle | BundleDraft) -> BundleState:
    from airel.domain.release.bundle import FrozenBundle  # noqa: PLC0415

    return BundleState.FROZEN if isinstance(b, FrozenBundle) else BundleState.DRAFT


@command
def diff(
    old: str,
    new: str,
    all_: Annotated[bool, typer.Option("--all", help="Include unchanged components.")] = False,
    as_json: JsonOpt = False,
) -> int:
    """What changed between two releases, component by component (B4)."""
    from airel.domain.release.bundle import ChangeType  # noqa: PLC0415

    changes = client().bundles.diff(old, new)
    if as_json:
        output.emit_json({"old": old, "new": new, "changes": changes})
        return output.EXIT_OK
    shown = [c for c in changes if all_ or c.change is not ChangeType.UNCHANGED]
    output.table(
        f"{old} -> {new}",
        ["component", "change", old, new],
        [(c.component, c.change.value, c.old, c.new) for c in shown],
    )
    return output.EXIT_OK


@command
def verify(release_id: str, as_json: JsonOpt = False) -> int:
    """Recompute the bundle digest and re-hash every pinned artifact; exit 1 on a mismatch."""
    check = client().bundles.verify(release_id)
    if as_json:
        output.emit_json(check)
    elif check.ok:
        output.ok(f"{release_id} verified: {check.digest}")
    else:
        for p in check.problems:
            output.fail(f"{p['what']}: {p['problem']}")
    return output.EXIT_OK if check.ok else output.EXIT_CHECK_FAILED


@command
def repro(release_id: str, as_json: JsonOpt = False) -> int:
    """The §7.2 reproducibility report (R8): each item present, partial or missing."""
    report = client().bundles.reproducibility(release_id)
    if as_json:
        output.emit_json(report)
    else:
        output.table(
            f"reproducibility of {release_id}",
            ["item", "status", "evidence", "lacking"],
            [
                (i.item, i.status.value, "; ".join(i.evidence), "; ".join(i.lacking))
                for i in report.items
            ],
        )
    return output.EXIT_OK


# The group's commands (the group itself is listed in airel.cli.table).
bundle_app.command("create")(create)
bundle_app.command("freeze")(freeze)
bundle_app.command("show")(show)
bundle_app.command("check")(check)
bundle_app.command("list")(list_)
bundle_app.command("diff")(diff)
bundle_app.command("verify")(verify)
bundle_app.command("repro")(repro)
