"""Commands: ``rollout status|adopt|analyse|advance|pause|resume|abort``, ``reconcile``,
``rollback [apply]|list|runbook|drill``.

Exit codes: 0 when the command did what it says; 1 when a step's analysis holds, is
inconclusive or stopped the rollout (the route rolled back), or a drill failed a step; 2 for
bad input, a refusal or a conflict (someone moved the route since you read it).

Production actions that send traffic back (``rollback``, ``rollout abort``) need the release
id typed to confirm, ``--confirm RELEASE`` or ``--yes``; without a terminal and without either
flag they are refused (exit 2) and nothing is written.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airel.cli import output
from airel.cli.app import DefaultVerbGroup, JsonOpt, client, command

if TYPE_CHECKING:  # models load with the command that runs, not for --help (issue 10)
    from airel.domain.promotion.route import Route

rollout_app = typer.Typer(
    help="Routes and their rollouts: status, advance, pause, resume, abort.", no_args_is_help=True
)
rollback_app = typer.Typer(
    cls=DefaultVerbGroup,
    help="Roll a release back by component; its runbook and drills.",
    no_args_is_help=True,
)

RouteArg = Annotated[str, typer.Argument(help="The route, e.g. fraud-scoring.")]
LaneOpt = Annotated[str, typer.Option(help="production (default) or staging.")]
VersionOpt = Annotated[
    int | None,
    typer.Option("--expect-version", help="The route version you decided on (conflict if moved)."),
]
ReasonOpt = Annotated[str | None, typer.Option(help="Why (kept with the event).")]
YesOpt = Annotated[bool, typer.Option("--yes", help="Skip the typed confirmation.")]
ConfirmOpt = Annotated[
    str | None, typer.Option(help="The release id, typed to confirm a production action.")
]


def _confirm(release: str, lane: str, yes: bool, typed: str | None) -> None:
    """A production action needs the release id typed (or --yes)."""
    if lane != "production" or yes:
        return
    if typed is None and sys.stdin.isatty():
        typed = typer.prompt(f"Type {release} to confirm this production action")
    if typed != release:
        from airel.errors import Reason, ValidationError  # noqa: PLC0415

        raise ValidationError(
            Reason.CONFIRMATION_REQUIRED,
            f"a production action on {release} needs its release id typed to confirm",
            fix=f"answer the prompt with {release}, or give --confirm {release} (or --yes)",
            details={"release_id": release},
        )


def _route_rows(route: Route) -> list[tuple[str, Any]]:
    from airel.domain.promotion.manifest import split_of  # noqa: PLC0415

    observed = route.observed
    return [
        ("status", route.status.value),
        ("version", f"{route.version} (router applied v{route.observed_version})"),
        ("environment", route.environment.value),
        ("stable", route.stable),
        ("candidate", route.candidate or "-"),
        ("step", route.step or "-"),
        ("desired", split_of(route.desired.weights)),
        ("mirror", ", ".join(route.desired.mirror) or "-"),
        ("observed", split_of(observed.weights) if observed else "never applied"),
        ("emergency change", route.emergency or "-"),
        ("updated", f"{route.updated_at} by {route.updated_by}"),
    ]


@command
def status(
    route: Annotated[str | None, typer.Argument(help="One route (default: every route).")] = None,
    lane: LaneOpt = "production",
    as_json: JsonOpt = False,
) -> int:
    """Where each route's rollout is: desired vs observed traffic, step, version, history."""
    rollouts = client().rollouts
    if route is None:
        found = rollouts.routes()
        if as_json:
            output.emit_json(found)
            return output.EXIT_OK
        output.table(
            "routes",
            ["route", "lane", "status", "version", "stable", "candidate", "step", "converged"],
            [
                (
                    r.route,
                    r.lane.value,
                    r.status.value,
                    r.version,
                    r.stable,
                    r.candidate or "-",
                    r.step or "-",
                    "yes" if r.converged else "no",
                )
                for r in found
            ],
        )
        return output.EXIT_OK
    one, history = rollouts.route(route, lane=lane), rollouts.history(route, lane=lane)
    if as_json:
        output.emit_json({"route": one, "history": history})
        return output.EXIT_OK
    output.kv(f"route {one.key}", _route_rows(one))
    output.table(
        "history",
        ["version", "event", "release", "at", "by"],
        [
            (e.version, e.kind.value, e.release_id or "-", e.created_at, e.created_by)
            for e in history[-10:]
        ],
    )
    return output.EXIT_OK


