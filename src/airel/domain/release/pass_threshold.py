"""The shape of an evaluator's registered pass-rate threshold (R5): what the registry checks
when an evaluator version is registered.

The registry owns the shape of what it registers, so this lives with the components; how a
threshold is judged against measured pass rates is the evaluation's
(:mod:`airel.domain.eval.llm.thresholds`)::

    thresholds: {min_pass_rate: 0.9, min_pass_rate_change: -0.02, hard: true}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airel.errors import Reason, ValidationError

KEYS = ("min_pass_rate", "min_pass_rate_change", "hard")


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
