"""The §5.3 CI checklist as gate G2 evidence (P3): the rows, the CI config, the metric mapping.

A CI config is a strict YAML document naming the checks that cover the eight §5.3 rows::

    ci_id: fraud-ci
    checks:
      - {name: unit, row: pipeline, command: [python, -m, pytest, -q, tests/pipeline]}
      - {name: image, row: reproducibility, command: [docker, build, .], metric: ci_container_built}
      - {name: secrets, row: security, tool: detect-secrets, paths: [src]}
      - {name: sast, row: security, tool: bandit, paths: [src], min_severity: medium}

A check is a ``command`` (an argv list, run without a shell) or a built-in offline scanner
``tool`` whose JSON output airel reads into a finding count — exactly one of the two.

How results become the CI metrics G2 reads (:func:`ci_metrics`); each check reports into one
``metric`` (default ``ci_tests_failed``):

* ``ci_tests_failed``: checks reporting into it that did not pass (failed *or* errored), plus one
  for every §5.3 row no check covers. A scanner check fails when it finds anything.
* ``ci_critical_cves`` / ``ci_unplanned_low_cves``: the sum of the findings of the scanner checks
  reporting into it (only a scanner counts findings; a command check may not report here). When
  one of those checks errored, the metric is left out: an unknown count is never a 0.
* ``ci_container_built``: true when every check reporting into it passed (only command checks).
* A metric no check reports into stays absent, so the gate reads it as *missing*.

A check that times out, cannot start, lacks its tool or prints unreadable output is *errored*,
never passed; one errored check makes the whole attestation ``errored``. Refused with the field
and a fix: both or neither of command/tool, a shell string as a command, paths outside the
working directory, ``paths`` or ``min_severity`` where they mean nothing, a metric the check
kind cannot measure, and two checks of one name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.names import check_relative_path
from airel.domain.kernel.validation import Lines, as_field_problem, parse_record
from airel.errors import Reason, ValidationError

CI_FORMAT = "airel-ci-report/1"
TAIL_BYTES = 2048  # the most output a report keeps of one check


class CiRow(StrEnum):
    """The eight rows of the §5.3 CI checklist: what each kind of test must show."""

    PIPELINE = "pipeline"  # ingestion, joins, sampling, splits and label transforms leak nothing
    FEATURE_TRANSFORM = "feature_transform"  # features stay stable at boundary, missing, outliers
    SCHEMA = "schema"  # training, validation and serving schemas are compatible
    PROMPT = "prompt"  # prohibited use, output format, tool-call, refusal rules pass smoke cases
    POLICY = "policy"  # guardrail, DLP, permission and threshold rules: explainable, regressed
    EVAL_CODE = "eval_code"  # evaluators hold no implicit global state; metrics are reproducible
    REPRODUCIBILITY = "reproducibility"  # fixed snapshot, container, params re-run, diffs explained
    SECURITY = "security"  # dependency, secret, container, data egress and tool permission scans


class ScanTool(StrEnum):
    """The built-in offline scanners whose JSON output airel reads."""

    BANDIT = "bandit"  # Python static analysis (shell injection, hard-coded passwords …)
    DETECT_SECRETS = "detect-secrets"  # secrets in files (cloud keys, tokens, keywords)


class Severity(StrEnum):
    """The bandit severities, lowest first: a finding at or above ``min_severity`` counts."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class CheckStatus(StrEnum):
    """The outcome of one check. Only ``passed`` ever passes."""

    PASSED = "passed"  # the command exited 0 / the scanner found nothing
    FAILED = "failed"  # the command exited non-zero / the scanner found something
    ERRORED = "errored"  # it could not run or decide: timeout, not started, no tool, bad output


class CheckError(StrEnum):
    """Why a check errored (stable codes in the report)."""

    TIMEOUT = "TIMEOUT"  # it ran past timeout_seconds and was killed
    NOT_STARTED = "NOT_STARTED"  # the program could not be started (not found, not executable)
    TOOL_MISSING = "TOOL_MISSING"  # the scanner is not installed
    PATH_MISSING = "PATH_MISSING"  # a path to scan does not exist inside the working directory
    OUTPUT_UNREADABLE = "OUTPUT_UNREADABLE"  # the scanner's JSON could not be read
    SCAN_INCOMPLETE = "SCAN_INCOMPLETE"  # the scanner exited abnormally or reported scan errors


CiMetric = Literal["ci_tests_failed", "ci_container_built", "ci_critical_cves",
                   "ci_unplanned_low_cves"]  # fmt: skip
CI_METRICS: tuple[CiMetric, ...] = (
    "ci_tests_failed",
    "ci_container_built",
    "ci_critical_cves",
    "ci_unplanned_low_cves",
)
COUNT_METRICS = frozenset({"ci_critical_cves", "ci_unplanned_low_cves"})  # scanners only
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Arg = Annotated[str, Field(min_length=1, max_length=4096)]
LAX = Field(strict=False)  # enums are read from their string values; nothing else is coerced


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)


