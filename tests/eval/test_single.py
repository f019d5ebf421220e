"""One classifier on a suite (``eval run`` for classifiers, E1–E4): metrics with CIs, absolute
thresholds on the pessimistic CI end, change thresholds not applicable, must-pass sets,
undefined slices stated, bad input refused with reason codes, run stored and audited."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from airel.client import Client
from airel.domain.eval.compare import Outcome, Threshold, ThresholdKind
from airel.domain.eval.run import NOT_APPLICABLE, evaluate_single
from airel.errors import AirelError, Reason, ValidationError
from airel.services.eval.evaluation import EvalOutcome
from airel.services.eval.single import run_classifier_suite

SUITE = """
name: toy-run
version: "1"
task: classifier
datasets:
  - {ref: RUN-GOLDEN:1, role: golden}
  - {ref: RUN-REGRESSION:1, role: regression}
columns: {id: id, label: y, score: score}
slices:
  web: {column: channel, equals: web}
  nowhere: {column: channel, equals: fax}
  negatives_only: {column: segment, equals: quiet}
thresholds:
  - {metric: roc_auc, kind: absolute, value: 0.7}
  - {metric: brier, kind: absolute, value: 0.25, hard: false}
  - {metric: roc_auc, kind: min_absolute_change, value: -0.01}
  - {metric: roc_auc, kind: absolute, value: 0.5, slice: negatives_only, hard: false}
