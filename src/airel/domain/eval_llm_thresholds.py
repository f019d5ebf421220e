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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airel.errors import Reason, ValidationError

KEYS = ("min_pass_rate", "min_pass_rate_change", "hard")

# Outcomes, as airel.domain.eval_compare.Outcome spells them.
MET = "pass"
MISSED = "fail"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class PassThreshold:
    """What share of items an evaluator needs to pass, and whether missing it blocks."""

    min_pass_rate: float | None = None
    min_pass_rate_change: float | None = None
    hard: bool = True

    @property
    def empty(self) -> bool:
        """True when the evaluator sets no threshold (its results are reported only)."""
        return self.min_pass_rate is None and self.min_pass_rate_change is None


def _number(value: Any, key: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(
            Reason.WRONG_TYPE,
            f"thresholds.{key} must be a number",
            details={"field": f"thresholds.{key}", "value": repr(value)},
        )
    if not low <= value <= high:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"thresholds.{key} must be between {low} and {high}",
            details={"field": f"thresholds.{key}", "value": value},
        )
    return float(value)


def parse_pass_threshold(thresholds: Mapping[str, Any]) -> PassThreshold:
    """A :class:`PassThreshold` from a spec's ``thresholds``; unknown keys are refused."""
    unknown = sorted(set(thresholds) - set(KEYS))
    if unknown:
        raise ValidationError(
            Reason.UNKNOWN_FIELD,
            f"unknown threshold key(s) {', '.join(unknown)}",
            fix=f"use {', '.join(KEYS)}",
            details={"field": "thresholds", "unknown": unknown},
        )
    rate = thresholds.get("min_pass_rate")
    change = thresholds.get("min_pass_rate_change")
    hard = thresholds.get("hard", True)
    if not isinstance(hard, bool):
        raise ValidationError(
            Reason.WRONG_TYPE,
            "thresholds.hard must be true or false",
            details={"field": "thresholds.hard", "value": repr(hard)},
        )
    return PassThreshold(
        min_pass_rate=None if rate is None else _number(rate, "min_pass_rate", 0.0, 1.0),
        min_pass_rate_change=(
            None if change is None else _number(change, "min_pass_rate_change", -1.0, 1.0)
        ),
        hard=hard,
    )


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
