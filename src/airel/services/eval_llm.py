"""Use case: run an LLM / RAG / agent eval suite against a target; store the run (E1–E4).

The suite's datasets are registered JSONL files of cases (input plus expectations: required
and prohibited phrases, refusal, citations, tool rules, handoff …). The target is a
predictions file (JSONL/Parquet/CSV of outputs by id), a Python entry point
(``py:module:function``, run in a worker process with a per-item timeout), a plain JSON HTTP
endpoint (``http(s)://…``) or an OpenAI-compatible chat endpoint (``openai:http(s)://…``).
Every output goes through the deterministic rules; an error or timeout is recorded as such
and fails every rule — never a pass. Critical failures are listed with their examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from airel.adapters.eval_predictions import read_predictions
from airel.adapters.eval_targets import Call, call_entry_point, call_http
from airel.domain.canonical import digest_of
from airel.domain.eval_cases import EvalCase, Output, case_from_dict, output_from_dict
from airel.domain.eval_rules import evaluate_batch, summarize
from airel.domain.evalsuite import EvalSuite, EvalTask
from airel.domain.evidence import EvalRecord
from airel.errors import AirelError, Reason, ValidationError
from airel.services.context import Context
from airel.services.evaluation import MAX_EXAMPLES, EvalOutcome, load_suite, verified_blob
from airel.services.evaluation import dataset as registered_dataset
from airel.store.contract import WriteTx
from airel.store.sql import utc_now


def _outputs_from_calls(cases: list[EvalCase], calls: list[Call]) -> list[Output]:
    by_id = {c.item_id: c for c in calls}
    outputs = []
    for case in cases:
        call = by_id.get(case.id)
        if call is None or not call.ok:
            reason = "no call made" if call is None else f"{call.status}: {call.error}"
            outputs.append(Output(error=reason))
        elif isinstance(call.output, str):
            outputs.append(Output(text=call.output))
        elif isinstance(call.output, dict):
            try:
                outputs.append(output_from_dict(call.output))
            except AirelError as exc:
                outputs.append(Output(error=f"malformed output: {exc.message}"))
        else:
            outputs.append(Output(error=f"unsupported output type {type(call.output).__name__}"))
    return outputs


def _call_target(
    target: str, cases: list[EvalCase], *, model: str | None, timeout_s: float
) -> tuple[list[Output], list[Call]]:
    items = [{"id": c.id, "input": c.input, "prompt": c.input} for c in cases]
    if target.startswith("py:"):
        calls = call_entry_point(target[3:], items, timeout_s=timeout_s, cwd=Path.cwd())
    elif target.startswith("openai:"):
        calls = call_http(target[7:], items, mode="openai_chat", model=model, timeout_s=timeout_s)
    elif target.startswith(("http://", "https://")):
        calls = call_http(target, items, mode="json", model=model, timeout_s=timeout_s)
    else:
        rows = read_predictions(Path(target))
        outputs = []
        for case in cases:
            row = rows.get(case.id)
            if row is None:
                outputs.append(Output(error="no prediction for this case"))
                continue
            fields = {k: v for k, v in row.items() if k != "id"}
            try:
                outputs.append(output_from_dict(fields))
            except AirelError as exc:
                outputs.append(Output(error=f"malformed output: {exc.message}"))
        return outputs, []
    return _outputs_from_calls(cases, calls), calls


def _latency(calls: list[Call]) -> dict[str, Any]:
    if not calls:
        return {"calls": 0}
    ms = np.array([c.latency_ms for c in calls], dtype=float)
    costs = [c.cost for c in calls if c.cost is not None]
    return {
        "calls": len(calls),
        "latency_p50_ms": float(np.percentile(ms, 50)),
        "latency_p95_ms": float(np.percentile(ms, 95)),
        "tokens_in": sum(c.tokens_in or 0 for c in calls),
        "tokens_out": sum(c.tokens_out or 0 for c in calls),
        "cost": float(sum(costs)) if costs else None,
        "errors": sum(c.status == "error" for c in calls),
        "timeouts": sum(c.status == "timeout" for c in calls),
    }


def run_llm_suite(
    ctx: Context,
    *,
    suite_path: Path,
    target: str,
    label: str,
    model: str | None = None,
    timeout_s: float = 30.0,
) -> EvalOutcome:
    """Evaluate ``target`` on every case of an LLM suite; store the run (kind ``run``)."""
    suite: EvalSuite = load_suite(ctx, suite_path)
    if suite.task is not EvalTask.LLM:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"suite {suite.name} is a {suite.task.value} suite",
            fix="use `airel eval compare` for classifier suites",
        )
    datasets: list[dict[str, Any]] = []
    critical: list[dict[str, Any]] = []
    all_calls: list[Call] = []
    errored_items = 0
    for ds in suite.datasets:
        component = registered_dataset(ctx, ds.ref)
        rows = read_predictions(verified_blob(ctx, component), fmt="jsonl")
        cases = [case_from_dict(row) for row in rows.values()]
        outputs, calls = _call_target(target, cases, model=model, timeout_s=timeout_s)
        all_calls.extend(calls)
        results = evaluate_batch(cases, outputs)
        errored_items += sum(o.error is not None for o in outputs)
        for case, per_case in zip(cases, results, strict=True):
            critical.extend(
                {
                    "dataset": component.key.node,
                    "id": case.id,
                    "rule": r.rule.value,
                    "detail": r.detail,
                    "evidence": r.evidence,
                }
                for r in per_case
                if r.critical
            )
        datasets.append(
            {
                "dataset": component.key.node,
                "digest": component.digest,
                "role": ds.role.value,
                "items": len(cases),
                "rules": summarize(results),
            }
        )
    passed = not critical and errored_items == 0
    body: dict[str, Any] = {
        "suite": suite.as_dict(),
        "target": target,
        "label": label,
        "datasets": datasets,
        "errored_items": errored_items,
        "critical_failures": {"count": len(critical), "examples": critical[:MAX_EXAMPLES]},
        "calls": _latency(all_calls),
        "passed": passed,
    }
    record = EvalRecord(
        record_id=digest_of(body),
        kind="run",
        subject=label,
        passed=passed,
        body=body,
        created_at=utc_now(),
        created_by=ctx.actor,
    )

    def write(tx: WriteTx) -> EvalRecord:
        existing = tx.get_eval_record(record.record_id)
        if existing is not None:
            return existing
        tx.insert_eval_record(record)
        tx.append_audit(
            actor=ctx.actor,
            action="eval.run",
            subject=label,
            before=None,
            after=record.record_id,
            details={"passed": passed, "critical": len(critical), "errored": errored_items},
        )
        return record

    stored = ctx.store.write(write)
    return EvalOutcome(stored, _summary_markdown(stored.body))


def _summary_markdown(body: dict[str, Any]) -> str:
    lines = [
        f"# Eval run: {body['label']} on {body['suite']['name']} v{body['suite']['version']}",
        "",
        f"Target: `{body['target']}`; passed: {body['passed']}; "
        f"critical failures: {body['critical_failures']['count']}; "
        f"items with errors or timeouts: {body['errored_items']}",
        "",
    ]
    for d in body["datasets"]:
        lines += [
            f"## {d['dataset']} ({d['role']}, {d['items']} cases)",
            "",
            "| Rule | Passed | Failed | n/a | Critical | Errored |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {rule} | {c['passed']} | {c['failed']} | {c['not_applicable']} | "
            f"{c['critical']} | {c['errored']} |"
            for rule, c in d["rules"].items()
        ]
        lines.append("")
    examples = body["critical_failures"]["examples"]
    if examples:
        lines += [
            "## Critical failures (raw examples)",
            "",
            "| Case | Rule | Detail |",
            "|---|---|---|",
        ]
        lines += [f"| {e['id']} | {e['rule']} | {e['detail']} |" for e in examples]
    calls = body["calls"]
    if calls.get("calls"):
        lines += [
            "",
            f"Latency p50 {calls['latency_p50_ms']:.1f} ms, p95 "
            f"{calls['latency_p95_ms']:.1f} ms; cost {calls['cost']}",
        ]
    return "\n".join(lines) + "\n"
