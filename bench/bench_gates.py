"""Benchmark: gate evaluation of a Tier 1 bundle with 50 evidence items (issue 5, ≤ 100 ms).

Builds the inputs a ``airel gate check`` makes for a Tier 1 release: the shipped default policy,
50 evidence records (bundle, validation runs, eval runs, CI, reviews, shadow, canary, ramp and
post-release attestations), every gate metric as a fact taken from the newest record of its
kind, five approvals (one per required role) and no ``--through`` — so all ten gates G0–G9 run.
Times, separately and as medians of ``--runs``:

* ``build_policy`` — load-time checks and CEL compilation of the policy (done once per policy);
* ``decide`` — the gate engine itself;
* ``decide + record`` — ``decide`` plus ``inputs_digest`` and ``Decision.to_dict`` (what the
  gate service stores).

Prints a table and one ``RESULT_JSON:`` line; exits 1 when the median of ``decide + record``
misses ``--target-ms`` (100).

Usage::

    .venv/bin/python bench/bench_gates.py [--runs 200] [--evidence 50] [--target-ms 100]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

import airel
from airel.domain.gate.approvals import Approval
from airel.domain.gate.decision import DecisionKind, Fact, GateInputs, decide
from airel.domain.gate.decision_identity import inputs_digest
from airel.domain.gate.metrics import METRICS, EvidenceKind, FactStatus
from airel.domain.gate.policy import Policy, build_policy
from airel.domain.kernel.tiers import PipelineType, RiskTier

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "b" * 64
GOOD: dict[str, Any] = {"risk_tier": 1, "shadow_requests": 5000, "rollback_drill_minutes": 6.0}


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def evidence_records(n: int) -> list[dict[str, Any]]:
    """``n`` evidence records cycling over every evidence kind, oldest first."""
    kinds = list(EvidenceKind)
    return [
        {
            "kind": kinds[i % len(kinds)].value,
            "ref": f"{kinds[i % len(kinds)].value}/AIREL-FRAUD-2026-007/{i}",
            "digest": _digest(f"evidence-{i}"),
            "created_at": (NOW - timedelta(hours=n - i)).isoformat(),
        }
        for i in range(n)
    ]


def facts_from(evidence: list[dict[str, Any]]) -> dict[str, Fact]:
    """Every metric from the newest record of its kind (all passing)."""
    newest = {e["kind"]: e["digest"] for e in evidence}
    return {
        m.name: Fact(FactStatus.OK, GOOD.get(m.name, m.sample()), newest[m.source.value])
        for m in METRICS.values()
    }


def make_inputs(policy: Policy, n_evidence: int) -> GateInputs:
    evidence = evidence_records(n_evidence)
    approvals = tuple(
        Approval(
            approval_id=f"{i:032x}",
            release_id="AIREL-FRAUD-2026-007",
            bundle_digest=DIGEST,
            role=role,
            approver=f"{role.value}.approver",
            issued_at=NOW - timedelta(hours=1),
            expires_at=NOW + timedelta(days=20),
        ).sealed()
        for i, role in enumerate(policy.tier(RiskTier.TIER_1).approvers, start=1)
    )
    return GateInputs(
        release_id="AIREL-FRAUD-2026-007",
        bundle_digest=DIGEST,
        tier=RiskTier.TIER_1,
        pipeline_type=PipelineType.CLASSIFIER,
        submitter="sam.submitter",
        rollback_target="AIREL-FRAUD-2026-006",
        facts=facts_from(evidence),
        evidence=tuple(evidence),
        policy=policy,
        approvals=approvals,
        waivers=(),
        now=NOW,
    )


def timed(fn: Callable[[], object], runs: int, warmup: int = 5) -> list[float]:
    """Milliseconds of ``runs`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> int:
    """Run the benchmark; print the table and RESULT_JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--evidence", type=int, default=50)
    ap.add_argument("--target-ms", type=float, default=100.0)
    args = ap.parse_args()

    path = Path(airel.__file__).parent / "policies" / "default.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    policy = build_policy(raw)
    inputs = make_inputs(policy, args.evidence)
    decision = decide(inputs)
    if decision.decision is not DecisionKind.GO or len(decision.gates) != 10:
        print(f"setup error: expected go over 10 gates, got {decision.decision} {decision.reasons}")
        return 2
    n_rules = sum(len(g.rules) + (g.entry is not None) for g in decision.gates)

    def record() -> object:
        return inputs_digest(inputs), decide(inputs).to_dict()

    timings = {
        "build_policy": timed(lambda: build_policy(raw), max(10, args.runs // 10)),
        "decide": timed(lambda: decide(inputs), args.runs),
        "decide + record": timed(record, args.runs),
    }
    print(
        f"Tier 1, {len(inputs.evidence)} evidence items, {len(inputs.facts)} facts, "
        f"10 gates, {n_rules} expressions, {len(inputs.approvals)} approvals"
    )
    print(f"{'step':<18} {'runs':>5} {'median ms':>10} {'p95 ms':>8} {'min ms':>8}")
    for step, ms in timings.items():
        p95 = statistics.quantiles(ms, n=20)[18] if len(ms) >= 20 else max(ms)
        print(f"{step:<18} {len(ms):>5} {statistics.median(ms):>10.3f} {p95:>8.3f} {min(ms):>8.3f}")
    gated = statistics.median(timings["decide + record"])
    result = {
        "bench": "gate_evaluation_tier1",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "evidence": len(inputs.evidence),
        "facts": len(inputs.facts),
        "gates": len(decision.gates),
        "expressions": n_rules,
        "approvals": len(inputs.approvals),
        "runs": args.runs,
        "build_policy_median_ms": round(statistics.median(timings["build_policy"]), 3),
        "decide_median_ms": round(statistics.median(timings["decide"]), 3),
        "decide_record_median_ms": round(gated, 3),
        "target_ms": args.target_ms,
        "ok": gated <= args.target_ms,
    }
    print("RESULT_JSON: " + json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
