"""One classifier on its own (E2/E3 without a baseline): metrics with bootstrap CIs overall and
per slice, and the suite's absolute thresholds judged on the pessimistic end of the CI.

* Every metric gets a percentile bootstrap CI (:func:`~airel.domain.eval.bootstrap.bootstrap_ci`,
  seeded). A metric that cannot be computed on a slice — no items, one class, scores that are
  not probabilities — is stated as undefined with its reason, never an error.
* Only ``absolute`` thresholds apply to a single run. They are judged on the *pessimistic end*
  of the model's CI (the lower bound when higher is better, the upper bound when lower is
  better), so the value must be demonstrated, not just observed. An undefined metric, a CI
  that could not be formed, an unknown slice or fewer than ``min_items`` items make the
  threshold INCONCLUSIVE — never a pass.
* ``min_absolute_change`` and ``min_relative_change`` need a baseline: they are listed as
  :data:`NOT_APPLICABLE` and neither pass nor fail.

:attr:`SingleRun.passed` is true only when every hard applicable threshold passed.
:func:`render_run_report` renders the stored body of a run as Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from airel.domain.eval.bootstrap import MetricCI, bootstrap_ci
from airel.domain.eval.compare import (
    OVERALL,
    Outcome,
    Threshold,
    ThresholdKind,
    ThresholdOutcome,
    check_slices,
    judge_threshold,
)
from airel.domain.eval.metrics import Direction, check_inputs, metric_def
from airel.errors import Reason, ValidationError

NOT_APPLICABLE = "not applicable without a baseline"
DEFAULT_METRICS = ("roc_auc", "pr_auc", "brier", "ece")


@dataclass(frozen=True)
class RunSlice:
    """One slice: its size, positives and each metric with its CI."""

    name: str
    n: int
    positives: int
    metrics: Mapping[str, MetricCI]

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "name": self.name,
            "n": self.n,
            "positives": self.positives,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
        }


@dataclass(frozen=True)
class SingleRun:
    """Overall and slice results, absolute-threshold verdicts, thresholds that do not apply."""

    slices: Mapping[str, RunSlice]  # OVERALL first, then the named slices
    thresholds: Sequence[ThresholdOutcome]
    not_applicable: Sequence[Threshold]

    @property
    def passed(self) -> bool:
        """Every hard applicable threshold passed (INCONCLUSIVE is not a pass)."""
        return all(t.outcome is Outcome.PASSED for t in self.thresholds if t.threshold.hard)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``json.dumps`` works on it; no NaN)."""
        return {
            "passed": self.passed,
            "slices": {k: v.to_dict() for k, v in self.slices.items()},
            "thresholds": [t.to_dict() for t in self.thresholds],
            "not_applicable": [
                {"threshold": t.to_dict(), "reason": NOT_APPLICABLE} for t in self.not_applicable
            ],
        }


def _judge(t: Threshold, res: RunSlice | None, min_items: int) -> ThresholdOutcome:
    def observe(r: RunSlice) -> float | str:
        m = r.metrics.get(t.metric)
        if m is None:
            return "metric not computed"
        if m.value.value is None:
            return m.value.reason or "undefined"
        if m.ci is None:
            return "no confidence interval"
        higher = t.resolved_direction() is Direction.HIGHER_IS_BETTER
        return m.ci[0] if higher else m.ci[1]  # the pessimistic end of the CI

    return judge_threshold(t, res, min_items, observe)


