"""Benchmark: airel's paired metric-delta bootstrap against ``scipy.stats.bootstrap`` (E3).

Synthetic fraud-like data (5% positives, two correlated models), ``--n`` predictions (1M by
default) and ``--resamples`` (1000). ``--metric`` picks ``roc_auc`` (the default), ``pr_auc``,
``ece`` or ``brier`` (the last two on the sigmoid of the scores, as they need probabilities).
airel's :func:`~airel.domain.eval.bootstrap.paired_bootstrap` is timed at full size.
``scipy.stats.bootstrap(paired=True, vectorized=False, method="percentile")`` with the metric as
the statistic (scikit-learn's ``roc_auc_score`` / ``average_precision_score``, airel's ``ece`` /
``brier``) is timed on 100k rows with all resamples, and on the full size with all resamples
only if a probe of ``--probe`` resamples projects under ``--scipy-budget`` seconds (300);
otherwise the full-size scipy time is *extrapolated* linearly from the probe and marked so.
(BCa, scipy's default, needs a jackknife of n statistic calls and is out of reach at 1M.)
Prints a table and one ``RESULT_JSON:`` line; exits 1 when airel misses ``--target`` seconds
(10).

Usage::

    .venv/bin/python bench/bench_bootstrap.py [--metric roc_auc] [--n 1000000] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import average_precision_score, roc_auc_score

from airel.domain.eval.bootstrap import paired_bootstrap
from airel.domain.eval.metrics import brier, ece

PROBABILITIES = ("ece", "brier")  # metrics that need scores in [0, 1]
SCIPY_INDEX_BUDGET = 100_000_000  # resample indices scipy may hold at once (800 MB)


def _value(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], float]:
    def stat(y: Any, s: Any) -> float:
        v = fn(y, s).value
        return float("nan") if v is None else float(v)

    return stat


STATISTICS: dict[str, Callable[[Any, Any], float]] = {
    "roc_auc": lambda y, s: float(roc_auc_score(y, s)),
    "pr_auc": lambda y, s: float(average_precision_score(y, s)),
    "ece": _value(ece),
    "brier": _value(brier),
}


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray[Any, Any], ...]:
    """Labels (5% positive), a baseline and a slightly better candidate score."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.05).astype(np.int8)
    base = rng.normal(size=n) + y * 1.0
    cand = base * 0.8 + rng.normal(size=n) * 0.6 + y * 0.25
    return y, base, cand


def scipy_time(
    y: Any, a: Any, b: Any, resamples: int, metric: str = "roc_auc"
) -> tuple[float, list[float]]:
    """Wall time and CI of scipy's paired percentile bootstrap of the metric delta."""
    stat = STATISTICS[metric]

    def delta(yy: Any, aa: Any, bb: Any) -> float:
        return stat(yy, bb) - stat(yy, aa)

    # scipy draws every resample's indices at once (8 bytes × n × resamples: 8 GB at 1M ×
    # 1,000); batch the big runs so the full-size comparison fits in memory.
    batch = None if len(y) * resamples <= SCIPY_INDEX_BUDGET else SCIPY_INDEX_BUDGET // len(y)
    t0 = time.perf_counter()
    res = bootstrap(
        (y, a, b),
        delta,
        paired=True,
        vectorized=False,
        n_resamples=resamples,
        batch=batch,
        method="percentile",
        rng=np.random.default_rng(0),
    )
    ci = res.confidence_interval
    return time.perf_counter() - t0, [float(ci.low), float(ci.high)]


def main() -> int:
    """Run the benchmark; print the table and RESULT_JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--metric", choices=sorted(STATISTICS), default="roc_auc")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--probe", type=int, default=10)
    ap.add_argument("--scipy-budget", type=float, default=300.0)
    ap.add_argument("--target", type=float, default=10.0)
    args = ap.parse_args()

    metric = args.metric
    y, a, b = make_data(args.n)
    if metric in PROBABILITIES:
        a, b = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
    t0 = time.perf_counter()
    r = paired_bootstrap(y, a, b, metric, resamples=args.resamples, seed=0)
    airel_s = time.perf_counter() - t0
    ci = [r.low or 0.0, r.high or 0.0]
    rows: list[tuple[str, int, int, float, str, list[float] | None]] = [
        ("airel paired_bootstrap", args.n, args.resamples, airel_s, "measured", ci),
    ]
    ys, as_, bs = (x[: args.small] for x in (y, a, b))
    t_air_small = time.perf_counter()
    r_small = paired_bootstrap(ys, as_, bs, metric, resamples=args.resamples, seed=0)
    t_air_small = time.perf_counter() - t_air_small
    rows.append(("airel paired_bootstrap", args.small, args.resamples, t_air_small, "measured",
                 [r_small.low or 0.0, r_small.high or 0.0]))  # fmt: skip
    small_s, small_ci = scipy_time(ys, as_, bs, args.resamples, metric)
    rows.append(
        ("scipy.stats.bootstrap", args.small, args.resamples, small_s, "measured", small_ci)
    )
    probe_s, _ = scipy_time(y, a, b, args.probe, metric)
    projected = probe_s * args.resamples / args.probe
    if projected <= args.scipy_budget:
        full_s, full_ci = scipy_time(y, a, b, args.resamples, metric)
        rows.append(("scipy.stats.bootstrap", args.n, args.resamples, full_s, "measured", full_ci))
    else:
        full_s = projected
        note = f"extrapolated from {args.probe} resamples ({probe_s:.1f} s)"
        rows.append(("scipy.stats.bootstrap", args.n, args.resamples, projected, note, None))

    print(f"{'tool':<24} {'rows':>9} {'resamples':>9} {'seconds':>9}  CI of delta / note")
    for tool, n, k, sec, note, row_ci in rows:
        ci_txt = "" if row_ci is None else f"[{row_ci[0]:+.5f}, {row_ci[1]:+.5f}] "
        print(f"{tool:<24} {n:>9} {k:>9} {sec:>9.2f}  {ci_txt}{note}")
    result = {
        "bench": "paired_auc_bootstrap" if metric == "roc_auc" else f"paired_{metric}_bootstrap",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "n": args.n,
        "resamples": args.resamples,
        "airel_seconds": round(airel_s, 3),
        "airel_small_seconds": round(t_air_small, 3),
        "scipy_small_seconds": round(small_s, 3),
        "scipy_full_seconds": round(full_s, 3),
        "scipy_full_extrapolated": projected > args.scipy_budget,
        "speedup_full": round(full_s / airel_s, 1),
        "delta": r.delta.value,
        "ci": [r.low, r.high],
        "target_seconds": args.target,
        "ok": airel_s <= args.target,
    }
    print("RESULT_JSON: " + json.dumps(result, sort_keys=True))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
