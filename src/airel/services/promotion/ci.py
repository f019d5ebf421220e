"""Use case: run the §5.3 CI checklist of a release and record it as G2 evidence (P3).

``run_ci`` loads the CI config strictly (nothing runs and nothing is written on a bad config or
an unknown release), runs every check in the working directory — a command as an argv list, a
built-in scanner (bandit, detect-secrets) whose JSON report :func:`read_scan` turns into a
finding count — each as a subprocess without a shell, with its timeout, stdin closed and its
output captured, and records ONE ``ci``
attestation for the release through :func:`airel.services.gate.evidence.add_attestation`
(audited ``gate.attest``): the metrics of :func:`airel.domain.promotion.ci_checklist.ci_metrics`,
status ``errored`` when any check errored, and the source ``airel-ci:<ci_id>:<report digest>``.

This runs checks on the machine that calls it (the engineer's, or a CI runner through the CLI
or the SDK); a server never calls it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airel.adapters.documents.parse import load_document
from airel.domain.promotion.ci_checklist import (
    CheckError,
    CheckResult,
    CheckStatus,
    CiCheck,
    CiConfig,
    CiReport,
    ScanTool,
    Severity,
    build_report,
    parse_ci_config,
    tail,
)
from airel.errors import InputError, Reason
from airel.services.gate import evidence
from airel.services.kernel.context import Context
from airel.services.release import bundles

# Each scanner: its Python module (run with this interpreter), its console script, its package.
_TOOLS = {
    ScanTool.BANDIT: ("bandit", "bandit", "bandit"),
    ScanTool.DETECT_SECRETS: ("detect_secrets", "detect-secrets", "detect-secrets"),
}


@dataclass(frozen=True)
class ScanReading:
    """What airel read of a scanner's output: a count and one line per finding, or a problem."""

    findings: int | None
    lines: tuple[str, ...] = ()
    problem: CheckError | None = None
    detail: str | None = None


_RANK = {"low": 0, "medium": 1, "high": 2}  # bandit's UNDEFINED ranks with low


def _bandit(doc: Mapping[str, Any], exit_code: int, severity: Severity) -> ScanReading:
    if exit_code not in (0, 1) or doc.get("errors"):
        detail = f"bandit exited {exit_code}; errors: {doc.get('errors') or '-'}"
        return ScanReading(None, problem=CheckError.SCAN_INCOMPLETE, detail=str(detail))
    found = [
        r
        for r in doc["results"]
        if _RANK.get(str(r["issue_severity"]).lower(), 0) >= _RANK[severity.value]
    ]
    lines = tuple(
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_severity']} {r['issue_text']}"
        for r in found
    )
    return ScanReading(len(found), lines)


def _detect_secrets(doc: Mapping[str, Any], exit_code: int) -> ScanReading:
    if exit_code != 0:
        detail = f"detect-secrets exited {exit_code}"
        return ScanReading(None, problem=CheckError.SCAN_INCOMPLETE, detail=detail)
    found = [s for items in doc["results"].values() for s in items]
    lines = tuple(f"{s['filename']}:{s['line_number']} {s['type']}" for s in found)
    return ScanReading(len(found), lines)


def read_scan(tool: ScanTool, stdout: str, exit_code: int, severity: Severity) -> ScanReading:
    """Read a scanner's JSON report; output that is not its report is OUTPUT_UNREADABLE."""
    try:
        doc = json.loads(stdout)
        if tool is ScanTool.BANDIT:
            return _bandit(doc, exit_code, severity)
        return _detect_secrets(doc, exit_code)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = f"{tool.value} printed no readable JSON report (exit {exit_code}): {exc}"
        return ScanReading(None, problem=CheckError.OUTPUT_UNREADABLE, detail=detail)


def load_config(ctx: Context, path: Path) -> CiConfig:
    """A CI config file, parsed strictly (every problem listed)."""
    doc = load_document(path, ctx.limits)
    return parse_ci_config(doc.data, source=doc.source, lines=doc.lines)


def tool_argv(tool: ScanTool) -> list[str] | None:
    """How to start a scanner: this interpreter's module, else the console script on PATH."""
    module, script, _ = _TOOLS[tool]
    if importlib.util.find_spec(module) is not None:
        return [sys.executable, "-m", module]
    found = shutil.which(script)
    return [found] if found else None


@dataclass(frozen=True)
class _Ran:
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    error: CheckError | None = None
    detail: str | None = None


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the check and everything it started (its own session), so no pipe stays open."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover -- Windows has no process groups
            proc.kill()
    except ProcessLookupError:  # pragma: no cover -- already gone
        pass


