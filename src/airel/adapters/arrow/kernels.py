"""Per-batch column kernels of the Arrow engine: vectorised numpy over Arrow buffers.

Every kernel works on whole arrays (no per-value Python): numeric columns become one float64
vector with NaN for NULL, from which NULL/NaN/±inf counts, moments and sketch buckets are taken;
string columns are dictionary-encoded (Parquet hands them over already encoded) and counted with
``np.bincount`` over the codes, so Python touches each *distinct* value of a batch once.

Type mapping (shared by every engine, see ``airel.domain.data.profile``): integers → INT; floats and
decimals → FLOAT; bool → BOOL; string/large_string and dictionary<string> → STRING (dictionaries
of other value types are profiled as their value type); timestamps → TIMESTAMP as float epoch
microseconds (nanoseconds floor to microseconds) with the type's zone; date32/date64 → DATE as
float epoch days; anything else → OTHER (rows and NULLs only).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airel.adapters.arrow.acc import CatAcc, LabelAcc, NumAcc, Scratch
from airel.domain.data.profile import ColumnProfile, LogicalType
from airel.errors import Reason, ValidationError


class Kind(Enum):
    """How a column's values are read into numpy."""

    NUMBER = "number"  # ints and floats: to_numpy, NULL -> NaN
    DECIMAL = "decimal"  # cast to float64 first
    TIMESTAMP = "timestamp"  # int64 storage scaled to microseconds
    DATE32 = "date32"  # int32 epoch days
    DATE64 = "date64"  # int64 epoch milliseconds -> days
    BOOL = "bool"
    STRING = "string"
    OTHER = "other"


_TS_SCALE = {"s": 1_000_000.0, "ms": 1_000.0, "us": 1.0}
_MS_PER_DAY = 86_400_000.0


@dataclass(frozen=True)
class ColumnPlan:
    """What to compute for one column (from the schema and the options)."""

    name: str
    logical: LogicalType
    physical: str
    kind: Kind
    tz: str | None = None
    unit: str = ""  # timestamp unit
    profile: bool = True  # in the output (False: read only as label / reference time)
    label_feature: bool = False  # collect label stats (a label is given; not the label itself)
    after_reference: bool = False  # count values later than the reference time


def classify(t: pa.DataType) -> tuple[LogicalType, Kind]:
    """The logical type and reading kind of an Arrow type."""
    if pa.types.is_dictionary(t):
        value = t.value_type
        if pa.types.is_string(value) or pa.types.is_large_string(value):
            return LogicalType.STRING, Kind.STRING
        return classify(value)
    if pa.types.is_integer(t):
        return LogicalType.INT, Kind.NUMBER
    if pa.types.is_floating(t):
        return LogicalType.FLOAT, Kind.NUMBER
    if pa.types.is_decimal(t):
        return LogicalType.FLOAT, Kind.DECIMAL
    if pa.types.is_boolean(t):
        return LogicalType.BOOL, Kind.BOOL
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return LogicalType.STRING, Kind.STRING
    if pa.types.is_timestamp(t):
        return LogicalType.TIMESTAMP, Kind.TIMESTAMP
    if pa.types.is_date32(t):
        return LogicalType.DATE, Kind.DATE32
    if pa.types.is_date64(t):
        return LogicalType.DATE, Kind.DATE64
    return LogicalType.OTHER, Kind.OTHER


def physical_name(t: pa.DataType) -> str:
    """The engine type name recorded in the profile."""
    if pa.types.is_dictionary(t):
        return f"dictionary<{t.value_type}>"
    return str(t)


def _decoded(arr: pa.Array) -> pa.Array:
    """Dictionary arrays of non-string values are read as their values."""
    if pa.types.is_dictionary(arr.type):
        return arr.dictionary_decode()
    return arr


def _np(arr: pa.Array) -> np.ndarray:
    """The array as numpy (zero-copy when possible; integers with NULLs become float NaN)."""
    out: np.ndarray = arr.to_numpy(zero_copy_only=False)
    return out


def to_float(arr: pa.Array, plan: ColumnPlan) -> np.ndarray:
    """float64 values with NaN for NULL (numeric, timestamp and date kinds)."""
    arr = _decoded(arr)
    kind = plan.kind
    if kind is Kind.DECIMAL:  # via text: Arrow's direct cast is not correctly rounded
        arr = pc.cast(pc.cast(arr, pa.string()), pa.float64())
    elif kind is Kind.TIMESTAMP:
        unit = arr.type.unit
        ints = arr.view(pa.int64())
        if unit == "ns":
            filled = pc.fill_null(ints, 0) if arr.null_count else ints
            out: np.ndarray = np.floor_divide(_np(filled), 1000).astype(np.float64)
            if arr.null_count:
                out[~_np(arr.is_valid())] = np.nan
            return out
        vals = _np(ints).astype(np.float64, copy=False)
        return vals * _TS_SCALE[unit] if unit != "us" else vals
    elif kind is Kind.DATE32:
        arr = arr.view(pa.int32())
    elif kind is Kind.DATE64:
        return _np(arr.view(pa.int64())) / _MS_PER_DAY
    return _np(arr).astype(np.float64, copy=False)


