"""Policy checks: label leakage, access/ACL and training–serving skew.

**Leakage** looks at the current data (the dataset a model would be trained on):

* a column the spec marks ``known_after_outcome`` that is present with any non-null value;
* a timestamp column with values later than the row's prediction time (the profile counts
  them when the spec names ``prediction_time``);
* a numeric feature whose |point-biserial correlation| with the label reaches
  ``max_label_correlation``;
* a categorical feature with a category of at least ``min_category_support`` labelled rows
  whose positive rate reaches ``max_category_purity`` — or, failing that, whose Cramér's V
  with the label reaches ``max_label_association``. V is computed over supported categories,
  the rest pooled into one, so a long tail of one-row categories cannot fake an association.

The label itself and identifier columns are not checked against the label. One leakage
finding per column at most (the first rule that fires, in the order above).

**Access** compares every present column with the release's use case: a use case outside a
column's ``allowed_uses`` is ``ACL_DISALLOWED_USE``; a sensitive or restricted column without
any explicit allowed use is ``ACL_UNAPPROVED_SENSITIVE``. Without a use case nothing can be
decided and one soft ``ACL_USE_CASE_MISSING`` says so (when the spec restricts any column).

**Skew** reads a :class:`~airel.domain.data.findings.SkewResult`: per feature, a mismatch rate over
the joined rows above ``skew.max_mismatch_rate`` (else drift between the two sides), and the
share of entities present on one side only above ``skew.max_unmatched_rate``.
"""

from __future__ import annotations

import math

from airel.domain.data.checks_base import CheckContext, pct
from airel.domain.data.drift import DriftStatus
from airel.domain.data.findings import FindingCode, SkewResult
from airel.domain.data.profile import LogicalType
from airel.domain.release.components import Classification

_POOLED = "\x00rare"


def cramers_v(table: dict[str, list[int]], min_support: int) -> float | None:
    """Cramér's V of category × label from ``category -> [rows, positives]``."""
    cells: dict[str, list[int]] = {}
    for key, (rows, positives) in table.items():
        target = key if rows >= min_support else _POOLED
        acc = cells.setdefault(target, [0, 0])
        acc[0] += rows
        acc[1] += positives
    cells = {k: v for k, v in cells.items() if v[0] > 0}
    n = sum(v[0] for v in cells.values())
    pos = sum(v[1] for v in cells.values())
    if len(cells) < 2 or n == 0 or pos in (0, n):
        return None
    stat = 0.0
    for rows, positives in cells.values():
        for observed, share in ((positives, pos / n), (rows - positives, 1 - pos / n)):
            expected = rows * share
            stat += (observed - expected) ** 2 / expected
    return math.sqrt(stat / n)


def check_leakage(ctx: CheckContext) -> None:
    """Post-outcome columns, future timestamps, label proxies."""
    spec, rules = ctx.spec, ctx.spec.leakage
    for name, col_spec in spec.columns.items():
        cur = ctx.cur(name)
        if cur is None or name == spec.label:
            continue
        present = cur.count - cur.nulls
        if col_spec.known_after_outcome and present > 0:
            ctx.add(
                FindingCode.LEAKAGE_POST_OUTCOME,
                name,
                measured=present,
                threshold=0,
                message=f"column known only after the outcome is present ({present} values)",
            )
            continue
        if name not in ctx.typed:
            continue
        if (
            spec.prediction_time is not None
            and name != spec.prediction_time
            and cur.logical is LogicalType.TIMESTAMP
            and cur.after_reference_time > 0
        ):
            rate = cur.after_reference_time / max(present, 1)
            ctx.add(
                FindingCode.LEAKAGE_FUTURE_TIMESTAMP,
                name,
                measured=rate,
                threshold=0.0,
                message=f"{cur.after_reference_time} value(s) ({pct(rate)}) later than "
                f"{spec.prediction_time!r}",
                details={"rows": cur.after_reference_time},
            )
            continue
        if spec.label is None or spec.is_identifier(name):
            continue
        stats = cur.label if cur.logical.numeric else None  # not timestamps/dates
        corr = stats.correlation() if stats is not None else None
        if corr is not None and abs(corr) >= rules.max_label_correlation:
            ctx.add(
                FindingCode.LEAKAGE_LABEL_CORRELATION,
                name,
                measured=corr,
                threshold=rules.max_label_correlation,
                message=f"correlation with label {spec.label!r} is {corr:.3f}",
            )
            continue
        if cur.label_by_category:
            _category_leakage(ctx, name, cur.label_by_category)


