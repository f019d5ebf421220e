"""Commands: ``bundle create|show|diff|verify|list|repro``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command
from airel.domain.bundle import ChangeType, FrozenBundle
from airel.domain.completeness import CompletenessReport, Severity

bundle_app = typer.Typer(
    help="Release bundles: freeze, inspect, compare, verify.", no_args_is_help=True
)


def show_bundle(bundle: FrozenBundle) -> None:
    """Print a frozen bundle: identity, spec sections and what each reference resolved to."""
    output.kv(
        f"release {bundle.release_id}",
        [
            ("digest", bundle.digest),
            ("use case", bundle.use_case_id),
            ("risk tier", bundle.risk_tier.label),
            ("pipeline type", bundle.pipeline_type.value if bundle.pipeline_type else None),
            ("frozen", f"{bundle.created_at} by {bundle.created_by}"),
        ],
    )
    rows = []
    for section, body in bundle.spec.items():
        if isinstance(body, dict):
            for key, value in body.items():
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                rows.append((f"{section}.{key}", shown or "-"))
    output.table("components", ["component", "value"], rows)
    output.table(
        "pinned at freeze time",
        ["field", "component version", "content digest", "artifact"],
        [(r.path, r.node, r.digest, r.artifact or "-") for r in bundle.resolutions],
    )


def show_completeness(report: CompletenessReport) -> None:
    """Print a completeness report (B3)."""
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
    dry_run: Annotated[bool, typer.Option(help="Resolve and report; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> int:
    """Freeze a release bundle: resolve every reference, store it immutably, report
    completeness. Exit 1 when the bundle is incomplete for its tier."""
    result = client().create_bundle(spec, dry_run=dry_run)
    if as_json:
        output.emit_json(
            {
                "created": result.created,
                "dry_run": result.dry_run,
                "bundle": result.bundle,
                "completeness": result.completeness,
            }
        )
    else:
        state = (
            "dry run (nothing written)"
            if result.dry_run
            else "frozen"
            if result.created
            else "already frozen (unchanged)"
        )
        output.ok(f"release {result.bundle.release_id} {state}: {result.bundle.digest}")
        show_bundle(result.bundle)
        show_completeness(result.completeness)
    return output.EXIT_OK if result.completeness.complete else output.EXIT_CHECK_FAILED


@command
def check(
    spec: Annotated[Path, typer.Argument(help="Bundle YAML to check.")],
    as_json: JsonOpt = False,
) -> int:
    """Parse and check a bundle file offline (no store): exit 2 if malformed, 1 if
    incomplete for its tier as written, 0 otherwise."""
    parsed, report = client().check_bundle(spec)
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
    """Show a frozen bundle and its completeness."""
    c = client()
    bundle = c.bundle(release_id)
    report = c.completeness(release_id)
    if as_json:
        output.emit_json({"bundle": bundle, "completeness": report})
    else:
        show_bundle(bundle)
        show_completeness(report)
    return output.EXIT_OK


@command
def list_(
    use_case: Annotated[str | None, typer.Option(help="Only this use case.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """List frozen bundles, oldest first."""
    found = client().bundles(use_case_id=use_case)
    if as_json:
        output.emit_json(found)
    else:
        output.table(
            "releases",
            ["release", "use case", "tier", "pipeline", "digest", "frozen"],
            [
                (
                    b.release_id,
                    b.use_case_id,
                    b.risk_tier.label,
                    b.pipeline_type.value if b.pipeline_type else "-",
                    b.digest[:19],
                    b.created_at,
                )
                for b in found
            ],
        )
    return output.EXIT_OK


@command
def diff(
    old: str,
    new: str,
    all_: Annotated[bool, typer.Option("--all", help="Include unchanged components.")] = False,
    as_json: JsonOpt = False,
) -> int:
    """What changed between two releases, component by component (B4)."""
    changes = client().diff_bundles(old, new)
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
    check = client().verify_bundle(release_id)
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
    report = client().reproducibility(release_id)
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


def register_commands(app: typer.Typer) -> None:
    """Attach these commands."""
    bundle_app.command("create")(create)
    bundle_app.command("show")(show)
    bundle_app.command("check")(check)
    bundle_app.command("list")(list_)
    bundle_app.command("diff")(diff)
    bundle_app.command("verify")(verify)
    bundle_app.command("repro")(repro)
    app.add_typer(bundle_app, name="bundle")
