"""One side of an LLM eval: a target's outputs on a suite's cases, judged by rules and evaluators.

Shared by ``eval run`` (one side) and ``eval compare`` (baseline and candidate on the same
cases). Everything that can be refused is refused *before* a target is called or anything is
stored: unregistered evaluators or datasets, a judge without an endpoint, a plugin that is not
installed (``PLUGIN_NOT_FOUND``), a rule evaluator naming no known rule.

Per item, an output that is an error or a timeout fails every rule and every evaluator; a judge
whose call fails (retries exhausted, out of time) or whose verdict cannot be parsed, and a plugin
that raises, hangs past the per-item timeout or returns nonsense, are evaluator errors for that
item. None of these is ever a pass.

The judge endpoint is deployment configuration (:class:`JudgeConfig`): its URL, where its
authentication headers come from (environment or a secrets file, resolved once when a suite
uses a judge; never from the suite, never stored) and how many calls run at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from airel.adapters.eval.judge_auth import JudgeAuth
from airel.adapters.eval.llm_judge import DEFAULT_CONCURRENCY, RetryPolicy, judge
from airel.adapters.eval.plugins import Evaluator, load_plugin, run_evaluator
from airel.adapters.eval.predictions import read_predictions
from airel.adapters.eval.targets import Call, call_entry_point, call_http, chat_url, check_url
from airel.domain.eval.llm.cases import (
    EvalCase,
    Output,
    RuleId,
    RuleResult,
    case_from_dict,
    output_from_dict,
)
from airel.domain.eval.llm.rules import evaluate_batch
from airel.domain.eval.suite import EvalSuite
from airel.domain.release.components import ComponentVersion, EvalRole
from airel.domain.release.kinds import ComponentKind
from airel.domain.release.pass_threshold import PassThreshold, parse_pass_threshold
from airel.errors import AirelError, Reason, ValidationError
from airel.services.eval.evaluation import dataset as registered_dataset
from airel.services.eval.evaluation import verified_blob
from airel.services.kernel.context import Context
from airel.services.release.components import resolve_reference

RULE_CHECKS: tuple[str, ...] = tuple(r.value for r in RuleId)


@dataclass(frozen=True)
class JudgeConfig:
    """How judge evaluators reach their endpoint (settings and arguments, never the suite)."""

    endpoint: str | None = None
    auth: JudgeAuth = field(default_factory=JudgeAuth)
    concurrency: int = DEFAULT_CONCURRENCY
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class JudgeEndpoint:
    """A checked judge endpoint with its resolved headers (kept out of ``repr``)."""

    url: str
    headers: Mapping[str, str] = field(repr=False)
    concurrency: int
    retry: RetryPolicy


@dataclass(frozen=True)
class LlmEvaluator:
    """A registered evaluator a suite names, resolved and ready to run."""

    component: ComponentVersion
    threshold: PassThreshold
    rule: RuleId | None = None  # a rule evaluator: the deterministic rule it stands for
    plugin: Evaluator | dict[str, Any] | None = None  # a plugin, or why it could not load
    judge: JudgeEndpoint | None = None  # a judge: the endpoint it is called at

    @property
    def ref(self) -> str:
        """``name:version``."""
        return self.component.key.ref

    @property
    def kind(self) -> str:
        """The evaluator type (metric, rule, judge, human, plugin)."""
        return str(self.component.fields["evaluator_type"])

    @property
    def check(self) -> str | None:
        """The check column its threshold reads; None when it is only recorded."""
        if self.rule is not None:
            return self.rule.value
        return self.ref if self.kind in ("judge", "plugin") else None

    def to_dict(self) -> dict[str, Any]:
        """What a stored run records about the evaluator."""
        fields = self.component.fields
        return {
            "ref": self.ref,
            "node": self.component.key.node,
            "digest": self.component.digest,
            "type": self.kind,
            "executed": self.check is not None,
            **{
                k: fields[k]
                for k in ("entry_point", "judge_model_name", "judge_model", "thresholds")
                if k in fields
            },
        }


def resolve_evaluators(
    ctx: Context, suite: EvalSuite, *, judge: JudgeConfig | None = None
) -> list[LlmEvaluator]:
    """The suite's evaluators, checked: judge endpoint present (and its headers readable),
    plugins installed, rules known."""
    config = judge or JudgeConfig()
    endpoint: JudgeEndpoint | None = None
    components: list[ComponentVersion] = []
    with ctx.store.read() as tx:
        for ref in suite.evaluators:
            key = resolve_reference(tx, ComponentKind.EVALUATOR, ref, field="evaluators")
            found = tx.get_component(key)
            if found is not None:
                components.append(found)
    out: list[LlmEvaluator] = []
    for comp in components:
        fields = comp.fields
        kind = fields["evaluator_type"]
        if kind == "judge":
            _check_judge(comp, config.endpoint)
            if endpoint is None:
                endpoint = _endpoint(config)
            threshold = parse_pass_threshold(fields.get("thresholds", {}))
            out.append(LlmEvaluator(comp, threshold, judge=endpoint))
        elif kind == "plugin":
            plugin = load_plugin(str(fields["entry_point"]))  # PLUGIN_NOT_FOUND raises here
            threshold = parse_pass_threshold(fields.get("thresholds", {}))
            out.append(LlmEvaluator(comp, threshold, plugin=plugin))
        elif kind == "rule" and fields.get("entry_point") is not None:
            rule = _rule(comp)
            out.append(LlmEvaluator(comp, parse_pass_threshold(fields.get("thresholds", {})), rule))
        else:
            out.append(LlmEvaluator(comp, PassThreshold()))  # recorded, not run on LLM output
    return out


def _rule(comp: ComponentVersion) -> RuleId:
    name = comp.fields["entry_point"]
    if name not in RULE_CHECKS:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"rule evaluator {comp.key.ref} names {name!r}, which is not a deterministic rule",
            fix=f"set entry_point to one of {', '.join(RULE_CHECKS)}",
            details={"evaluator": comp.key.ref, "entry_point": name},
        )
    return RuleId(name)


def _check_judge(comp: ComponentVersion, endpoint: str | None) -> None:
    missing = [k for k in ("judge_model_name", "prompt_template") if not comp.fields.get(k)]
    if missing:
        raise ValidationError(
            Reason.MISSING_FIELD,
            f"judge evaluator {comp.key.ref} has no {', '.join(missing)}",
            fix="register a new version with judge_model_name and prompt_template",
            details={"evaluator": comp.key.ref, "missing": missing},
        )
    if not endpoint:
        raise ValidationError(
            Reason.MISSING_FIELD,
            f"the suite uses judge evaluator {comp.key.ref} but no judge endpoint is configured",
            fix="pass --judge-endpoint URL (SDK: judge_endpoint=) or set AIREL_JUDGE_ENDPOINT",
            details={"evaluator": comp.key.ref},
        )
    check_url(chat_url(endpoint))


def _endpoint(config: JudgeConfig) -> JudgeEndpoint:
    """The endpoint with its headers read now, before any target is called."""
    if isinstance(config.concurrency, bool) or config.concurrency < 1:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"judge concurrency must be at least 1, not {config.concurrency!r}",
            fix="pass --judge-concurrency N (or set AIREL_JUDGE_CONCURRENCY) with N >= 1",
        )
    return JudgeEndpoint(
        url=str(config.endpoint),
        headers=config.auth.resolve(),
        concurrency=config.concurrency,
        retry=config.retry,
    )


@dataclass(frozen=True)
class SuiteDataset:
    """A registered LLM eval dataset, verified and parsed into cases."""

    component: ComponentVersion
    role: EvalRole
    rows: list[dict[str, Any]]
    cases: list[EvalCase]


def load_datasets(ctx: Context, suite: EvalSuite) -> list[SuiteDataset]:
    """Every dataset of the suite: registered, bytes re-hashed, each row a valid case."""
    out = []
    for ds in suite.datasets:
        component = registered_dataset(ctx, ds.ref)
        rows = list(read_predictions(verified_blob(ctx, component), fmt="jsonl").values())
        out.append(SuiteDataset(component, ds.role, rows, [case_from_dict(r) for r in rows]))
    return out


# -- calling the target -----------------------------------------------------------------------


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


def call_target(
    target: str, cases: list[EvalCase], *, model: str | None, timeout_s: float
) -> tuple[list[Output], list[Call]]:
    """Outputs of ``target`` for ``cases`` (file, ``py:``, ``openai:`` or http URL)."""
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


def call_stats(calls: list[Call]) -> dict[str, Any]:
    """Latency p50/p95, tokens, cost, errors and timeouts of a side's calls."""
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


