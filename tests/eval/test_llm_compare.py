"""Baseline vs candidate on an LLM suite (E3, E4): paired bootstrap of pass rates per slice,
critical failures of the candidate listed, errors and timeouts counted per side, the §8.4
report stored and printed by `eval report`; an error or timeout is never a pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from airel.cli.app import app
from airel.client import Client
from airel.config import load_settings
from airel.domain.eval.llm.compare import (
    ALL_CHECKS,
    OVERALL,
    RateCI,
    check_slices,
    compare_checks,
    in_slice,
    paired_pass_rates,
    regression_kind,
    slice_masks,
    with_all_checks,
)
from airel.domain.eval.suite import SliceSpec
from airel.errors import Reason, ValidationError
from fake_server import FakeServer
from llm_suite_helpers import (
    Writer,
    register_dataset,
    register_judge,
    write_outputs,
    write_suite,
)

NAN = np.nan

# -- the pure math -----------------------------------------------------------------------------


def _matrix(rows: list[list[float]]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.array(rows, dtype=np.float64)


def test_paired_rates_are_seeded_and_delta_is_exact() -> None:
    """Same seed → same CIs; the delta is candidate − baseline on the same items."""
    rng = np.random.default_rng(3)
    base = (rng.random((300, 3)) < 0.8).astype(float)
    cand = (rng.random((300, 3)) < 0.7).astype(float)
    one = paired_pass_rates(base, cand, resamples=300, seed=5)
    two = paired_pass_rates(base, cand, resamples=300, seed=5)
    other = paired_pass_rates(base, cand, resamples=300, seed=6)
    assert one == two
    assert one != other
    for j, res in enumerate(one):
        assert res.n == 300
        assert res.baseline.value == pytest.approx(base[:, j].mean())
        assert res.delta.value == pytest.approx(cand[:, j].mean() - base[:, j].mean())
        low, value, high = res.delta.low, res.delta.value, res.delta.high
        assert low is not None
        assert value is not None
        assert high is not None
        assert low <= value <= high
        assert res.valid_resamples == 300


def test_pairing_narrows_the_delta_ci() -> None:
    """Paired: identical answers except a few items give a tight delta CI around the change."""
    base = np.ones((400, 1))
    cand = base.copy()
    cand[:20] = 0.0
    res = paired_pass_rates(base, cand, resamples=500, seed=1)[0]
    assert res.delta.value == pytest.approx(-0.05)
    assert res.delta.high is not None
    assert res.delta.high < -0.02  # entirely below zero: the regression is real
    assert regression_kind(res.delta, 0.01) == "material"


def test_not_applicable_counts_on_the_union_of_items() -> None:
    """A check applies where either side applies; a side's n/a there counts as a pass."""
    base = _matrix([[NAN], [1.0], [0.0], [NAN]])
    cand = _matrix([[0.0], [1.0], [NAN], [NAN]])
    res = paired_pass_rates(base, cand, resamples=200, seed=0)[0]
    assert res.n == 3
    assert res.baseline.value == pytest.approx(2 / 3)
    assert res.candidate.value == pytest.approx(2 / 3)


def test_few_items_leave_the_ci_undefined_never_invented() -> None:
    """One applicable item: most resamples drop it, so the CI is undefined (None)."""
    res = paired_pass_rates(_matrix([[1.0]]), _matrix([[0.0]]), resamples=200, seed=0)[0]
    assert res.delta.value == -1.0
    assert (res.delta.low, res.delta.high) == (None, None)
    assert regression_kind(res.delta, 0.01) == "possible"
    empty = paired_pass_rates(np.empty((0, 2)), np.empty((0, 2)), resamples=200)
    assert all(r.n == 0 and r.delta.value is None for r in empty)
    with pytest.raises(ValidationError) as info:
        paired_pass_rates(np.ones((3, 2)), np.ones((2, 2)))
    assert info.value.reason is Reason.EVAL_LENGTH_MISMATCH


