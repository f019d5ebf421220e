"""Feature spec: strict YAML parsing, reference checks, rule/type fit, resolved thresholds."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pydantic
import pytest

from airel.adapters.documents.parse import load_document
from airel.domain.data.drift import DRIFT_DEFAULTS
from airel.domain.data.featurespec import (
    ColumnType,
    FeatureSpec,
    infer_spec,
    parse_feature_spec,
)
from airel.domain.data.profile import ColumnProfile, LogicalType, Profile
from airel.domain.release.components import Classification
from airel.errors import Reason, ValidationError

FULL = """\
name: fraud-features
version: "6"
owner: fraud-data-team
entity_key: txn_id
label: is_fraud
prediction_time: scored_at
freshness: {column: event_ts, sla: 24h}
leakage: {max_label_correlation: 0.8, max_category_purity: 0.95, min_category_support: 50}
defaults:
  max_missing_rate: 0.02
  drift: {psi: 0.25, min_samples: 500}
skew: {numeric_tolerance: 1.0e-4, max_mismatch_rate: 0.005}
columns:
  txn_id: {type: int}
  is_fraud: {type: int}
  scored_at: {type: timestamp}
  event_ts: {type: timestamp, critical: true}
  amount:
    type: float
    unit: EUR
    range: {min: 0, max: 50000, tolerance: 0.001}
    critical: true
    max_missing_rate: 0.0
    drift: {psi: 0.1, ks: 0.05}
  country:
    type: string
    allowed_values: [DE, FR, NL]
    classification: confidential
    allowed_uses: [fraud_scoring]
  gender: {type: string, sensitive: true, classification: restricted}
  chargeback: {type: bool, known_after_outcome: true, nullable: false}
  created: {type: date, drift: {enabled: true}}
