"""Benchmark: one reconcile step and one route rollback, end to end (issue 11).

Sets up ``--routes`` production routes on a fresh store (SQLite under a temp directory, or
``--database-url``): one stable release adopted on every route, and per route a candidate
with a go decision promoted into the shadow step of a three-step plan, with passing shadow
evidence. Then, route by route, times:

* ``reconcile step`` — what one pass of the reconciler does for a route whose step passed:
  ``rollouts.advance`` (the analysis from the stored attestations, the promotion into canary
  under the decision, the new manifest, the route compare-and-set, the event and the audit
  entries — one transaction) and ``reconciler.observe`` (the file router writes the split,
  the observation is recorded — a second transaction);
* ``route rollback`` — ``rollbacks.rollback(..., "route")`` back to the stable release plus the
  router applying it: the time until the router serves the last-known-good again;
* ``idle pass`` — a full ``reconcile`` pass over every route when nothing needs doing.

Prints a table and one ``RESULT_JSON:`` line; exits 1 when the median route rollback misses
``--target-ms`` (1000: "well under a second locally", issue 11).

Usage::

    .venv/bin/python bench/bench_rollout.py [--routes 40] [--target-ms 1000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import airel
from airel.adapters.router import FileRouter
from airel.client import Client
from airel.config import load_settings
from airel.domain.gate.records import DecisionRecord
from airel.domain.kernel.canonical import digest_of
from airel.domain.release.bundle import release_node
from airel.services.gate import evidence
from airel.services.kernel.context import Context
from airel.services.promotion import promotions, reconciler, rollbacks, rollouts
from airel.store.contract import WriteTx

STABLE = "SCORE-2026-000"
PLAN = """\
plan_id: SCORE-ROLLOUT
steps:
  - name: shadow
    environment: shadow
    traffic_percent: 0
    success: [{metric: shadow_side_effects, op: "==", value: 0}]
    stop: [{metric: shadow_side_effects, op: ">", value: 0}]
  - name: canary-1
    environment: canary
    traffic_percent: 5
    success: [{metric: canary_critical_failures, op: "==", value: 0}]
    stop: [{metric: canary_critical_failures, op: ">", value: 0}]
  - name: canary-2
    environment: canary
    traffic_percent: 20
    stop: [{metric: canary_critical_failures, op: ">", value: 0}]
"""
DEPLOY = "monitoring: {dashboard: grafana/score, auto_rollback: [any critical failure]}\n"


def bundle(release: str, route: str, rollback_target: str | None) -> str:
    text = f"release_id: {release}\nuse_case_id: SCORING\nrisk_tier: 3\n"
    text += f"deployment:\n  route: {route}\n"
    return text + (f"  rollback_target: {rollback_target}\n" if rollback_target else "")


def record_go(ctx: Context, release: str, digest: str) -> None:
    """A stored go decision (the gate engine's run is timed by bench_gates.py, not here)."""
    now = ctx.clock.now()
    body: dict[str, Any] = {
        "outcome": {"decided_at": now.isoformat(), "conditions": {}, "max_stage": None}
    }
    record = DecisionRecord(
        decision_id=digest_of({"bench": release}),
        release_id=release,
        bundle_digest=digest,
        decision="go",
        policy_ref="airel-default:1.0",
        policy_digest=digest_of("policy"),
        inputs_digest=digest_of({"inputs": release}),
        through=None,
        expires_at=(now + timedelta(days=30)).isoformat(),
        created_at=ctx.stamp(),
        created_by=ctx.actor,
        body=body,
    )

    def write(tx: WriteTx) -> None:
        tx.insert_decision(record)
        tx.append_audit(
            actor=ctx.actor,
            action="gate.decide",
            subject=release_node(release),
            before=None,
            after=record.decision_id,
            details={"bench": True},
        )

    ctx.store.write(write)


def setup(client: Client, work: Path, routes: int) -> list[tuple[str, str]]:
    """``routes`` (route, candidate) pairs, each candidate in the shadow step with evidence."""
    (work / "plan.yaml").write_text(PLAN)
    (work / "deploy.yaml").write_text(DEPLOY)
    (work / "stable.yaml").write_text(bundle(STABLE, "route-0", None))
    client.bundles.create(work / "stable.yaml", freeze=True, allow_incomplete="bench")
    pairs = []
    for i in range(routes):
        route, release = f"route-{i}", f"SCORE-2026-{i + 1:03d}"
        (work / f"{release}.yaml").write_text(bundle(release, route, STABLE))
        frozen = client.bundles.create(
            work / f"{release}.yaml", freeze=True, allow_incomplete="bench"
        ).bundle
        record_go(client.ctx, release, frozen.digest)
        rollouts.adopt(client.ctx, route, release_id=STABLE, change_approval="CHG-BENCH")
        promotions.promote(
            client.ctx,
            release,
            target="shadow",
            plan=work / "plan.yaml",
            deployment=work / "deploy.yaml",
        )
        evidence.add_attestation(client.ctx, release, "shadow", {"shadow_side_effects": 0})
        pairs.append((route, release))
    return pairs


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=40)
    parser.add_argument("--target-ms", type=float, default=1000.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="airel-bench-rollout-") as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite:///{work / 'airel.db'}"
        settings = load_settings({"database_url": url, "actor": "bench"}, cwd=work, environ={})
        with Client(settings) as client:
            client.init()
            pairs = setup(client, work, args.routes)
            router = FileRouter(work / "routes")
            ctx = client.ctx
            step, rollback, idle = [], [], []
            for route, _release in pairs:
                start = time.perf_counter()
                moved = rollouts.advance(ctx, route)
                assert moved.verdict == "advance", moved.to_dict()
                reconciler.observe(ctx, moved.route, router)
                step.append(_ms(start))
            for _ in range(5):
                start = time.perf_counter()
                report = reconciler.reconcile(ctx, router)
                idle.append(_ms(start))
                assert report.to_dict() == {"stopped": [], "advanced": [], "applied": []}
            for route, release in pairs:
                start = time.perf_counter()
                done = rollbacks.rollback(ctx, release, "route", route=route, reason="bench")
                assert done.route is not None
                reconciler.observe(ctx, done.route, router)
                rollback.append(_ms(start))
                served = router.read(done.route)
                assert served is not None
                assert served["weights"] == {STABLE: 100.0}
            ok = client.verify_audit().ok
    result: dict[str, Any] = {
        "bench": "rollout",
        "airel": airel.__version__,
        "python": platform.python_version(),
        "backend": url.split(":", 1)[0],
        "routes": args.routes,
        "reconcile_step": stats(step),
        "route_rollback": stats(rollback),
        "idle_pass": stats(idle),
        "audit_verifies": ok,
    }
    print(f"{'operation':<34}{'median ms':>12}{'p95 ms':>10}{'max ms':>10}")
    for name, key in (
        ("reconcile step (advance + apply)", "reconcile_step"),
        ("route rollback (to applied LKG)", "route_rollback"),
        (f"idle pass over {args.routes} routes", "idle_pass"),
    ):
        s = result[key]
        print(f"{name:<34}{s['median_ms']:>12}{s['p95_ms']:>10}{s['max_ms']:>10}")
    print("RESULT_JSON: " + json.dumps(result, sort_keys=True))
    return 0 if ok and result["route_rollback"]["median_ms"] <= args.target_ms else 1


if __name__ == "__main__":
    sys.exit(main())
