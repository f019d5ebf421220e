"""The ``airel`` command line: ``airel <noun> <verb>``, each command one SDK call.

Command modules attach themselves to :data:`airel.cli.app.app`; this module wires them and
is the console-script entry point.
"""

from __future__ import annotations

import sys

from airel.cli import (
    commands_admin,
    commands_audit,
    commands_bundle,
    commands_data,
    commands_eval,
    commands_gate,
    commands_policy,
    commands_registry,
)
from airel.cli.app import app

__all__ = ["app", "main"]

for _module in (
    commands_admin,
    commands_registry,
    commands_bundle,
    commands_data,
    commands_eval,
    commands_gate,
    commands_policy,
    commands_audit,
):
    _module.register_commands(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
