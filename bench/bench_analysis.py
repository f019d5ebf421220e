"""Benchmark: a canary analysis over 1M traces (T3).

Two parts:

* ``analysis`` — ``--traces`` (default 1,000,000) synthetic trace rows split baseline /
  canary by ``--canary-share`` (5 %), with realistic latencies (log-normal), error, critical
  and quality rates and three segments: time to build both arms from columns
  (``Sample.from_columns``, what the service does with ``trace_columns``) and to compare them
  (``canary.compare``: Newcombe intervals, order-statistic p50/p95/p99, Bonferroni);
* ``store read`` — ``--stored`` traces (default 200,000, the service's per-arm cap) ingested
  into a fresh SQLite store (or ``--database-url``), then the time to read one arm's columns
  back with ``trace_columns`` (the analysis's read).

Prints a table and one ``RESULT_JSON:`` line.

Usage::

    .venv/bin/python bench/bench_analysis.py [--traces 1000000] [--stored 200000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from airel.client import Client
from airel.config import load_settings
from airel.domain.monitoring.canary import CanaryConfig, Sample, compare
from airel.domain.monitoring.trace import Trace, TraceQuery
from airel.services.monitoring.traces import ingest

SEGMENTS = np.array(["retail", "retail,vulnerable", "business"])


def columns(
    n: int, seed: int, error_rate: float, latency_ms: float, critical_rate: float = 0.0001
) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    failed = rng.random(n) < error_rate
    return {
        "request_id": [f"req-{seed}-{i:09d}" for i in range(n)],
        "release_id": ["R"] * n,
        "mode": ["live"] * n,
        "at": ["2026-12-04T10:00:00.000000Z"] * n,
        "key_digest": [None] * n,
        "status": np.where(failed, 503, 200).tolist(),
        "latency_ms": rng.lognormal(np.log(latency_ms), 0.5, n).tolist(),
        "critical": (rng.random(n) < critical_rate).tolist(),
        "error": ["UPSTREAM_5XX" if f else None for f in failed],
        "cost": rng.gamma(2.0, 0.001, n).tolist(),
        "quality_failure": (rng.random(n) < 0.002).tolist(),
        "override": (rng.random(n) < 0.01).tolist(),
        "segments": SEGMENTS[rng.integers(0, 3, n)].tolist(),
    }


def bench_analysis(total: int, share: float) -> dict[str, Any]:
    n_canary = int(total * share)
    base = columns(total - n_canary, 1, 0.002, 40.0)
    cand = columns(n_canary, 2, 0.002, 41.0, critical_rate=0.0)  # 2.5 % slower: within margin
    t0 = time.perf_counter()
    b = Sample.from_columns(base, exclude=("vulnerable",))
    c = Sample.from_columns(cand, exclude=("vulnerable",))
    t1 = time.perf_counter()
    result = compare(b, c, CanaryConfig())
    t2 = time.perf_counter()
    return {
        "traces": total,
        "baseline": b.n,
        "canary": c.n,
        "build_s": t1 - t0,
        "compare_s": t2 - t1,
        "verdict": result.verdict.value,
        "family_size": result.family_size,
    }


def bench_store(n: int, database_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        url = database_url or f"sqlite:///{home}/airel.db"
        client = Client(load_settings({"database_url": url, "home": home, "actor": "bench"},
                                      cwd=Path(home), environ={}))  # fmt: skip
        client.init()
        ctx = client.ctx
        t0 = time.perf_counter()
        for start in range(0, n, 5000):
            ingest(ctx, [
                Trace(request_id=f"req-{i:010d}", at=f"2026-12-04T10:{i // 60000 % 60:02d}:00Z",
                      release_id="R", deployment_route="score@production", status=200,
                      latency_ms=40.0 + i % 17, segments=["retail"])
                for i in range(start, min(n, start + 5000))
            ])  # fmt: skip
        t1 = time.perf_counter()
        with ctx.store.read() as tx:
            cols = tx.trace_columns(TraceQuery(release_id="R", mode="live", limit=n))
        t2 = time.perf_counter()
        client.close()
    rows = len(cols["status"])
    return {"stored": n, "ingest_s": t1 - t0, "read_columns_s": t2 - t1, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--canary-share", type=float, default=0.05)
    parser.add_argument("--stored", type=int, default=200_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    analysis = bench_analysis(args.traces, args.canary_share)
    store = bench_store(args.stored, args.database_url)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    arms = f"{analysis['baseline']:,} baseline / {analysis['canary']:,} canary eligible"
    print(f"canary analysis of {analysis['traces']:,} traces ({arms})")
    print(f"  build both arms from columns   {analysis['build_s']:8.2f} s")
    print(f"  compare (family {analysis['family_size']})           "
          f"{analysis['compare_s']:8.3f} s  → {analysis['verdict']}")  # fmt: skip
    print(f"store: {store['stored']:,} traces ingested in {store['ingest_s']:.1f} s "
          f"({store['stored'] / store['ingest_s']:,.0f}/s), one arm's columns read in "
          f"{store['read_columns_s']:.2f} s")  # fmt: skip
    print(f"peak RSS {peak_mb:,.0f} MB")
    print("RESULT_JSON: " + json.dumps({"analysis": analysis, "store": store,
                                        "peak_rss_mb": peak_mb}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
