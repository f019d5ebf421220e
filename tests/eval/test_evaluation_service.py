"""Offline evaluation as a use case (E1–E4, R5): registered suite datasets, paired
comparison with thresholds, must-pass regression sets, stored §8.4 report, CLI exit codes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from airel.errors import AirelError, Reason

SUITE = """
name: toy-eval
version: "1"
datasets:
  - {ref: TOY-GOLDEN:1, role: golden}
  - {ref: TOY-REGRESSION:1, role: regression}
columns: {id: id, label: y, score: score}
slices:
  web: {column: channel, equals: web}
thresholds:
  - {metric: roc_auc, kind: absolute, value: 0.7}
  - {metric: roc_auc, kind: min_absolute_change, value: -0.01}
decision_threshold: 0.5
cost: {missed_positive: 100, false_positive: 5}
fairness: {attribute: channel}
bootstrap: {resamples: 200, seed: 3}
"""


def _items(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "id": [f"I{i:05d}" for i in range(n)],
            "y": (rng.random(n) < 0.3).astype(np.int64),
            "channel": rng.choice(["web", "pos"], n),
        }
    )


def _scores(items: pa.Table, quality: float, seed: int, noise: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    y = items["y"].to_numpy()
    score = np.clip(0.5 + quality * (y - 0.5) + rng.normal(0, noise, len(y)), 0, 1)
    return pa.table({"id": items["id"], "score": score})


@pytest.fixture
def toy(client: Client, project: Path, write: Callable[[str, str], Path]) -> Path:
    """Registered golden + regression sets, predictions of a weak and a strong model."""
    golden = _items(2000, 1)
    regression = golden.filter(pa.compute.equal(golden["y"], 1)).slice(0, 40)
    pq.write_table(golden, project / "golden.parquet")
    pq.write_table(regression, project / "regression.parquet")
    for name, file, role, rows in (
        ("TOY-GOLDEN", "golden.parquet", "golden", golden.num_rows),
        ("TOY-REGRESSION", "regression.parquet", "regression", regression.num_rows),
    ):
        client.registry.register(
            write(
                f"{name}.yaml",
                f"""
                kind: eval_dataset
                name: {name}
                version: "1"
                role: {role}
                row_count: {rows}
                artifact: {file}
            """,
            )
        )
    pq.write_table(_scores(golden, 0.3, 2, 0.25), project / "weak.parquet")
    pq.write_table(_scores(golden, 0.8, 3, 0.08), project / "strong.parquet")
    (project / "suite.yaml").write_text(textwrap.dedent(SUITE))
    return project


def test_better_candidate_passes_and_the_report_is_stored(client: Client, toy: Path) -> None:
    """E3/E4: paired CIs, thresholds pass, record and §8.4 report stored and audited."""
    before = client.audit.verify().entries
    outcome = client.evals.compare(
        toy / "suite.yaml", baseline=toy / "weak.parquet", candidate=toy / "strong.parquet"
    )
    body = outcome.record.body
    golden = body["datasets"][0]
    overall = golden["comparison"]["slices"]["overall"]["metrics"]["roc_auc"]
    assert overall["delta"]["value"] > 0
    assert overall["low"] > 0  # the paired CI excludes zero
    assert {t["outcome"] for t in golden["comparison"]["thresholds"]} == {"pass"}
    assert outcome.record.passed is True
    assert body["critical_failures"]["count"] == 0
    assert "fairness" in golden["candidate"]
    assert "cost" in golden["candidate"]
    assert "Primary outcome" in outcome.markdown
    assert client.evals.record(outcome.record.record_id).body["report"] == outcome.markdown
    with client.ctx.store.read() as tx:
        assert [e.action for e in tx.iter_audit()][before:] == ["eval.compare"]


def test_worse_candidate_fails_with_critical_failures(client: Client, toy: Path) -> None:
    """A regression: thresholds fail, missed incidents are critical failures with examples."""
    outcome = client.evals.compare(
        toy / "suite.yaml", baseline=toy / "strong.parquet", candidate=toy / "weak.parquet"
    )
    body = outcome.record.body
    assert outcome.record.passed is False
    assert body["critical_failures"]["count"] > 0
    example = body["critical_failures"]["examples"][0]
    assert example["dataset"] == "eval_dataset/TOY-REGRESSION:1"
    assert example["score"] < 0.5
    assert "no-go" in outcome.markdown


def test_bad_inputs(client: Client, toy: Path) -> None:
    """Missing predictions, duplicate ids, unregistered dataset, tampered dataset."""
    partial = pq.read_table(toy / "strong.parquet").slice(0, 100)
    pq.write_table(partial, toy / "partial.parquet")
    dup = pq.read_table(toy / "strong.parquet")
    pq.write_table(pa.concat_tables([dup, dup.slice(0, 1)]), toy / "dup.parquet")
    cases = [
        ("partial.parquet", SUITE, Reason.EVAL_LENGTH_MISMATCH),
        ("dup.parquet", SUITE, Reason.EVAL_DUPLICATE_ID),
        (
            "strong.parquet",
            SUITE.replace("TOY-GOLDEN:1", "TOY-GOLDEN:9"),
            Reason.DANGLING_REFERENCE,
        ),
    ]
    for candidate, suite, reason in cases:
        (toy / "s.yaml").write_text(textwrap.dedent(suite))
        with pytest.raises(AirelError) as info:
            client.evals.compare(
                toy / "s.yaml", baseline=toy / "weak.parquet", candidate=toy / candidate
            )
        assert info.value.reason is reason, candidate
    digest = client.registry.component("eval_dataset", "TOY-GOLDEN:1").artifact
    assert digest is not None
    blob = client.ctx.blobs.path_of(digest.digest)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(AirelError) as info:
        client.evals.compare(
            toy / "suite.yaml", baseline=toy / "weak.parquet", candidate=toy / "strong.parquet"
        )
    assert info.value.reason is Reason.HASH_MISMATCH
    assert client.evals.records() == []


def test_cli_exit_codes(toy: Path, client: Client) -> None:
    """0 when the candidate passes, 1 when a hard threshold fails, 2 on bad input."""
    url = client.settings.database_url
    runner = CliRunner()

    def run(*args: str) -> tuple[int, Any]:
        result = runner.invoke(app, ["--database-url", url, "eval", *args, "--json"])
        return result.exit_code, json.loads(result.stdout)

    base = ["compare", "--suite", str(toy / "suite.yaml")]
    code, out = run(
        *base, "--baseline", str(toy / "weak.parquet"), "--candidate", str(toy / "strong.parquet")
    )
    assert (code, out["passed"]) == (0, True)
    code, out = run(
        *base, "--baseline", str(toy / "strong.parquet"), "--candidate", str(toy / "weak.parquet")
    )
    assert (code, out["passed"]) == (1, False)
    code, out = run(
        *base, "--baseline", str(toy / "nope.parquet"), "--candidate", str(toy / "weak.parquet")
    )
    assert (code, out["reason"]) == (2, "ARTIFACT_MISSING")
    code, listed = run("list")
    assert code == 0
    assert isinstance(listed, list)
    assert len(listed) == 2
