"""Commands: ``ci run`` — the §5.3 CI checklist run as gate G2 evidence (P3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command

ci_app = typer.Typer(
    help="The §5.3 CI checklist, run here and recorded as G2 evidence.", no_args_is_help=True
)


@command
def run(
    release: Annotated[str, typer.Argument(help="The frozen release id.")],
    config: Annotated[Path, typer.Option("--config", help="CI config YAML (docs/specs.md).")],
    workdir: Annotated[
        Path | None, typer.Option(help="Directory the checks run in (default: the current one).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Also write the per-check report here (JSON).")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Run every check of a CI config and record one `ci` attestation for the release (G2).

    Commands run as argv lists without a shell; bandit and detect-secrets findings are
    counted from their JSON. A check that times out or cannot start is errored, never passed,
    and makes the attestation errored; a §5.3 row no check covers counts as a failed test.
    Exit 0 when every check passed and every row is covered, 1 otherwise (the evidence is
    recorded either way), 2 on a bad config or an unknown release (nothing runs or is
    written)."""
    result = client().ci.run(release, config, workdir=workdir)
    body = result.to_dict()
    if report is not None:
        report.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if as_json:
        output.emit_json(body)
    else:
        output.table(
            f"ci {result.ci_id} for {result.release_id}",
            ["check", "row", "status", "exit", "seconds", "findings", "metric"],
            [
                (
                    c.name,
                    c.row.value,
                    c.error.value if c.error else c.status.value,
                    "-" if c.exit_code is None else c.exit_code,
                    f"{c.duration_seconds:.1f}",
                    "-" if c.findings is None else c.findings,
                    c.metric,
                )
                for c in result.checks
            ],
        )
        for c in result.checks:
            if c.fix:
                output.fail(f"{c.name}: {c.fix}")
        if result.uncovered_rows:
            rows = ", ".join(r.value for r in result.uncovered_rows)
            output.fail(f"§5.3 rows no check covers (each counts as a failed test): {rows}")
        metrics = ", ".join(f"{k}={v}" for k, v in sorted(result.metrics.items()))
        output.kv(
            "evidence",
            [
                ("attestation", f"{result.attestation_id} ({result.status})"),
                ("metrics", metrics or "-"),
                ("not measured", ", ".join(result.unmeasured_metrics) or "-"),
                ("source", result.source),
            ],
        )
        (output.ok if result.passed else output.fail)(
            "every check passed" if result.passed else "CI did not pass"
        )
    return output.EXIT_OK if result.passed else output.EXIT_CHECK_FAILED


ci_app.command("run")(run)
