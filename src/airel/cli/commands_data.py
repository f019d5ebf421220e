"""Commands: ``profile``, ``validate``, ``validation show|list`` (issue 3)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID

from airel.cli import output
from airel.cli.app import (
    JsonOpt,
    ReleaseOpt,
    client,
    command,
    report_evidence,
    require_release,
)
from airel.errors import Reason, ValidationError

validation_app = typer.Typer(help="Stored validation runs (evidence).", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        console=output.err,
    )


@command
def profile(
    source: Annotated[str, typer.Argument(help="dataset/NAME:VERSION, NAME@alias, or a file")],
    label: Annotated[str | None, typer.Option(help="0/1 label column (leakage stats).")] = None,
    prediction_time: Annotated[
        str | None, typer.Option(help="Prediction-time column (future-timestamp leakage).")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Profile a dataset in one streamed pass and store the profile (reused later)."""
    from airel.domain.data.profile import profile_to_dict  # noqa: PLC0415 (SciPy, on use)

    with _progress() as bar:
        task = bar.add_task(f"profiling {source}", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        prof, record, computed = client().data.profile(
            source, label=label, reference_time=prediction_time, on_progress=tick
        )
    if as_json:
        output.emit_json(
            {"computed": computed, "digest": record.digest, "profile": profile_to_dict(prof)}
        )
        return output.EXIT_OK
    state = "profiled" if computed else "already profiled (reused)"
    output.ok(f"{source} {state}: {prof.rows:,} rows, {len(prof.columns)} columns")
    for hint in prof.source.get("hints", []):
        output.out.print(f"[yellow]hint[/]: {escape(str(hint))}")
    rows: list[list[Any]] = []
    for col in prof.columns.values():
        num = col.numeric
        cats = col.categories
        detail = ""
        if num is not None and num.n:
            sd = (num.variance or 0.0) ** 0.5
            detail = f"min {num.min:.4g}  max {num.max:.4g}  mean {num.mean:.4g}  sd {sd:.4g}"
        elif cats is not None:
            top = sorted(cats.counts.items(), key=lambda kv: -kv[1])[:3]
            detail = f"{cats.distinct} distinct; top " + ", ".join(f"{k} ({v})" for k, v in top)
        rows.append([col.name, col.logical.value, f"{col.missing_rate:.2%}", detail])
    output.table("profile", ["column", "type", "missing", "summary"], rows)
    return output.EXIT_OK


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"--as-of {text!r} is not an ISO-8601 time with a zone",
            fix="write e.g. 2026-07-01T00:00:00+00:00",
        )
    return value


@command
def validate(
    current: Annotated[str, typer.Option(help="Dataset to validate (registered ref or file).")],
    spec: Annotated[
        str, typer.Option(help="Feature spec YAML, or a feature view registered with one.")
    ],
    reference: Annotated[
        str | None, typer.Option(help="Reference dataset for drift and cardinality.")
    ] = None,
    serving: Annotated[
        str | None, typer.Option(help="Serving sample joined on the entity key (skew).")
    ] = None,
    use_case: Annotated[str | None, typer.Option(help="Use case, for access checks.")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Freshness reference time (ISO-8601 with zone).")
    ] = None,
    card: Annotated[Path | None, typer.Option(help="Write the §8.3 card (Markdown) here.")] = None,
    release: ReleaseOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Run the nine §5.5 checks; store the run and its card. Exit 1 on any hard finding.
    With --release, the run is linked as G3 evidence of that release."""
    when = _as_of(as_of)
    require_release(release)
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def tick(role: str, done: int, total: int) -> None:
            if role not in tasks:
                tasks[role] = bar.add_task(f"profiling {role}", total=total or None)
            bar.update(tasks[role], completed=done, total=total or None)

        outcome = client().data.validate(
            current,
            spec=spec,
            reference=reference,
            serving=serving,
            use_case=use_case,
            as_of=when,
            on_progress=tick,
        )
    run = outcome.run
    return report_evidence(
        release,
        link={"validation": run.run_id},
        passed=run.passed,
        markdown=outcome.markdown,
        payload={
            "run_id": run.run_id,
            "passed": run.passed,
            "hard": run.hard,
            "soft": run.soft,
            "findings": run.findings,
            "card": run.card,
        },
        as_json=as_json,
        write_to=card,
        verdict=f"validation {run.run_id[:19]}…: {run.hard} hard, {run.soft} soft finding(s)",
    )


@command
def show(
    run_id: str,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the card as Markdown (the default).")
    ] = True,
    as_json: JsonOpt = False,
) -> int:
    """A stored validation run and its §8.3 card."""
    from airel.domain.data.validation_card import render_markdown  # noqa: PLC0415 (SciPy, on use)

    run = client().data.run(run_id)
    if as_json:
        output.emit_json(run)
    elif markdown:
        output.out.print(render_markdown(run.card), markup=False)
    return output.EXIT_OK


@command
def list_(
    current: Annotated[str | None, typer.Option(help="Only runs of this dataset.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Stored validation runs, oldest first."""
    runs = client().data.runs(current=current)
    if as_json:
        output.emit_json(
            [{k: v for k, v in r.model_dump(mode="json").items() if k != "card"} for r in runs]
        )
    else:
        output.table(
            "validation runs",
            ["run", "current", "reference", "passed", "hard", "soft", "at"],
            [
                (r.run_id[:19], r.current, r.reference, r.passed, r.hard, r.soft, r.created_at)
                for r in runs
            ],
        )
    return output.EXIT_OK


# The group's commands (the group itself is listed in airel.cli.table).
validation_app.command("show")(show)
validation_app.command("list")(list_)
