"""The main job: the fraud-scoring demo runs end to end on the embedded store (issues 2–5)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from airel import Client
from airel.config import load_settings

DEMO = Path(__file__).resolve().parents[1] / "examples" / "fraud-scoring" / "run_demo.py"


@dataclass(frozen=True)
class DemoRun:
    """One run of the demo: its work directory and output."""

    work: Path
    out: str
    err: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run the demo once for every test of this module."""
    work = tmp_path_factory.mktemp("demo") / "work"
    proc = subprocess.run(
        [sys.executable, str(DEMO), "--workdir", str(work), "--rows", "30000"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return DemoRun(work, proc.stdout, proc.stderr)


def demo_client(work: Path) -> Client:
    """A client on the demo's store."""
    return Client(load_settings({"home": str(work / ".airel")}, cwd=work, environ={}))


@pytest.mark.slow
def test_demo_freezes_a_complete_candidate_with_lineage(demo: DemoRun) -> None:
    """Registers everything, freezes both releases, prints bundle, completeness and lineage."""
    work, out = demo.work, demo.out
    assert "complete for Tier 1 classifier" in out
    assert "BUNDLE_NO_ROLLBACK_TARGET" in out  # the production release's known gap
    assert "audit chain intact" in out

    client = demo_client(work)
    candidate = client.bundle("FRAUD-SCORING-2026-002")
    assert client.completeness(candidate.release_id).complete
    used = client.lineage("dataset/FRAUD-TRAIN-2026H1:1", direction="downstream").releases()
    assert used == ["FRAUD-SCORING-2026-001", "FRAUD-SCORING-2026-002"]
    repro = {i.item: i.status.value for i in client.reproducibility(candidate.release_id).items}
    assert repro["data_snapshot"] == "present"
    assert repro["approval"] == "missing"  # no approval recorded in the demo
    model = client.component("model", "fraud-score@candidate")
    assert model.version == "2.0.0"
    assert model.fields["training"]["seed"] == 7
    assert client.verify_bundle(candidate.release_id).ok
    manifest = json.loads((work / "data" / "data_manifest.json").read_text())
    train = client.component("dataset", "FRAUD-TRAIN-2026H1:1")
    assert train.fields["row_count"] == manifest["files"][0]["rows"]

    # Issue 3: the validation step stored one run whose card names the injected problems.
    (run,) = client.validation_runs(current="dataset/FRAUD-VALIDATION-2026H1:1")
    assert run.reference == "dataset/FRAUD-TRAIN-2026H1:1"
    assert run.feature_view == "feature_view/fraud-auth-features:11"
    reasons = {(f["column"], f["reason"]) for f in run.findings}
    assert ("amount", "SKEW_MISMATCH") in reasons
    assert ("txn_count_24h", "SKEW_MISMATCH") in reasons
    assert ("chargeback_date", "LEAKAGE_POST_OUTCOME") in reasons
    assert ("vulnerable_customer", "ACL_DISALLOWED_USE") in reasons
    assert not any(r.startswith("DRIFT") for _, r in reasons)  # same generator: no drift
    assert not run.passed
    card = (work / "validation-card.md").read_text()
    assert "SKEW_MISMATCH" in card
    client.close()


@pytest.mark.slow
def test_demo_gates_the_candidate_to_a_limited_go(demo: DemoRun) -> None:
    """Issue 5: G0–G4 on stored evidence. The monitoring validation blocks G3 (no-go); after
    the fix one soft finding needs an exception; with it the candidate is a limited go capped
    at staging with the exception's conditions. The submitter cannot approve; the production
    release, without a rollback target, is a no-go. Decisions reproduce from stored inputs."""
    client = demo_client(demo.work)
    decisions = client.gate_decisions("FRAUD-SCORING-2026-002")
    assert [d.decision for d in decisions] == ["no_go", "no_go", "limited_go"]
    first, second, final = (d.body["outcome"] for d in decisions)
    assert "G3:VALIDATION_HARD_FAILURE:validation-hard" in first["reasons"]
    assert second["reasons"] == ["G3:SOFT_FAILURE_WITHOUT_EXCEPTION:validation-soft"]
    assert final["conditions"]["max_stage"] == "staging"
    assert final["conditions"]["segments"] == ["vulnerable customers"]
    assert [g["status"] for g in final["gates"]] == [
        "passed", "passed", "passed", "passed_with_conditions", "passed",
    ]  # fmt: skip
    assert decisions[-1].through == "G4"
    assert all(client.gate_recheck(d.decision_id).reproduced for d in decisions)
    (waiver,) = client.waivers("FRAUD-SCORING-2026-002")
    assert (waiver.approver, waiver.role.value) == ("mara-okafor", "model_risk")
    assert client.approvals("FRAUD-SCORING-2026-002") == []
    assert "SELF_APPROVAL" in demo.err  # refused with exit 2, nothing written
    (prod,) = client.gate_decisions("FRAUD-SCORING-2026-001")
    assert prod.decision == "no_go"
    assert "G2:NO_EXECUTABLE_ROLLBACK_TARGET:rollback-target" in prod.body["outcome"]["reasons"]
    memo = (demo.work / "gate-memo.md").read_text()
    assert "decision: Limited go to staging" in memo
    assert "| G4 zero-critical-failures (hard) | eval_critical_failures = 0 |" in memo
    assert (demo.work / "gate-memo.html").read_text().startswith("<!DOCTYPE html>")
    assert client.verify_audit().ok
    client.close()
