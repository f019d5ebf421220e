"""The declarative feature spec of a feature view (V2): what its data must look like.

A spec is a YAML document, versioned with its feature view, parsed by the strict document
parser and :func:`parse_feature_spec` (every problem collected, each with a reason code and a
line). It declares, per column, the type and unit, allowed values or a declared range, the
missing-value budget, whether the feature is *critical* (its findings are hard, §4.4), its
classification and allowed uses (ACL), leakage flags and per-feature drift thresholds; and for
the view the entity key (skew joins), the label and prediction-time columns (leakage), the
freshness rule, and the defaults every column inherits::

    name: fraud-features
    version: "6"
    entity_key: txn_id
    label: is_fraud
    prediction_time: scored_at
    freshness: {column: event_ts, sla: 24h}
    leakage: {max_label_correlation: 0.9, max_category_purity: 0.98, min_category_support: 30}
    defaults: {max_missing_rate: 0.05, drift: {psi: 0.2}}
    skew: {numeric_tolerance: 1.0e-6, max_mismatch_rate: 0.01}
    columns:
      amount: {type: float, unit: EUR, range: {min: 0, max: 50000}, critical: true}
      country: {type: string, allowed_values: [DE, FR, NL], classification: confidential}
      chargeback_flag: {type: bool, known_after_outcome: true}

Every column a rule names (entity key, label, prediction time, freshness column) must be
declared under ``columns`` (``SPEC_UNKNOWN_COLUMN`` otherwise), and rules must fit the column's
type (a range on a number, allowed values on a string or bool, a prediction time that is a
timestamp) — ``INVALID_VALUE`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from airel.domain.data.drift import DRIFT_DEFAULTS, DriftThresholds
from airel.domain.data.profile import LogicalType, Profile
from airel.domain.kernel.validation import Lines, as_field_problem, parse_record
from airel.domain.release.components import LAX, Classification, Duration, Text
from airel.errors import Reason, ValidationError

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]


class ColumnType(StrEnum):
    """A declared column type; each maps onto one profile logical type."""

    INT = "int"  # integers of any width
    FLOAT = "float"  # floating point or decimal; an int column satisfies it too
    BOOL = "bool"  # booleans
    STRING = "string"  # text (dictionary-encoded or not)
    TIMESTAMP = "timestamp"  # instants; should carry a time zone
    DATE = "date"  # calendar dates

    @property
    def logical(self) -> LogicalType:
        """The profile logical type this declaration expects."""
        return LogicalType(self.value)


NUMERIC_TYPES = frozenset({ColumnType.INT, ColumnType.FLOAT})
CATEGORICAL_TYPES = frozenset({ColumnType.STRING, ColumnType.BOOL})
TIME_TYPES = frozenset({ColumnType.TIMESTAMP, ColumnType.DATE})


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)


class DriftOverride(_Strict):
    """Per-feature drift thresholds; anything unset inherits the spec's defaults."""

    psi: Positive | None = None
    js: Positive | None = None
    ks: Positive | None = None
    wasserstein_sd: Positive | None = None
    min_samples: int | None = Field(default=None, ge=1)
    enabled: bool | None = None  # force drift on (timestamps, ids) or off; None = by type


class DriftDefaults(_Strict):
    """Drift thresholds every column inherits (documented in :mod:`airel.domain.data.drift`)."""

    psi: Positive = DRIFT_DEFAULTS["psi"]
    js: Positive = DRIFT_DEFAULTS["js"]
    ks: Positive = DRIFT_DEFAULTS["ks"]
    wasserstein_sd: Positive = DRIFT_DEFAULTS["wasserstein_sd"]
    min_samples: int = Field(default=int(DRIFT_DEFAULTS["min_samples"]), ge=1)


class RangeSpec(_Strict):
    """Declared bounds (inclusive); ``tolerance`` = share of values allowed outside them."""

    min: float | None = None
    max: float | None = None
    tolerance: Rate = 0.0

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"range min {self.min} is above max {self.max}")
        return self


