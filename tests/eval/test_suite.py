"""E1: eval suite specs are parsed strictly and name registered datasets by role."""

from __future__ import annotations

import textwrap

import pytest

from airel.adapters.documents.parse import parse_yaml
from airel.domain.eval.compare import ThresholdKind
from airel.domain.eval.metrics import Direction
from airel.domain.eval.suite import EvalSuite
from airel.domain.kernel.validation import parse_record
from airel.errors import Reason, ValidationError

SUITE = """
name: fraud-eval
version: "1"
datasets:
  - {ref: FRAUD-GOLDEN-2026H1:1, role: golden}
  - {ref: FRAUD-REGRESSION-2026H1:1, role: regression}
columns: {id: transaction_id, label: label_fraud, score: fraud_score}
slices:
  card_not_present: {column: channel, in: [ecommerce]}
  high_value: {column: amount, gte: 1000}
  vulnerable_customer: {column: vulnerable_customer, equals: true}
thresholds:
  - {metric: roc_auc, kind: absolute, value: 0.85}
  - {metric: brier, kind: min_absolute_change, value: 0.0, hard: false}
  - {metric: roc_auc, kind: min_relative_change, value: -0.01, slice: high_value}
cost: {missed_positive: 180, false_positive: 12}
fairness: {attribute: vulnerable_customer}
bootstrap: {resamples: 1000, seed: 7}
"""


def load(text: str) -> EvalSuite:
    doc = parse_yaml(textwrap.dedent(text))
    return parse_record(EvalSuite, doc.data, lines=doc.lines)


def test_suite_parses_with_roles_slices_and_threshold_directions() -> None:
    """E1: datasets by role, slices, MLflow-style thresholds with natural directions."""
    suite = load(SUITE)
    assert [d.role.value for d in suite.datasets] == ["golden", "regression"]
    assert suite.slices["card_not_present"].in_ == ["ecommerce"]
    auc, brier, sliced = suite.thresholds
    assert auc.resolved_direction() is Direction.HIGHER_IS_BETTER
    assert brier.resolved_direction() is Direction.LOWER_IS_BETTER
    assert sliced.kind is ThresholdKind.MIN_RELATIVE_CHANGE
    assert suite.as_dict()["slices"]["card_not_present"]["in"] == ["ecommerce"]


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ("  - {metric: roc_auc, value: 0.8, slice: nowhere}\n", Reason.INVALID_VALUE),
        ("  - {metric: roc_auc, value: high}\n", Reason.WRONG_TYPE),
        ("  - {metric: roc_auc, kind: sometimes, value: 0.8}\n", Reason.INVALID_VALUE),
    ],
)
def test_bad_thresholds_are_refused(patch: str, reason: Reason) -> None:
    """A threshold on an unknown slice, a non-number or an unknown kind is refused."""
    text = SUITE.replace("thresholds:\n", "thresholds:\n" + patch, 1)
    with pytest.raises(ValidationError) as info:
        load(text)
    assert info.value.reason is reason


def test_slice_needs_exactly_one_condition() -> None:
    """A slice with two conditions is ambiguous and refused."""
    text = SUITE.replace(
        "{column: channel, in: [ecommerce]}", "{column: channel, in: [ecommerce], equals: atm}"
    )
    with pytest.raises(ValidationError) as info:
        load(text)
    assert info.value.reason is Reason.INVALID_VALUE
