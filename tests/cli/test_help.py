"""The CLI's help and edges (issue 18, point 9): ``airel --version``; ``--json`` accepted before
or after the command; flags shown as flags (no ``<bool>`` placeholder, no ``--no-x`` twin);
examples in the help of every command, parsed against the command's real options; and ``fix:``
lines that add something the error did not already say."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airel.cli import output
from airel.cli.app import command_tree
from airel.cli.examples import EXAMPLES
from airel.cli.main import app
from airel.errors import InputError, Reason

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
runner = CliRunner()
WIDE = {"COLUMNS": "400"}  # no wrapping: every example line must appear as written
# Root options that take a value (examples may set them before the command).
ROOT_VALUE_OPTIONS = {"--home", "--database-url", "--actor"}
# A pair of named directions, not a flag and its negation.
SWITCHES = {("lineage", "--downstream")}


def leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """Every leaf command of the Click tree with its path (``"bundle create"``)."""
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name in sorted(subcommands):
            yield from leaves(subcommands[name], (*path, name))
    else:
        yield " ".join(path), command


LEAVES = dict(leaves(command_tree()))


def test_every_leaf_command_has_examples() -> None:
    """examples.py covers every command, and names no command that does not exist."""
    assert sorted(set(LEAVES) - set(EXAMPLES)) == [], "commands without examples"
    assert sorted(set(EXAMPLES) - set(LEAVES)) == [], "examples of no command"


@pytest.mark.parametrize("path", sorted(LEAVES))
def test_help_shows_examples_and_flags_as_flags(path: str) -> None:
    """``--help`` exits 0, ends with an Examples section of ``airel …`` lines and shows no
    boolean option with a value placeholder."""
    result = runner.invoke(app, [*path.split(), "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Examples" in text
    shown = [line.strip() for line in text.splitlines()]
    assert any(line.startswith("airel ") for line in shown)
    for _, line in EXAMPLES[path]:
        assert line in shown, f"example not shown intact: {line}"
    assert "<bool>" not in text
    for param in LEAVES[path].params:
        if getattr(param, "is_flag", False) and (path, param.opts[0]) not in SWITCHES:
            assert not param.secondary_opts, f"{path} {param.opts[0]}: shown as a --no- pair"


@pytest.mark.parametrize("args", [[], ["bundle"], ["gate"]])
def test_group_help_shows_flags_as_flags(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output


@pytest.mark.parametrize(
    ("path", "line"), [(path, line) for path, lines in EXAMPLES.items() for _, line in lines]
)
def test_examples_parse_against_the_real_options(path: str, line: str) -> None:
    """Each example names its command and parses with that command's options and arguments."""
    tokens = shlex.split(line)
    assert tokens[0] == "airel"
    rest = tokens[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[2:] if rest[0] in ROOT_VALUE_OPTIONS else rest[1:]
    words = path.split()
    assert rest[: len(words)] == words, f"{line!r} does not run `airel {path}`"
    command = LEAVES[path]
    with command.make_context(f"airel {path}", rest[len(words) :]) as ctx:
        assert ctx.params


def test_version() -> None:
    """``--version`` and ``-V`` print the installed version, in-process and as the console
    script (which answers without importing the SDK)."""
    expected = f"airel {metadata.version('airel')}"
    for flag in ("--version", "-V"):
        result = runner.invoke(app, [flag])
        assert result.exit_code == 0
        assert result.stdout.strip() == expected
    probe = (
        "import sys; from airel.cli.main import main; sys.argv = ['airel', '--version']; main(); "
        "print(sorted(m for m in sys.modules if m.startswith(('airel.client', 'sqlalchemy'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == [expected, "[]"]


REGISTERED = [("code", "code"), ("dataset", "train"), ("model", "model")]  # kind, file stem


@pytest.fixture
def quickstart(project: Path) -> Path:
    """The README quickstart registered in a fresh store (code, dataset, model)."""
    shutil.copytree(
        QUICKSTART, project, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".airel")
    )
    for args in (["init"], *(["register", k, f"{n}.yaml"] for k, n in REGISTERED)):
        result = runner.invoke(app, ["--actor", "tester", *args])
        assert result.exit_code == 0, result.output
    return project


@pytest.mark.parametrize(
    "command",
    [
        ["component", "list"],
        ["component", "show", "model", "fraud-score:1.0.0"],
        ["lineage", "model/fraud-score:1.0.0"],
        ["bundle", "list"],
    ],
)
def test_json_before_or_after_the_command(quickstart: Path, command: list[str]) -> None:
    """``airel --json X`` prints the same document as ``airel X --json``."""
    before = runner.invoke(app, ["--json", *command])
    after = runner.invoke(app, [*command, "--json"])
    assert before.exit_code == after.exit_code == 0, before.output + after.output
    assert json.loads(before.stdout) == json.loads(after.stdout)


def test_json_before_the_command_reaches_errors(quickstart: Path) -> None:
    """An error under a leading ``--json`` is the JSON error document, exit 2."""
    result = runner.invoke(app, ["--json", "bundle", "show", "NOPE"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["reason"] == "RELEASE_NOT_FOUND"


def test_json_on_a_command_without_json_output_is_a_usage_error(quickstart: Path) -> None:
    """Before or after the command, ``--json`` on ``gate memo`` is refused with exit 2."""
    for args in (["--json", "gate", "memo", "X"], ["gate", "memo", "X", "--json"]):
        result = runner.invoke(app, args, env=WIDE)
        assert result.exit_code == 2
        assert "--json" in result.output
    assert "has no JSON output" in runner.invoke(app, ["--json", "gate", "memo", "X"]).output


BAD_BUNDLE = """\
release_id: R-1
risk_tier: Tier 1
pipeline_type: classifier
model: {model_id: fraud-score, model_version: 1.0.0}
"""
TYPO = "use_case_id: FRAUD\ndescriptoin: a typo\n"  # an unknown field: the fix lists the allowed


def error_lines(stderr: str) -> tuple[str, str | None]:
    """(message, fix) of an error printed for people."""
    message = re.search(r"^error [A-Z_]+: (.*)$", stderr, re.MULTILINE)
    fix = re.search(r"^fix: (.*)$", stderr, re.MULTILINE)
    assert message, stderr
    return message.group(1), fix.group(1) if fix else None


@pytest.mark.parametrize(
    ("args", "files", "names"),
    [
        (["bundle", "show", "NOPE"], {}, "`airel bundle list`"),  # unknown release
        (["bundle", "check", "bad.yaml"], {"bad.yaml": BAD_BUNDLE}, "`use_case_id:`"),
        (["bundle", "check", "bad.yaml"], {"bad.yaml": BAD_BUNDLE + TYPO}, "use_case_id"),
        (["approve", "R-1"], {}, "--role model_risk"),  # no role given
        (["role", "revoke", "lena-vos", "compliance"], {}, "`airel role list"),  # not an admin
        (["evidence", "link", "R-1"], {}, "--eval ID"),
        (["alias", "set", "model", "fraud-score", "prod", "9.9.9"], {}, "`airel register model"),
        (["config", "show"], {"airel.toml": "[airel]\nactr = 'x'\n"}, "database_url"),
        (["config", "show"], {"airel.toml": "identities = 3\n"}, '= ["model_risk"]'),
    ],
)
def test_fix_lines_add_to_the_message(
    quickstart: Path, args: list[str], files: dict[str, str], names: str
) -> None:
    """For real error paths the fix is no part of the message and names the command, option,
    field or value to use."""
    for name, text in files.items():
        (quickstart / name).write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["--actor", "tester", *args], env=WIDE)
    assert result.exit_code == 2, result.output
    message, fix = error_lines(result.stderr)
    assert fix, result.stderr
    assert fix.lower() not in message.lower()
    assert names in fix


def test_a_fix_that_repeats_the_message_is_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    """At the edge a fix contained in the message gets no line; JSON keeps the field."""
    repeat = InputError(
        Reason.MISSING_FIELD, "the suite is missing; add the suite", fix="Add the suite."
    )
    assert output.fix_line(repeat) is None
    assert output.report_error(repeat, as_json=False) == 2
    assert "fix" not in capsys.readouterr().err
    useful = InputError(Reason.MISSING_FIELD, "no suite", fix="pass --suite suite.yaml")
    assert output.fix_line(useful) == "pass --suite suite.yaml"
    output.report_error(repeat, as_json=True)
    assert json.loads(capsys.readouterr().out)["fix"] == "Add the suite."
