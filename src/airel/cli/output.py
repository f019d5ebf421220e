"""Rendering for the CLI: plain JSON for machines, Rich for people, one exit-code table.

Exit codes (documented in the README):

====  ==========================================================================
0     success
1     a check or gate failed (incomplete bundle, broken audit chain, bad blob)
2     bad input or usage, a missing or conflicting record, an unusable store
====  ==========================================================================
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from airel.errors import AirelError, Reason

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2

# Every AirelError is the caller's to fix (input, missing/conflicting record, store setup).
EXIT_CODES: dict[type[AirelError], int] = {AirelError: EXIT_BAD_INPUT}
# ... except refusals that report a failed check: freezing an incomplete bundle (B3).
EXIT_REASONS: dict[Reason, int] = {Reason.BUNDLE_INCOMPLETE: EXIT_CHECK_FAILED}

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def reset_consoles() -> None:
    """Fresh consoles for the command about to run.

    Rich reads the terminal width (``COLUMNS``) and ``NO_COLOR`` when a console is made; a
    process that runs several commands (the tests, a program embedding the CLI) must not keep
    the settings of whichever command imported this module first.
    """
    global out, err  # noqa: PLW0603 -- the two consoles every command prints through
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)


def to_jsonable(value: Any) -> Any:
    """Pydantic models, dataclasses, tuples and enums to plain JSON values."""
    if callable(getattr(value, "model_dump", None)):  # a pydantic model (no import needed)
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), (str, int)):
        return value.value
    return value


def emit_json(value: Any) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, sort_keys=True, default=str))
    sys.stdout.write("\n")


def exit_code_for(error: AirelError) -> int:
    """The exit code of an error (one table for the whole CLI)."""
    if error.reason in EXIT_REASONS:
        return EXIT_REASONS[error.reason]
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return EXIT_BAD_INPUT


def _squashed(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .;:")


def fix_line(error: AirelError) -> str | None:
    """The fix worth a line of its own: None when it only repeats (or is part of) the message."""
    fix = (error.fix or "").strip()
    if not fix or _squashed(fix) in _squashed(error.message):
        return None
    return fix


def report_error(error: AirelError, *, as_json: bool) -> int:
    """Print an error for people (stderr) or machines (stdout JSON); return its exit code."""
    if as_json:
        emit_json(error.to_dict())
    else:
        err.print(f"[bold red]error[/] [dim]{error.reason.value}[/]: {escape(error.message)}")
        fix = fix_line(error)
        if fix:
            err.print(f"[bold]fix[/]: {escape(fix)}")
        for problem in error.details.get("problems", [])[1:]:
            if isinstance(problem, dict):
                where = f" (line {problem['line']})" if "line" in problem else ""
                text = problem.get("message", problem)
                field = problem.get("field", "")
                err.print(escape(f"  also: {field}{where}: {text}"))
    return exit_code_for(error)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a Rich table."""
    t = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    out.print(t)


def kv(title: str, pairs: Iterable[tuple[str, Any]]) -> None:
    """Print key/value pairs under a heading."""
    out.print(f"[bold]{title}[/]")
    for key, value in pairs:
        out.print(f"  [cyan]{key}[/]: {'' if value is None else value}")


def ok(message: str) -> None:
    """A success line."""
    out.print(f"[green]✓[/] {message}")


def fail(message: str) -> None:
    """A failed-check line."""
    out.print(f"[red]✗[/] {message}")
