"""The ``airel`` command line: ``airel <noun> <verb>``, each command one SDK call.

The top-level commands are a table (:mod:`airel.cli.table`: name → module, summary); the
root imports a command's module only when that command runs or shows its own help, and each
module's commands get their help examples (:mod:`airel.cli.examples`) as they load. So
``airel --help`` and ``airel --version`` never load the SDK, SQLAlchemy, PyArrow or SciPy;
``from airel.cli.main import app`` gives the app (PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    app: typer.Typer

__all__ = ["app", "build_app", "main", "version_text"]

VERSION_FLAGS = (["--version"], ["-V"])


def version_text() -> str:
    """``airel <version>``, from the installed package's metadata."""
    from importlib import metadata  # noqa: PLC0415 (60 ms: only when the version is asked)

    try:
        version = metadata.version("airel")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        version = "unknown"
    return f"airel {version}"


def build_app() -> typer.Typer:
    """The app. Its root lists :data:`airel.cli.table.COMMANDS` and imports a command's module
    only when that command is used (:class:`airel.cli.app.LazyRoot`)."""
    from airel.cli.app import app  # noqa: PLC0415

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
