"""Continuous-training triggers end to end on SQLite and PostgreSQL (P4, §5.4, §8.7): a trigger
runs its build in a real subprocess, freezes the candidate bundle it wrote and holds it — never
a promotion; a degradation opens an incident; a failing build is recorded without a candidate;
bad input writes nothing; and ``airel audit verify`` passes after."""

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
from airel.errors import AirelError, Reason
from airel.services.promotion import triggers
from gate_fixtures import FIRST, SCOPE, V1, V2

runner = CliRunner()
Cli = Callable[..., tuple[int, Any]]

TRIGGER = """\
trigger_id: {trigger_id}
use_case_id: {use_case}
kind: {kind}
source: production drift dashboard
condition: card-not-present merchant category distribution shifted beyond approved threshold
candidate_action: train fraud model candidate using the FRAUD-TRAIN:1 snapshot
required_evals: [segment performance, false positive cost, latency]
owner: Fraud Analytics Lead
"""
BUILD = """\
build:
  command: [{python}, build.py, "{exit_code}"]
  snapshots: [{snapshot}]
  timeout_seconds: {timeout}
candidate_bundle: out/candidate.yaml
"""
# The training job: it sees the trigger in its environment and writes the candidate bundle.
BUILD_PY = """\
import os, pathlib, sys, time
code = int(sys.argv[1])
if code < 0:
    time.sleep(30)
out = pathlib.Path("out")
out.mkdir(exist_ok=True)
(out / "env.txt").write_text(
    os.environ["AIREL_CT_TRIGGER_ID"] + "|" + os.environ["AIREL_CT_SNAPSHOTS"]
)
if code == 0:
    (out / "candidate.yaml").write_text(pathlib.Path("template.yaml").read_text())
print("trained" if code == 0 else "training failed", file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture
def store(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Client:
    """V1 frozen (Tier 1, FRAUD-SCORING); the training workdir holds V2's bundle template."""
    fraud_registry.bundles.create(
        write("v1.yaml", bundle_yaml() + SCOPE), freeze=True, allow_incomplete=FIRST
    )
    candidate = bundle_yaml(release_id=V2, model_version="2.0.0", rollback_target=V1) + SCOPE
    write("training/template.yaml", candidate)
    write("training/build.py", BUILD_PY)
    return fraud_registry


@pytest.fixture
def cli(store: Client, database_url: str) -> Cli:
    def run(*args: str) -> tuple[int, Any]:
        result = runner.invoke(app, ["--database-url", database_url, "--actor", "ct-bot", *args])
        text = result.stdout.strip()
        try:
            return result.exit_code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return result.exit_code, text

    return run


def trigger_file(
    write: Any,
    *,
    trigger_id: str = "CT-FRAUD-2026-021",
    kind: str = "data_drift",
    use_case: str = "FRAUD-SCORING",
    build: bool = True,
    exit_code: int = 0,
    snapshot: str = "dataset/FRAUD-TRAIN:1",
    timeout: int = 60,
    extra: str = "",
) -> Path:
    text = TRIGGER.format(trigger_id=trigger_id, kind=kind, use_case=use_case) + extra
    if build:
        text += BUILD.format(
            python=json.dumps(sys.executable), exit_code=exit_code, snapshot=snapshot,
            timeout=timeout,
        )  # fmt: skip
    path: Path = write(f"training/{trigger_id}.yaml", text)
    return path


def head(client: Client) -> tuple[int, str]:
    with client.ctx.store.read() as tx:
        return tx.audit_head()


def actions(client: Client) -> list[str]:
    with client.ctx.store.read() as tx:
        return [e.action for e in tx.iter_audit()]