class ColumnSpec(_Strict):
    """What one column must look like."""

    type: Annotated[ColumnType, LAX]
    unit: Text | None = None
    description: str | None = Field(default=None, max_length=4096)
    allowed_values: list[str] | None = Field(default=None, min_length=1)
    range: RangeSpec | None = None
    nullable: bool = True
    max_missing_rate: Rate | None = None  # None: 0 if not nullable, else the default
    max_missing_increase: Rate | None = None  # vs the reference; None: the default
    critical: bool = False  # findings on a critical feature are hard (§4.4)
    identifier: bool = False  # an id (no drift, no label checks); the entity key is one
    classification: Annotated[Classification, LAX] = Classification.INTERNAL
    allowed_uses: list[Text] | None = None  # None: any use (unless sensitive/restricted)
    sensitive: bool = False  # a sensitive attribute: needs an explicit allowed use
    drift: DriftOverride | None = None
    known_after_outcome: bool = False  # only known after the label: leakage if present

    @model_validator(mode="after")
    def _rules_fit_type(self) -> ColumnSpec:
        if self.range is not None and self.type not in NUMERIC_TYPES:
            raise ValueError(f"a range applies to int or float columns, not {self.type.value}")
        if self.allowed_values is not None:
            if self.type not in CATEGORICAL_TYPES:
                raise ValueError(
                    f"allowed_values applies to string or bool columns, not {self.type.value}"
                )
            if self.type is ColumnType.BOOL and not set(self.allowed_values) <= {"true", "false"}:
                raise ValueError('allowed values of a bool column are "true" and "false"')
        return self


class FreshnessSpec(_Strict):
    """The newest value of ``column`` must be at most ``sla`` old at validation time."""

    column: Text
    sla: Duration


class LeakageSpec(_Strict):
    """Thresholds of the label-leakage checks."""

    max_label_correlation: Rate = 0.9  # |point-biserial r| of a numeric feature with the label
    max_category_purity: Rate = 0.98  # positive rate of a supported category
    min_category_support: int = Field(default=30, ge=1)  # rows a category needs to count
    max_label_association: Rate = 0.9  # Cramér's V of a categorical feature with the label


class DefaultsSpec(_Strict):
    """What every column inherits unless it says otherwise."""

    drift: DriftDefaults = Field(default_factory=DriftDefaults)
    max_missing_rate: Rate = 0.05
    max_missing_increase: Rate = 0.01  # absolute rise of the missing rate vs the reference
    max_unseen_rate: Rate = 0.0  # share of current rows in categories the reference lacks
    max_distinct_ratio: float = Field(default=2.0, gt=1.0)  # current / reference distinct
    vanished_min_expected: float = Field(default=20.0, gt=0.0)  # expected rows to call a loss


class SkewSpec(_Strict):
    """Training–serving skew thresholds (the join uses ``numeric_tolerance``)."""

    numeric_tolerance: float = Field(default=1e-6, ge=0.0)  # relative, per value
    max_mismatch_rate: Rate = 0.01
    max_unmatched_rate: Rate = 0.05  # entities on one side only, of all distinct entities


def _unknown(field: str, name: str, declared: Mapping[str, ColumnSpec]) -> ValidationError:
    return ValidationError(
        Reason.SPEC_UNKNOWN_COLUMN,
        f"{field} names column {name!r}, which is not declared under columns",
        fix=f"declare {name!r} under columns or correct the name; declared: "
        + ", ".join(sorted(declared)[:20]),
        details={"field": field, "column": name},
    )


def _wrong_type(field: str, name: str, have: ColumnType, want: str) -> ValidationError:
    return ValidationError(
        Reason.INVALID_VALUE,
        f"{field} column {name!r} is declared {have.value}; it must be {want}",
        fix=f"point {field} at a {want} column or correct the declared type",
        details={"field": field, "column": name},
    )


def _check_column(
    field: str, name: str, declared: Mapping[str, ColumnSpec], want: frozenset[ColumnType]
) -> None:
    if name not in declared:
        raise _unknown(field, name, declared)
    if want and declared[name].type not in want:
        raise _wrong_type(field, name, declared[name].type, "/".join(sorted(want)))


