"""The main job: the fraud-scoring demo runs end to end on the embedded store (issues 2–5).

The demo prints one line per step (✓/✗, number, what happened, the id, the command that shows
it) and one line per failing rule under a gate no-go; ``--verbose`` adds each command's full
output. The tests read the story back from the store and check the output tells the same one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airel import Client
from airel.config import load_settings
from airel.domain.monitoring.trace import TraceQuery

DEMO = Path(__file__).resolve().parents[2] / "examples" / "fraud-scoring" / "run_demo.py"
ROWS = "30000"
MAX_LINES = 110  # the default output stays readable
STEP = re.compile(r"^([✓✗]) +(\d+) (.*?)(?:  \(airel (.+)\))?$")
NOT_FAILING = {"pass", "excepted", "accepted"}
PROD, CAND = "FRAUD-SCORING-2026-001", "FRAUD-SCORING-2026-002"


@dataclass(frozen=True)
class DemoRun:
    """One run of the demo: its work directory and output."""

    work: Path
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def steps(self) -> list[tuple[str, int, str, str | None, list[str]]]:
        """(mark, number, text, look-up command, indented lines under it) per step line."""
        found: list[tuple[str, int, str, str | None, list[str]]] = []
        for line in self.lines:
            m = STEP.match(line)
            if m:
                found.append((m[1], int(m[2]), m[3], m[4], []))
            elif line.startswith("    ") and found:
                found[-1][4].append(line.strip())
        return found

    def step(self, *words: str) -> tuple[str, int, str, str | None, list[str]]:
        """The only step line containing every one of ``words``."""
        (hit,) = [s for s in self.steps() if all(w in s[2] for w in words)]
        return hit


def run_demo(work: Path, *extra: str) -> DemoRun:
    proc = subprocess.run(
        [sys.executable, str(DEMO), "--workdir", str(work), "--rows", ROWS, *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return DemoRun(work, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run the demo once for every test of this module."""
    return run_demo(tmp_path_factory.mktemp("demo") / "work")


def demo_client(work: Path) -> Client:
    """A client on the demo's store."""
    return Client(load_settings({"home": str(work / ".airel")}, cwd=work, environ={}))


def failing_rules(outcome: dict[str, Any]) -> list[tuple[str, str]]:
    """(gate, rule) of every result that blocks, in gate order, from a stored outcome."""
    return [
        (gate["gate"], result["rule"])
        for gate in outcome["gates"]
        for result in ([gate["entry"]] if gate.get("entry") else []) + gate["rules"]
        if result["status"] not in NOT_FAILING
    ]