def label_vector(arr: pa.Array, name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(y float64 with NaN for NULL, non-NULL mask, all non-NULL) of a 0/1 label column."""
    arr = _decoded(arr)
    logical, kind = classify(arr.type)
    if kind is Kind.BOOL:
        y = _np(pc.cast(arr, pa.float64()))
    elif logical in (LogicalType.INT, LogicalType.FLOAT):
        y = to_float(arr, ColumnPlan(name, logical, "", kind))
    else:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"label column {name!r} has type {arr.type}, not 0/1 numbers or booleans",
            fix="name a label column holding 0/1 (int, float or bool) values",
            details={"column": name},
        )
    present = ~np.isnan(y)
    bad = int(np.count_nonzero(present & (y != 0) & (y != 1)))
    if bad:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"label column {name!r} has {bad} value(s) other than 0 and 1",
            fix="recode the label to 0/1 or name the right label column",
            details={"column": name, "bad_values": bad},
        )
    return y, present, bool(present.all())


@dataclass
class Label:
    """The batch's label vector (when the options name a label column)."""

    y: np.ndarray
    present: np.ndarray
    all_present: bool


class ColumnAcc:
    """Everything one worker learned about one column so far."""

    __slots__ = (
        "after_ref",
        "cat",
        "count",
        "invalid",
        "label",
        "nans",
        "neg_inf",
        "nulls",
        "num",
        "plan",
        "pos_inf",
    )

    def __init__(self, plan: ColumnPlan, with_label: bool) -> None:
        self.plan = plan
        self.count = self.nulls = self.nans = self.pos_inf = self.neg_inf = 0
        self.invalid = self.after_ref = 0
        numeric = plan.kind in (Kind.NUMBER, Kind.DECIMAL, Kind.TIMESTAMP, Kind.DATE32, Kind.DATE64)
        self.num = NumAcc() if numeric else None
        self.cat = CatAcc(with_label) if plan.kind in (Kind.BOOL, Kind.STRING) else None
        self.label = LabelAcc() if plan.label_feature and plan.logical.numeric else None

    def add(
        self, arr: pa.Array, label: Label | None, ref: np.ndarray | None, scratch: Scratch
    ) -> None:
        """Fold one batch of this column in."""
        self.count += len(arr)
        if pa.types.is_dictionary(arr.type) and self.plan.kind is not Kind.STRING:
            arr = arr.dictionary_decode()
        if self.num is not None:
            self._numeric(arr, label, ref, scratch)
        elif self.plan.kind is Kind.BOOL:
            self.nulls += arr.null_count
            _bool(self, arr, label)
        elif self.plan.kind is Kind.STRING:
            self.nulls += arr.null_count
            _strings(self, arr, label)
        else:
            self.nulls += arr.null_count

    def _numeric(
        self, arr: pa.Array, label: Label | None, ref: np.ndarray | None, scratch: Scratch
    ) -> None:
        assert self.num is not None
        v = to_float(arr, self.plan)
        size = len(v)
        finite = np.isfinite(v, out=scratch.mask(size))
        n_finite = int(np.count_nonzero(finite))
        if n_finite == size:
            x = v
        else:
            nan_total = int(np.count_nonzero(np.isnan(v)))
            inf_total = size - n_finite - nan_total
            pos_inf = int(np.count_nonzero(v == np.inf)) if inf_total else 0
            self.nulls += nan_total
            self.nans += nan_total - arr.null_count
            self.pos_inf += pos_inf
            self.neg_inf += inf_total - pos_inf
            x = v[finite]
        self.num.add(x, scratch)
        if self.label is not None and label is not None:
            if n_finite == size and label.all_present:
                self.label.add(v, label.y)
            else:
                both = finite & label.present
                self.label.add(v[both], label.y[both])
        if ref is not None and self.plan.after_reference:
            self.after_ref += int(np.count_nonzero(v > ref))

    def merge(self, o: ColumnAcc) -> None:
        """Fold another worker's accumulator for the same column in."""
        self.count += o.count
        self.nulls += o.nulls
        self.nans += o.nans
        self.pos_inf += o.pos_inf
        self.neg_inf += o.neg_inf
        self.invalid += o.invalid
        self.after_ref += o.after_ref
        if self.num is not None and o.num is not None:
            self.num.merge(o.num)
        if self.cat is not None and o.cat is not None:
            self.cat.merge(o.cat)
        if self.label is not None and o.label is not None:
            self.label.merge(o.label)

    def profile(self) -> ColumnProfile:
        """The domain column profile."""
        p = self.plan
        categories, lbc = self.cat.summary() if self.cat is not None else (None, None)
        return ColumnProfile(
            name=p.name,
            logical=p.logical,
            physical=p.physical,
            count=self.count,
            nulls=self.nulls,
            nans=self.nans,
            pos_inf=self.pos_inf,
            neg_inf=self.neg_inf,
            invalid=self.invalid,
            tz=p.tz,
            numeric=self.num.summary() if self.num is not None else None,
            categories=categories,
            label=self.label.summary() if self.label is not None else None,
            label_by_category=lbc,
            after_reference_time=self.after_ref,
        )


def _bool(col: ColumnAcc, arr: pa.Array, label: Label | None) -> None:
    assert col.cat is not None
    valid = len(arr) - arr.null_count
    trues = arr.true_count
    keys, counts = ["true", "false"], [trues, valid - trues]
    col.cat.add([k for k, c in zip(keys, counts, strict=True) if c], [c for c in counts if c])
    if label is None or col.cat.lbc is None:
        return
    b = _np(pc.fill_null(arr, False))
    mask = label.present
    if arr.null_count:
        mask = mask & _np(arr.is_valid())
    t_rows, f_rows = b & mask, ~b & mask
    rows = [int(np.count_nonzero(t_rows)), int(np.count_nonzero(f_rows))]
    pos = [int(label.y[t_rows].sum()), int(label.y[f_rows].sum())]
    kept = [i for i in (0, 1) if rows[i]]
    col.cat.add_label([keys[i] for i in kept], [rows[i] for i in kept], [pos[i] for i in kept])


def _strings(col: ColumnAcc, arr: pa.Array, label: Label | None) -> None:
    assert col.cat is not None
    if pa.types.is_dictionary(arr.type) and pa.types.is_string_view(arr.type.value_type):
        arr = arr.dictionary_decode()
    if pa.types.is_string_view(arr.type):
        arr = pc.cast(arr, pa.large_string())
    enc = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    dictionary = enc.dictionary
    if len(dictionary) == 0:
        return
    idx = _np(pc.fill_null(enc.indices, 0) if arr.null_count else enc.indices)
    counts = np.bincount(idx, minlength=len(dictionary))
    if arr.null_count:
        counts[0] -= arr.null_count
    codes = np.flatnonzero(counts)
    keys, ok = _keys(dictionary.take(pa.array(codes)))
    code_counts = counts[codes]
    col.nulls += int(code_counts[ok == 0].sum())  # NULLs inside the dictionary itself
    col.invalid += int(code_counts[ok == 2].sum())  # bytes that are not UTF-8
    good = ok == 1
    col.cat.add(
        [k for k, g in zip(keys, good.tolist(), strict=True) if g], code_counts[good].tolist()
    )
    if label is None or col.cat.lbc is None:
        return
    mask = label.present
    if arr.null_count:
        mask = mask & _np(arr.is_valid())
    sel = idx if label.all_present and not arr.null_count else idx[mask]
    ysel = label.y if label.all_present and not arr.null_count else label.y[mask]
    rows = np.bincount(sel, minlength=len(dictionary))[codes]
    pos = np.rint(np.bincount(sel, weights=ysel, minlength=len(dictionary))[codes]).astype(np.int64)
    keep = good & (rows > 0)
    col.cat.add_label(
        [k for k, g in zip(keys, keep.tolist(), strict=True) if g],
        rows[keep].tolist(),
        pos[keep].tolist(),
    )


def _keys(values: pa.Array) -> tuple[list[str], np.ndarray]:
    """Decoded strings and a status per value: 1 valid, 0 NULL, 2 not UTF-8."""
    try:
        values.validate(full=True)
    except pa.ArrowInvalid:
        pass
    else:
        keys = values.to_pylist()
        if not values.null_count:
            return keys, np.ones(len(keys), dtype=np.int8)
        status = np.array([0 if k is None else 1 for k in keys], dtype=np.int8)
        return [k if k is not None else "" for k in keys], status
    raw = values.view(pa.large_binary() if pa.types.is_large_string(values.type) else pa.binary())
    out: list[str] = []
    flags: list[int] = []
    for b in raw.to_pylist():
        if b is None:
            out.append("")
            flags.append(0)
            continue
        try:
            out.append(b.decode("utf-8"))
            flags.append(1)
        except UnicodeDecodeError:
            out.append("")
            flags.append(2)
    return out, np.array(flags, dtype=np.int8)