def _spawn(argv: list[str], workdir: Path, timeout: int) -> _Ran:
    start = time.monotonic()
    try:
        proc = subprocess.Popen(  # noqa: S603 -- the config's argv list, never a shell
            argv,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return _Ran(None, "", "", time.monotonic() - start, CheckError.NOT_STARTED, str(exc))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        out, err = proc.communicate()
        detail = f"killed after {timeout} s (timeout_seconds)"
        return _Ran(
            None, _text(out), _text(err), time.monotonic() - start, CheckError.TIMEOUT, detail
        )
    return _Ran(proc.returncode, _text(out), _text(err), time.monotonic() - start)


def _missing_paths(check: CiCheck, workdir: Path) -> list[str]:
    root = workdir.resolve()
    missing = []
    for path in check.paths:
        target = (root / path).resolve()
        if not target.exists() or not target.is_relative_to(root):
            missing.append(path)
    return missing


def _fix(error: CheckError, check: CiCheck) -> str:
    if error is CheckError.TIMEOUT:
        return f"make the check faster or raise timeout_seconds (now {check.timeout_seconds})"
    if error is CheckError.NOT_STARTED:
        return "install the program or correct command[0]; it runs without a shell"
    if error is CheckError.TOOL_MISSING:
        assert check.tool is not None
        return f"pip install {_TOOLS[check.tool][2]} (or `pip install 'airel[dev]'`)"
    if error is CheckError.PATH_MISSING:
        return "correct paths: they are relative to --workdir and must exist inside it"
    return "run the scanner by hand in the working directory and fix what it reports"


def _errored(check: CiCheck, ran: _Ran, error: CheckError, detail: str | None) -> CheckResult:
    return CheckResult(
        name=check.name,
        row=check.row,
        metric=check.metric,
        status=CheckStatus.ERRORED,
        exit_code=ran.exit_code,
        duration_seconds=ran.seconds,
        output_tail=tail("\n".join(x for x in (detail, ran.stdout, ran.stderr) if x)),
        error=error,
        fix=_fix(error, check),
    )


def _run_command(check: CiCheck, workdir: Path) -> CheckResult:
    assert check.command is not None
    ran = _spawn(list(check.command), workdir, check.timeout_seconds)
    if ran.error is not None:
        return _errored(check, ran, ran.error, ran.detail)
    return CheckResult(
        name=check.name,
        row=check.row,
        metric=check.metric,
        status=CheckStatus.PASSED if ran.exit_code == 0 else CheckStatus.FAILED,
        exit_code=ran.exit_code,
        duration_seconds=ran.seconds,
        output_tail=tail(ran.stdout + ran.stderr),
    )


def _run_tool(check: CiCheck, workdir: Path) -> CheckResult:
    assert check.tool is not None
    nothing = _Ran(None, "", "", 0.0)
    base = tool_argv(check.tool)
    if base is None:
        return _errored(check, nothing, CheckError.TOOL_MISSING, f"{check.tool.value} not found")
    missing = _missing_paths(check, workdir)
    if missing:
        detail = "not found inside the working directory: " + ", ".join(missing)
        return _errored(check, nothing, CheckError.PATH_MISSING, detail)
    if check.tool is ScanTool.BANDIT:
        argv = [*base, "-f", "json", "-q", "-r", *check.paths]
    else:
        argv = [*base, "scan", "--all-files", *check.paths]
    ran = _spawn(argv, workdir, check.timeout_seconds)
    if ran.error is not None:
        return _errored(check, ran, ran.error, ran.detail)
    assert ran.exit_code is not None
    reading = read_scan(check.tool, ran.stdout, ran.exit_code, check.severity)
    if reading.problem is not None or reading.findings is None:
        error = reading.problem or CheckError.OUTPUT_UNREADABLE
        return _errored(check, dataclasses.replace(ran, stdout=""), error, reading.detail)
    return CheckResult(
        name=check.name,
        row=check.row,
        metric=check.metric,
        status=CheckStatus.FAILED if reading.findings else CheckStatus.PASSED,
        exit_code=ran.exit_code,
        duration_seconds=ran.seconds,
        findings=reading.findings,
        output_tail=tail("\n".join([*reading.lines, ran.stderr]).strip()),
    )


def run_check(check: CiCheck, workdir: Path) -> CheckResult:
    """Run one check in ``workdir``; whatever goes wrong makes it errored, never passed."""
    if check.tool is not None:
        return _run_tool(check, workdir)
    return _run_command(check, workdir)


def run_ci(ctx: Context, release_id: str, config_path: Path, *, workdir: Path) -> CiReport:
    """Run the CI checks of ``config_path`` for a frozen release and record one attestation.

    Refused before any check runs (nothing written): a bad config, an unknown or draft release,
    a working directory that is not a directory. Otherwise the attestation is recorded whether
    the checks passed or not; the returned report carries its id."""
    config = load_config(ctx, config_path)
    bundle = bundles.get_bundle(ctx, release_id)
    if not workdir.is_dir():
        raise InputError(
            Reason.INVALID_VALUE,
            f"working directory {workdir} is not a directory",
            fix="give --workdir the directory the checks run in (default: the current one)",
            details={"field": "workdir"},
        )
    started_at = ctx.stamp()
    results = [run_check(check, workdir) for check in config.checks]
    report = build_report(config, bundle.release_id, started_at, results)
    attestation = evidence.add_attestation(
        ctx, bundle.release_id, "ci", report.metrics, status=report.status, source=report.source
    )
    return dataclasses.replace(report, attestation_id=attestation.attestation_id)
