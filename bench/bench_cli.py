"""Benchmark: CLI start-up — ``airel --help``, every group's ``--help``, and a store read.

Issue 10's targets on the reference machine: ``airel --help`` and each command group's
``--help`` ≤ 0.3 s; a store read (``airel bundle show RELEASE``) ≤ 0.6 s — whole processes, as a
user types them. The store read runs in a copy of ``examples/quickstart`` where the README's
first commands have registered three components and frozen the toy release.

Each command runs ``--runs`` times after one warm-up; the table gives the median and the
slowest wall time, and the peak resident memory of the median run's process. Prints one
``RESULT_JSON:`` line; exits 1 when a median misses its target (``--no-check`` to only report).

Usage::

    .venv/bin/python bench/bench_cli.py [--runs 7] [--no-check]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from airel.cli.table import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(__file__).parent / ".work" / "cli"
QUICKSTART = ROOT / "examples" / "quickstart"
RELEASE = "FRAUD-QUICKSTART-001"
HELP_TARGET_S = 0.3
READ_TARGET_S = 0.6
SETUP = (
    ["init"],
    ["register", "code", "code.yaml"],
    ["register", "dataset", "train.yaml"],
    ["register", "model", "model.yaml"],
    ["bundle", "create", "release.yaml", "--freeze", "--allow-incomplete", "benchmark"],
)


def airel(*args: str) -> list[str]:
    """The command line of ``airel ARGS`` with this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "airel.cli", *args]


def groups() -> list[str]:
    """Every top-level command of the table (groups and verbs alike)."""
    return list(COMMANDS)


def time_once(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one run of ``cmd``; fails loudly on a non-zero exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[2:])} exited {proc.returncode}: {err.decode()[-400:]}")
    return wall, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def measure(cmd: list[str], runs: int, cwd: Path) -> dict[str, float]:
    """Median and max wall time over ``runs`` runs after one warm-up."""
    time_once(cmd, cwd)
    walls, peaks = zip(*(time_once(cmd, cwd) for _ in range(runs)), strict=True)
    return {
        "median_s": statistics.median(walls),
        "max_s": max(walls),
        "peak_mib": max(peaks),
    }


def setup() -> Path:
    """A copy of examples/quickstart with its first release frozen."""
    shutil.rmtree(WORK, ignore_errors=True)
    shutil.copytree(QUICKSTART, WORK)
    shutil.rmtree(WORK / ".airel", ignore_errors=True)
    for args in SETUP:
        proc = subprocess.run(airel(*args), capture_output=True, cwd=WORK, check=False)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"setup: airel {' '.join(args)}: {proc.stderr.decode()[-400:]}")
    return WORK


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-check", action="store_true", help="report without failing")
    args = parser.parse_args()
    os.environ.pop("AIREL_CONFIG", None)
    cwd = setup()
    rows: list[tuple[str, float, dict[str, float]]] = [
        ("airel --help", HELP_TARGET_S, measure(airel("--help"), args.runs, cwd)),
        ("airel --version", HELP_TARGET_S, measure(airel("--version"), args.runs, cwd)),
    ]
    for group in groups():
        rows.append(
            (
                f"airel {group} --help",
                HELP_TARGET_S,
                measure(airel(group, "--help"), args.runs, cwd),
            )
        )
    rows.append(
        (
            f"airel bundle show {RELEASE}",
            READ_TARGET_S,
            measure(airel("bundle", "show", RELEASE), args.runs, cwd),
        )
    )
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"{'command':44} {'median s':>9} {'max s':>7} {'peak MiB':>9} {'target':>7}")
    misses = []
    for name, target, m in rows:
        flag = "" if m["median_s"] <= target else "  MISSED"
        print(
            f"{name:44} {m['median_s']:9.3f} {m['max_s']:7.3f} {m['peak_mib']:9.1f} "
            f"{target:7.1f}{flag}"
        )
        if flag:
            misses.append(name)
    result: dict[str, Any] = {
        "runs": args.runs,
        "commands": {name: m for name, _, m in rows},
        "missed": misses,
    }
    print("RESULT_JSON: " + json.dumps(result, sort_keys=True))
    return 1 if misses and not args.no_check else 0


if __name__ == "__main__":
    sys.exit(main())