@command
def adopt(
    route: RouteArg,
    release: Annotated[str, typer.Option(help="The frozen release running there now.")],
    change_approval: Annotated[str, typer.Option(help="The change ticket that put it there.")],
    deployment: Annotated[
        Path | None,
        typer.Option(help="Its deployment file (endpoint, tools, monitoring) for the gateway."),
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Record the release a production route ran before airel as its stable, approved one."""
    found = client().rollouts.adopt(
        route, release, change_approval=change_approval, deployment=deployment
    )
    if as_json:
        output.emit_json(found)
        return output.EXIT_OK
    output.ok(f"route {found.key}: {release} adopted as the stable release ({change_approval})")
    return output.EXIT_OK


def _outcome(outcome: Any, as_json: bool) -> int:
    if as_json:
        output.emit_json(outcome.to_dict())
    else:
        analysis = outcome.analysis
        line = f"route {outcome.route.key} v{outcome.route.version}: {outcome.verdict}"
        (output.ok if outcome.verdict in ("advance", "complete", "done") else output.fail)(line)
        if analysis is not None:
            output.table(
                f"step {analysis.step}",
                ["kind", "criterion", "observed", "holds"],
                [(c.kind, c.criterion.text(), c.observed, c.holds) for c in analysis.results],
            )
            for reason in analysis.reasons:
                output.out.print(f"  {reason}", markup=False)
    ok = outcome.verdict in ("advance", "complete", "done")
    return output.EXIT_OK if ok else output.EXIT_CHECK_FAILED


@command
def analyse(route: RouteArg, lane: LaneOpt = "production", as_json: JsonOpt = False) -> int:
    """The current step's verdict from the evidence since it began; nothing moves."""
    outcome = client().rollouts.analyse(route, lane=lane)
    return _outcome(outcome, as_json)


@command
def advance(
    route: RouteArg,
    lane: LaneOpt = "production",
    expect_version: VersionOpt = None,
    to_step: Annotated[
        str | None, typer.Option(help="The step you mean to enter (a re-run is then a no-op).")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Analyse the step and act: advance or complete (exit 0); hold, inconclusive or stop —
    the route rolled back at once — (exit 1)."""
    outcome = client().rollouts.advance(
        route, lane=lane, expected_version=expect_version, to_step=to_step
    )
    return _outcome(outcome, as_json)


def _moved(found: Route, what: str, as_json: bool) -> int:
    if as_json:
        output.emit_json(found)
    else:
        output.ok(f"route {found.key} {what}: now v{found.version}, {found.status.value}")
    return output.EXIT_OK


@command
def pause(
    route: RouteArg,
    lane: LaneOpt = "production",
    expect_version: VersionOpt = None,
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Hold the rollout where it is."""
    found = client().rollouts.pause(
        route, lane=lane, expected_version=expect_version, reason=reason
    )
    return _moved(found, "paused", as_json)


@command
def resume(
    route: RouteArg,
    lane: LaneOpt = "production",
    expect_version: VersionOpt = None,
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Let a paused rollout move again (after an emergency change: a restart decision first)."""
    found = client().rollouts.resume(
        route, lane=lane, expected_version=expect_version, reason=reason
    )
    return _moved(found, "resumed", as_json)


@command
def abort(
    route: RouteArg,
    lane: LaneOpt = "production",
    expect_version: VersionOpt = None,
    reason: ReasonOpt = None,
    yes: YesOpt = False,
    confirm: ConfirmOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Stop the rollout: the stable release takes all the traffic again."""
    current = client().rollouts.route(route, lane=lane)
    _confirm(current.candidate or current.stable, lane, yes, confirm)
    found = client().rollouts.abort(
        route, lane=lane, expected_version=expect_version, reason=reason
    )
    return _moved(found, "aborted", as_json)


@command
def reconcile(
    router_dir: Annotated[
        Path | None, typer.Option(help="Write each route's split here (default: embedded).")
    ] = None,
    auto_advance: Annotated[
        bool, typer.Option("--auto-advance", help="Also advance steps whose analysis passed.")
    ] = False,
    no_analyse: Annotated[
        bool, typer.Option("--no-analyse", help="Only converge the router; fire no stops.")
    ] = False,
    passes: Annotated[int, typer.Option(min=1, help="Passes to run (a loop).")] = 1,
    interval: Annotated[float, typer.Option(min=0, help="Seconds between passes.")] = 10.0,
    as_json: JsonOpt = False,
) -> int:
    """Converge every route: fire stop conditions, optionally advance, apply to the router."""
    reports = []
    for i in range(passes):
        if i:
            time.sleep(interval)
        reports.append(
            client().rollouts.reconcile(
                router_dir=router_dir, analyse=not no_analyse, auto_advance=auto_advance
            )
        )
    if as_json:
        output.emit_json([r.to_dict() for r in reports])
        return output.EXIT_OK
    for r in reports:
        output.ok(
            f"stopped {len(r.stopped)}, advanced {len(r.advanced)}, applied {len(r.applied)}"
            + "".join(f"\n  stop: {k}" for k in r.stopped)
            + "".join(f"\n  applied: {k}" for k in r.applied)
        )
    return output.EXIT_OK


@command
def apply(
    release: Annotated[str, typer.Argument(help="The release to roll back.")],
    component: Annotated[
        str,
        typer.Option(
            help="route, model, prompt, index, feature, tool, policy, batch, compensation."
        ),
    ] = "route",
    route: Annotated[str | None, typer.Option(help="The route (default: where it runs).")] = None,
    lane: LaneOpt = "production",
    to: Annotated[str | None, typer.Option(help="The approved release to go back to.")] = None,
    reason: Annotated[str, typer.Option(help="Why (kept with the rollback).")] = "",
    tool_mode: Annotated[str, typer.Option(help="Tool rollback: read or draft.")] = "read",
    batch_run: Annotated[str | None, typer.Option(help="Batch run to quarantine.")] = None,
    reversal: Annotated[list[str] | None, typer.Option(help="Compensation: a reversal.")] = None,
    remediation: Annotated[list[str] | None, typer.Option(help="Customer remediation.")] = None,
    regulator_note: Annotated[list[str] | None, typer.Option(help="Regulator note.")] = None,
    affected_customers: Annotated[
        int | None, typer.Option(min=0, help="Compensation: customers affected.")
    ] = None,
    incident: Annotated[str | None, typer.Option(help="The incident it answers.")] = None,
    expect_version: VersionOpt = None,
    yes: YesOpt = False,
    confirm: ConfirmOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Roll a release back by component (§5.7): to a previously approved release only.

    `airel rollback RELEASE --component KIND` is short for this command."""
    from airel.domain.promotion.rollback import Compensation, parse_component  # noqa: PLC0415

    kind = parse_component(component)
    if kind.value not in ("batch", "compensation"):
        _confirm(release, lane, yes, confirm)
    compensation = None
    if kind.value == "compensation":
        compensation = Compensation(
            reversals=reversal or [],
            remediation=remediation or [],
            regulator_notes=regulator_note or [],
            affected_customers=affected_customers,
        )
    result = client().rollouts.rollback(
        release,
        kind,
        route=route,
        lane=lane,
        to=to,
        reason=reason,
        tool_mode=tool_mode,
        batch_run=batch_run,
        compensation=compensation,
        incident=incident,
        expected_version=expect_version,
    )
    if as_json:
        output.emit_json(
            {
                "rollback": result.rollback,
                "route": result.route,
                "manifest": result.manifest,
                "changed": result.changed,
            }
        )
        return output.EXIT_OK
    b = result.rollback
    said = "rolled back" if result.changed else "already rolled back"
    output.ok(f"{release}: {b.component.value} {said} ({b.rollback_id[:19]}…)")
    rows: list[tuple[str, Any]] = [("target", b.target or "-"), ("reason", b.reason)]
    if result.route is not None:
        shown = dict(_route_rows(result.route))
        rows += [(k, shown[k]) for k in ("status", "version", "desired", "mirror")]
    if b.emergency:
        rows.append(("restart gate", f"required: `airel gate check {release}` before it moves"))
    for key in ("changes", "batch_run", "reversals", "remediation", "regulator_notes"):
        if b.body.get(key):
            rows.append((key, b.body[key]))
    output.kv("rollback", rows)
    return output.EXIT_OK


@command
def list_rollbacks(
    release: Annotated[str | None, typer.Option(help="Only this release.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Rollbacks, oldest first (batch quarantines and compensation records included)."""
    found = client().rollouts.rollbacks(release)
    if as_json:
        output.emit_json(found)
        return output.EXIT_OK
    output.table(
        "rollbacks",
        ["rollback", "release", "component", "route", "target", "emergency", "at"],
        [
            (
                b.rollback_id[:19],
                b.release_id,
                b.component.value,
                b.route or "-",
                b.target or "-",
                "yes" if b.emergency else "no",
                b.created_at,
            )
            for b in found
        ],
    )
    return output.EXIT_OK


@command
def runbook(
    release: Annotated[str, typer.Argument(help="The frozen release id.")],
    out: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
) -> int:
    """The §8.6 rollback runbook of a release: nine steps, owners, actions, evidence."""
    _, markdown = client().rollouts.runbook(release)
    if out is not None:
        out.write_text(markdown, encoding="utf-8")
    output.out.print(markdown, markup=False)
    return output.EXIT_OK


@command
def drill(
    release: Annotated[str, typer.Argument(help="A release running on a staging route.")],
    route: Annotated[str | None, typer.Option(help="The staging route.")] = None,
    router_dir: Annotated[Path | None, typer.Option(help="File router directory.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the record here.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Run the runbook in staging: a real rollback, timed, then restored; stored as evidence.
    Exit 1 when a step failed."""
    from airel.domain.promotion.runbook import render_drill  # noqa: PLC0415

    record = client().rollouts.drill(release, route=route, router_dir=router_dir)
    markdown = render_drill(record)
    if out is not None:
        out.write_text(markdown, encoding="utf-8")
    if as_json:
        output.emit_json(record)
    else:
        output.out.print(markdown, markup=False)
    return output.EXIT_OK if record.passed else output.EXIT_CHECK_FAILED


rollout_app.command("status")(status)
rollout_app.command("adopt")(adopt)
rollout_app.command("analyse")(analyse)
rollout_app.command("advance")(advance)
rollout_app.command("pause")(pause)
rollout_app.command("resume")(resume)
rollout_app.command("abort")(abort)
rollback_app.command("apply")(apply)
rollback_app.command("list")(list_rollbacks)
rollback_app.command("runbook")(runbook)
rollback_app.command("drill")(drill)
