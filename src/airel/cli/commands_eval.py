"""Commands: ``eval compare|run|rejudge|report|list`` (issue 4)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from airel.cli import output
from airel.cli.app import (
    JsonOpt,
    ReleaseOpt,
    client,
    command,
    report_evidence,
    require_release,
)

if TYPE_CHECKING:
    from airel.domain.eval.record import EvalRecord

eval_app = typer.Typer(help="Offline evaluation: baseline vs candidate.", no_args_is_help=True)


JudgeOpt = Annotated[
    str | None,
    typer.Option(
        help="OpenAI-compatible endpoint for judge evaluators (else AIREL_JUDGE_ENDPOINT)."
    ),
]
JudgeConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Judge calls in flight at once (else AIREL_JUDGE_CONCURRENCY, default 4). The "
        "judge's headers come from AIREL_JUDGE_HEADERS, AIREL_JUDGE_API_KEY or "
        "AIREL_JUDGE_SECRETS_FILE, never from an option.",
    ),
]
TARGET_HELP = "outputs file, py:module:function, http(s)://… or openai:http(s)://…"


@command
def compare(
    suite: Annotated[Path, typer.Option(help="Eval suite YAML.")],
    baseline: Annotated[
        str, typer.Option(help=f"Baseline: predictions (id, score); LLM suites: {TARGET_HELP}.")
    ],
    candidate: Annotated[
        str, typer.Option(help=f"Candidate: predictions (id, score); LLM suites: {TARGET_HELP}.")
    ],
    baseline_label: Annotated[str, typer.Option(help="Name of the baseline.")] = "baseline",
    candidate_label: Annotated[str, typer.Option(help="Name of the candidate.")] = "candidate",
    baseline_model: Annotated[
        str | None, typer.Option(help="LLM suites: model name for a chat endpoint baseline.")
    ] = None,
    candidate_model: Annotated[
        str | None, typer.Option(help="LLM suites: model name for a chat endpoint candidate.")
    ] = None,
    judge_endpoint: JudgeOpt = None,
    judge_concurrency: JudgeConcurrencyOpt = None,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="LLM suites: seconds per item for the target call, the judge verdict "
            "(retries included) and each plugin.",
        ),
    ] = 30.0,
    report: Annotated[Path | None, typer.Option(help="Write the §8.4 report here.")] = None,
    release: ReleaseOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Compare on every suite dataset with paired bootstrap CIs; exit 1 when a hard threshold
    fails or is inconclusive, or on any critical failure (LLM suites: also on any candidate
    error or timeout). With --release, the comparison is linked as G4 evidence."""
    require_release(release)
    outcome = client().evals.compare(
        suite,
        baseline=baseline,
        candidate=candidate,
        baseline_label=baseline_label,
        candidate_label=candidate_label,
        baseline_model=baseline_model,
        candidate_model=candidate_model,
        judge_endpoint=judge_endpoint,
        timeout_s=timeout,
        judge_concurrency=judge_concurrency,
    )
    record = outcome.record
    return report_evidence(
        release,
        link={"eval": record.record_id},
        passed=record.passed is True,  # None (not decided) is not a pass
        markdown=outcome.markdown,
        payload=_record_payload(record),
        as_json=as_json,
        write_to=report,
        verdict=f"comparison {record.record_id[:19]}…",
    )


