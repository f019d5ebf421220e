"""``airel ci run`` end to end (P3, §5.3): real subprocess checks and real bandit and
detect-secrets scans in a working directory, one audited ``ci`` attestation read back by gate
G2, exit 0 / 1 / 2, and nothing run or written on a bad config or an unknown release — on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from airel.domain.promotion.ci_checklist import TAIL_BYTES, CheckError, CheckStatus, CiRow
from airel.errors import AirelError, Reason
from airel.services.promotion import ci
from gate_fixtures import V2, freeze_pair, now

runner = CliRunner()
PY = json.dumps(sys.executable)  # a YAML-safe quoted path of this interpreter
CLEAN = "def add(a, b):\n    return a + b\n"
RISKY = (
    "import subprocess\nimport sys\n"
    'password = "hunter2-is-not-a-secret"\n'
    "subprocess.call(sys.argv[1], shell=True)\n"
)
AWS = 'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'
ROWS = [r.value for r in CiRow if r is not CiRow.SECURITY]


def command_checks(code: str = "pass", **extra: Any) -> str:
    """One passing command check per §5.3 row except security (a stand-in test suite)."""
    opts = "".join(f", {k}: {v}" for k, v in extra.items())
    return "".join(
        f'  - {{name: {row.replace("_", "-")}, row: {row}, command: [{PY}, -c, "{code}"]{opts}}}\n'
        for row in ROWS
    )


GREEN = (
    "ci_id: fraud-ci\nchecks:\n"
    + command_checks()
    + f'  - {{name: image, row: reproducibility, command: [{PY}, -c, "pass"], '
    "metric: ci_container_built}\n"
    "  - {name: sast, row: security, tool: bandit, paths: [src]}\n"
    "  - {name: secrets, row: security, tool: detect-secrets, paths: [src]}\n"
    "  - {name: deps, row: security, tool: bandit, paths: [src], min_severity: high,"
    " metric: ci_critical_cves}\n"
    "  - {name: egress, row: security, tool: detect-secrets, paths: [src],"
    " metric: ci_unplanned_low_cves}\n"
)


@pytest.fixture
def release(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Client:
    freeze_pair(fraud_registry, bundle_yaml, write)
    return fraud_registry


@pytest.fixture
def repo(project: Path) -> Path:
    """A working directory with clean sources."""
    root = project / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "model.py").write_text(CLEAN)
    return root


def audit_count(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def g2_facts(client: Client) -> tuple[dict[str, Any], list[str]]:
    """The CI facts gate G2 read and the decision's G2 reasons."""
    record = client.gates.check(V2, through="G2", now=now()).record
    facts = record.body["inputs"]["facts"]
    ci_facts = {k: v for k, v in facts.items() if k.startswith("ci_")}
    reasons = [r for r in record.body["outcome"]["reasons"] if r.startswith("G2:")]
    return ci_facts, reasons


def test_a_green_run_records_one_attestation_that_passes_g2(
    release: Client, repo: Path, write: Any
) -> None:
    config = write("ci.yaml", GREEN)
    before = audit_count(release)
    report = ci.run_ci(release.ctx, V2, config, workdir=repo)
    assert report.passed
    assert report.status == "ok"
    assert report.uncovered_rows == ()
    assert {c.status for c in report.checks} == {CheckStatus.PASSED}
    assert [c.findings for c in report.checks if c.row is CiRow.SECURITY] == [0, 0, 0, 0]
    assert report.metrics == {
        "ci_tests_failed": 0,
        "ci_container_built": True,
        "ci_critical_cves": 0,
        "ci_unplanned_low_cves": 0,
    }
    assert audit_count(release) == before + 1  # one audited attestation
    (stored,) = release.gates.evidence(V2).attestations
    assert stored.attestation_id == report.attestation_id
    assert stored.kind == "ci"
    assert stored.status.value == "ok"
    assert stored.source == f"airel-ci:fraud-ci:{report.digest}"
    assert dict(stored.metrics) == dict(report.metrics)
    facts, reasons = g2_facts(release)
    assert {k: (v["status"], v["value"]) for k, v in facts.items()} == {
        "ci_tests_failed": ("ok", 0),
        "ci_container_built": ("ok", True),
        "ci_critical_cves": ("ok", 0),
        "ci_unplanned_low_cves": ("ok", 0),
    }
    assert reasons == []


