"""The §8.4 Experiment Comparison Report, rendered from a stored comparison (E4).

Sections follow the playbook: experiment id, baseline, candidate, datasets, primary outcome,
critical failures, material regressions, cost/latency, suggested decision scope, evidence.
The report reads only the stored record, so it can be re-rendered at any time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airel.domain.eval.compare import Outcome

PRIMARY = "roc_auc"


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return str(value)


def _metric(m: Mapping[str, Any], side: str) -> str:
    value = m.get(side, {}).get("value")
    ci = m.get(f"{side}_ci")
    text = _num(value)
    if ci:
        text += f" [{_num(ci[0])}, {_num(ci[1])}]"
    return text


def _delta(m: Mapping[str, Any]) -> str:
    delta = m.get("delta", {}).get("value")
    if delta is None:
        return "undefined"
    return f"{delta:+.4f} [{_num(m.get('low'))}, {_num(m.get('high'))}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def suggested_scope(body: Mapping[str, Any]) -> str:
    """A decision *suggestion* for the gate (the gate engine decides)."""
    critical = body["critical_failures"]["count"]
    regressions = [
        f"{r['slice']} ({r['metric']})"
        for d in body["datasets"]
        for r in d["comparison"]["material_regressions"]
    ]
    failed = [
        t for d in body["datasets"] for t in d["comparison"]["thresholds"]
        if t["outcome"] != Outcome.PASSED.value and t["threshold"]["hard"]
    ]  # fmt: skip
    if critical or failed:
        return (
            f"no-go: {critical} critical failure(s), {len(failed)} hard threshold(s) "
            "not passed; fix and re-evaluate"
        )
    if regressions:
        return (
            "limited go: keep the baseline for "
            + ", ".join(sorted(set(regressions)))
            + "; the candidate elsewhere"
        )
    return "go: every hard threshold passed, no critical failure, no material regression"


def render_report(body: Mapping[str, Any]) -> str:
    """Markdown of the §8.4 report."""
    suite = body["suite"]
    lines = [
        f"# Experiment Comparison Report: {suite['name']} v{suite['version']}",
        "",
    ]
    first = body["datasets"][0]["comparison"]["slices"].get("overall", {})
    primary = first.get("metrics", {}).get(PRIMARY, {})
    rows = [
        ("Baseline", f"{body['baseline']['label']} ({body['baseline']['predictions']})"),
        ("Candidate", f"{body['candidate']['label']} ({body['candidate']['predictions']})"),
        (
            "Datasets",
            ", ".join(
                f"{d['dataset']} ({d['role']}, {d['items']} items)" for d in body["datasets"]
            ),
        ),
        ("Evaluators", ", ".join(body["evaluators"]) or "—"),
        (
            "Primary outcome",
            f"{PRIMARY} {_metric(primary, 'a')} → {_metric(primary, 'b')}, delta {_delta(primary)}"
            if primary
            else "—",
        ),
        (
            "Critical failures",
            f"{body['critical_failures']['count']} in the candidate "
            "(past incidents in regression/red-team sets not caught)",
        ),
        (
            "Material regression",
            "; ".join(
                f"{r['metric']} in slice {r['slice']} of {d['dataset']}"
                for d in body["datasets"]
                for r in d["comparison"]["material_regressions"]
            )
            or "none",
        ),
        ("Cost", _cost(body)),
        ("Decision (suggested)", suggested_scope(body)),
        ("Evidence", "this stored comparison (per-metric CIs, slice results, thresholds)"),
    ]
    lines += _table(["Section", "Content"], rows)
    for d in body["datasets"]:
        comp = d["comparison"]
        lines += ["", f"## {d['dataset']} ({d['role']})", ""]
        metric_rows = [
            (
                name,
                metric,
                _metric(m, "a"),
                _metric(m, "b"),
                _delta(m),
                s.get("regressions", {}).get(metric, ""),
            )
            for name, s in comp["slices"].items()
            for metric, m in s["metrics"].items()
        ]
        lines += _table(
            [
                "Slice",
                "Metric",
                "Baseline [CI]",
                "Candidate [CI]",
                "Delta [paired CI]",
                "Regression",
            ],
            metric_rows,
        )
        if comp["thresholds"]:
            lines += [""]
            lines += _table(
                ["Threshold", "Slice", "Observed", "Outcome", "Hard"],
                [
                    (
                        f"{t['threshold']['metric']} {t['threshold']['kind']} "
                        f"{t['threshold']['value']}",
                        t["threshold"]["slice"],
                        _num(t["observed"]),
                        t["outcome"] + (f" ({t['reason']})" if t.get("reason") else ""),
                        t["threshold"]["hard"],
                    )
                    for t in comp["thresholds"]
                ],
            )
    examples = body["critical_failures"]["examples"]
    if examples:
        lines += ["", "## Critical failures (raw examples)", ""]
        lines += _table(
            ["Dataset", "Item", "Label", "Candidate score"],
            [(e["dataset"], e["id"], e["label"], _num(e["score"])) for e in examples],
        )
    return "\n".join(lines) + "\n"


def _cost(body: Mapping[str, Any]) -> str:
    parts = []
    for d in body["datasets"]:
        b, c = d["baseline"].get("cost"), d["candidate"].get("cost")
        if b and c:
            before = (b.get("cost_per_item") or {}).get("value")
            after = (c.get("cost_per_item") or {}).get("value")
            parts.append(
                f"{d['role']}: expected cost per item {_num(before)} → {_num(after)} "
                "at each model's cost-optimal threshold"
            )
    return "; ".join(parts) or "no cost matrix in the suite"
