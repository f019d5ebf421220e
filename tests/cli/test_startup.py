"""The lazy CLI (issue 10): ``airel --help`` and every group's help load no heavy library, and
the command table agrees with the modules it points at.

Start-up time itself is measured by ``bench/bench_cli.py`` (figures in docs/performance.md);
these tests pin what makes it fast: the modules a help screen imports.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys

import pytest
import typer

from airel.cli.app import command_tree
from airel.cli.table import COMMANDS

HEAVY = (
    "sqlalchemy",
    "pyarrow",
    "scipy",
    "duckdb",
    "alembic",
    "numpy",
    "airel.client",
    # help never builds a model or a key: Typer adapters and domain models load with the command
    "pydantic",
    "cryptography",
)

PROBE = """
import json, sys
sys.argv = ["airel", *sys.argv[1:]]
from airel.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy} or m in {heavy})))
"""


def loaded_heavy(*args: str) -> list[str]:
    """The heavy modules a fresh ``airel ARGS`` process has imported when it exits."""
    top = {name.split(".")[0] for name in HEAVY} | set(HEAVY)
    code = PROBE.replace("{heavy}", repr(top))
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    found: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return sorted({m for m in found if m in HEAVY or m.split(".")[0] in HEAVY})


def test_root_help_loads_no_heavy_module() -> None:
    """`airel --help` lists the table's summaries without importing a command module."""
    assert loaded_heavy("--help") == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_help_loads_no_heavy_module(name: str) -> None:
    """`airel <group> --help` imports only that group's module (and never the SDK)."""
    assert loaded_heavy(name, "--help") == []


def test_the_table_lists_every_group_of_every_command_module() -> None:
    """A Typer group defined in a command module but missing from the table would be
    unreachable; the table's summary of a group is the group's own help."""
    listed = {(e.module, e.attr) for e in COMMANDS.values()}
    for module_name in sorted({e.module for e in COMMANDS.values()}):
        module = importlib.import_module(f"airel.cli.{module_name}")
        for attr, value in vars(module).items():
            if isinstance(value, typer.Typer):
                assert (module_name, attr) in listed, f"{module_name}.{attr} is not in the table"
    for name, entry in COMMANDS.items():
        target = getattr(importlib.import_module(f"airel.cli.{entry.module}"), entry.attr)
        if entry.group:
            assert isinstance(target, typer.Typer), name
            assert target.info.help == entry.summary, name
        else:
            doc = " ".join((target.__doc__ or "").split())
            assert doc.startswith(entry.summary.rstrip(".").rstrip(")")[:40]), name


def test_the_loaded_tree_has_every_command() -> None:
    """Loading the table gives every group its commands (what docs/cli.md is built from)."""
    root = command_tree()
    assert list(root.commands) == list(COMMANDS)
    bundle_commands = getattr(root.commands["bundle"], "commands", {})
    assert set(bundle_commands) >= {"create", "freeze", "show", "list"}


def test_a_mistyped_command_gets_a_suggestion_from_the_table() -> None:
    """The suggestion comes from the table, not only from the commands already loaded."""
    proc = subprocess.run(
        [sys.executable, "-m", "airel.cli", "bundel", "list"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 2
    assert "Did you mean 'bundle'?" in proc.stderr


def test_top_level_verbs_alias_their_canonical_noun_commands() -> None:
    """CLI noun = SDK namespace (issue 10): `airel register` is `airel component register`,
    `airel approve` is `airel gate approve`; the alias says which form is canonical."""
    root = command_tree()
    for name, entry in COMMANDS.items():
        if entry.canonical is None:
            continue
        group_name, _, verb = entry.canonical.partition(" ")
        group_commands = getattr(root.commands[group_name], "commands", {})
        canonical = group_commands[verb]
        alias = root.commands[name]
        assert canonical.callback is not None
        assert alias.callback is not None
        assert inspect.unwrap(canonical.callback) is inspect.unwrap(alias.callback), name
        assert f"Alias of `airel {entry.canonical}`" in (alias.help or ""), name


def test_the_store_loads_no_rule_engine_or_data_library() -> None:
    """A store read (`airel bundle show`) opens the SQL store: it must not pull in the CEL
    runtime (the gate engine), PyArrow, SciPy, DuckDB or Alembic on the way."""
    code = (
        "import json, sys; import airel.store.sql, airel.runtime; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'cel', 'pyarrow', 'scipy', 'duckdb', 'alembic'} or m == 'airel.domain.gate.decision')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