def _refuse(field_name: str, message: str, fix: str, reason: Reason = Reason.INVALID_VALUE) -> None:
    raise ValidationError(
        reason, f"{field_name}: {message}", fix=fix, details={"field": field_name}
    )


class CiCheck(_Strict):
    """One check of the CI config: a command or a scanner, covering one §5.3 row."""

    name: Slug
    row: Annotated[CiRow, LAX]
    command: list[Arg] | None = Field(default=None, min_length=1, max_length=256)
    tool: Annotated[ScanTool | None, LAX] = Field(default=None, validate_default=True)
    paths: list[str] = Field(default_factory=list, max_length=64, validate_default=True)
    min_severity: Annotated[Severity | None, LAX] = None
    metric: str = Field(default="ci_tests_failed", validate_default=True)
    timeout_seconds: int = Field(default=600, ge=1, le=86_400)

    @field_validator("command")
    @classmethod
    def _argv(cls, command: list[str] | None) -> list[str] | None:
        if command is not None and len(command) == 1 and len(command[0].split()) > 1:
            as_field_problem(
                _refuse,
                "command",
                f"{command[0]!r} is a shell string; airel runs argv lists without a shell",
                "split it into a list, e.g. [python, -m, pytest, -q]",
            )
        return command

    @field_validator("tool", mode="before")
    @classmethod
    def _one_of(cls, tool: object, info: ValidationInfo) -> object:
        if "command" in info.data and (info.data["command"] is None) == (tool is None):
            as_field_problem(
                _refuse,
                "tool",
                "give exactly one of command or tool",
                "a check runs an argv list (command: [...]) or a built-in scanner "
                "(tool: bandit | detect-secrets), not both",
                Reason.MISSING_FIELD if tool is None else Reason.INVALID_VALUE,
            )
        return tool

    @field_validator("paths")
    @classmethod
    def _paths(cls, paths: list[str], info: ValidationInfo) -> list[str]:
        if "tool" not in info.data or "command" not in info.data:
            return paths  # already refused above
        if info.data["tool"] is None and paths:
            as_field_problem(
                _refuse, "paths", "paths belong to a scanner", "put the paths in the command"
            )
        if info.data["tool"] is not None and not paths:
            as_field_problem(
                _refuse,
                "paths",
                "a scanner needs the paths it scans",
                "add paths: [src] (relative to the working directory)",
                Reason.MISSING_FIELD,
            )
        for i, path in enumerate(paths):
            as_field_problem(check_relative_path, path, field=f"paths[{i}]")
        return paths

    @field_validator("min_severity")
    @classmethod
    def _severity(cls, severity: Severity | None, info: ValidationInfo) -> Severity | None:
        if severity is not None and info.data.get("tool") is not ScanTool.BANDIT:
            as_field_problem(
                _refuse, "min_severity", "only bandit grades severity", "remove min_severity"
            )
        return severity

    @field_validator("metric")
    @classmethod
    def _metric(cls, metric: str, info: ValidationInfo) -> str:
        if metric not in CI_METRICS:
            as_field_problem(
                _refuse,
                "metric",
                f"{metric!r} is not a CI metric G2 reads",
                "use one of " + ", ".join(CI_METRICS) + " (`airel policy metrics`)",
                Reason.POLICY_UNKNOWN_METRIC,
            )
        if "tool" not in info.data or "command" not in info.data:
            return metric
        scanner = info.data["tool"] is not None
        if scanner and metric == "ci_container_built":
            as_field_problem(
                _refuse,
                "metric",
                "a scanner does not build a container",
                "report a container build from a command check",
            )
        if not scanner and metric in COUNT_METRICS:
            as_field_problem(
                _refuse,
                "metric",
                f"a command has an exit code, not a count of {metric}",
                "use a scanner (tool:) for counts, or report the command into ci_tests_failed",
            )
        return metric

    @property
    def severity(self) -> Severity:
        """The lowest bandit severity that counts (default: medium)."""
        return self.min_severity or Severity.MEDIUM


def _unique(checks: list[CiCheck]) -> None:
    seen: set[str] = set()
    for i, check in enumerate(checks):
        if check.name in seen:
            _refuse(f"checks[{i}].name", f"a second check named {check.name!r}", "rename one")
        seen.add(check.name)


class CiConfig(_Strict):
    """The CI checks of a pipeline, covering the §5.3 rows."""

    ci_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    description: str | None = Field(default=None, max_length=4096)
    checks: list[CiCheck] = Field(min_length=1, max_length=64)

    @field_validator("checks")
    @classmethod
    def _checks(cls, checks: list[CiCheck]) -> list[CiCheck]:
        as_field_problem(_unique, checks)
        return checks

    @property
    def digest(self) -> str:
        """The config's content address."""
        return digest_of({"format": "airel-ci-config/1", **self.model_dump(mode="json")})

    def uncovered_rows(self) -> tuple[CiRow, ...]:
        """The §5.3 rows no check covers, in checklist order."""
        covered = {c.row for c in self.checks}
        return tuple(row for row in CiRow if row not in covered)


