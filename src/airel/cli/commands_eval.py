"""Commands: ``eval compare|run|report|list`` (issue 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command

eval_app = typer.Typer(help="Offline evaluation: baseline vs candidate.", no_args_is_help=True)


@command
def compare(
    suite: Annotated[Path, typer.Option(help="Eval suite YAML.")],
    baseline: Annotated[Path, typer.Option(help="Baseline predictions (id, score).")],
    candidate: Annotated[Path, typer.Option(help="Candidate predictions (id, score).")],
    baseline_label: Annotated[str, typer.Option(help="Name of the baseline.")] = "baseline",
    candidate_label: Annotated[str, typer.Option(help="Name of the candidate.")] = "candidate",
    report: Annotated[Path | None, typer.Option(help="Write the §8.4 report here.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Compare on every suite dataset with paired bootstrap CIs; exit 1 when a hard threshold
    fails or is inconclusive, or on any critical failure."""
    outcome = client().eval_compare(
        suite,
        baseline=baseline,
        candidate=candidate,
        baseline_label=baseline_label,
        candidate_label=candidate_label,
    )
    record = outcome.record
    if report is not None:
        report.write_text(outcome.markdown, encoding="utf-8")
    if as_json:
        output.emit_json(
            {
                "record_id": record.record_id,
                "passed": record.passed,
                **{k: v for k, v in record.body.items() if k != "report"},
            }
        )
    else:
        output.out.print(outcome.markdown, markup=False)
        (output.ok if record.passed else output.fail)(f"comparison {record.record_id[:19]}…")
    return output.EXIT_OK if record.passed else output.EXIT_CHECK_FAILED


@command
def run(
    suite: Annotated[Path, typer.Option(help="LLM eval suite YAML (task: llm).")],
    target: Annotated[
        str,
        typer.Option(help="Outputs file, py:module:function, http(s)://… or openai:http(s)://…"),
    ],
    label: Annotated[str, typer.Option(help="Name of the evaluated system version.")],
    model: Annotated[str | None, typer.Option(help="Model name for chat endpoints.")] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per item.")] = 30.0,
    as_json: JsonOpt = False,
) -> int:
    """Run every case through the rules; exit 1 on any critical failure, error or timeout."""
    outcome = client().eval_run(suite, target=target, label=label, model=model, timeout_s=timeout)
    record = outcome.record
    if as_json:
        output.emit_json({"record_id": record.record_id, "passed": record.passed, **record.body})
    else:
        output.out.print(outcome.markdown, markup=False)
    return output.EXIT_OK if record.passed else output.EXIT_CHECK_FAILED


@command
def report(record_id: str, as_json: JsonOpt = False) -> int:
    """The stored §8.4 report of a comparison."""
    record = client().eval_record(record_id)
    if as_json:
        output.emit_json(record)
    else:
        output.out.print(record.body.get("report", ""), markup=False)
    return output.EXIT_OK


@command
def list_(as_json: JsonOpt = False) -> int:
    """Stored eval records, oldest first."""
    records = client().eval_records()
    if as_json:
        output.emit_json(
            [
                {
                    "record_id": r.record_id,
                    "kind": r.kind,
                    "subject": r.subject,
                    "passed": r.passed,
                    "created_at": r.created_at,
                }
                for r in records
            ]
        )
    else:
        output.table(
            "eval records",
            ["record", "kind", "subject", "passed", "at"],
            [(r.record_id[:19], r.kind, r.subject, r.passed, r.created_at) for r in records],
        )
    return output.EXIT_OK


def register_commands(app: typer.Typer) -> None:
    """Attach these commands."""
    eval_app.command("compare")(compare)
    eval_app.command("run")(run)
    eval_app.command("report")(report)
    eval_app.command("list")(list_)
    app.add_typer(eval_app, name="eval")
