"""The ``airel`` command line: ``airel <noun> <verb>``, each command one SDK call.

Command modules attach themselves to :data:`airel.cli.app.app`; :func:`build_app` wires them
once, attaches each command's help examples (:mod:`airel.cli.examples`) and is what the
console-script entry point runs. Nothing here imports the SDK at module level, so
``airel --version`` answers without loading it; ``from airel.cli.main import app`` still
gives the wired app (PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import sys
from importlib import metadata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    app: typer.Typer

__all__ = ["app", "build_app", "main", "version_text"]

VERSION_FLAGS = (["--version"], ["-V"])
_wired: list[typer.Typer] = []


def version_text() -> str:
    """``airel <version>``, from the installed package's metadata."""
    try:
        version = metadata.version("airel")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        version = "unknown"
    return f"airel {version}"


def build_app() -> typer.Typer:
    """The app with every command module registered and the help finished (once)."""
    # Imported here, not at module level: they load the SDK (SQLAlchemy, every service).
    from airel.cli import (  # noqa: PLC0415
        commands_admin,
        commands_audit,
        commands_bundle,
        commands_data,
        commands_eval,
        commands_gate,
        commands_identity,
        commands_policy,
        commands_registry,
    )
    from airel.cli.app import app, finish_help  # noqa: PLC0415

    if not _wired:
        for module in (
            commands_admin,
            commands_registry,
            commands_bundle,
            commands_data,
            commands_eval,
            commands_gate,
            commands_identity,
            commands_policy,
            commands_audit,
        ):
            module.register_commands(app)
        finish_help(app)
        _wired.append(app)
    return app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point (``airel --version`` / ``-V`` alone never loads the SDK)."""
    if sys.argv[1:] in VERSION_FLAGS:
        sys.stdout.write(version_text() + "\n")
        return
    application = build_app()
    try:
        application()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
