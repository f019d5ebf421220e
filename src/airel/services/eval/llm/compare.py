"""Use case: baseline vs candidate on an LLM suite (E3); store the §8.4 report (E4).

Both targets answer the same cases. Per dataset and slice, every rule and evaluator's pass
rate is reported for each side with a CI, and the candidate − baseline delta with a paired
bootstrap CI (:mod:`airel.domain.eval.llm.compare`, seeded from the suite's ``bootstrap:``).
Material regressions are flagged per slice; the candidate's critical failures are counted and
listed with their examples, never averaged; errors and timeouts are counted per side; cost and
latency p50/p95 are reported per side with their deltas.

The comparison passes when the candidate has no critical failure, no item error or timeout,
no evaluator error, and no hard pass-rate threshold fails or is inconclusive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airel.domain.eval.llm.compare import OVERALL, check_slices, compare_checks, slice_masks
from airel.domain.eval.llm.report import render_llm_report
from airel.domain.eval.llm.thresholds import blocking
from airel.domain.eval.suite import EvalTask
from airel.services.eval.evaluation import MAX_EXAMPLES, EvalOutcome, load_suite, save_record
from airel.services.eval.llm.run import (
    evaluator_summary,
    load_llm_suite,
    threshold_verdicts,
)
from airel.services.eval.llm.side import (
    JudgeConfig,
    call_stats,
    load_datasets,
    resolve_evaluators,
    run_side,
)
from airel.services.kernel.context import Context

SIDES = ("baseline", "candidate")


def suite_task(ctx: Context, path: Path) -> EvalTask:
    """Whether the suite at ``path`` is a classifier or an LLM suite."""
    task: EvalTask = load_suite(ctx, path).task
    return task


def _delta(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(b) - float(a)
    return None


def _call_summary(stats: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keys = ("latency_p50_ms", "latency_p95_ms", "cost", "tokens_in", "tokens_out")
    delta = {k: _delta(stats["baseline"].get(k), stats["candidate"].get(k)) for k in keys}
    return {**stats, "delta": delta}


def compare_llm(
    ctx: Context,
    *,
    suite_path: Path,
    baseline: str,
    candidate: str,
    baseline_label: str = "baseline",
    candidate_label: str = "candidate",
    baseline_model: str | None = None,
    candidate_model: str | None = None,
    judge: JudgeConfig | None = None,
    timeout_s: float = 30.0,
) -> EvalOutcome:
    """Run both targets on every suite dataset, compare them per slice, store the report."""
    suite = load_llm_suite(ctx, suite_path, use="classifier suites compare prediction files")
    check_slices(suite.slices)
    evaluators = resolve_evaluators(ctx, suite, judge=judge)
    loaded = load_datasets(ctx, suite)
    targets = {"baseline": (baseline, baseline_model), "candidate": (candidate, candidate_model)}
    boot = suite.bootstrap
    datasets: list[dict[str, Any]] = []
    critical: list[dict[str, Any]] = []
    calls: dict[str, list[Any]] = {s: [] for s in SIDES}
    totals = {s: {"errored_items": 0, "timeouts": 0, "evaluator_errors": 0, "critical": 0}
              for s in SIDES}  # fmt: skip
    verdicts: list[dict[str, Any]] = []
    for ds in loaded:
        node = ds.component.key.node
        runs = {
            side: run_side(
                ds,
                target,
                evaluators,
                model=model,
                timeout_s=timeout_s,
            )
            for side, (target, model) in targets.items()
        }
        names, base_values = runs["baseline"].matrix()
        _, cand_values = runs["candidate"].matrix()
        comparison = compare_checks(
            names,
            base_values,
            cand_values,
            slice_masks(ds.rows, suite.slices),
            materiality=suite.materiality,
            resamples=boot.resamples,
            seed=boot.seed,
            alpha=boot.alpha,
        )
        judged = threshold_verdicts(
            evaluators, comparison["slices"][OVERALL]["checks"], comparison=True
        )
        verdicts += judged
        per_side: dict[str, Any] = {}
        for side, run in runs.items():
            found = run.critical(node, ds.cases)
            if side == "candidate":
                critical.extend(found)
            calls[side].extend(run.calls)
            counts = {
                "errored_items": run.errored_items,
                "timeouts": run.timeouts,
                "evaluator_errors": run.evaluator_errors,
                "critical": len(found),
            }
            for key, value in counts.items():
                totals[side][key] += value
            per_side[side] = {**counts, "evaluators": evaluator_summary(run)}
        records = {side: run.item_records(ds.cases) for side, run in runs.items()}
        datasets.append(
            {
                "dataset": node,
                "digest": ds.component.digest,
                "role": ds.role.value,
                "items": len(ds.cases),
                **per_side,
                "comparison": {**comparison, "thresholds": judged},
                "item_results": [
                    {"id": case.id, **{side: records[side][i] for side in SIDES}}
                    for i, case in enumerate(ds.cases)
                ],
            }
        )
    blocked = blocking(verdicts)
    cand = totals["candidate"]
    passed = not (critical or blocked or cand["errored_items"] or cand["evaluator_errors"])
    body: dict[str, Any] = {
        "suite": suite.as_dict(),
        "task": EvalTask.LLM.value,
        "evaluators": [e.to_dict() for e in evaluators],
        "baseline": {"label": baseline_label, "target": baseline, "model": baseline_model},
        "candidate": {"label": candidate_label, "target": candidate, "model": candidate_model},
        "datasets": datasets,
        "totals": totals,
        "blocking_thresholds": blocked,
        "critical_failures": {"count": len(critical), "examples": critical[:MAX_EXAMPLES]},
        "calls": _call_summary({side: call_stats(calls[side]) for side in SIDES}),
        "passed": passed,
    }
    body["report"] = render_llm_report(body)
    return save_record(
        ctx, body, kind="comparison", subject=f"{baseline_label} -> {candidate_label}",
        action="eval.compare",
    )  # fmt: skip
