"""The Typer app, global options and the command wrapper shared by every command module.

Global options (``--home``, ``--database-url``, ``--actor``) become Settings arguments, the
highest-precedence source. Errors are rendered once, here, and mapped to exit codes by
:mod:`airel.cli.output`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer

from airel.cli import output
from airel.client import Client
from airel.config import load_settings
from airel.errors import AirelError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="airel",
    help="Release AI systems under control: bundles, registries, lineage, audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state: dict[str, Any] = {}

JsonOpt = Annotated[bool, typer.Option("--json", help="Print plain JSON for CI.")]
ReleaseOpt = Annotated[
    str | None,
    typer.Option(
        "--release", help="Link the stored result as gate evidence of this frozen release."
    ),
]


@app.callback()
def _global(
    home: Annotated[
        Path | None, typer.Option(help="Store directory (default ./.airel).", envvar=None)
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Metadata store URL (SQLite or PostgreSQL).")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Who is acting (audit log).")] = None,
) -> None:
    """Global options; they override airel.toml and AIREL_* variables."""
    _state["overrides"] = {"home": home, "database_url": database_url, "actor": actor}


def client() -> Client:
    """The Client for this invocation."""
    if "client" not in _state:
        _state["client"] = Client(load_settings(_state.get("overrides")))
    result: Client = _state["client"]
    return result


def require_release(release: str | None) -> None:
    """``--release``: refuse an unknown release before any work is done."""
    if release is not None:
        client().bundle(release)


def link_to_release(
    release: str | None, *, eval: str | None = None, validation: str | None = None
) -> None:
    """``--release``: link the stored eval record or validation run as the release's evidence."""
    if release is not None:
        client().link_evidence(release, eval=eval, validation=validation)


def say_linked(release: str | None) -> None:
    """The success line for ``--release`` (text output)."""
    if release is not None:
        output.ok(f"linked to {release} as gate evidence")


def command(fn: F) -> F:
    """Wrap a command: render AirelError with its fix and exit with the mapped code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json", False))
        try:
            code = fn(*args, **kwargs)
        except AirelError as exc:
            raise typer.Exit(output.report_error(exc, as_json=as_json)) from None
        finally:
            if "client" in _state:
                _state.pop("client").close()
        raise typer.Exit(code or 0)

    return cast(F, wrapper)