decision_threshold: 0.5
cost: {missed_positive: 100, false_positive: 5}
fairness: {attribute: channel, max_approval_gap: 0.0}
bootstrap: {resamples: 200, seed: 3}
"""


def _items(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    quiet = (y == 0) & (rng.random(n) < 0.1)  # a segment with negatives only
    return pa.table(
        {
            "id": [f"I{i:05d}" for i in range(n)],
            "y": y,
            "channel": rng.choice(["web", "pos"], n),
            "segment": np.where(quiet, "quiet", "busy"),
        }
    )


def _scores(items: pa.Table, quality: float, seed: int, noise: float) -> pa.Table:
    rng = np.random.default_rng(seed)
    y = items["y"].to_numpy()
    score = np.clip(0.5 + quality * (y - 0.5) + rng.normal(0, noise, len(y)), 0, 1)
    return pa.table({"id": items["id"], "score": score})


def _register(client: Client, write: Callable[[str, str], Path], name: str, file: str,
              role: str, rows: int) -> None:  # fmt: skip
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


@pytest.fixture
def toy(client: Client, project: Path, write: Callable[[str, str], Path]) -> Path:
    """Registered golden + regression sets; predictions of a weak and a strong model."""
    golden = _items(2000, 1)
    regression = golden.filter(pc.equal(golden["y"], 1)).slice(0, 40)
    pq.write_table(golden, project / "golden.parquet")
    pq.write_table(regression, project / "regression.parquet")
    _register(client, write, "RUN-GOLDEN", "golden.parquet", "golden", golden.num_rows)
    _register(client, write, "RUN-REGRESSION", "regression.parquet", "regression", 40)
    pq.write_table(_scores(golden, 0.3, 2, 0.25), project / "weak.parquet")
    pq.write_table(_scores(golden, 0.8, 3, 0.08), project / "strong.parquet")
    (project / "suite.yaml").write_text(textwrap.dedent(SUITE))
    return project


def _run(client: Client, toy: Path, preds: str, suite: str = "suite.yaml") -> EvalOutcome:
    return run_classifier_suite(
        client.ctx, suite_path=toy / suite, predictions=toy / preds, label=Path(preds).stem
    )


def test_strong_model_metrics_with_cis_stored_and_audited(client: Client, toy: Path) -> None:
    """Every metric has a CI; absolute thresholds pass; change kinds listed as not applicable;
    confusion, cost and fairness reported; run stored (kind "run") and audited once."""
    before = client.audit.verify().entries
    outcome = _run(client, toy, "strong.parquet")
    record, body = outcome.record, outcome.record.body
    assert (record.kind, record.subject, record.passed) == ("run", "strong", True)
    golden = body["datasets"][0]
    overall = golden["run"]["slices"]["overall"]
    assert overall["n"] == 2000
    for name in ("roc_auc", "pr_auc", "brier", "ece"):
        m = overall["metrics"][name]
        low, high = m["ci"]
        assert low <= m["value"]["value"] <= high
        assert m["valid_resamples"] == 200
    outcomes = {
        (t["threshold"]["metric"], t["threshold"]["slice"]): t for t in golden["run"]["thresholds"]
    }
    auc = outcomes[("roc_auc", "overall")]
    assert auc["outcome"] == "pass"
    assert auc["observed"] == overall["metrics"]["roc_auc"]["ci"][0]  # the pessimistic end
    assert outcomes[("brier", "overall")]["observed"] == overall["metrics"]["brier"]["ci"][1]
    (na,) = golden["run"]["not_applicable"]
    assert na["threshold"]["kind"] == "min_absolute_change"
    assert na["reason"] == NOT_APPLICABLE
    extras = golden["classifier"]
    assert extras["confusion"]["threshold"] == 0.5
    assert extras["cost"]["threshold"] is not None
    assert set(extras["fairness"]["groups"]) == {"web", "pos"}
    assert "approval_gap" in [f["gap"] for f in golden["fairness_over_limit"]]
    assert body["target"]["digest"].startswith("sha256:")
    assert body["critical_failures"]["count"] == 0
    assert "not applicable without a baseline" in outcome.markdown
    assert "Cost-optimal threshold" in outcome.markdown
    assert client.evals.record(record.record_id).body["report"] == outcome.markdown
    json.dumps(body, allow_nan=False)
    again = _run(client, toy, "strong.parquet")  # same inputs → the same stored record
    assert again.record.record_id == record.record_id
    with client.ctx.store.read() as tx:
        assert [e.action for e in tx.iter_audit()][before:] == ["eval.run"]


def test_jsonl_predictions_give_the_same_run(client: Client, toy: Path) -> None:
    """A JSON Lines predictions file is read like Parquet: the same metrics and verdicts."""
    strong = pq.read_table(toy / "strong.parquet").to_pylist()
    (toy / "strong.jsonl").write_text("".join(json.dumps(row) + "\n" for row in strong))
    from_parquet = _run(client, toy, "strong.parquet").record.body
    from_jsonl = _run(client, toy, "strong.jsonl").record.body
    assert from_jsonl["datasets"] == from_parquet["datasets"]
    assert from_jsonl["target"]["predictions"] == "strong.jsonl"


def test_empty_and_one_class_slices_are_stated_not_crashed(client: Client, toy: Path) -> None:
    """An empty slice and a negatives-only slice: undefined with reasons; threshold inconclusive."""
    body = _run(client, toy, "strong.parquet").record.body
    slices = body["datasets"][0]["run"]["slices"]
    assert slices["nowhere"]["n"] == 0
    assert slices["nowhere"]["metrics"]["roc_auc"]["value"]["reason"] == "empty"
    assert slices["nowhere"]["metrics"]["roc_auc"]["ci"] is None
    quiet = slices["negatives_only"]
    assert quiet["n"] > 0
    assert quiet["positives"] == 0
    assert quiet["metrics"]["roc_auc"]["value"]["reason"] == "one class"
    assert quiet["metrics"]["pr_auc"]["value"]["reason"] == "no positives"
    assert quiet["metrics"]["brier"]["ci"] is not None  # still defined on one class
    (soft,) = [
        t for t in body["datasets"][0]["run"]["thresholds"]
        if t["threshold"]["slice"] == "negatives_only"
    ]  # fmt: skip
    assert (soft["outcome"], soft["reason"]) == ("inconclusive", "one class")
    assert body["passed"] is True  # the inconclusive threshold is soft


def test_hard_absolute_threshold_fails(client: Client, toy: Path) -> None:
    """A weak model misses the hard AUC floor: passed is False, and the report says so."""
    text = (toy / "suite.yaml").read_text().replace("value: 0.7}", "value: 0.9}")
    (toy / "hard.yaml").write_text(text)
    outcome = _run(client, toy, "weak.parquet", "hard.yaml")
    golden = outcome.record.body["datasets"][0]
    (auc,) = [
        t for t in golden["run"]["thresholds"]
        if t["threshold"]["metric"] == "roc_auc" and t["threshold"]["slice"] == "overall"
    ]  # fmt: skip
    assert auc["outcome"] == "fail"
    assert outcome.record.passed is False
    assert "| fail |" in outcome.markdown


def test_regression_set_miss_is_a_listed_critical_failure(client: Client, toy: Path) -> None:
    """Past incidents the model does not flag are critical failures with their examples."""
    outcome = _run(client, toy, "weak.parquet")
    body = outcome.record.body
    assert outcome.record.passed is False
    assert body["critical_failures"]["count"] > 0
    example = body["critical_failures"]["examples"][0]
    assert example["dataset"] == "eval_dataset/RUN-REGRESSION:1"
    assert example["label"] == 1
    assert example["score"] < 0.5
    regression = body["datasets"][1]
    assert regression["critical_failures"] == body["critical_failures"]["count"]
    assert regression["run"]["thresholds"] == []  # must-pass sets are judged by their misses
    assert regression["run"]["slices"]["overall"]["metrics"]["roc_auc"]["value"]["reason"] == (
        "one class"
    )
    assert "Critical failures (raw examples)" in outcome.markdown


def test_bad_input_is_refused_with_reason_codes(
    client: Client, toy: Path, write: Callable[[str, str], Path]
) -> None:
    """NaN scores, missing ids, labels outside {0, 1}, an LLM suite, a missing, score-less or
    broken predictions file: refused with a reason code, nothing stored."""
    strong = pq.read_table(toy / "strong.parquet")
    nan_scores = strong["score"].to_numpy().copy()
    nan_scores[7] = np.nan
    pq.write_table(strong.set_column(1, "score", pa.array(nan_scores)), toy / "nan.parquet")
    pq.write_table(strong.slice(0, 1500), toy / "partial.parquet")
    bad = _items(300, 9)
    labels = bad["y"].to_numpy().copy()
    labels[3] = 2
    pq.write_table(bad.set_column(1, "y", pa.array(labels)), toy / "badlabels.parquet")
    _register(client, write, "RUN-BADLABELS", "badlabels.parquet", "golden", 300)
    (toy / "badlabels.yaml").write_text(
        textwrap.dedent(SUITE).replace("RUN-GOLDEN:1", "RUN-BADLABELS:1")
    )
    pq.write_table(_scores(bad, 0.8, 1, 0.1), toy / "badpreds.parquet")
    (toy / "llm.yaml").write_text(textwrap.dedent(SUITE).replace("task: classifier", "task: llm"))
    (toy / "outputs.jsonl").write_text('{"id": "I00000", "text": "hello"}\n')
    (toy / "broken.jsonl").write_text('{"id": "I00000", "score": 0.5\n')
    cases = [
        ("nan.parquet", "suite.yaml", Reason.EVAL_SCORE_INVALID),
        ("partial.parquet", "suite.yaml", Reason.EVAL_LENGTH_MISMATCH),
        ("badpreds.parquet", "badlabels.yaml", Reason.EVAL_LABEL_INVALID),
        ("strong.parquet", "llm.yaml", Reason.INVALID_VALUE),
        ("missing.parquet", "suite.yaml", Reason.ARTIFACT_MISSING),
        ("missing.jsonl", "suite.yaml", Reason.ARTIFACT_MISSING),
        ("outputs.jsonl", "suite.yaml", Reason.COLUMN_MISSING),
        ("broken.jsonl", "suite.yaml", Reason.DATA_UNREADABLE),
    ]
    for preds, suite, reason in cases:
        with pytest.raises(AirelError) as info:
            _run(client, toy, preds, suite)
        assert info.value.reason is reason, preds
    assert client.evals.records() == []


def _model(n: int, seed: int) -> tuple[np.ndarray[tuple[int], np.dtype[np.float64]], ...]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(float)
    score = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.5 * y)))
    return y, score


def test_absolute_thresholds_are_judged_on_the_pessimistic_ci_end() -> None:
    """A floor between the CI's lower end and the point value fails; direction respected;
    change thresholds are not applicable; too few items are inconclusive."""
    y, s = _model(1500, 4)
    base = evaluate_single(y, s, metrics=["roc_auc", "brier"], resamples=200)
    auc, brier_ci = (
        base.slices["overall"].metrics["roc_auc"],
        base.slices["overall"].metrics["brier"],
    )
    assert auc.ci is not None
    assert auc.value.value is not None
    assert brier_ci.ci is not None
    assert brier_ci.value.value is not None
    between = (auc.ci[0] + auc.value.value) / 2
    brier_between = (brier_ci.ci[1] + brier_ci.value.value) / 2
    thresholds = [
        Threshold("roc_auc", ThresholdKind.ABSOLUTE, between),
        Threshold("roc_auc", ThresholdKind.ABSOLUTE, auc.ci[0] - 0.01),
        Threshold("brier", ThresholdKind.ABSOLUTE, brier_between),
        Threshold("brier", ThresholdKind.ABSOLUTE, brier_ci.ci[1] + 0.01),
        Threshold("roc_auc", ThresholdKind.MIN_RELATIVE_CHANGE, 0.0),
        Threshold("roc_auc", ThresholdKind.ABSOLUTE, 0.5, slice="tiny"),
    ]
    tiny = np.zeros(len(y), dtype=bool)
    tiny[:10] = True
    run = evaluate_single(y, s, metrics=["roc_auc", "brier"], thresholds=thresholds,
                          slices={"tiny": tiny}, resamples=200)  # fmt: skip
    assert [t.outcome for t in run.thresholds] == [
        Outcome.FAILED,
        Outcome.PASSED,
        Outcome.FAILED,
        Outcome.PASSED,
        Outcome.INCONCLUSIVE,
    ]
    assert run.thresholds[-1].reason == "fewer than 30 items"
    assert [t.kind for t in run.not_applicable] == [ThresholdKind.MIN_RELATIVE_CHANGE]
    assert run.passed is False
    json.dumps(run.to_dict(), allow_nan=False)
    with pytest.raises(ValidationError) as info:
        evaluate_single(y, s, slices={"overall": tiny})
    assert info.value.reason is Reason.EVAL_SLICE_INVALID


def test_cli_eval_run_dispatches_classifier_suites(client: Client, toy: Path) -> None:
    """`airel eval run` on a classifier suite scores one predictions file: exit 0 when every
    hard absolute threshold passes, 1 when one fails, 2 on an LLM target or a missing file."""
    from typer.testing import CliRunner

    from airel.cli.main import app

    runner = CliRunner()

    def run(target: str) -> tuple[int, Any]:
        args = ["--database-url", client.settings.database_url, "eval", "run", "--suite"]
        args += [str(toy / "suite.yaml"), "--target", target, "--label", "m", "--json"]
        result = runner.invoke(app, args)
        return result.exit_code, json.loads(result.stdout)

    code, out = run(str(toy / "strong.parquet"))
    assert (code, out["passed"]) == (0, True)
    assert out["datasets"][0]["run"]["slices"]["overall"]["n"] == 2000
    code, out = run(str(toy / "weak.parquet"))
    assert (code, out["passed"]) == (1, False)
    code, out = run("py:agent:answer")
    assert (code, out["reason"]) == (2, "INVALID_VALUE")
    code, out = run(str(toy / "missing.parquet"))
    assert (code, out["reason"]) == (2, "ARTIFACT_MISSING")


def test_release_option_links_the_result_as_gate_evidence(
    client: Client,
    toy: Path,
    fraud_registry: Client,
    bundle_yaml: Callable[..., str],
    write: Callable[..., Path],
) -> None:
    """`--release R` on `eval run` / `eval compare` links the stored record as R's G4 evidence;
    an unknown release is refused (exit 2, RELEASE_NOT_FOUND) before anything is evaluated."""
    from typer.testing import CliRunner

    from airel.cli.main import app
    from gate_fixtures import V2, freeze_pair

    freeze_pair(fraud_registry, bundle_yaml, write)
    runner = CliRunner()
    base = ["--database-url", client.settings.database_url, "eval"]
    suite = ["--suite", str(toy / "suite.yaml")]

    def run(*args: str) -> tuple[int, Any]:
        result = runner.invoke(app, [*base, *args, "--json"])
        return result.exit_code, json.loads(result.stdout)

    records = len(client.evals.records())
    code, out = run("run", *suite, "--target", str(toy / "strong.parquet"), "--label", "m",
                    "--release", "NO-SUCH-RELEASE-1")  # fmt: skip
    assert (code, out["reason"]) == (2, "RELEASE_NOT_FOUND")
    assert len(client.evals.records()) == records
    code, out = run("compare", *suite, "--baseline", str(toy / "weak.parquet"),
                    "--candidate", str(toy / "strong.parquet"), "--release", V2)  # fmt: skip
    assert (code, out["release"]) == (0, V2)
    (link,) = client.gates.evidence(V2).links
    assert (link.kind, link.record_id) == ("eval", out["record_id"])
