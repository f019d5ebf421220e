"""The README's "Use" section runs as written from a fresh clone (issue 18).

The section's ``bash`` block is the one list of commands: its first line ``cd``\\s into a
directory of the repository, every other line is a command, and a ``# exit N`` in a line's
comment is the exit code the README promises for it (no such comment: 0). The test copies that
directory (as a clone has it) to a temporary place, runs each line there with the installed
``airel`` on ``PATH``, and compares exit codes; then it runs the section's Python snippet in the
same directory. Changing a command or its promised exit code is an edit to the README only.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PROMISE = re.compile(r"#\s*exit (\d+)\b")
TIMEOUT_S = 180


@dataclass(frozen=True)
class Step:
    """One README command and the exit code the README promises for it."""

    command: str
    exit_code: int


def use_section() -> str:
    """The README's "## Use" section, up to the next second-level heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Use\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def code_block(section: str, language: str) -> str:
    """The first fenced block of ``language`` in ``section``."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert blocks, f"no ```{language} block in the README's Use section"
    return str(blocks[0])


def use_steps() -> tuple[Path, list[Step]]:
    """(the directory the block cds into, its commands with their promised exit codes)."""
    lines = [
        line.strip()
        for line in code_block(use_section(), "bash").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    cd = shlex.split(lines[0], comments=True)
    assert len(cd) == 2, f"the Use block must start with `cd DIR`, not {lines[0]!r}"
    assert cd[0] == "cd", f"the Use block must start with `cd DIR`, not {lines[0]!r}"
    steps = []
    for line in lines[1:]:
        promise = PROMISE.search(line)
        steps.append(Step(line, int(promise.group(1)) if promise else 0))
    return ROOT / cd[1], steps


def test_use_section_shape() -> None:
    """The block cds into a shipped directory and runs airel commands with exit codes 0–2;
    the Python snippet compiles; bundle create's exit code is explained in the prose."""
    directory, steps = use_steps()
    assert directory.is_dir(), directory
    assert directory.resolve().is_relative_to(ROOT), directory
    assert (directory / "release.yaml").is_file()
    commands = [shlex.split(step.command, comments=True) for step in steps]
    assert all(words[0] == "airel" for words in commands), commands
    assert all(step.exit_code in {0, 1, 2} for step in steps), steps
    assert ["airel", "init"] in commands
    assert any(words[:3] == ["airel", "component", "register"] for words in commands)
    assert any(words[:3] == ["airel", "bundle", "create"] for words in commands)
    assert commands[-1][:3] == ["airel", "audit", "verify"]
    prose = use_section()
    for step in steps:
        if step.exit_code:
            words = shlex.split(step.command, comments=True)
            assert f"`{' '.join(words[1:3])}`" in prose, f"explain why {step.command!r} exits"
            assert f"exits {step.exit_code}" in prose
    compile(code_block(prose, "python"), "README.md", "exec")


def _airel_on_path(tmp: Path) -> str:
    """A PATH with the installed ``airel`` first: the entry point next to this interpreter,
    or a shim running ``python -m airel.cli`` when there is none."""
    bindir = Path(sys.executable).parent
    if not (bindir / "airel").is_file():
        bindir = tmp / "bin"
        bindir.mkdir()
        shim = bindir / "airel"
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m airel.cli "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.mark.slow
def test_use_section_runs_as_written(tmp_path: Path) -> None:
    """Every command of the Use block exits as promised in a copy of its directory, and the
    Python snippet then runs there."""
    directory, steps = use_steps()
    work = tmp_path / directory.name
    shutil.copytree(directory, work, ignore=shutil.ignore_patterns(".airel", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIREL_")}
    env |= {"PATH": _airel_on_path(tmp_path), "COLUMNS": "160", "NO_COLOR": "1"}
    for step in steps:
        proc = subprocess.run(
            ["bash", "-c", step.command],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=TIMEOUT_S,
        )
        assert proc.returncode == step.exit_code, (
            f"$ {step.command}\nexited {proc.returncode}, the README promises {step.exit_code}\n"
            f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    snippet = code_block(use_section(), "python")
    proc = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.startswith("sha256:"), proc.stdout