def test_a_trigger_builds_and_freezes_a_candidate_and_never_promotes(
    store: Client, cli: Cli, write: Any, project: Path
) -> None:
    path = trigger_file(write)
    code, out = cli("ct", "trigger", str(path), "--json")
    assert code == 0, out
    trigger = out["trigger"]
    assert trigger["decision"] == "candidate_held"
    assert trigger["candidate_release_id"] == V2
    assert trigger["build"]["exit_code"] == 0
    assert "trained" in trigger["build"]["output_tail"]
    assert trigger["risk_tier"] == 1
    assert "requires the full Tier 1 gate" in trigger["release_rule"]
    assert out["incident"] is None
    env = (project / "training" / "out" / "env.txt").read_text()
    assert env == "CT-FRAUD-2026-021|dataset/FRAUD-TRAIN:1"
    frozen = store.bundles.get(V2)
    assert frozen.use_case_id == "FRAUD-SCORING"
    assert store.promotions.list() == []  # P4: a trigger never promotes
    assert actions(store)[-2:] == ["bundle.freeze", "ct.trigger"]
    code, listed = cli("ct", "list", "--use-case", "FRAUD-SCORING", "--json")
    assert code == 0
    assert [t["trigger_id"] for t in listed] == ["CT-FRAUD-2026-021"]
    record = project / "ct.md"
    code, markdown = cli("ct", "record", "CT-FRAUD-2026-021", "--out", str(record))
    assert code == 0
    assert "| Trigger ID | CT-FRAUD-2026-021 |" in markdown
    assert f"candidate {V2} frozen and held" in record.read_text(encoding="utf-8")
    code, verified = cli("audit", "verify", "--json")
    assert code == 0, verified
    assert store.audit.verify().ok


def test_a_degradation_opens_an_incident_in_the_same_entry(
    store: Client, cli: Cli, write: Any
) -> None:
    extra = f"severity: sev1\nobserved_release: {V1}\n"
    path = trigger_file(write, kind="performance_degradation", build=False, extra=extra)
    code, out = cli("ct", "trigger", str(path), "--json")
    assert code == 0, out
    assert out["trigger"]["decision"] == "recorded"
    assert out["trigger"]["candidate_release_id"] is None
    incident = out["incident"]
    assert incident["incident_id"] == out["trigger"]["incident_id"] == "INC-CT-FRAUD-2026-021"
    assert (incident["source"], incident["severity"], incident["status"]) == (
        "ct_trigger",
        "sev1",
        "open",
    )
    code, listed = cli("incident", "list", "--release", V1, "--json")
    assert code == 0
    assert [i["incident_id"] for i in listed] == ["INC-CT-FRAUD-2026-021"]
    assert cli("incident", "list", "--release", V2, "--json") == (0, [])
    with store.ctx.store.read() as tx:
        entry = list(tx.iter_audit())[-1]
    assert entry.action == "ct.trigger"
    assert entry.details["incident_id"] == "INC-CT-FRAUD-2026-021"
    code, markdown = cli("ct", "record", "CT-FRAUD-2026-021")
    assert "INC-CT-FRAUD-2026-021 (sev1)" in markdown
    assert store.audit.verify().ok