def parse_ci_config(
    data: Mapping[str, Any], *, source: str = "<ci config>", lines: Lines | None = None
) -> CiConfig:
    """Validate a parsed document into a :class:`CiConfig` (every problem listed)."""
    return parse_record(CiConfig, data, source=source, lines=lines)


def tail(text: str, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes of ``text`` (UTF-8), cut on a character boundary."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    return data[-limit:].decode("utf-8", errors="ignore")


@dataclass(frozen=True)
class CheckResult:
    """One check as run: its status, exit code, duration, findings and the tail of its output."""

    name: str
    row: Annotated[CiRow, LAX]
    metric: str
    status: CheckStatus
    exit_code: int | None
    duration_seconds: float
    findings: int | None = None  # scanners only
    output_tail: str = ""
    error: CheckError | None = None
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the report)."""
        return {
            "name": self.name,
            "row": self.row.value,
            "metric": self.metric,
            "status": self.status.value,
            "exit_code": self.exit_code,
            "duration_seconds": round(self.duration_seconds, 3),
            "findings": self.findings,
            "output_tail": self.output_tail,
            "error": self.error.value if self.error else None,
            "fix": self.fix,
        }


def ci_metrics(results: Sequence[CheckResult], uncovered: Sequence[CiRow]) -> dict[str, int | bool]:
    """The CI attestation metrics of a run (the mapping in the module docstring)."""
    out: dict[str, int | bool] = {}
    by_metric: dict[str, list[CheckResult]] = {}
    for r in results:
        by_metric.setdefault(r.metric, []).append(r)
    tests = by_metric.get("ci_tests_failed", [])
    if tests or uncovered:
        out["ci_tests_failed"] = sum(r.status is not CheckStatus.PASSED for r in tests) + len(
            uncovered
        )
    built = by_metric.get("ci_container_built")
    if built:
        out["ci_container_built"] = all(r.status is CheckStatus.PASSED for r in built)
    for name in sorted(COUNT_METRICS):
        counted = by_metric.get(name)
        if counted and all(r.findings is not None for r in counted):
            out[name] = sum(r.findings or 0 for r in counted)
    return out


@dataclass(frozen=True)
class CiReport:
    """A CI run for a release: every check, the rows left uncovered, the metrics recorded."""

    release_id: str
    ci_id: str
    config_digest: str
    started_at: str
    checks: tuple[CheckResult, ...]
    uncovered_rows: tuple[CiRow, ...]
    metrics: Mapping[str, int | bool]
    status: Literal["ok", "errored"]  # the attestation's status
    attestation_id: str | None = field(default=None, compare=False)  # set once recorded

    @property
    def passed(self) -> bool:
        """Every check passed and every §5.3 row is covered."""
        return not self.uncovered_rows and all(c.status is CheckStatus.PASSED for c in self.checks)

    @property
    def unmeasured_metrics(self) -> tuple[str, ...]:
        """CI metrics this run does not record (the gate reads them as missing)."""
        return tuple(m for m in CI_METRICS if m not in self.metrics)

    def body(self) -> dict[str, Any]:
        """What the digest covers (everything but the attestation id)."""
        return {
            "format": CI_FORMAT,
            "release_id": self.release_id,
            "ci_id": self.ci_id,
            "config_digest": self.config_digest,
            "started_at": self.started_at,
            "checks": [c.to_dict() for c in self.checks],
            "uncovered_rows": [r.value for r in self.uncovered_rows],
            "unmeasured_metrics": list(self.unmeasured_metrics),
            "metrics": dict(self.metrics),
            "status": self.status,
            "passed": self.passed,
        }

    @property
    def digest(self) -> str:
        """The report's content address: the attestation's source names it."""
        return digest_of(self.body())

    @property
    def source(self) -> str:
        """``airel-ci:<ci_id>:<report digest>``, the attestation's source."""
        return f"airel-ci:{self.ci_id}:{self.digest}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``--report FILE``)."""
        return {**self.body(), "digest": self.digest, "attestation_id": self.attestation_id}


def build_report(
    config: CiConfig, release_id: str, started_at: str, results: Sequence[CheckResult]
) -> CiReport:
    """The report of a run: metrics from the results, errored when any check errored."""
    uncovered = config.uncovered_rows()
    errored = any(r.status is CheckStatus.ERRORED for r in results)
    return CiReport(
        release_id=release_id,
        ci_id=config.ci_id,
        config_digest=config.digest,
        started_at=started_at,
        checks=tuple(results),
        uncovered_rows=uncovered,
        metrics=ci_metrics(results, uncovered),
        status="errored" if errored else "ok",
    )
