"""The main job: the fraud-scoring demo runs end to end on the embedded store (issue 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airel import Client
from airel.config import load_settings

DEMO = Path(__file__).resolve().parents[1] / "examples" / "fraud-scoring" / "run_demo.py"


@pytest.mark.slow
def test_demo_freezes_a_complete_candidate_with_lineage(tmp_path: Path) -> None:
    """Registers everything, freezes both releases, prints bundle, completeness and lineage."""
    work = tmp_path / "work"
    proc = subprocess.run(
        [sys.executable, str(DEMO), "--workdir", str(work), "--rows", "30000"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "complete for Tier 1 classifier" in out
    assert "BUNDLE_NO_ROLLBACK_TARGET" in out  # the production release's known gap
    assert "audit chain intact" in out

    client = Client(load_settings({"home": str(work / ".airel")}, cwd=work, environ={}))
    candidate = client.bundle("FRAUD-SCORING-2026-002")
    assert client.completeness(candidate.release_id).complete
    used = client.lineage("dataset/FRAUD-TRAIN-2026H1:1", direction="downstream").releases()
    assert used == ["FRAUD-SCORING-2026-001", "FRAUD-SCORING-2026-002"]
    repro = {i.item: i.status.value for i in client.reproducibility(candidate.release_id).items}
    assert repro["data_snapshot"] == "present"
    assert repro["approval"] == "missing"  # honest until the gate engine records one
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