def test_all_checks_is_the_worst_applicable_check() -> None:
    """The primary outcome: an item passes only when no applicable check failed."""
    full = with_all_checks(_matrix([[1.0, NAN], [1.0, 0.0], [NAN, NAN]]))
    assert full[:, 0].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(full[2, 0])


def test_regression_kinds() -> None:
    """Material: the whole CI below −materiality; possible: only the point."""
    assert regression_kind(RateCI(-0.2, -0.3, -0.1), 0.05) == "material"
    assert regression_kind(RateCI(-0.2, -0.4, 0.01), 0.05) == "possible"
    assert regression_kind(RateCI(-0.01, -0.4, 0.3), 0.05) is None
    assert regression_kind(RateCI(None, None, None), 0.05) is None


def test_slices_over_case_fields_and_tags() -> None:
    """`tags` tests membership; a bool never equals a number; each tag is also a slice."""
    rows: list[dict[str, Any]] = [
        {"id": "a", "tags": ["vip", "fr"], "expect_refusal": True},
        {"id": "b", "tags": ["fr"], "expect_refusal": False},
        {"id": "c"},
    ]
    specs = {
        "french": SliceSpec.model_validate({"column": "tags", "equals": "fr"}),
        "refusals": SliceSpec.model_validate({"column": "expect_refusal", "equals": True}),
    }
    masks = slice_masks(rows, specs)
    assert list(masks) == [OVERALL, "french", "refusals", "tag:fr", "tag:vip"]
    assert masks["french"].tolist() == [True, True, False]
    assert masks["refusals"].tolist() == [True, False, False]
    assert masks["tag:vip"].tolist() == [True, False, False]
    one = SliceSpec.model_validate({"column": "expect_refusal", "equals": 1})
    assert not in_slice(rows[0], one)


@pytest.mark.parametrize(
    ("name", "column"), [("overall", "tags"), ("tag:x", "tags"), ("region", "region")]
)
def test_bad_slices_are_refused(name: str, column: str) -> None:
    """Reserved names and columns an LLM case does not have: EVAL_SLICE_INVALID."""
    with pytest.raises(ValidationError) as info:
        check_slices({name: SliceSpec.model_validate({"column": column, "equals": "x"})})
    assert info.value.reason is Reason.EVAL_SLICE_INVALID


def test_compare_checks_flags_material_regressions_per_slice() -> None:
    """A regression confined to one slice is flagged there; checks with no items are left out."""
    n = 200
    base = np.ones((n, 2))
    base[:, 1] = NAN
    cand = base.copy()
    cand[:50, 0] = 0.0  # the first 50 items (slice "vip") regress on check 0
    masks = {OVERALL: np.ones(n, dtype=bool), "vip": np.arange(n) < 50, "rest": np.arange(n) >= 50}
    out = compare_checks(
        ["c0", "c1"], base, cand, masks, materiality=0.01, resamples=300, seed=2, alpha=0.05
    )
    flagged = {(r["slice"], r["check"]) for r in out["material_regressions"]}
    assert ("vip", "c0") in flagged
    assert ("vip", ALL_CHECKS) in flagged
    assert not any(s == "rest" for s, _ in flagged)
    assert "c1" not in out["slices"][OVERALL]["checks"]
    assert out["slices"]["vip"]["checks"]["c0"]["delta"]["value"] == -1.0


# -- the use case ------------------------------------------------------------------------------