@pytest.mark.parametrize(
    ("kwargs", "reason", "field"),
    [
        ({"snapshot": "dataset/FRAUD-TXN:2026Q2-v6"}, "DANGLING_REFERENCE", "build.snapshots[0]"),
        ({"use_case": "CHURN"}, "RELEASE_NOT_FOUND", "use_case_id"),
        ({"extra": "observed_release: CHURN-1\n"}, "RELEASE_NOT_FOUND", "observed_release"),
        ({"kind": "whim"}, "INVALID_VALUE", "kind"),
        ({"snapshot": "dataset/FRAUD-TRAIN"}, "INVALID_VALUE", "build.snapshots"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    store: Client, cli: Cli, write: Any, project: Path, kwargs: dict[str, Any], reason: str,
    field: str,
) -> None:  # fmt: skip
    before = head(store)
    code, out = cli("ct", "trigger", str(trigger_file(write, **kwargs)), "--json")
    assert code == 2, out
    assert out["reason"] == reason
    problems = out["details"].get("problems") or [out["details"]]
    assert problems[0]["field"] == field
    assert head(store) == before
    assert not (project / "training" / "out").exists()  # the build never ran
    assert triggers.list_triggers(store.ctx) == []


def test_a_failing_build_is_recorded_without_a_candidate(
    store: Client, cli: Cli, write: Any
) -> None:
    code, out = cli("ct", "trigger", str(trigger_file(write, exit_code=3)), "--json")
    assert code == 1, out
    trigger = out["trigger"]
    assert trigger["decision"] == "build_failed"
    assert trigger["build"]["exit_code"] == 3
    assert "exit 3" in trigger["decision_text"]
    assert trigger["candidate_release_id"] is None
    assert [b.release_id for b in store.bundles.list()] == [V1]
    assert store.promotions.list() == []
    assert actions(store)[-1] == "ct.trigger"
    assert store.audit.verify().ok


def test_a_build_past_its_timeout_fails(store: Client, write: Any) -> None:
    path = trigger_file(write, exit_code=-1, timeout=1)
    result = triggers.record_trigger(store.ctx, path, run_build=True)
    assert result.trigger.build is not None
    assert result.trigger.build.timed_out
    assert result.trigger.build.exit_code is None
    assert result.candidate is None


def test_no_build_registers_an_existing_candidate_bundle(
    store: Client, write: Any, project: Path
) -> None:
    (project / "training" / "out").mkdir()
    template = (project / "training" / "template.yaml").read_text()
    (project / "training" / "out" / "candidate.yaml").write_text(template)
    result = store.triggers.record(trigger_file(write), build=False)
    assert result.trigger.build is None
    assert result.trigger.candidate_release_id == V2
    assert result.candidate is not None
    assert result.candidate.created
    assert store.promotions.list() == []


def test_a_candidate_of_another_use_case_is_refused_and_recorded(
    store: Client, write: Any, project: Path
) -> None:
    template = project / "training" / "template.yaml"
    template.write_text(template.read_text().replace("FRAUD-SCORING", "CHURN-SCORING"))
    result = store.triggers.record(trigger_file(write))
    assert result.trigger.decision.value == "candidate_refused"
    assert result.trigger.candidate_error is not None
    assert result.trigger.candidate_error["reason"] == "INVALID_VALUE"
    assert result.candidate is None
    assert [b.release_id for b in store.bundles.list()] == [V1]


def test_a_trigger_id_is_recorded_once(store: Client, write: Any) -> None:
    path = trigger_file(write, build=False)
    store.triggers.record(path, build=False)
    before = head(store)
    with pytest.raises(AirelError) as info:
        store.triggers.record(path, build=False)
    assert info.value.reason is Reason.DUPLICATE_RECORD
    assert head(store) == before
    assert store.triggers.get("CT-FRAUD-2026-021").decision.value == "recorded"
    with pytest.raises(AirelError) as missing:
        store.triggers.get("CT-NOPE-1")
    assert missing.value.reason is Reason.EVIDENCE_NOT_FOUND


def test_a_missing_workdir_is_refused_before_the_build(store: Client, write: Any) -> None:
    before = head(store)
    with pytest.raises(AirelError) as info:
        store.triggers.record(trigger_file(write), workdir="/nonexistent/training")
    assert info.value.reason is Reason.INVALID_VALUE
    assert info.value.details["field"] == "workdir"
    assert head(store) == before


def test_ct_check_reads_the_file_and_stores_nothing(store: Client, cli: Cli, write: Any) -> None:
    before = head(store)
    code, out = cli("ct", "check", str(trigger_file(write)), "--json")
    assert code == 0, out
    assert out["trigger"]["kind"] == "data_drift"
    assert out["digest"].startswith("sha256:")
    code, bad = cli("ct", "check", str(trigger_file(write, kind="whim")), "--json")
    assert code == 2
    assert bad["details"]["problems"][0]["field"] == "kind"
    code, _ = cli("ct", "record", "CT-NONE-1")
    assert code == 2
    assert head(store) == before