def test_failures_scans_and_uncovered_rows_fail_g2(release: Client, repo: Path, write: Any) -> None:
    (repo / "src" / "risky.py").write_text(RISKY)
    (repo / "src" / "keys.py").write_text(AWS)
    config = write(
        "ci.yaml",
        "ci_id: red\nchecks:\n"
        f'  - {{name: unit, row: pipeline, command: [{PY}, -c, "raise SystemExit(3)"]}}\n'
        "  - {name: sast, row: security, tool: bandit, paths: [src], min_severity: high}\n"
        "  - {name: secrets, row: security, tool: detect-secrets, paths: [src/keys.py]}\n"
        "  - {name: cves, row: security, tool: bandit, paths: [src], min_severity: low,"
        " metric: ci_critical_cves}\n",
    )
    report = release.ci.run(V2, config, workdir=repo)
    by_name = {c.name: c for c in report.checks}
    assert by_name["unit"].status is CheckStatus.FAILED
    assert by_name["unit"].exit_code == 3
    assert (by_name["sast"].status, by_name["sast"].findings) == (CheckStatus.FAILED, 1)
    assert "B602" in by_name["sast"].output_tail  # subprocess with shell=True
    assert (by_name["secrets"].status, by_name["secrets"].findings) == (CheckStatus.FAILED, 1)
    assert "AWS Access Key" in by_name["secrets"].output_tail
    assert by_name["cves"].findings is not None
    assert by_name["cves"].findings >= 3  # shell=True, the hard-coded password, the import
    assert report.status == "ok"  # every check ran and decided
    assert not report.passed
    assert report.uncovered_rows == tuple(r for r in CiRow if r.value in ROWS[1:])
    assert report.metrics == {
        "ci_tests_failed": 3 + len(report.uncovered_rows),
        "ci_critical_cves": by_name["cves"].findings,
    }
    assert report.unmeasured_metrics == ("ci_container_built", "ci_unplanned_low_cves")
    facts, reasons = g2_facts(release)
    assert facts["ci_tests_failed"]["value"] == report.metrics["ci_tests_failed"]
    assert facts["ci_container_built"]["status"] == "missing"  # no check built it
    assert facts["ci_unplanned_low_cves"]["status"] == "missing"
    assert "G2:CI_FAILED:ci-tests" in reasons
    assert "G2:CRITICAL_CVE:critical-cves" in reasons


def test_a_timeout_or_a_program_that_cannot_start_is_errored_never_passed(
    release: Client, repo: Path, write: Any
) -> None:
    config = write(
        "ci.yaml",
        "ci_id: broken\nchecks:\n"
        + command_checks()
        + f'  - {{name: slow, row: security, command: [{PY}, -c, "import time; '
        'time.sleep(60)"], timeout_seconds: 1}\n'
        "  - {name: ghost, row: security, command: [no-such-program-airel-ci]}\n"
        f"  - {{name: chatty, row: security, command: [{PY}, -c, \"print(10000 * 'x')\"]}}\n",
    )
    report = ci.run_ci(release.ctx, V2, config, workdir=repo)
    by_name = {c.name: c for c in report.checks}
    slow, ghost = by_name["slow"], by_name["ghost"]
    assert (slow.status, slow.error, slow.exit_code) == (
        CheckStatus.ERRORED,
        CheckError.TIMEOUT,
        None,
    )
    assert slow.duration_seconds < 30
    assert (ghost.status, ghost.error) == (CheckStatus.ERRORED, CheckError.NOT_STARTED)
    assert slow.fix
    assert ghost.fix
    assert by_name["chatty"].status is CheckStatus.PASSED
    assert len(by_name["chatty"].output_tail.encode()) <= TAIL_BYTES
    assert report.status == "errored"
    assert report.metrics == {"ci_tests_failed": 2}
    (stored,) = release.gates.evidence(V2).attestations
    assert stored.status.value == "errored"
    facts, reasons = g2_facts(release)
    assert facts["ci_tests_failed"]["status"] == "errored"
    assert "G2:CI_FAILED:ci-tests" in reasons