def _category_leakage(ctx: CheckContext, name: str, table: dict[str, list[int]]) -> None:
    rules = ctx.spec.leakage
    supported = {k: v for k, v in table.items() if v[0] >= rules.min_category_support}
    if supported:
        key, (rows, positives) = max(supported.items(), key=lambda kv: kv[1][1] / kv[1][0])
        purity = positives / rows
        if purity >= rules.max_category_purity:
            ctx.add(
                FindingCode.LEAKAGE_CATEGORY_PURITY,
                name,
                measured=purity,
                threshold=rules.max_category_purity,
                message=f"category {key!r} is positive in {positives} of {rows} rows",
                details={"category": key, "rows": rows, "positives": positives},
            )
            return
    v = cramers_v(table, rules.min_category_support)
    if v is not None and v >= rules.max_label_association:
        ctx.add(
            FindingCode.LEAKAGE_LABEL_ASSOCIATION,
            name,
            measured=v,
            threshold=rules.max_label_association,
            message=f"Cramér's V with label {ctx.spec.label!r} is {v:.3f}",
        )


def check_access(ctx: CheckContext) -> None:
    """Allowed uses and sensitive attributes vs the use case."""
    restricted = [
        (name, spec)
        for name, spec in ctx.spec.columns.items()
        if ctx.cur(name) is not None
        and (
            spec.allowed_uses is not None
            or spec.sensitive
            or spec.classification is Classification.RESTRICTED
        )
    ]
    if ctx.use_case is None:
        if restricted:
            ctx.add(
                FindingCode.ACL_USE_CASE_MISSING,
                None,
                measured=None,
                threshold=None,
                message=f"{len(restricted)} column(s) restrict their use but no use case was "
                "given; access was not checked",
                details={"columns": [n for n, _ in restricted]},
            )
        return
    for name, spec in restricted:
        if spec.allowed_uses is not None and ctx.use_case not in spec.allowed_uses:
            ctx.add(
                FindingCode.ACL_DISALLOWED_USE,
                name,
                measured=ctx.use_case,
                threshold=", ".join(spec.allowed_uses),
                message=f"use case {ctx.use_case!r} is not among the column's allowed uses "
                f"({', '.join(spec.allowed_uses) or 'none'})",
            )
        elif spec.allowed_uses is None:
            what = "sensitive" if spec.sensitive else spec.classification.value
            ctx.add(
                FindingCode.ACL_UNAPPROVED_SENSITIVE,
                name,
                measured=ctx.use_case,
                threshold=None,
                message=f"{what} column has no explicit allowed use; "
                f"{ctx.use_case!r} is not approved for it",
            )


def check_skew(ctx: CheckContext, skew: SkewResult) -> None:
    """Per-feature mismatch (else drift) across the join; entities on one side only."""
    limits = ctx.spec.skew
    keys = set(ctx.spec.entity_keys)
    for name, col in skew.columns.items():
        if name in keys:
            continue
        rate = col.mismatch_rate
        if rate is not None and rate > limits.max_mismatch_rate:
            ctx.add(
                FindingCode.SKEW_MISMATCH,
                name,
                measured=rate,
                threshold=limits.max_mismatch_rate,
                message=f"{col.mismatches} of {col.compared} joined rows ({pct(rate)}) differ "
                "between training and serving",
                details={"mismatches": col.mismatches, "compared": col.compared},
            )
        elif col.drift is not None and col.drift.status is DriftStatus.DRIFT:
            ctx.add(
                FindingCode.SKEW_DRIFT,
                name,
                measured=col.drift.metric("psi"),
                threshold=col.drift.thresholds.psi,
                message="training and serving distributions differ: " + ", ".join(col.drift.fired),
                details=col.drift.to_dict(),
            )
    unmatched = skew.unmatched_rate
    if unmatched > limits.max_unmatched_rate:
        ctx.add(
            FindingCode.SKEW_UNMATCHED,
            None,
            measured=unmatched,
            threshold=limits.max_unmatched_rate,
            message=f"{skew.unmatched_left} training and {skew.unmatched_right} serving "
            f"entities have no counterpart ({skew.joined_rows} joined)",
            details={
                "joined": skew.joined_rows,
                "unmatched_left": skew.unmatched_left,
                "unmatched_right": skew.unmatched_right,
            },
        )