class FeatureSpec(_Strict):
    """The validation contract of one feature view."""

    # ``columns`` comes first so the reference checks below can see it.
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    name: Text | None = None
    version: Text | None = None
    description: str | None = Field(default=None, max_length=4096)
    owner: Text | None = None
    entity_key: Text | list[Text] | None = None
    label: Text | None = None
    prediction_time: Text | None = None
    freshness: FreshnessSpec | None = None
    leakage: LeakageSpec = Field(default_factory=LeakageSpec)
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    skew: SkewSpec = Field(default_factory=SkewSpec)

    @field_validator("entity_key")
    @classmethod
    def _key_declared(cls, value: str | list[str] | None, info: ValidationInfo) -> Any:
        declared = info.data.get("columns")
        if value is not None and declared is not None:
            for name in [value] if isinstance(value, str) else value:
                as_field_problem(_check_column, "entity_key", name, declared, frozenset())
        return value

    @field_validator("label")
    @classmethod
    def _label_declared(cls, value: str | None, info: ValidationInfo) -> str | None:
        declared = info.data.get("columns")
        if value is not None and declared is not None:
            want = frozenset({ColumnType.INT, ColumnType.BOOL, ColumnType.FLOAT})
            as_field_problem(_check_column, "label", value, declared, want)
        return value

    @field_validator("prediction_time")
    @classmethod
    def _time_declared(cls, value: str | None, info: ValidationInfo) -> str | None:
        declared = info.data.get("columns")
        if value is not None and declared is not None:
            want = frozenset({ColumnType.TIMESTAMP})
            as_field_problem(_check_column, "prediction_time", value, declared, want)
        return value

    @field_validator("freshness")
    @classmethod
    def _fresh_declared(
        cls, value: FreshnessSpec | None, info: ValidationInfo
    ) -> FreshnessSpec | None:
        declared = info.data.get("columns")
        if value is not None and declared is not None:
            as_field_problem(_check_column, "freshness.column", value.column, declared, TIME_TYPES)
        return value

    # -- resolved rules ----------------------------------------------------------------------

    @property
    def entity_keys(self) -> tuple[str, ...]:
        """The entity key as a tuple of column names (empty when none is declared)."""
        if self.entity_key is None:
            return ()
        return (self.entity_key,) if isinstance(self.entity_key, str) else tuple(self.entity_key)

    def is_identifier(self, column: str) -> bool:
        """An id column: declared ``identifier`` or part of the entity key."""
        spec = self.columns.get(column)
        return column in self.entity_keys or (spec is not None and spec.identifier)

    def drift_enabled(self, column: str) -> bool:
        """Drift is checked for numbers and categories, not times or ids, unless asked."""
        spec = self.columns.get(column)
        if spec is None:
            return False
        if spec.drift is not None and spec.drift.enabled is not None:
            return spec.drift.enabled
        return spec.type not in TIME_TYPES and not self.is_identifier(column)

    def drift_thresholds(self, column: str) -> DriftThresholds:
        """The spec's defaults with the column's overrides applied."""
        d = self.defaults.drift
        base = DriftThresholds(d.psi, d.js, d.ks, d.wasserstein_sd, d.min_samples)
        spec = self.columns.get(column)
        if spec is None or spec.drift is None:
            return base
        o = spec.drift
        return base.with_overrides(
            {
                "psi": o.psi,
                "js": o.js,
                "ks": o.ks,
                "wasserstein_sd": o.wasserstein_sd,
                "min_samples": o.min_samples,
            }
        )

    def max_missing_rate(self, column: str) -> float:
        """The column's own limit, else 0 when not nullable, else the default."""
        spec = self.columns[column]
        if spec.max_missing_rate is not None:
            return spec.max_missing_rate
        return 0.0 if not spec.nullable else self.defaults.max_missing_rate

    def max_missing_increase(self, column: str) -> float:
        """How far the missing rate may rise above the reference's."""
        spec = self.columns[column]
        if spec.max_missing_increase is not None:
            return spec.max_missing_increase
        return self.defaults.max_missing_increase


def parse_feature_spec(
    data: Mapping[str, Any], *, source: str = "<feature spec>", lines: Lines | None = None
) -> FeatureSpec:
    """Validate a parsed document (e.g. from ``load_document``) into a :class:`FeatureSpec`."""
    return parse_record(FeatureSpec, data, source=source, lines=lines)


_TYPE_OF: Mapping[LogicalType, ColumnType] = {ct.logical: ct for ct in ColumnType}


def infer_spec(profile: Profile, **top: Any) -> FeatureSpec:
    """A permissive spec declaring every profiled column with its type (no other rules).

    Columns of a type a spec cannot declare (``other``: nested, binary) are left out and so
    are reported as undeclared. ``top`` sets top-level fields (``label=…``, ``entity_key=…``).
    """
    columns = {
        name: {"type": _TYPE_OF[col.logical].value}
        for name, col in profile.columns.items()
        if col.logical in _TYPE_OF
    }
    return parse_feature_spec({"columns": columns, **top}, source="<inferred spec>")
