"""Commands: ``release status`` — the §5.8 promotion workflow of one release (SPEC P2).

Each of the twelve steps is done, pending or blocked, with the records that prove it (id
prefix, time, actor) and, for the first step not done, the command that moves it on. The
workflow is read from the records only; nothing is written.

Exit codes: 0 for a known release (frozen or drafted) whatever its steps say — this is a
report, not a check; 2 for an unknown release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command

release_app = typer.Typer(
    help="The §5.8 promotion workflow of a release: each step with its evidence.",
    no_args_is_help=True,
)


@command
def status(
    release: Annotated[str, typer.Argument(help="The release id (frozen or a draft).")],
    out: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """The twelve §5.8 steps of a release: done, pending or blocked, and the next step."""
    found = client().releases.status(release)
    markdown = found.markdown()
    if out is not None:
        out.write_text(markdown, encoding="utf-8")
    if as_json:
        output.emit_json(found.to_dict())
        return output.EXIT_OK
    output.table(
        f"release {release}: §5.8 promotion workflow",
        ["#", "owner", "state", "code", "detail", "evidence"],
        [
            (
                s.step.number,
                s.step.owner,
                s.state.value,
                s.code.value,
                s.detail,
                "\n".join(r.cite() for r in s.evidence) or "-",
            )
            for s in found.steps
        ],
    )
    following = found.next
    if following is None:
        output.ok("every step is done")
        return output.EXIT_OK
    output.out.print(
        f"next step: {following.step.number}, {following.step.owner} {following.step.action} "
        f"({following.state.value}, {following.code.value})",
        markup=False,
    )
    if following.fix:
        output.out.print(f"fix: {following.fix}", markup=False)
    return output.EXIT_OK


release_app.command("status")(status)
