"""How the fraud-scoring demo drives the airel CLI and prints its steps (``run_demo.py``).

:class:`Demo` runs ``airel … --json`` as a user would and reads ids and outcomes from the JSON;
each step is one printed line (✓/✗, number, what happened, the id, the ``airel`` command that
shows it). With ``--verbose`` that command then runs too and prints its full output.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def short(ident: str) -> str:
    """``sha256:`` and the first 12 hex digits of a digest (enough to recognise it)."""
    return f"{ident[:19]}…" if ident.startswith("sha256:") and len(ident) > 19 else ident


class Demo:
    """Runs the airel CLI as a user would and prints one line per step."""

    def __init__(self, work: Path, *, verbose: bool) -> None:
        self.work = work
        self.verbose = verbose
        self.steps = 0
        self.pending: tuple[str, ...] | None = None  # --verbose: the look-up still to show
        width = max(160, int(os.environ.get("COLUMNS", "0") or 0))
        self.env = {**os.environ, "COLUMNS": str(width)}

    def cli(self, *args: str, expect: tuple[int, ...] = (0,)) -> tuple[int, Any]:
        """``airel ARGS --json``: its exit code and JSON. Another exit code stops the demo."""
        self.flush()
        cmd = [sys.executable, "-m", "airel.cli", *args, "--json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=self.env)
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            doc = None
        if proc.returncode not in expect or doc is None:
            raise SystemExit(
                f"airel {shlex.join(args)} --json exited {proc.returncode}, expected "
                f"{' or '.join(map(str, expect))}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
            )
        return proc.returncode, doc

    def step(
        self,
        ok: bool,
        text: str,
        ident: str | None = None,
        lookup: tuple[str, ...] | None = None,
        *,
        show: bool = True,
    ) -> None:
        """One line: ✓/✗, step number, what happened, the id and the command that shows it.

        With --verbose (and ``show``), that command's full output follows the step's lines.
        """
        self.flush()
        self.steps += 1
        parts = [f"{'✓' if ok else '✗'} {self.steps:>2} {text}"]
        if ident and not (lookup and ident in lookup):
            parts.append(short(ident))
        if lookup:
            parts.append(f"(airel {shlex.join(lookup)})")
        print("  ".join(parts), flush=True)
        if self.verbose and show and lookup:
            self.pending = lookup

    def flush(self) -> None:
        """--verbose: run the last step's look-up command and print its full output."""
        lookup, self.pending = self.pending, None
        if lookup:
            print(f"$ airel {shlex.join(lookup)}", flush=True)
            subprocess.run([sys.executable, "-m", "airel.cli", *lookup], check=True, env=self.env)
            print(flush=True)

    def plain(self, *args: str) -> None:
        """``airel ARGS`` for a command without ``--json`` (output shown with --verbose)."""
        self.flush()
        cmd = [sys.executable, "-m", "airel.cli", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=self.env)
        if proc.returncode != 0:
            raise SystemExit(
                f"airel {shlex.join(args)} exited {proc.returncode}:\n"
                f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
            )
        if self.verbose:
            print(f"$ airel {shlex.join(args)}\n{proc.stdout}", end="", flush=True)

    def detail(self, text: str) -> None:
        """An indented line under the step (failing rules, refusal fixes)."""
        print(f"    {text}", flush=True)

    def run_script(self, script: str, *args: str) -> None:
        """One of the example's Python scripts; its output only with --verbose (or failure)."""
        self.flush()
        cmd = [sys.executable, str(HERE / script), *args]
        if self.verbose:
            subprocess.run(cmd, check=True)
            return
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{script} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