def test_a_missing_scanner_or_path_is_errored_with_its_fix(
    release: Client, repo: Path, write: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        "ci.yaml",
        "ci_id: tools\nchecks:\n"
        "  - {name: sast, row: security, tool: bandit, paths: [src], metric: ci_critical_cves}\n"
        "  - {name: gone, row: security, tool: detect-secrets, paths: [nowhere]}\n",
    )
    real = ci.tool_argv
    monkeypatch.setattr(
        ci, "tool_argv", lambda tool: None if tool.value == "bandit" else real(tool)
    )
    report = ci.run_ci(release.ctx, V2, config, workdir=repo)
    sast, gone = report.checks
    assert (sast.status, sast.error) == (CheckStatus.ERRORED, CheckError.TOOL_MISSING)
    assert "pip install bandit" in (sast.fix or "")
    assert (gone.status, gone.error) == (CheckStatus.ERRORED, CheckError.PATH_MISSING)
    assert report.status == "errored"
    assert "ci_critical_cves" not in report.metrics  # an unknown count is never a 0


Cli = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(release: Client, database_url: str) -> Cli:
    def run(*args: str) -> tuple[int, Any]:
        result = runner.invoke(app, ["--database-url", database_url, "--actor", "ci-bot", *args])
        text = result.stdout.strip()
        try:
            return result.exit_code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return result.exit_code, text

    return run


def test_cli_exit_codes_report_file_and_json(
    cli: Cli, release: Client, repo: Path, write: Any, project: Path
) -> None:
    config, report_file = write("ci.yaml", GREEN), project / "ci-report.json"
    args = ["ci", "run", V2, "--config", str(config), "--workdir", str(repo)]
    code, out = cli(*args, "--report", str(report_file), "--json")
    assert code == 0, out
    assert out["passed"] is True
    assert json.loads(report_file.read_text()) == out
    assert out["attestation_id"] == release.gates.evidence(V2).attestations[0].attestation_id
    code, text = cli(*args)
    assert code == 0, text
    assert "every check passed" in text
    (repo / "src" / "keys.py").write_text(AWS)
    code, text = cli(*args)
    assert code == 1, text
    assert "CI did not pass" in text
    assert [a.status.value for a in release.gates.evidence(V2).attestations] == ["ok"] * 3


def test_cli_refuses_bad_input_with_exit_2_and_writes_nothing(
    cli: Cli, release: Client, repo: Path, write: Any
) -> None:
    marker = repo / "ran"
    touch = f"[{PY}, -c, \"open('ran', 'w')\"]"
    good = write(
        "good.yaml", f"ci_id: c\nchecks:\n  - {{name: t, row: pipeline, command: {touch}}}\n"
    )
    bad = write("bad.yaml", f"ci_id: c\nchecks:\n  - {{name: t, row: unit, command: {touch}}}\n")
    shell = write("shell.yaml", "ci_id: c\nchecks:\n  - {name: t, row: pipeline, command: ls -l}\n")
    before = audit_count(release)
    cases = [
        (bad, V2, "INVALID_VALUE"),
        (shell, V2, "WRONG_TYPE"),
        (repo / "missing.yaml", V2, None),
        (good, "FRAUD-2099-404", Reason.RELEASE_NOT_FOUND.value),
    ]
    for config, release_id, reason in cases:
        code, out = cli("ci", "run", release_id, "--config", str(config), "--workdir", str(repo),
                        "--json")  # fmt: skip
        assert code == 2, out
        if reason is not None:
            assert out["reason"] == reason, out
    code, out = cli("ci", "run", V2, "--config", str(good), "--workdir", str(repo / "nope"),
                    "--json")  # fmt: skip
    assert (code, out["reason"]) == (2, "INVALID_VALUE")
    assert not marker.exists()  # no check ran
    assert audit_count(release) == before
    assert release.gates.evidence(V2).attestations == []


def test_the_sdk_refuses_a_bad_config_before_running(release: Client, write: Any) -> None:
    config = write("ci.yaml", "ci_id: c\nchecks:\n  - {name: t, row: pipeline}\n")
    with pytest.raises(AirelError) as info:
        release.ci.check_config(config)
    assert info.value.reason is Reason.MISSING_FIELD
    assert info.value.details["problems"][0]["field"] == "checks.0.tool"