@pytest.mark.slow
def test_demo_freezes_a_complete_candidate_with_lineage(demo: DemoRun) -> None:
    """Registers everything, freezes both releases, prints bundle, completeness and lineage."""
    work = demo.work
    assert "complete for Tier 1 classifier" in demo.step("freeze the candidate release")[2]
    mark, _, text, lookup, _ = demo.step("freeze the production release")
    assert mark == "✗"  # the production release's known gap
    assert "BUNDLE_NO_ROLLBACK_TARGET" in text
    assert lookup == "bundle show FRAUD-SCORING-2026-001"
    assert "audit chain intact" in demo.out
    registered = [s for s in demo.steps() if s[2].startswith("register ")]
    assert len(registered) == 17
    assert all(s[0] == "✓" and s[3] and s[3].startswith("component show ") for s in registered)

    client = demo_client(work)
    candidate = client.bundles.get("FRAUD-SCORING-2026-002")
    assert client.bundles.completeness(candidate.release_id).complete
    used = client.registry.lineage(
        "dataset/FRAUD-TRAIN-2026H1:1", direction="downstream"
    ).releases()
    assert used == ["FRAUD-SCORING-2026-001", "FRAUD-SCORING-2026-002"]
    assert ", ".join(used) in demo.step("lineage", "training snapshot")[2]
    repro = {
        i.item: i.status.value for i in client.bundles.reproducibility(candidate.release_id).items
    }
    assert repro["data_snapshot"] == "present"
    assert repro["approval"] == "present"  # the decision, five approvals, two exceptions
    assert "missing" not in demo.step("reproducibility")[2]
    model = client.registry.component("model", "fraud-score@candidate")
    assert model.version == "2.0.0"
    assert model.fields["training"]["seed"] == 7
    assert model.digest[:19] in demo.step("register model fraud-score:2.0.0")[2]
    assert client.bundles.verify(candidate.release_id).ok
    manifest = json.loads((work / "data" / "data_manifest.json").read_text())
    train = client.registry.component("dataset", "FRAUD-TRAIN-2026H1:1")
    assert train.fields["row_count"] == manifest["files"][0]["rows"]

    # Issue 3: the validation step stored one run whose card names the injected problems.
    (run,) = client.data.runs(current="dataset/FRAUD-VALIDATION-2026H1:1")
    assert run.reference == "dataset/FRAUD-TRAIN-2026H1:1"
    assert run.feature_view == "feature_view/fraud-auth-features:11"
    reasons = {(f["column"], f["reason"]) for f in run.findings}
    assert ("amount", "SKEW_MISMATCH") in reasons
    assert ("txn_count_24h", "SKEW_MISMATCH") in reasons
    assert ("chargeback_date", "LEAKAGE_POST_OUTCOME") in reasons
    assert ("vulnerable_customer", "ACL_DISALLOWED_USE") in reasons
    assert not any(r.startswith("DRIFT") for _, r in reasons)  # same generator: no drift
    assert not run.passed
    mark, _, text, lookup, _ = demo.step("validate the newer snapshot")
    assert mark == "✗"
    assert lookup == f"validation show {run.run_id}"
    assert all(f"{reason} {column}" in text for column, reason in reasons)
    card = (work / "validation-card.md").read_text()
    assert "SKEW_MISMATCH" in card

    # Issue 4: the comparison the eval step names is the stored one.
    _, _, text, lookup, _ = demo.step("offline eval")
    record_id = (lookup or "").removeprefix("eval report ")
    assert client.evals.record(record_id).passed
    assert "0 critical failures" in text
    client.close()


@pytest.mark.slow
def test_demo_gates_the_candidate_to_a_limited_go(demo: DemoRun) -> None:
    """Issue 5: G0–G4 on stored evidence. The monitoring validation blocks G3 (no-go); after
    the fix one soft finding needs an exception; with it the candidate is a limited go capped
    at staging with the exception's conditions. The submitter cannot approve; the production
    release, without a rollback target, is a no-go. Decisions reproduce from stored inputs."""
    client = demo_client(demo.work)
    decisions = client.gates.decisions("FRAUD-SCORING-2026-002")[:3]  # G0–G4 (later: G5, G6)
    assert [(d.decision, d.through) for d in decisions] == [
        ("no_go", "G4"), ("no_go", "G4"), ("limited_go", "G4"),
    ]  # fmt: skip
    first, second, final = (d.body["outcome"] for d in decisions)
    assert "G3:VALIDATION_HARD_FAILURE:validation-hard" in first["reasons"]
    assert second["reasons"] == ["G3:SOFT_FAILURE_WITHOUT_EXCEPTION:validation-soft"]
    assert final["conditions"]["max_stage"] == "staging"
    assert final["conditions"]["segments"] == ["vulnerable customers"]
    assert [g["status"] for g in final["gates"]] == [
        "passed", "passed", "passed", "passed_with_conditions", "passed",
    ]  # fmt: skip
    assert all(client.gates.recheck(d.decision_id).reproduced for d in decisions)
    waiver = client.gates.waivers("FRAUD-SCORING-2026-002")[0]
    assert (waiver.approver, waiver.role.value, waiver.rules) == (
        "mara-okafor", "model_risk", ["validation-soft"],
    )  # fmt: skip
    (prod,) = client.gates.decisions("FRAUD-SCORING-2026-001")
    assert prod.decision == "no_go"
    assert "G2:NO_EXECUTABLE_ROLLBACK_TARGET:rollback-target" in prod.body["outcome"]["reasons"]
    memo = (demo.work / "gate-memo.md").read_text()
    assert "decision: Limited go to staging" in memo
    assert "| G4 zero-critical-failures (hard) | eval_critical_failures = 0 |" in memo
    assert (demo.work / "gate-memo.html").read_text().startswith("<!DOCTYPE html>")
    assert client.audit.verify().ok

    # The output tells the same story, step by step, each with the decision to look up.
    checks = [s for s in demo.steps() if s[2].startswith("gate check FRAUD-SCORING-2026-002 G0–G4")]
    assert [s[0] for s in checks] == ["✗", "✗", "✓"]
    for (_, _, _, lookup, _), decision in zip(checks, decisions, strict=True):
        prefix = (lookup or "").removeprefix("gate explain ")
        assert client.gates.decision(prefix).decision_id == decision.decision_id
    # The first no-go lists every failing rule, each with its gate, kind, status and place.
    _, _, text, _, rules = checks[0]
    assert "no_go at G3" in text
    assert [tuple(r.split()[:2]) for r in rules] == failing_rules(first) != []
    assert "G3 validation-hard (hard) fail VALIDATION_HARD_FAILURE — deciding" in rules
    assert checks[1][4] == [
        "G3 validation-soft (soft) fail SOFT_FAILURE_WITHOUT_EXCEPTION — deciding"
    ]
    assert "limited_go up to staging" in checks[2][2]
    assert checks[2][4] == []
    # Refusals that are part of the story are steps on stdout, not errors on stderr.
    mark, _, text, _, _ = demo.step("approve as release-manager")
    assert mark == "✗"
    assert "refused SELF_APPROVAL" in text
    assert "SELF_APPROVAL" not in demo.err
    assert "no_go → limited_go" in demo.step("exception by mara-okafor")[2]
    mark, _, text, _, rules = demo.step("gate check FRAUD-SCORING-2026-001")
    assert mark == "✗"
    assert "no_go at G2" in text
    assert (
        "G2 rollback-target (hard) fail NO_EXECUTABLE_ROLLBACK_TARGET — deciding; "
        "cause BUNDLE_NO_ROLLBACK_TARGET"
    ) in rules
    client.close()


