"""Markdown of LLM eval results, read only from a stored record's body (E4).

:func:`render_run_summary` renders one target's run; :func:`render_llm_report` renders the
§8.4 Experiment Comparison Report of a baseline-vs-candidate comparison on an LLM suite:
baseline, candidate, datasets, evaluators, primary outcome (the share of items passing every
applicable check), critical failures with raw examples, material regressions per slice, errors
and timeouts per side, cost and latency, and a suggested decision scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airel.domain.eval.llm.compare import ALL_CHECKS, OVERALL


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += [
        "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |"
        for row in rows
    ]
    return out


def _ci(rate: Mapping[str, Any], signed: bool = False) -> str:
    value = rate.get("value")
    if value is None:
        return "undefined"
    text = f"{value:+.3f}" if signed else f"{value:.3f}"
    if rate.get("low") is None:
        return text + " [no CI]"
    return f"{text} [{_num(rate['low'])}, {_num(rate['high'])}]"


def _thresholds(verdicts: Sequence[Mapping[str, Any]]) -> list[str]:
    if not verdicts:
        return []
    return [
        "",
        *_table(
            ["Evaluator", "Threshold", "Observed", "Outcome", "Hard"],
            [
                (
                    v["evaluator"],
                    f"{v['kind']} {v['value']}",
                    _num(v["observed"]),
                    v["outcome"] + (f" ({v['reason']})" if v.get("reason") else ""),
                    v["hard"],
                )
                for v in verdicts
            ],
        ),
    ]


def _critical(examples: Sequence[Mapping[str, Any]], count: int) -> list[str]:
    if not examples:
        return []
    shown = f" (first {len(examples)} of {count})" if count > len(examples) else ""
    return [
        "",
        f"## Critical failures (raw examples){shown}",
        "",
        *_table(
            ["Dataset", "Case", "Rule", "Detail", "Evidence"],
            [
                (e["dataset"], e["id"], e["rule"], e["detail"], e["evidence"] or "")
                for e in examples
            ],
        ),
    ]


def render_run_summary(body: Mapping[str, Any]) -> str:
    """Markdown of one LLM eval run."""
    lines = [
        f"# Eval run: {body['label']} on {body['suite']['name']} v{body['suite']['version']}",
        "",
        f"Target: `{body['target']}`; passed: {body['passed']}; "
        f"critical failures: {body['critical_failures']['count']}; "
        f"items with errors or timeouts: {body['errored_items']}; "
        f"evaluator errors: {body['evaluator_errors']}; "
        f"hard thresholds not passed: {len(body['blocking_thresholds'])}",
    ]
    if body["evaluators"]:
        lines += [
            "",
            "Evaluators: " + ", ".join(f"{e['ref']} ({e['type']})" for e in body["evaluators"]),
        ]
    for d in body["datasets"]:
        lines += [
            "",
            f"## {d['dataset']} ({d['role']}, {d['items']} cases)",
            "",
            *_table(
                ["Rule", "Passed", "Failed", "n/a", "Critical", "Errored"],
                [
                    (
                        rule,
                        c["passed"],
                        c["failed"],
                        c["not_applicable"],
                        c["critical"],
                        c["errored"],
                    )
                    for rule, c in d["rules"].items()
                ],
            ),
        ]
        if d["evaluators"]:
            lines += [
                "",
                *_table(
                    ["Evaluator", "Passed", "Failed", "Evaluator errors", "No output", "Pass rate"],
                    [
                        (
                            name,
                            c["passed"],
                            c["failed"],
                            c["errored"],
                            c["no_output"],
                            _num(d["checks"].get(name, {}).get("pass_rate")),
                        )
                        for name, c in d["evaluators"].items()
                    ],
                ),
            ]
        lines += _thresholds(d["thresholds"])
    lines += _critical(body["critical_failures"]["examples"], body["critical_failures"]["count"])
    calls = body["calls"]
    if calls.get("calls"):
        lines += [
            "",
            f"Latency p50 {calls['latency_p50_ms']:.1f} ms, p95 "
            f"{calls['latency_p95_ms']:.1f} ms; cost {calls['cost']}",
        ]
    return "\n".join(lines) + "\n"


def suggested_scope(body: Mapping[str, Any]) -> str:
    """A decision *suggestion* for the gate (the gate engine decides)."""
    cand = body["totals"]["candidate"]
    critical = body["critical_failures"]["count"]
    blocked = len(body["blocking_thresholds"])
    errors = cand["errored_items"] + cand["evaluator_errors"]
    if critical or blocked or errors:
        return (
            f"no-go: {critical} critical failure(s), {blocked} hard threshold(s) not passed, "
            f"{errors} item/evaluator error(s) in the candidate; fix and re-evaluate"
        )
    regressions = sorted(
        {
            f"{r['slice']} ({r['check']})"
            for d in body["datasets"]
            for r in d["comparison"]["material_regressions"]
        }
    )
    if regressions:
        return "limited go: keep the baseline for " + ", ".join(regressions)
    return "go: every hard threshold passed, no critical failure, no material regression"


def _side_counts(body: Mapping[str, Any], side: str) -> str:
    t = body["totals"][side]
    return (
        f"{side}: {t['errored_items']} item error(s) incl. {t['timeouts']} timeout(s), "
        f"{t['evaluator_errors']} evaluator error(s)"
    )


def _cost(calls: Mapping[str, Any]) -> str:
    base, cand, delta = calls["baseline"], calls["candidate"], calls["delta"]
    if not base.get("calls") and not cand.get("calls"):
        return "not measured (outputs read from files)"
    parts = []
    for key, name in (("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"), ("cost", "cost")):
        parts.append(
            f"{name} {_num(base.get(key), 1)} → {_num(cand.get(key), 1)}"
            + (f" ({delta[key]:+.1f})" if delta.get(key) is not None else "")
        )
    return "; ".join(parts)


def render_llm_report(body: Mapping[str, Any]) -> str:
    """Markdown of the §8.4 report for an LLM comparison."""
    suite = body["suite"]
    first = body["datasets"][0]
    primary = first["comparison"]["slices"][OVERALL]["checks"].get(ALL_CHECKS, {})
    regressions = [
        f"{r['check']} in slice {r['slice']} of {d['dataset']}"
        for d in body["datasets"]
        for r in d["comparison"]["material_regressions"]
    ]
    base_critical = body["totals"]["baseline"]["critical"]
    rows = [
        ("Baseline", f"{body['baseline']['label']} (`{body['baseline']['target']}`)"),
        ("Candidate", f"{body['candidate']['label']} (`{body['candidate']['target']}`)"),
        (
            "Datasets",
            ", ".join(
                f"{d['dataset']} ({d['role']}, {d['items']} items)" for d in body["datasets"]
            ),
        ),
        ("Evaluators", ", ".join(f"{e['ref']} ({e['type']})" for e in body["evaluators"]) or "—"),
        (
            "Primary outcome",
            f"items passing every check on {first['dataset']}: "
            f"{_ci(primary.get('baseline', {}))} → {_ci(primary.get('candidate', {}))}, "
            f"delta {_ci(primary.get('delta', {}), signed=True)}"
            if primary
            else "—",
        ),
        (
            "Critical failures",
            f"{body['critical_failures']['count']} in the candidate (baseline: {base_critical})",
        ),
        ("Material regression", "; ".join(regressions) or "none"),
        (
            "Errors and timeouts",
            "; ".join(_side_counts(body, s) for s in ("baseline", "candidate")),
        ),
        ("Cost and latency", _cost(body["calls"])),
        ("Decision (suggested)", suggested_scope(body)),
        ("Evidence", "this stored comparison (per-item results, judgements, slice CIs)"),
    ]
    lines = [
        f"# Experiment Comparison Report: {suite['name']} v{suite['version']} (LLM)",
        "",
        *_table(["Section", "Content"], rows),
    ]
    for d in body["datasets"]:
        comp = d["comparison"]
        lines += ["", f"## {d['dataset']} ({d['role']})", ""]
        lines += _table(
            [
                "Slice",
                "Check",
                "n",
                "Baseline [CI]",
                "Candidate [CI]",
                "Delta [paired CI]",
                "Regression",
            ],
            [
                (
                    name,
                    check,
                    c["n"],
                    _ci(c["baseline"]),
                    _ci(c["candidate"]),
                    _ci(c["delta"], signed=True),
                    c["regression"] or "",
                )
                for name, s in comp["slices"].items()
                for check, c in s["checks"].items()
            ],
        )
        lines += _thresholds(comp["thresholds"])
    lines += _critical(body["critical_failures"]["examples"], body["critical_failures"]["count"])
    return "\n".join(lines) + "\n"