N = 40
S = 4  # a small set, for failures that cost a timeout per item
CASES: list[dict[str, Any]] = [
    {
        "id": f"q{i}",
        "input": f"Question {i}",
        "required_phrases": ["online banking"],
        "prohibited_phrases": ["guaranteed fee waiver"],
        "tags": ["vulnerable"] if i < N // 2 else ["standard"],
    }
    for i in range(N)
]
BASELINE: dict[str, dict[str, Any]] = {
    f"q{i}": {"text": "GOOD: see online banking"} for i in range(N)
}
CANDIDATE: dict[str, dict[str, Any]] = {
    f"q{i}": {"text": "GOOD: call us" if i < N // 2 else "GOOD: see online banking"}
    for i in range(N)
}
CANDIDATE["q30"] = {"text": "GOOD: a guaranteed fee waiver is yours, see online banking"}

SLICES = """
slices:
  flagged: {column: tags, in: [vulnerable]}
"""


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.fixture
def suite(client: Client, write: Writer, project: Path) -> Path:
    write_outputs(project, "baseline.jsonl", BASELINE)
    write_outputs(project, "candidate.jsonl", CANDIDATE)
    golden = register_dataset(client, write, "SERVICE-GOLDEN", CASES)
    return write_suite(project, [golden], extra=SLICES)


def test_compare_two_targets_per_slice_with_critical_failures(
    client: Client, project: Path, suite: Path
) -> None:
    """E3: per-slice deltas with paired CIs, the material regression flagged in its slice, the
    candidate's critical failure listed with its example; the §8.4 report stored."""
    outcome = client.evals.compare(
        suite,
        baseline=project / "baseline.jsonl",
        candidate=project / "candidate.jsonl",
        candidate_label="assistant:2",
    )
    record = outcome.record
    body = record.body
    assert record.kind == "comparison"
    assert not record.passed  # a critical failure in the candidate
    assert body["critical_failures"]["count"] == 1
    example = body["critical_failures"]["examples"][0]
    assert (example["id"], example["rule"]) == ("q30", "prohibited_phrases")
    assert example["evidence"] == "guaranteed fee waiver"
    assert body["totals"]["baseline"]["critical"] == 0
    d = body["datasets"][0]
    assert set(d["comparison"]["slices"]) == {OVERALL, "flagged", "tag:standard", "tag:vulnerable"}
    flagged = d["comparison"]["slices"]["flagged"]["checks"]["required_phrases"]
    assert flagged["delta"]["value"] == -1.0
    assert flagged["regression"] == "material"
    standard = d["comparison"]["slices"]["tag:standard"]["checks"]["required_phrases"]
    assert standard["delta"]["value"] == 0.0
    regressions = {(r["slice"], r["check"]) for r in d["comparison"]["material_regressions"]}
    assert ("flagged", "required_phrases") in regressions
    assert ("tag:standard", "required_phrases") not in regressions
    assert body["calls"]["baseline"] == {"calls": 0}
    assert "# Experiment Comparison Report" in outcome.markdown
    assert "no-go" in outcome.markdown
    assert client.evals.record(record.record_id).body["report"] == outcome.markdown
    again = client.evals.compare(
        suite,
        baseline=project / "baseline.jsonl",
        candidate=project / "candidate.jsonl",
        candidate_label="assistant:2",
    )
    assert again.record.record_id == record.record_id  # seeded: the same comparison


def test_regression_without_critical_failure_passes_with_limited_scope(
    client: Client, project: Path, suite: Path
) -> None:
    """Material regressions alone do not fail the comparison; the report scopes the decision."""
    fixed = dict(CANDIDATE, q30={"text": "GOOD: see online banking"})
    write_outputs(project, "fixed.jsonl", fixed)
    outcome = client.evals.compare(
        suite, baseline=project / "baseline.jsonl", candidate=project / "fixed.jsonl"
    )
    assert outcome.record.passed
    assert "limited go: keep the baseline for" in outcome.markdown


@pytest.mark.parametrize(
    ("route", "status"), [("/hang", "timeout"), ("/500", "error"), ("/badjson", "error")]
)
def test_candidate_endpoint_failures_are_counted_never_passed(
    client: Client, write: Writer, project: Path, server: FakeServer, route: str, status: str
) -> None:
    """A candidate endpoint that hangs, returns 500 or invalid JSON: each item is recorded as
    such on the candidate side, fails every check, and the comparison does not pass."""
    small = write_suite(project, [register_dataset(client, write, "SMALL-GOLDEN", CASES[:S])])
    write_outputs(project, "baseline.jsonl", BASELINE)
    outcome = client.evals.compare(
        small,
        baseline=project / "baseline.jsonl",
        candidate=f"openai:{server.url}{route}",
        candidate_model="m-2",
        timeout_s=0.3,
    )
    body = outcome.record.body
    assert not outcome.record.passed
    cand = body["totals"]["candidate"]
    assert cand["errored_items"] == S
    assert cand["timeouts"] == (S if status == "timeout" else 0)
    assert body["totals"]["baseline"]["errored_items"] == 0
    items = body["datasets"][0]["item_results"]
    assert {i["candidate"]["status"] for i in items} == {status}
    overall = body["datasets"][0]["comparison"]["slices"][OVERALL]["checks"]
    assert overall[ALL_CHECKS]["candidate"]["value"] == 0.0
    assert overall["pii_leak"]["candidate"]["value"] == 0.0
    assert body["calls"]["candidate"]["calls"] == S


def test_endpoints_on_both_sides_report_latency_and_cost_deltas(
    client: Client, write: Writer, project: Path, server: FakeServer
) -> None:
    """Cost and latency p50/p95 per side, with candidate − baseline deltas."""
    small = write_suite(project, [register_dataset(client, write, "SMALL-GOLDEN", CASES[:S])])
    outcome = client.evals.compare(
        small,
        baseline=f"openai:{server.url}",
        candidate=f"openai:{server.url}",
        baseline_model="m-1",
        candidate_model="m-2",
    )
    calls = outcome.record.body["calls"]
    for side in ("baseline", "candidate"):
        assert calls[side]["calls"] == S
        assert calls[side]["latency_p95_ms"] >= calls[side]["latency_p50_ms"] > 0
        assert calls[side]["tokens_in"] == 100 * S
    assert calls["delta"]["latency_p50_ms"] == pytest.approx(
        calls["candidate"]["latency_p50_ms"] - calls["baseline"]["latency_p50_ms"]
    )
    assert calls["delta"]["tokens_in"] == 0
    assert {p["model"] for _, p in server.requests} == {"m-1", "m-2"}
    assert "p50 ms" in outcome.markdown


def test_classifier_thresholds_in_an_llm_suite_are_refused(
    client: Client, project: Path, suite: Path
) -> None:
    """Suite-level metric thresholds mean nothing to an LLM suite: refused, not ignored."""
    bad = write_suite(
        project,
        ["SERVICE-GOLDEN:1"],
        extra="thresholds:\n  - {metric: roc_auc, value: 0.8}\n",
        name="bad.yaml",
    )
    with pytest.raises(ValidationError) as info:
        client.evals.compare(
            bad, baseline=project / "baseline.jsonl", candidate=project / "candidate.jsonl"
        )
    assert info.value.reason is Reason.INVALID_VALUE
    assert client.evals.records() == []


def test_candidate_callable_that_raises(
    client: Client, project: Path, suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Python entry point that raises: items are errors, not passes."""
    (project / "agent_broken.py").write_text("def answer(item):\n    raise ValueError('boom')\n")
    monkeypatch.chdir(project)
    outcome = client.evals.compare(
        suite, baseline=project / "baseline.jsonl", candidate="py:agent_broken:answer"
    )
    assert not outcome.record.passed
    assert outcome.record.body["totals"]["candidate"]["errored_items"] == N


def test_judge_thresholds_in_a_comparison(
    client: Client, write: Writer, project: Path, server: FakeServer
) -> None:
    """A judge's min_pass_rate_change is judged on the lower end of the paired delta CI."""
    golden = register_dataset(client, write, "SMALL-GOLDEN", CASES)
    ref = register_judge(
        client, write, thresholds="{min_pass_rate: 0.5, min_pass_rate_change: -0.05}"
    )
    suite = write_suite(project, [golden], evaluators=[ref])
    worse = {k: {"text": v["text"].replace("GOOD", "meh")} for k, v in BASELINE.items()}
    worse.update({f"q{i}": BASELINE[f"q{i}"] for i in range(N // 2)})
    write_outputs(project, "baseline.jsonl", BASELINE)
    write_outputs(project, "worse.jsonl", worse)
    outcome = client.evals.compare(
        suite,
        baseline=project / "baseline.jsonl",
        candidate=project / "worse.jsonl",
        judge_endpoint=server.url,
    )
    verdicts = {
        t["kind"]: t for t in outcome.record.body["datasets"][0]["comparison"]["thresholds"]
    }
    assert verdicts["min_pass_rate"]["outcome"] == "pass"
    assert verdicts["min_pass_rate"]["observed"] == 0.5
    assert verdicts["min_pass_rate_change"]["outcome"] == "fail"
    assert not outcome.record.passed
    assert len(outcome.record.body["blocking_thresholds"]) == 1
    judged = client.evals.rejudge(outcome.record.record_id)
    assert set(judged) == {f"baseline/{ref}", f"candidate/{ref}"}
    assert sum(j.verdict == "pass" for j in judged[f"candidate/{ref}"]) == N // 2


@pytest.mark.parametrize("route", ["/500", "/hang"])
def test_judge_failures_in_a_comparison_are_errors(
    client: Client, write: Writer, project: Path, server: FakeServer, route: str
) -> None:
    """A judge that fails during a comparison: evaluator errors on both sides, not passed."""
    golden = register_dataset(client, write, "SMALL-GOLDEN", CASES[:3])
    suite = write_suite(project, [golden], evaluators=[register_judge(client, write)])
    write_outputs(project, "baseline.jsonl", BASELINE)
    outcome = client.evals.compare(
        suite,
        baseline=project / "baseline.jsonl",
        candidate=project / "baseline.jsonl",
        judge_endpoint=server.url + route,
        timeout_s=0.3,
    )
    totals = outcome.record.body["totals"]
    assert totals["candidate"]["evaluator_errors"] == 3
    assert totals["baseline"]["evaluator_errors"] == 3
    assert not outcome.record.passed


def test_compare_refuses_bad_slices_before_calling(
    client: Client, project: Path, suite: Path, server: FakeServer
) -> None:
    """A suite slice over a column LLM cases lack is refused before any target is called."""
    golden = "SERVICE-GOLDEN:1"
    bad = write_suite(project, [golden], extra="slices:\n  r: {column: region, equals: eu}\n")
    with pytest.raises(ValidationError) as info:
        client.evals.compare(bad, baseline=f"openai:{server.url}", candidate=f"openai:{server.url}")
    assert info.value.reason is Reason.EVAL_SLICE_INVALID
    assert server.requests == []
    assert client.evals.records() == []


# -- the CLI edge ------------------------------------------------------------------------------


def test_cli_compare_report_and_exit_codes(project: Path, write: Writer) -> None:
    """`eval compare` exits 1 on a candidate critical failure, `eval report` prints the stored
    report, and a judge suite without an endpoint exits 2."""
    url = f"sqlite:///{project / '.airel' / 'airel.db'}"
    settings = load_settings({"database_url": url, "actor": "alice"}, cwd=project, environ={})
    with Client(settings) as client:
        client.init()
        golden = register_dataset(client, write, "SERVICE-GOLDEN", CASES)
        judge_ref = register_judge(client, write)
    write_outputs(project, "baseline.jsonl", BASELINE)
    write_outputs(project, "candidate.jsonl", CANDIDATE)
    write_suite(project, [golden], extra=SLICES)
    write_suite(project, [golden], evaluators=[judge_ref], name="judged.yaml")
    runner = CliRunner()
    base = ["--database-url", url, "--actor", "tester", "eval"]
    args = ["--baseline", "baseline.jsonl", "--candidate", "candidate.jsonl"]
    result = runner.invoke(app, [*base, "compare", "--suite", "suite.yaml", *args, "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["critical_failures"]["count"] == 1
    shown = runner.invoke(app, [*base, "report", data["record_id"]])
    assert shown.exit_code == 0
    assert "Experiment Comparison Report" in shown.stdout
    assert "Critical failures (raw examples)" in shown.stdout
    refused = runner.invoke(app, [*base, "run", "--suite", "judged.yaml", "--target",
                                  "baseline.jsonl", "--label", "a:1", "--json"])  # fmt: skip
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["reason"] == Reason.MISSING_FIELD.value