@pytest.mark.slow
def test_demo_output_is_one_line_per_step(demo: DemoRun) -> None:
    """Short by default: numbered step lines, failing rules under no-gos, no tables."""
    lines = demo.lines
    assert len(lines) < MAX_LINES, f"{len(lines)} lines"
    steps = demo.steps()
    assert [s[1] for s in steps] == list(range(1, len(steps) + 1))
    detail = sum(len(s[4]) for s in steps)
    assert len(steps) + detail + 2 == len(lines)  # plus the title and the closing line
    assert lines[-1].startswith("demo finished in")
    assert not any(ch in demo.out for ch in "┏┃│└")  # no Rich tables
    assert "$ airel" not in demo.out
    assert demo.err.strip() == ""


@pytest.mark.slow
@pytest.mark.xdist_group("demo-verbose")  # a worker of its own: runs beside the default demo
def test_demo_verbose_prints_every_table(tmp_path: Path) -> None:
    """--verbose: the same step lines, each followed by its look-up command's full output."""
    verbose = run_demo(tmp_path / "work", "--verbose")
    assert len(verbose.lines) > 5 * MAX_LINES
    steps = verbose.steps()
    assert [s[1] for s in steps] == list(range(1, len(steps) + 1))
    assert "refused SELF_APPROVAL" in verbose.step("approve as release-manager")[2]
    assert "no_go at G3" in verbose.step("gate check", "the validation found skew")[2]
    out = verbose.out
    assert "$ airel bundle show FRAUD-SCORING-2026-002" in out
    assert "┏" in out
    assert "completeness: INCOMPLETE at Tier 1 / classifier" in out  # the production release
    assert "gates of FRAUD-SCORING-2026-002" in out
    assert "# Dataset and Feature Validation Card" in out
    assert "# Experiment Comparison Report" in out
    assert "lineage (upstream)" in out
    assert "fix: ask someone else holding the role to approve" in out