@command
def run(
    suite: Annotated[Path, typer.Option(help="Eval suite YAML (task: classifier or llm).")],
    target: Annotated[
        str,
        typer.Option(
            help="Classifier: a predictions file (id, score). LLM: an outputs file, "
            "py:module:function, http(s)://… or openai:http(s)://…"
        ),
    ],
    label: Annotated[str, typer.Option(help="Name of the evaluated system version.")],
    model: Annotated[str | None, typer.Option(help="Model name for chat endpoints.")] = None,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.1,
            help="Seconds per item for the target call, the judge verdict (retries included) "
            "and each plugin.",
        ),
    ] = 30.0,
    judge_endpoint: JudgeOpt = None,
    judge_concurrency: JudgeConcurrencyOpt = None,
    release: ReleaseOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Evaluate one system on a suite. Classifier: every metric with a bootstrap CI, absolute
    thresholds, must-pass regression/red-team sets. LLM: every case through the rules and the
    suite's judge and plugin evaluators. Exit 1 on any critical failure, error, timeout or
    evaluator error, or a hard threshold not passed. With --release, the run is linked as G4
    evidence."""
    require_release(release)
    outcome = client().evals.run(
        suite,
        target=target,
        label=label,
        model=model,
        timeout_s=timeout,
        judge_endpoint=judge_endpoint,
        judge_concurrency=judge_concurrency,
    )
    record = outcome.record
    return report_evidence(
        release,
        link={"eval": record.record_id},
        passed=record.passed is True,  # None (not decided) is not a pass
        markdown=outcome.markdown,
        payload=_record_payload(record),
        as_json=as_json,
    )


def _record_payload(record: EvalRecord) -> dict[str, Any]:
    """An eval record's JSON output: its id, verdict and body (the report is in the file)."""
    body = {k: v for k, v in record.body.items() if k != "report"}
    return {"record_id": record.record_id, "passed": record.passed, **body}


def _rejudged(judgements: list[Any]) -> dict[str, Any]:
    """Counts and the verdict of every item (raw request/response: see `eval report --json`)."""
    verdicts = [j.verdict for j in judgements]
    return {
        "items": len(judgements),
        "passed": verdicts.count("pass"),
        "failed": verdicts.count("fail"),
        "errored": verdicts.count("error"),
        "judgements": [
            {
                "item_id": j.item_id,
                "verdict": j.verdict,
                "score": j.score,
                "reason": j.reason,
                "error": j.error,
            }
            for j in judgements
        ],
    }


@command
def rejudge(
    record_id: Annotated[str, typer.Argument(help="A stored eval run or comparison.")],
    as_json: JsonOpt = False,
) -> int:
    """Re-read a stored run's or comparison's raw judge responses with the current verdict
    parser, without calling the judge endpoint; per evaluator (comparisons: baseline/REF and
    candidate/REF) the verdicts pass, fail or error. Exit 1 when any item is an evaluator error
    (unparseable, or its judge call failed), as `eval run` does; 2 for an unknown record or one
    without judge verdicts. Example: airel eval rejudge "$(airel eval list --json | jq -r
    '.[-1].record_id')" --json"""
    judged = client().evals.rejudge(record_id)
    summary = {name: _rejudged(items) for name, items in judged.items()}
    errored = sum(s["errored"] for s in summary.values())
    if as_json:
        output.emit_json({"record_id": record_id, "errored": errored, "evaluators": summary})
    else:
        output.table(
            f"re-judged {record_id[:19]}",
            ["evaluator", "items", "pass", "fail", "error"],
            [
                (name, s["items"], s["passed"], s["failed"], s["errored"])
                for name, s in summary.items()
            ],
        )
        for name, s in summary.items():
            for j in s["judgements"]:
                if j["verdict"] == "error":
                    output.out.print(f"✗ {name} {j['item_id']}: {j['error']}", markup=False)
    return output.EXIT_CHECK_FAILED if errored else output.EXIT_OK


@command
def report(record_id: str, as_json: JsonOpt = False) -> int:
    """The stored report: the §8.4 report of a comparison, the summary of a run."""
    record = client().evals.record(record_id)
    if as_json:
        output.emit_json(record)
    else:
        output.out.print(record.body.get("report", ""), markup=False)
    return output.EXIT_OK


@command
def list_(as_json: JsonOpt = False) -> int:
    """Stored eval records, oldest first."""
    records = client().evals.records()
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


# The group's commands (the group itself is listed in airel.cli.table).
eval_app.command("compare")(compare)
eval_app.command("run")(run)
eval_app.command("rejudge")(rejudge)
eval_app.command("report")(report)
eval_app.command("list")(list_)