def evaluate_single(
    y: Any,
    score: Any,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    thresholds: Sequence[Threshold] = (),
    slices: Mapping[str, Any] | None = None,
    min_items: int = 30,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    workers: int = 2,
) -> SingleRun:
    """Metrics with CIs overall and per slice; judge the absolute thresholds (see module)."""
    labels, scores, _ = check_inputs(y, score)
    for m in metrics:
        metric_def(m)
    for t in thresholds:
        metric_def(t.metric)
        if not np.isfinite(t.value):
            raise ValidationError(
                Reason.INVALID_VALUE, "threshold value must be finite", details=t.to_dict()
            )
    masks = {OVERALL: np.ones(len(labels), dtype=bool)} | check_slices(slices or {}, len(labels))
    results: dict[str, RunSlice] = {}
    for name, mask in masks.items():
        ys, ss = labels[mask], scores[mask]
        per = {
            m: bootstrap_ci(ys, ss, m, resamples=resamples, seed=seed, alpha=alpha, workers=workers)
            for m in metrics
        }
        results[name] = RunSlice(name, int(mask.sum()), int(ys.sum()), per)
    applicable = [t for t in thresholds if t.kind is ThresholdKind.ABSOLUTE]
    return SingleRun(
        slices=results,
        thresholds=[_judge(t, results.get(t.slice), min_items) for t in applicable],
        not_applicable=[t for t in thresholds if t.kind is not ThresholdKind.ABSOLUTE],
    )


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _rate(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return "—"
    if entry.get("value") is None:
        return f"undefined ({entry.get('reason', '?')})"
    return _num(entry["value"])


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def _metric_cell(m: Mapping[str, Any]) -> str:
    value = m["value"]
    if value.get("value") is None:
        return f"undefined ({value.get('reason', '?')})"
    text = _num(value["value"])
    ci = m.get("ci")
    return text + (f" [{_num(ci[0])}, {_num(ci[1])}]" if ci else " (no CI)")


def _threshold_text(t: Mapping[str, Any]) -> str:
    return f"{t['metric']} {t['kind']} {t['value']}"


def _dataset_lines(d: Mapping[str, Any]) -> list[str]:
    run = d["run"]
    lines = ["", f"## {d['dataset']} ({d['role']}, {d['items']} items)", ""]
    rows = [
        (name, s["n"], s["positives"], metric, _metric_cell(m))
        for name, s in run["slices"].items()
        for metric, m in s["metrics"].items()
    ]
    lines += _table(["Slice", "Items", "Positives", "Metric", "Value [CI]"], rows)
    if run["thresholds"]:
        lines += [""]
        lines += _table(
            ["Threshold", "Slice", "Observed (pessimistic CI end)", "Outcome", "Hard"],
            [
                (
                    _threshold_text(t["threshold"]),
                    t["threshold"]["slice"],
                    _num(t["observed"]),
                    t["outcome"] + (f" ({t['reason']})" if t.get("reason") else ""),
                    t["threshold"]["hard"],
                )
                for t in run["thresholds"]
            ],
        )
    for na in run["not_applicable"]:
        t = na["threshold"]
        lines.append(f"\n- {_threshold_text(t)} (slice {t['slice']}): {na['reason']}")
    extras = d["classifier"]
    c = extras["confusion"]
    lines += [
        "",
        f"Confusion at {c['threshold']}: TP {_num(c['tp'], 0)}, FP {_num(c['fp'], 0)}, "
        f"TN {_num(c['tn'], 0)}, FN {_num(c['fn'], 0)}; TPR {_rate(c['tpr'])}, "
        f"FPR {_rate(c['fpr'])}, precision {_rate(c['precision'])}, "
        f"decline rate {_rate(c['decline_rate'])}",
    ]
    cost = extras.get("cost")
    if cost:
        lines.append(
            f"\nCost-optimal threshold {_num(cost['threshold'])}: cost per item "
            f"{_rate(cost['cost_per_item'])} (total {_rate(cost['total_cost'])})"
        )
    fair = extras.get("fairness")
    if fair:
        lines += ["", f"Fairness at {fair['threshold']}:", ""]
        lines += _table(
            ["Group", "Items", "TPR", "FPR", "Approval rate"],
            [
                (g, r["n"], _rate(r["tpr"]), _rate(r["fpr"]), _rate(r["approval_rate"]))
                for g, r in fair["groups"].items()
            ],
        )
        over = {f["gap"]: f["limit"] for f in d.get("fairness_over_limit", [])}
        gaps = [
            f"{gap} {_rate(fair[gap])}" + (f" (over the limit {over[gap]})" if gap in over else "")
            for gap in ("tpr_gap", "fpr_gap", "approval_gap")
        ]
        lines.append("\nGaps: " + "; ".join(gaps))
    return lines


def render_run_report(body: Mapping[str, Any]) -> str:
    """Markdown summary of a stored single-model classifier run."""
    suite = body["suite"]
    target = body["target"]
    critical = body["critical_failures"]
    not_passed = sum(
        t["outcome"] != Outcome.PASSED.value and t["threshold"]["hard"]
        for d in body["datasets"]
        for t in d["run"]["thresholds"]
    )
    lines = [
        f"# Eval run: {body['label']} on {suite['name']} v{suite['version']}",
        "",
        f"Predictions: `{target['predictions']}` ({target['digest']}); "
        f"passed: {body['passed']}; hard thresholds not passed: {not_passed}; "
        f"critical failures: {critical['count']}",
        "",
        "Evaluators: " + (", ".join(body["evaluators"]) or "—"),
    ]
    for d in body["datasets"]:
        lines += _dataset_lines(d)
    if critical["examples"]:
        lines += ["", "## Critical failures (raw examples)", ""]
        lines += _table(
            ["Dataset", "Item", "Label", "Score"],
            [(e["dataset"], e["id"], e["label"], _num(e["score"])) for e in critical["examples"]],
        )
    return "\n".join(lines) + "\n"