@pytest.mark.slow
def test_demo_promotes_to_staging_and_no_further(demo: DemoRun) -> None:
    """Issue 11 (P1, R6, §8.2): the limited go admits the candidate to staging; shadow is
    refused because the decision caps it there; the manifest and the card are stored."""
    client = demo_client(demo.work)
    promotion = client.promotions.list("FRAUD-SCORING-2026-002")[0]
    assert promotion.target.value == "staging"
    deployment = client.promotions.deployments(release_id="FRAUD-SCORING-2026-002")[0]
    assert deployment.manifest.environment.value == "staging"
    assert deployment.manifest.traffic == {"FRAUD-SCORING-2026-002": 100.0}
    assert deployment.manifest.route == "fraud-score-prod"
    assert deployment.manifest.decision_id == promotion.decision_id
    mark, _, text, lookup, _ = demo.step("shadow refused")
    assert mark == "✓"
    assert "PROMOTION_BEYOND_DECISION" in text
    assert lookup == "promotion list --release FRAUD-SCORING-2026-002"
    assert (
        (demo.work / "promotion-card.md")
        .read_text(encoding="utf-8")
        .startswith("# Model Promotion Card")
    )
    client.close()


@pytest.mark.slow
def test_demo_rolls_out_and_back(demo: DemoRun) -> None:
    """Issue 11 (P1–P7, §5.6, §8.5–§8.6): with G5 reviews, five approvals and a fairness
    exception the candidate enters shadow, then canary at 2 % (G6); critical failures in the
    canary fire the stop condition, the route goes back to production at once (and the
    reconciler applies it), the canary's batch is quarantined, and a new promotion needs a
    restart gate decision."""
    client = demo_client(demo.work)
    release = "FRAUD-SCORING-2026-002"
    later = [
        (d.decision, d.through, d.body["outcome"]["conditions"]["max_stage"])
        for d in client.gates.decisions(release)[3:]
    ]
    assert later == [
        ("limited_go", "G5", "shadow"), ("limited_go", "G6", "canary"),
    ]  # fmt: skip
    assert sorted(a.role.value for a in client.gates.approvals(release)) == [
        "business_owner", "compliance", "data_owner", "model_risk", "security",
    ]  # fmt: skip
    assert [(w.approver, w.rules) for w in client.gates.waivers(release)][1] == (
        "lena-vos", ["fairness"],
    )  # fmt: skip
    assert [p.target.value for p in client.promotions.list(release)] == [
        "staging", "shadow", "canary",
    ]  # fmt: skip
    canary = client.promotions.deployments(release_id=release)[-1].manifest
    assert canary.traffic == {"FRAUD-SCORING-2026-001": 98.0, release: 2.0}

    history = client.rollouts.history("fraud-score-prod")
    assert [e.kind.value for e in history] == [
        "adopt", "promote", "advance", "observe", "stop", "observe",
    ]  # fmt: skip
    assert [e.version for e in history] == [1, 2, 3, 3, 4, 4]
    route = client.rollouts.route("fraud-score-prod")
    assert route.desired.weights == {"FRAUD-SCORING-2026-001": 100.0}
    assert route.converged  # the reconciler applied the rollback: the gateway serves it
    drill, stop, batch = client.rollouts.rollbacks(release)
    assert (drill.component.value, drill.lane, drill.reason) == (
        "route",
        "staging",
        "rollback drill",
    )
    assert (stop.component.value, stop.lane, stop.target) == (
        "route", "production", "FRAUD-SCORING-2026-001",
    )  # fmt: skip
    assert stop.reason == "STOP:canary_critical_failures > 0"
    assert stop.body["automatic"] is True
    assert (batch.component.value, batch.body["batch_run"]) == (
        "batch", "canary-1-scores-2026-05-26",
    )  # fmt: skip
    (recorded,) = client.rollouts.drills(release)
    assert recorded.passed
    assert client.audit.verify().ok

    mark, _, text, _, _ = demo.step("promote again refused")
    assert (mark, "RESTART_GATE_REQUIRED" in text) == ("✓", True)
    assert "STOP:canary_critical_failures > 0" in demo.step("canary analysis of the traces")[2]
    for name, title in (
        ("canary-plan.md", "# Canary Plan"),
        ("rollback-runbook.md", "# Rollback runbook"),
        ("rollback-drill.md", "# Rollback drill"),
    ):
        assert (demo.work / name).read_text(encoding="utf-8").startswith(title), name
    client.close()


