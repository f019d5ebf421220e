"""Use case: run an LLM / RAG / agent eval suite against a target; store the run (E1–E4).

The suite's datasets are registered JSONL files of cases (input plus expectations: required
and prohibited phrases, refusal, citations, tool rules, handoff …). The target is a
predictions file (JSONL/Parquet/CSV of outputs by id), a Python entry point
(``py:module:function``, run in a worker process with a per-item timeout), a plain JSON HTTP
endpoint (``http(s)://…``) or an OpenAI-compatible chat endpoint (``openai:http(s)://…``).

Every output goes through the deterministic rules and the suite's evaluators: an LLM judge
(its model, prompt template and rubric versioned in the registry; the endpoint is deployment
configuration) and plugins (the ``airel.evaluators`` entry-point group, behind an error
boundary). An error or timeout is recorded as such and fails every check — never a pass.

Evaluator thresholds are judged per dataset, whatever its role, on the pass rate over the
items the check applies to. The run passes when there is no critical failure, no item error
or timeout, no evaluator error and no hard pass-rate threshold failed or inconclusive. Each
dataset's per-item results are stored (judgements with their raw request and response, so a
stored run can be re-judged).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airel.adapters.eval.llm_judge import Judgement, rejudge
from airel.domain.eval.llm.compare import pass_rates
from airel.domain.eval.llm.report import render_run_summary
from airel.domain.eval.llm.rules import summarize
from airel.domain.eval.llm.thresholds import blocking, judge_pass_threshold
from airel.domain.eval.suite import EvalSuite, EvalTask
from airel.errors import Reason, ValidationError
from airel.services.eval.evaluation import (
    MAX_EXAMPLES,
    EvalOutcome,
    get_record,
    load_suite,
    save_record,
)
from airel.services.eval.llm.side import (
    JudgeConfig,
    LlmEvaluator,
    SideRun,
    call_stats,
    load_datasets,
    resolve_evaluators,
    run_side,
)
from airel.services.kernel.context import Context


def load_llm_suite(ctx: Context, path: Path, *, use: str) -> EvalSuite:
    """The suite at ``path``; refused unless it is a ``task: llm`` suite."""
    suite: EvalSuite = load_suite(ctx, path)
    if suite.task is not EvalTask.LLM:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"suite {suite.name} is a {suite.task.value} suite",
            fix=use,
        )
    if suite.thresholds:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"suite {suite.name}: `thresholds:` are classifier metric thresholds",
            fix="state LLM pass-rate thresholds on the evaluators (min_pass_rate, hard)",
            details={"thresholds": len(suite.thresholds)},
        )
    return suite


def evaluator_summary(side: SideRun) -> dict[str, dict[str, Any]]:
    """Per evaluator: items passed, failed, errored (evaluator failure), without output."""
    out = {}
    for name, verdicts in side.verdicts.items():
        errored = sum(v["status"] == "error" for v in verdicts)
        no_output = sum(v["status"] == "no_output" for v in verdicts)
        passed = sum(bool(v["passed"]) for v in verdicts)
        out[name] = {
            "passed": passed,
            "failed": len(verdicts) - passed,
            "errored": errored,
            "no_output": no_output,
        }
    return out


def threshold_verdicts(
    evaluators: list[LlmEvaluator], checks: Mapping[str, Any], *, comparison: bool
) -> list[dict[str, Any]]:
    """Each executed evaluator's thresholds judged on its check's pass rate (and delta CI)."""
    out: list[dict[str, Any]] = []
    for ev in evaluators:
        if ev.check is None or ev.threshold.empty:
            continue
        found = checks.get(ev.check) or {}
        if comparison:
            rate = (found.get("candidate") or {}).get("value")
            low = (found.get("delta") or {}).get("low")
        else:
            rate, low = found.get("pass_rate"), None
        out += judge_pass_threshold(
            ev.ref, ev.threshold, rate=rate, delta_low=low, comparison=comparison
        )
    return out


def run_llm_suite(
    ctx: Context,
    *,
    suite_path: Path,
    target: str,
    label: str,
    model: str | None = None,
    timeout_s: float = 30.0,
    judge: JudgeConfig | None = None,
) -> EvalOutcome:
    """Evaluate ``target`` on every case of an LLM suite; store the run (kind ``run``)."""
    suite = load_llm_suite(ctx, suite_path, use="use `airel eval compare` for classifier suites")
    evaluators = resolve_evaluators(ctx, suite, judge=judge)
    loaded = load_datasets(ctx, suite)
    datasets: list[dict[str, Any]] = []
    critical: list[dict[str, Any]] = []
    all_calls = []
    errored_items = evaluator_errors = 0
    verdicts: list[dict[str, Any]] = []
    for ds in loaded:
        side = run_side(
            ds,
            target,
            evaluators,
            model=model,
            timeout_s=timeout_s,
        )
        node = ds.component.key.node
        all_calls.extend(side.calls)
        errored_items += side.errored_items
        evaluator_errors += side.evaluator_errors
        critical.extend(side.critical(node, ds.cases))
        names, values = side.matrix()
        checks = pass_rates(names, values)
        judged = threshold_verdicts(evaluators, checks, comparison=False)
        verdicts += judged
        datasets.append(
            {
                "dataset": node,
                "digest": ds.component.digest,
                "role": ds.role.value,
                "items": len(ds.cases),
                "rules": summarize(side.rules),
                "evaluators": evaluator_summary(side),
                "checks": checks,
                "thresholds": judged,
                "item_results": side.item_records(ds.cases),
            }
        )
    blocked = blocking(verdicts)
    passed = not critical and errored_items == 0 and evaluator_errors == 0 and not blocked
    body: dict[str, Any] = {
        "suite": suite.as_dict(),
        "target": target,
        "label": label,
        "evaluators": [e.to_dict() for e in evaluators],
        "datasets": datasets,
        "errored_items": errored_items,
        "evaluator_errors": evaluator_errors,
        "blocking_thresholds": blocked,
        "critical_failures": {"count": len(critical), "examples": critical[:MAX_EXAMPLES]},
        "calls": call_stats(all_calls),
        "passed": passed,
    }
    body["report"] = render_run_summary(body)
    return save_record(ctx, body, kind="run", subject=label, action="eval.run")


def stored_judgements(body: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every stored judgement of a run or comparison, by ``evaluator`` (comparisons:
    ``baseline/evaluator`` and ``candidate/evaluator``), in dataset and item order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for d in body.get("datasets", []):
        for item in d.get("item_results", []):
            sides = (
                [("", item)]
                if "evaluators" in item
                else [(f"{s}/", item[s]) for s in ("baseline", "candidate") if s in item]
            )
            for prefix, result in sides:
                for name, verdict in result.get("evaluators", {}).items():
                    if "judgement" in verdict:
                        out.setdefault(prefix + name, []).append(verdict["judgement"])
    return out


def rejudge_record(ctx: Context, record_id: str) -> dict[str, list[Judgement]]:
    """Re-read a stored record's raw judge responses (the judge endpoint is not called).

    A record without stored judgements (a classifier record, or a suite without a judge
    evaluator) is refused: there is nothing to re-judge."""
    record = get_record(ctx, record_id)
    stored = stored_judgements(record.body)
    if not stored:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"eval record {record.record_id} has no stored judge verdicts to re-judge",
            fix="re-judge a run or comparison of a suite with a judge evaluator "
            "(`airel eval list` shows the records)",
            details={"record_id": record.record_id, "kind": record.kind},
        )
    return {name: rejudge(items) for name, items in stored.items()}