"""


def load(tmp_path: Path, text: str) -> FeatureSpec:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    doc = load_document(path)
    return parse_feature_spec(doc.data, source=doc.source, lines=doc.lines)


def problems(tmp_path: Path, text: str) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        load(tmp_path, text)
    return info.value.problems


def test_full_spec_parses(tmp_path: Path) -> None:
    spec = load(tmp_path, FULL)
    assert spec.entity_keys == ("txn_id",)
    assert spec.columns["amount"].type is ColumnType.FLOAT
    assert spec.columns["amount"].range is not None
    assert spec.columns["amount"].range.max == 50000.0
    assert spec.columns["country"].classification is Classification.CONFIDENTIAL
    assert spec.leakage.max_label_association == 0.9  # default kept
    assert spec.freshness is not None
    assert spec.freshness.sla == "24h"


def test_resolved_rules(tmp_path: Path) -> None:
    spec = load(tmp_path, FULL)
    amount = spec.drift_thresholds("amount")
    assert (amount.psi, amount.ks, amount.js) == (0.1, 0.05, DRIFT_DEFAULTS["js"])
    assert amount.min_samples == 500  # from defaults
    country = spec.drift_thresholds("country")
    assert country.psi == 0.25
    assert spec.drift_enabled("amount")
    assert not spec.drift_enabled("txn_id")  # entity key
    assert not spec.drift_enabled("event_ts")  # timestamps off by default
    assert spec.drift_enabled("created")  # asked for
    assert not spec.drift_enabled("undeclared")
    assert spec.max_missing_rate("amount") == 0.0
    assert spec.max_missing_rate("chargeback") == 0.0  # not nullable
    assert spec.max_missing_rate("country") == 0.02
    assert spec.max_missing_increase("country") == 0.01
    assert spec.is_identifier("txn_id")


def test_unknown_columns_are_each_reported_with_their_line(tmp_path: Path) -> None:
    text = """\
    entity_key: [id, missing_key]
    label: outcome
    prediction_time: when
    freshness: {column: ts, sla: 2d}
    columns:
      id: {type: int}
    """
    found = problems(tmp_path, text)
    assert [(p["field"], p["reason"]) for p in found] == [
        ("entity_key", "SPEC_UNKNOWN_COLUMN"),
        ("label", "SPEC_UNKNOWN_COLUMN"),
        ("prediction_time", "SPEC_UNKNOWN_COLUMN"),
        ("freshness", "SPEC_UNKNOWN_COLUMN"),
    ]
    assert [p["line"] for p in found] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("column", "extra", "reason"),
    [
        ("x: {type: string, range: {min: 0}}", "", "INVALID_VALUE"),
        ("x: {type: float, allowed_values: [a]}", "", "INVALID_VALUE"),
        ("x: {type: bool, allowed_values: [yes]}", "", "INVALID_VALUE"),
        ("x: {type: float, range: {min: 5, max: 1}}", "", "INVALID_VALUE"),
        ("x: {type: float, range: {}}", "", "INVALID_VALUE"),
        ("x: {type: float, range: {min: 0, tolerance: 1.5}}", "", "INVALID_VALUE"),
        ("x: {type: float}", "prediction_time: x", "INVALID_VALUE"),
        ("x: {type: string}", "label: x", "INVALID_VALUE"),
        ("x: {type: float}", "freshness: {column: x, sla: 24h}", "INVALID_VALUE"),
        ("x: {type: timestamp}", "freshness: {column: x, sla: 24 hours}", "INVALID_VALUE"),
        ("x: {type: decimal}", "", "INVALID_VALUE"),
        ("x: {type: float, classification: secret}", "", "INVALID_VALUE"),
        ("x: {type: float, critical: yes}", "", "WRONG_TYPE"),
        ("x: {type: float, max_missing_rate: '0.1'}", "", "WRONG_TYPE"),
        ("x: {type: float, crtical: true}", "", "UNKNOWN_FIELD"),
        ("x: {type: float, drift: {psi: 0}}", "", "INVALID_VALUE"),
        ("x: {unit: EUR}", "", "MISSING_FIELD"),
    ],
)
def test_rules_must_fit(tmp_path: Path, column: str, extra: str, reason: str) -> None:
    text = f"{extra}\ncolumns:\n  {column}\n"
    found = problems(tmp_path, text)
    assert found[0]["reason"] == reason


def test_columns_are_required_and_unknown_top_level_fields_refused(tmp_path: Path) -> None:
    assert problems(tmp_path, "name: x\n")[0]["reason"] == "MISSING_FIELD"
    assert problems(tmp_path, "columns: {}\n")[0]["reason"] == "INVALID_VALUE"
    found = problems(tmp_path, "columns: {a: {type: int}}\nlabels: a\n")
    assert found[0]["reason"] == "UNKNOWN_FIELD"


def test_error_reason_of_the_exception_is_the_first_problem(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        load(tmp_path, "label: nope\ncolumns: {a: {type: int}}\n")
    assert info.value.reason is Reason.SPEC_UNKNOWN_COLUMN


def test_int_range_bounds_accept_yaml_integers(tmp_path: Path) -> None:
    spec = load(tmp_path, "columns: {a: {type: int, range: {min: -3, max: 7}}}\n")
    bounds = spec.columns["a"].range
    assert bounds is not None
    assert (bounds.min, bounds.max, bounds.tolerance) == (-3.0, 7.0, 0.0)


def test_infer_spec_declares_every_typed_column() -> None:
    profile = Profile(
        10,
        {
            "a": ColumnProfile("a", LogicalType.FLOAT, "double"),
            "b": ColumnProfile("b", LogicalType.STRING, "string"),
            "t": ColumnProfile("t", LogicalType.TIMESTAMP, "timestamp[us]"),
            "n": ColumnProfile("n", LogicalType.OTHER, "list<int64>"),
        },
    )
    spec = infer_spec(profile, label="a")
    assert {k: v.type.value for k, v in spec.columns.items()} == {
        "a": "float",
        "b": "string",
        "t": "timestamp",
    }
    assert spec.label == "a"


def test_spec_is_frozen(tmp_path: Path) -> None:
    spec = load(tmp_path, FULL)
    field = "label"
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        setattr(spec, field, "x")