def running_in(work: Path) -> list[str]:
    """The processes whose working directory is ``work`` (Linux /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cwd").resolve() == work.resolve():
                    found.append(f"{proc.name}: {(proc / 'cmdline').read_text()!r}")
            except OSError:  # gone meanwhile, or not ours to read
                continue
    return found


@pytest.mark.slow
def test_demo_canary_verdict_comes_from_gateway_traces(demo: DemoRun) -> None:
    """Issue 12 (T1–T3): the canary runs on real requests through `airel serve gateway` to
    the two releases' model upstreams (their endpoints in the stored deployments); its
    verdict comes from the traces: clean traffic is inconclusive and holds, the planted
    defect's critical failures fail it and the stop condition rolls the route back; sticky by
    customer until then, excluded segments on production, and production answers everyone
    after it."""
    client = demo_client(demo.work)
    stable = client.promotions.deployments(release_id=PROD)[-1].manifest
    canary = client.promotions.deployments(release_id=CAND)[-1].manifest
    assert (stable.environment.value, canary.environment.value) == ("scaled_production", "canary")
    assert stable.endpoint is not None
    assert stable.endpoint.startswith("http://127.0.0.1:")
    assert canary.endpoint not in (None, stable.endpoint)

    # the canary evidence is the analysis of the traces: inconclusive first, then the failure
    analyses = [a for a in client.gates.evidence(CAND).attestations if a.kind == "canary"]
    assert [a.status.value for a in analyses] == ["inconclusive", "ok"]
    prefix = "airel canary analysis: fraud-score-prod@production step canary-1 ["
    assert all((a.source or "").startswith(prefix) for a in analyses)
    live = client.monitoring.query(TraceQuery(mode="live", limit=100_000))
    served = [t for t in live if t.release_id == CAND]
    critical = [t for t in served if t.critical_failure]
    assert analyses[0].metrics["canary_critical_failures"] == 0
    assert analyses[1].metrics["canary_critical_failures"] == len(critical) > 0
    assert analyses[1].metrics["canary_requests"] == len(served)
    assert all("decline_below_policy_threshold" in t.quality_flags for t in critical)
    assert {t.model_version for t in served} == {"fraud-score:2.0.0"}
    assert {t.model_version for t in live if t.release_id == PROD} == {"fraud-score:1.0.0"}
    excluded = {"vulnerable-customers", "hardship", "complaint"}
    assert not any(set(t.segments) & excluded for t in served)
    assert any(set(t.segments) & excluded for t in live)  # they were sent, to production

    # sticky until the stop; after it, production answers everyone
    (stop,) = [e for e in client.rollouts.history("fraud-score-prod") if e.kind.value == "stop"]
    releases: dict[str | None, set[str]] = {}
    for t in live:
        if t.at < stop.created_at:
            releases.setdefault(t.key_digest, set()).add(t.release_id)
    assert all(len(r) == 1 for r in releases.values())
    after = [t for t in live if t.at >= stop.created_at]
    assert after
    assert {t.release_id for t in after} == {PROD}
    assert max(t.at for t in served) < stop.created_at
    client.close()


@pytest.mark.slow
def test_demo_reports_the_impacted_population_and_verified_traces(demo: DemoRun) -> None:
    """Issue 12: the output's canary steps tell what the store holds — the planted critical
    failures, the failed analysis, the impacted population (exactly the candidate's traced
    requests), every trace verified — and no process the demo started is left running."""
    client = demo_client(demo.work)
    live = client.monitoring.query(TraceQuery(mode="live", limit=100_000))
    served = [t for t in live if t.release_id == CAND]
    mark, _, text, lookup, _ = demo.step("impacted population")
    assert mark == "✓"
    assert f"{len(served)} requests (exactly those the gateway answered from it)" in text
    assert (lookup or "").startswith(f"traces query --release {CAND} --since ")
    mark, _, text, _, _ = demo.step("plant a production problem")
    assert mark == "✓"
    critical = sum(t.critical_failure for t in served)
    assert f"{critical} declines below the policy's threshold" in text
    mark, _, text, _, _ = demo.step("canary analysis of the traces")
    assert (mark, "fail (CRITICAL:" in text) == ("✓", True)
    assert "inconclusive" in demo.step("airel canary analyse on the traces")[2]
    _, traces, problems = client.monitoring.verify()
    assert problems == []
    assert traces == len(live) > 1000
    mark, _, text, _, _ = demo.step("airel traces verify")
    assert (mark, f"{traces:,} traces match" in text) == ("✓", True)
    assert running_in(demo.work) == []
    client.close()
