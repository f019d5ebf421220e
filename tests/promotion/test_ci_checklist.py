"""The §5.3 CI checklist (P3): the eight rows, the strict CI config (refusals with their reason
code and field), reading scanner output (the service's ``read_scan``), and the mapping of check
results to the G2 metrics — an errored check never passes, an uncovered row counts as a failed
test, an unmeasured metric stays absent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airel.adapters.documents.parse import parse_yaml
from airel.domain.gate.metrics import EvidenceKind, metrics_of
from airel.domain.promotion.ci_checklist import (
    CI_METRICS,
    TAIL_BYTES,
    CheckError,
    CheckResult,
    CheckStatus,
    CiRow,
    ScanTool,
    Severity,
    build_report,
    ci_metrics,
    parse_ci_config,
    tail,
)
from airel.errors import Reason, ValidationError
from airel.services.promotion.ci import read_scan

EXAMPLE = """\
ci_id: fraud-ci
checks:
  - {name: unit, row: pipeline, command: [python, -m, pytest, -q, tests/pipeline],
     timeout_seconds: 600}
  - {name: secrets, row: security, tool: detect-secrets, paths: [src]}
  - {name: sast, row: security, tool: bandit, paths: [src]}
"""
ALL_ROWS = {
    "ci_id": "all",
    "checks": [{"name": row.value.replace("_", "-"), "row": row.value, "command": ["true"]}
               for row in CiRow],
}  # fmt: skip


def refused(check: dict[str, Any]) -> dict[str, Any]:
    """The first problem of a config holding only ``check``."""
    with pytest.raises(ValidationError) as info:
        parse_ci_config({"ci_id": "c", "checks": [check]})
    problem: dict[str, Any] = info.value.problems[0]
    assert info.value.reason.value == problem["reason"]
    return problem


def test_the_checklist_has_the_eight_rows_and_the_metrics_are_g2s() -> None:
    assert [r.value for r in CiRow] == [
        "pipeline",
        "feature_transform",
        "schema",
        "prompt",
        "policy",
        "eval_code",
        "reproducibility",
        "security",
    ]
    assert set(CI_METRICS) == {m.name for m in metrics_of(EvidenceKind.CI)}


def test_the_documented_example_parses_with_its_defaults() -> None:
    doc = parse_yaml(EXAMPLE.encode(), source="ci.yaml")
    config = parse_ci_config(doc.data, source=doc.source, lines=doc.lines)
    unit, secrets, sast = config.checks
    assert unit.command == ["python", "-m", "pytest", "-q", "tests/pipeline"]
    assert unit.tool is None
    assert unit.metric == "ci_tests_failed"
    assert secrets.tool is ScanTool.DETECT_SECRETS
    assert secrets.timeout_seconds == 600
    assert sast.tool is ScanTool.BANDIT
    assert sast.severity is Severity.MEDIUM
    assert config.uncovered_rows() == (
        CiRow.FEATURE_TRANSFORM,
        CiRow.SCHEMA,
        CiRow.PROMPT,
        CiRow.POLICY,
        CiRow.EVAL_CODE,
        CiRow.REPRODUCIBILITY,
    )
    assert parse_ci_config(ALL_ROWS).uncovered_rows() == ()


CMD = {"name": "x", "row": "pipeline", "command": ["true"]}
SCAN = {"name": "x", "row": "security", "tool": "bandit", "paths": ["src"]}


@pytest.mark.parametrize(
    ("check", "field", "reason"),
    [
        ({"name": "x", "row": "pipeline"}, "checks.0.tool", Reason.MISSING_FIELD),
        ({**CMD, "tool": "bandit", "paths": ["src"]}, "checks.0.tool", Reason.INVALID_VALUE),
        ({**CMD, "command": "pytest -q"}, "checks.0.command", Reason.WRONG_TYPE),
        ({**CMD, "command": ["pytest -q tests"]}, "checks.0.command", Reason.INVALID_VALUE),
        ({**CMD, "command": []}, "checks.0.command", Reason.INVALID_VALUE),
        ({**CMD, "command": ["pytest", 1]}, "checks.0.command.1", Reason.WRONG_TYPE),
        ({**CMD, "row": "unit"}, "checks.0.row", Reason.INVALID_VALUE),
        ({**CMD, "timeout_seconds": 0}, "checks.0.timeout_seconds", Reason.INVALID_VALUE),
        ({**CMD, "timeout_seconds": "60"}, "checks.0.timeout_seconds", Reason.WRONG_TYPE),
        ({**CMD, "paths": ["src"]}, "checks.0.paths", Reason.INVALID_VALUE),
        ({**CMD, "min_severity": "low"}, "checks.0.min_severity", Reason.INVALID_VALUE),
        ({**CMD, "metric": "ci_critical_cves"}, "checks.0.metric", Reason.INVALID_VALUE),
        ({**CMD, "metric": "eval_pii_leaks"}, "checks.0.metric", Reason.POLICY_UNKNOWN_METRIC),
        ({**CMD, "shell": True}, "checks.0.shell", Reason.UNKNOWN_FIELD),
        ({**SCAN, "tool": "nmap"}, "checks.0.tool", Reason.INVALID_VALUE),
        ({**SCAN, "paths": []}, "checks.0.paths", Reason.MISSING_FIELD),
        ({**SCAN, "paths": ["../other"]}, "checks.0.paths", Reason.PATH_TRAVERSAL),
        ({**SCAN, "paths": ["/etc"]}, "checks.0.paths", Reason.PATH_TRAVERSAL),
        ({**SCAN, "metric": "ci_container_built"}, "checks.0.metric", Reason.INVALID_VALUE),
        ({**SCAN, "min_severity": "severe"}, "checks.0.min_severity", Reason.INVALID_VALUE),
        (
            {**SCAN, "tool": "detect-secrets", "min_severity": "low"},
            "checks.0.min_severity",
            Reason.INVALID_VALUE,
        ),
        ({**CMD, "name": "Unit Tests"}, "checks.0.name", Reason.INVALID_VALUE),
    ],
)
def test_a_bad_check_is_refused_with_its_field_and_code(
    check: dict[str, Any], field: str, reason: Reason
) -> None:
    problem = refused(check)
    assert (problem["field"], problem["reason"]) == (field, reason.value)
    assert problem["fix"]


def test_every_problem_is_listed_with_its_line() -> None:
    text = EXAMPLE + "  - {name: unit, row: schema, command: [x]}\nrunner: local\n"
    doc = parse_yaml(text.encode(), source="ci.yaml")
    with pytest.raises(ValidationError) as info:
        parse_ci_config(doc.data, source=doc.source, lines=doc.lines)
    got = {(p["field"], p["reason"]) for p in info.value.problems}
    assert got == {("checks", "INVALID_VALUE"), ("runner", "UNKNOWN_FIELD")}
    assert all("line" in p for p in info.value.problems)
    with pytest.raises(ValidationError) as missing:
        parse_ci_config({"checks": []})
    assert {(p["field"], p["reason"]) for p in missing.value.problems} == {
        ("ci_id", "MISSING_FIELD"),
        ("checks", "INVALID_VALUE"),
    }


def result(
    name: str,
    status: CheckStatus,
    metric: str = "ci_tests_failed",
    findings: int | None = None,
    row: CiRow = CiRow.PIPELINE,
) -> CheckResult:
    error = CheckError.TIMEOUT if status is CheckStatus.ERRORED else None
    return CheckResult(name, row, metric, status, None, 0.1, findings, "", error)


P, F, E = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.ERRORED


def test_failed_and_errored_checks_count_as_failed_tests_and_rows_as_well() -> None:
    results = [result("a", P), result("b", F), result("c", E)]
    assert ci_metrics(results, ()) == {"ci_tests_failed": 2}
    assert ci_metrics([result("a", P)], ()) == {"ci_tests_failed": 0}
    assert ci_metrics([result("a", P)], (CiRow.PROMPT, CiRow.POLICY)) == {"ci_tests_failed": 2}


def test_counts_come_from_scanners_and_an_errored_count_is_absent_not_zero() -> None:
    cves = "ci_critical_cves"
    found = [result("dep", F, cves, 3), result("img", P, cves, 0)]
    assert ci_metrics(found, ()) == {cves: 3}
    assert ci_metrics([result("dep", F, cves, 3), result("img", E, cves)], ()) == {}
    low = [result("low", F, "ci_unplanned_low_cves", 2)]
    assert ci_metrics(low, ()) == {"ci_unplanned_low_cves": 2}


def test_the_container_is_built_only_when_every_build_check_passed() -> None:
    built = "ci_container_built"
    assert ci_metrics([result("img", P, built)], ()) == {built: True}
    assert ci_metrics([result("img", P, built), result("push", F, built)], ()) == {built: False}
    assert ci_metrics([result("img", E, built)], ()) == {built: False}


def test_the_report_is_errored_when_a_check_errored_and_passes_only_when_all_is_covered() -> None:
    config = parse_ci_config(ALL_ROWS)
    results = [result(c.name, P, row=c.row) for c in config.checks]
    report = build_report(config, "R-1", "2026-07-01T00:00:00Z", results)
    assert report.passed
    assert report.status == "ok"
    assert report.metrics == {"ci_tests_failed": 0}
    assert report.unmeasured_metrics == (
        "ci_container_built",
        "ci_critical_cves",
        "ci_unplanned_low_cves",
    )
    assert report.source == f"airel-ci:all:{report.digest}"
    errored = build_report(config, "R-1", "2026-07-01T00:00:00Z", [*results[:-1], result("s", E)])
    assert errored.status == "errored"
    assert not errored.passed
    assert errored.digest != report.digest
    partial = parse_ci_config({"ci_id": "p", "checks": [CMD]})
    uncovered = build_report(partial, "R-1", "now", [result("x", P)])
    assert uncovered.status == "ok"
    assert not uncovered.passed
    assert uncovered.metrics == {"ci_tests_failed": 7}
    body = uncovered.to_dict()
    assert body["uncovered_rows"] == [r.value for r in CiRow][1:]
    assert body["digest"] == uncovered.digest
    assert json.loads(json.dumps(body)) == body


def bandit_json(*severities: str, errors: list[Any] | None = None) -> str:
    results = [
        {"filename": "a.py", "line_number": i, "test_id": f"B{i}", "issue_severity": s,
         "issue_text": "issue"}
        for i, s in enumerate(severities)
    ]  # fmt: skip
    return json.dumps({"errors": errors or [], "results": results})


def test_bandit_findings_count_from_the_minimum_severity() -> None:
    out = bandit_json("LOW", "MEDIUM", "HIGH")
    assert read_scan(ScanTool.BANDIT, out, 1, Severity.LOW).findings == 3
    assert read_scan(ScanTool.BANDIT, out, 1, Severity.MEDIUM).findings == 2
    high = read_scan(ScanTool.BANDIT, out, 1, Severity.HIGH)
    assert high.findings == 1
    assert high.lines == ("a.py:2 B2 HIGH issue",)
    assert read_scan(ScanTool.BANDIT, bandit_json(), 0, Severity.LOW).findings == 0


@pytest.mark.parametrize(
    ("tool", "stdout", "code", "error"),
    [
        (ScanTool.BANDIT, bandit_json(errors=[{"filename": "x.py"}]), 0, "SCAN_INCOMPLETE"),
        (ScanTool.BANDIT, bandit_json(), 2, "SCAN_INCOMPLETE"),
        (ScanTool.BANDIT, "Traceback (most recent call last)", 1, "OUTPUT_UNREADABLE"),
        (ScanTool.BANDIT, '{"results": [{"filename": "a.py"}]}', 1, "OUTPUT_UNREADABLE"),
        (ScanTool.DETECT_SECRETS, '{"results": {}}', 1, "SCAN_INCOMPLETE"),
        (ScanTool.DETECT_SECRETS, "[]", 0, "OUTPUT_UNREADABLE"),
    ],
)
def test_unreadable_or_incomplete_scans_are_problems_not_zero(
    tool: ScanTool, stdout: str, code: int, error: str
) -> None:
    reading = read_scan(tool, stdout, code, Severity.LOW)
    assert reading.findings is None
    assert reading.problem is CheckError(error)


def test_detect_secrets_counts_every_secret_of_every_file() -> None:
    secret = {"type": "AWS Access Key", "filename": "a.py", "line_number": 3}
    out = json.dumps({"results": {"a.py": [secret, secret], "b.py": [secret]}})
    reading = read_scan(ScanTool.DETECT_SECRETS, out, 0, Severity.LOW)
    assert reading.findings == 3
    assert reading.lines[0] == "a.py:3 AWS Access Key"


def test_the_tail_keeps_the_last_two_kilobytes_on_a_character_boundary() -> None:
    text = "é" * 5000 + "END"
    cut = tail(text)
    assert len(cut.encode()) <= TAIL_BYTES
    assert cut.endswith("END")
    assert tail("short") == "short"