# -- judging ----------------------------------------------------------------------------------


def _output_dict(output: Output) -> dict[str, Any]:
    return {
        "text": output.text,
        "citations": list(output.citations),
        "retrieved": list(output.retrieved),
        "tool_calls": [
            {
                "name": c.name,
                "args": dict(c.args),
                "approved": c.approved,
                "side_effect": c.side_effect,
                "idempotency_key": c.idempotency_key,
            }
            for c in output.tool_calls
        ],
        "handoff": output.handoff,
    }


def _jsonable(result: Mapping[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(json.dumps(result, default=str, allow_nan=False))
    except ValueError:
        return {"passed": False, "status": "error", "error": "result is not JSON (NaN?)"}
    return value if isinstance(value, dict) else {"passed": False, "status": "error"}


def _no_output(output: Output) -> dict[str, Any]:
    return {"passed": False, "status": "no_output", "detail": f"no output: {output.error}"}


def _run_plugin(
    ev: LlmEvaluator, ds: SuiteDataset, outputs: list[Output], *, timeout_s: float
) -> list[dict[str, Any]]:
    verdicts = []
    for row, output in zip(ds.rows, outputs, strict=True):
        if output.error is not None:
            verdicts.append(_no_output(output))
            continue
        if isinstance(ev.plugin, dict) or ev.plugin is None:
            result = dict(ev.plugin or {"passed": False, "status": "error"})
        else:
            result = run_evaluator(
                ev.plugin, row, _output_dict(output), name=ev.ref, timeout_s=timeout_s
            )
        result = _jsonable(result)
        status = "ok" if result.get("status") == "ok" else "error"
        verdicts.append(
            {
                "passed": status == "ok" and result.get("passed") is True,
                "status": status,
                "detail": result.get("error"),
                "result": result,
            }
        )
    return verdicts


def _run_judge(
    ev: LlmEvaluator,
    ds: SuiteDataset,
    outputs: list[Output],
    *,
    endpoint: JudgeEndpoint,
    timeout_s: float,
) -> list[dict[str, Any]]:
    fields = ev.component.fields
    items = [
        {"id": c.id, "input": c.input, "expected": c.expected or ""}
        for c, o in zip(ds.cases, outputs, strict=True)
        if o.error is None
    ]
    texts = {c.id: o.text for c, o in zip(ds.cases, outputs, strict=True) if o.error is None}
    judged = judge(
        items,
        texts,
        endpoint=endpoint.url,
        model=str(fields["judge_model_name"]),
        prompt_template=str(fields["prompt_template"]),
        rubric=str(fields.get("rubric") or ""),
        timeout_s=timeout_s,
        headers=endpoint.headers,
        retry=endpoint.retry,
        concurrency=endpoint.concurrency,
    )
    by_id = {j.item_id: j for j in judged}
    verdicts = []
    for case, output in zip(ds.cases, outputs, strict=True):
        j = by_id.get(case.id)
        if j is None:
            verdicts.append(_no_output(output))
            continue
        verdicts.append(
            {
                "passed": j.verdict == "pass",
                "status": "error" if j.verdict == "error" else "ok",
                "score": j.score,
                "detail": j.error or j.reason,
                "judgement": j.to_dict(),
            }
        )
    return verdicts


@dataclass(frozen=True)
class SideRun:
    """A target's outputs on one dataset and every check's result per item."""

    outputs: list[Output]
    calls: list[Call]
    rules: list[list[RuleResult]]
    verdicts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # evaluator → items

    @property
    def errored_items(self) -> int:
        """Items whose output is an error or timeout."""
        return sum(o.error is not None for o in self.outputs)

    @property
    def timeouts(self) -> int:
        """Items that timed out."""
        return sum(c.status == "timeout" for c in self.calls)

    @property
    def evaluator_errors(self) -> int:
        """Item verdicts an evaluator could not give (judge or plugin failure)."""
        return sum(v["status"] == "error" for vs in self.verdicts.values() for v in vs)

    def matrix(self) -> tuple[list[str], np.ndarray[Any, np.dtype[np.float64]]]:
        """Check names and values per item (1 pass, 0 fail or error, NaN not applicable)."""
        names = [*RULE_CHECKS, *self.verdicts]
        n = len(self.outputs)
        values = np.full((n, len(names)), np.nan)
        for i, row in enumerate(self.rules):
            for j, res in enumerate(row):
                if res.passed is not None:
                    values[i, j] = 1.0 if res.passed else 0.0
        for j, verdicts in enumerate(self.verdicts.values(), start=len(RULE_CHECKS)):
            values[:, j] = [1.0 if v["passed"] else 0.0 for v in verdicts]
        return names, values

    def critical(self, dataset: str, cases: list[EvalCase]) -> list[dict[str, Any]]:
        """Every critical rule failure with its example (evidence is masked where PII)."""
        return [
            {
                "dataset": dataset,
                "id": case.id,
                "rule": r.rule.value,
                "detail": r.detail,
                "evidence": r.evidence,
            }
            for case, row in zip(cases, self.rules, strict=True)
            for r in row
            if r.critical
        ]

    def item_records(self, cases: list[EvalCase]) -> list[dict[str, Any]]:
        """Raw per-item results: output status, failed rules, evaluator verdicts (judgements
        keep their raw request and response for re-judging)."""
        by_id = {c.item_id: c for c in self.calls}
        out = []
        for i, case in enumerate(cases):
            output = self.outputs[i]
            call = by_id.get(case.id)
            status = "ok" if output.error is None else (call.status if call else "error")
            record: dict[str, Any] = {"id": case.id, "status": status}
            if output.error is not None:
                record["error"] = output.error
            if call is not None:
                record["latency_ms"] = call.latency_ms
            record["failed_rules"] = [
                {"rule": r.rule.value, "detail": r.detail, "critical": r.critical}
                for r in self.rules[i]
                if r.passed is False and not r.errored
            ]
            record["evaluators"] = {name: vs[i] for name, vs in self.verdicts.items()}
            out.append(record)
        return out


def run_side(
    ds: SuiteDataset,
    target: str,
    evaluators: list[LlmEvaluator],
    *,
    model: str | None,
    timeout_s: float,
) -> SideRun:
    """Call the target on the dataset's cases; run the rules and every executable evaluator.

    ``timeout_s`` bounds each item's target call, each item's judge verdict (retries included)
    and each plugin evaluation."""
    outputs, calls = call_target(target, ds.cases, model=model, timeout_s=timeout_s)
    rules = evaluate_batch(ds.cases, outputs)
    verdicts: dict[str, list[dict[str, Any]]] = {}
    for ev in evaluators:
        if ev.kind == "judge" and ev.judge is not None:
            verdicts[ev.ref] = _run_judge(ev, ds, outputs, endpoint=ev.judge, timeout_s=timeout_s)
        elif ev.kind == "plugin":
            verdicts[ev.ref] = _run_plugin(ev, ds, outputs, timeout_s=timeout_s)
    return SideRun(outputs, calls, rules, verdicts)
