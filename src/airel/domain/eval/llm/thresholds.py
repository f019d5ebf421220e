"""Pass-rate thresholds of LLM evaluators (judge, plugin, rule), read from an evaluator spec.

An evaluator's registered ``thresholds`` mapping says what share of applicable items must pass,
MLflow-style (absolute value or minimum change, higher is better)::

    thresholds: {min_pass_rate: 0.9, min_pass_rate_change: -0.02, hard: true}

* ``min_pass_rate`` — the candidate's pass rate must be at least this (absolute);
* ``min_pass_rate_change`` — candidate − baseline must be at least this, judged on the
  pessimistic (lower) end of the paired bootstrap CI; only a comparison can judge it;
* ``hard`` (default true) — a hard threshold that fails or is inconclusive fails the run.

A threshold with no item to judge it on, or no CI, is ``inconclusive`` — never a pass.
"""

from __future__ import annotations

from typing import Any

from airel.domain.release.pass_threshold import PassThreshold, parse_pass_threshold

__all__ = ["PassThreshold", "blocking", "judge_pass_threshold", "parse_pass_threshold"]

# Outcomes, as airel.domain.eval.compare.Outcome spells them.
MET = "pass"
MISSED = "fail"
INCONCLUSIVE = "inconclusive"


def judge_pass_threshold(
    evaluator: str,
    threshold: PassThreshold,
    *,
    rate: float | None,
    delta_low: float | None = None,
    comparison: bool = False,
) -> list[dict[str, Any]]:
    """Verdicts of one evaluator's thresholds (JSON shape, one per kind that is set).

    ``rate`` is the candidate's (or the run's) pass rate, None when no item applied;
    ``delta_low`` the lower end of the paired delta CI, None when undefined. Outside a
    comparison ``min_pass_rate_change`` cannot be judged and is left out.
    """
    out: list[dict[str, Any]] = []

    def verdict(kind: str, value: float, observed: float | None, why: str) -> None:
        if observed is None:
            outcome, reason = INCONCLUSIVE, why
        else:
            outcome, reason = (MET if observed >= value else MISSED), None
        out.append(
            {
                "evaluator": evaluator,
                "kind": kind,
                "value": value,
                "hard": threshold.hard,
                "observed": observed,
                "outcome": outcome,
                **({"reason": reason} if reason else {}),
            }
        )

    if threshold.min_pass_rate is not None:
        verdict("min_pass_rate", threshold.min_pass_rate, rate, "no applicable items")
    if comparison and threshold.min_pass_rate_change is not None:
        verdict(
            "min_pass_rate_change",
            threshold.min_pass_rate_change,
            delta_low,
            "no confidence interval for the delta",
        )
    return out


def blocking(verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hard verdicts that are not a pass (they fail the run or comparison)."""
    return [v for v in verdicts if v["hard"] and v["outcome"] != MET]
