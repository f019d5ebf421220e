"""Commands: ``ct trigger|check|list|record``, ``incident list`` (P4, §5.4, §8.7)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command

if TYPE_CHECKING:  # models load with the command that runs, not for --help (issue 10)
    from airel.domain.promotion.ct_trigger import CtTrigger

ct_app = typer.Typer(
    help="Continuous-training triggers: record, build a candidate, never promote.",
    no_args_is_help=True,
)
incident_app = typer.Typer(
    help="Incidents opened by triggers, rollouts and rollbacks.", no_args_is_help=True
)

TriggerArg = Annotated[str, typer.Argument(help="The trigger id, e.g. CT-FRAUD-2026-021.")]


def _trigger_row(t: CtTrigger) -> tuple[str, ...]:
    return (
        t.trigger_id,
        t.use_case_id,
        t.kind.value,
        t.decision.value,
        t.candidate_release_id or "-",
        t.incident_id or "-",
        t.created_at,
    )


@command
def trigger(
    path: Annotated[Path, typer.Argument(help="Trigger YAML (docs/specs.md: CT trigger).")],
    no_build: Annotated[
        bool,
        typer.Option("--no-build", help="Record the trigger without running its build command."),
    ] = False,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Where the build runs and candidate_bundle is found (default: the "
            "trigger file's folder)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Record a continuous-training trigger; build and freeze its candidate, never promote it.

    The candidate is held for the release gate of its tier; a performance degradation also
    opens an incident. Exit 1 when the build failed or its bundle could not be frozen (the
    trigger is still recorded); exit 2, with nothing written, on a bad file, an unknown
    snapshot, or a use case without a frozen release."""
    result = client().triggers.record(path, build=not no_build, workdir=workdir)
    t = result.trigger
    failed = t.decision.value in ("build_failed", "candidate_refused")
    code = output.EXIT_CHECK_FAILED if failed else output.EXIT_OK
    if as_json:
        output.emit_json({"trigger": t, "incident": result.incident})
        return code
    (output.fail if failed else output.ok)(f"{t.trigger_id}: {t.decision_text}")
    output.kv(
        "trigger",
        [
            ("kind", t.kind.value),
            ("use case", f"{t.use_case_id} ({t.risk_tier.label})"),
            ("release rule", t.release_rule),
            ("candidate", t.candidate_release_id or "-"),
            ("build exit", "-" if t.build is None else str(t.build.exit_code)),
            ("incident", t.incident_id or "-"),
        ],
    )
    return code


@command
def check(
    path: Annotated[Path, typer.Argument(help="Trigger YAML.")],
    as_json: JsonOpt = False,
) -> int:
    """Check a trigger file strictly (every problem with its line); nothing is stored."""
    spec = client().triggers.check(path)
    if as_json:
        output.emit_json({"trigger": spec, "digest": spec.digest})
        return output.EXIT_OK
    output.ok(f"trigger {spec.trigger_id} ok: {spec.kind.value} on {spec.use_case_id}")
    return output.EXIT_OK


@command
def list_triggers(
    use_case: Annotated[str | None, typer.Option(help="Only this use case.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Trigger records, oldest first: kind, decision, candidate, incident."""
    found = client().triggers.list(use_case)
    if as_json:
        output.emit_json(found)
        return output.EXIT_OK
    output.table(
        "ct triggers",
        ["trigger", "use case", "kind", "decision", "candidate", "incident", "at"],
        [_trigger_row(t) for t in found],
    )
    return output.EXIT_OK


@command
def record(
    trigger_id: TriggerArg,
    out: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
) -> int:
    """The §8.7 Continuous Training Trigger Record, rendered from the stored trigger."""
    markdown = client().triggers.record_markdown(trigger_id)
    if out is not None:
        out.write_text(markdown, encoding="utf-8")
    output.out.print(markdown, markup=False)
    return output.EXIT_OK


@command
def list_incidents(
    release: Annotated[str | None, typer.Option(help="Only this release.")] = None,
    use_case: Annotated[str | None, typer.Option(help="Only this use case.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Incidents, oldest first: source, severity, status, release."""
    found = client().triggers.incidents(release_id=release, use_case_id=use_case)
    if as_json:
        output.emit_json(found)
        return output.EXIT_OK
    output.table(
        "incidents",
        ["incident", "use case", "release", "source", "severity", "status", "opened"],
        [
            (
                i.incident_id,
                i.use_case_id,
                i.release_id or "-",
                i.source.value,
                i.severity,
                i.status.value,
                i.opened_at,
            )
            for i in found
        ],
    )
    return output.EXIT_OK


ct_app.command("trigger")(trigger)
ct_app.command("check")(check)
ct_app.command("list")(list_triggers)
ct_app.command("record")(record)
incident_app.command("list")(list_incidents)
