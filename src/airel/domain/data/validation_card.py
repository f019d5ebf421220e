"""The Dataset and Feature Validation Card (§8.3, V3), as a JSON-able dict and as Markdown.

The card is the evidence a validation run leaves behind: which dataset snapshot and feature
view were validated against what, by whom and how, one result line per dimension (§8.3 names
schema, missingness, freshness, leakage and access; airel adds distribution, range,
cardinality and skew), the decision, every finding, the drift statistics, and a compact
summary of both profiles. :func:`build_card` makes the dict (stored with the run and read by
the G1/G3 gates); :func:`render_markdown` renders that dict, so both always agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airel.domain.data.drift import DriftResult
from airel.domain.data.featurespec import FeatureSpec
from airel.domain.data.findings import Dimension, Finding, FindingCode, Severity
from airel.domain.data.profile import ColumnProfile, Profile

CARD_FORMAT = "airel-validation-card/1"
TOP_CATEGORIES = 5  # categories listed per column in the profile summary
LISTED = 5  # findings named in a dimension's result line

# Result wording when a dimension has no finding, and when it could not run.
_PASS_TEXT: Mapping[Dimension, str] = {
    Dimension.SCHEMA: "all {declared} declared columns present with their declared types",
    Dimension.DISTRIBUTION: "{compared} columns compared with the reference, no drift",
    Dimension.MISSINGNESS: "every column within its missing-value budget",
    Dimension.FRESHNESS: "{freshness} updated within its SLA",
    Dimension.RANGE: "no values outside declared ranges, no infinite values",
    Dimension.CARDINALITY: "no unseen, disallowed, vanished or exploding categories",
    Dimension.LEAKAGE: "no post-outcome columns, future timestamps or label proxies",
    Dimension.SKEW: "training and serving agree on the joined entities",
    Dimension.ACCESS: "every column allowed for use case {use_case}",
}


# Dimensions that are still checked on a dataset with no rows.
_SCHEMA_ONLY = frozenset({Dimension.SCHEMA, Dimension.MISSINGNESS, Dimension.ACCESS})


@dataclass(frozen=True)
class CardMetadata:
    """What the card says about the run beyond the spec, profiles and findings."""

    validation_id: str
    dataset: str  # the validated snapshot: dataset/NAME:VERSION or a file digest
    feature_view: str | None = None  # feature_view/NAME:VERSION whose spec was used
    reference: str | None = None  # the reference snapshot
    serving: str | None = None  # the serving sample of the skew check
    owner: str | None = None
    source_systems: Sequence[str] = ()
    sampling_method: str | None = None
    use_case: str | None = None
    as_of: str | None = None  # ISO-8601
    engine: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)  # step -> seconds
    spec_digest: str | None = None


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def column_summary(col: ColumnProfile) -> dict[str, Any]:
    """A few numbers per column: type, rows, missing rate, range/moments or top categories."""
    out: dict[str, Any] = {
        "type": col.logical.value,
        "physical": col.physical,
        "rows": col.count,
        "missing_rate": col.missing_rate,
    }
    if col.tz is not None:
        out["tz"] = col.tz
    if col.pos_inf or col.neg_inf:
        out["infinite"] = col.pos_inf + col.neg_inf
    s = col.numeric
    if s is not None and s.n:
        out.update(
            min=s.min,
            max=s.max,
            mean=s.mean,
            sd=math.sqrt(s.variance or 0.0),
            p50=s.quantile(0.5),
        )
    c = col.categories
    if c is not None:
        top = sorted(c.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES]
        out.update(distinct=c.distinct, truncated=c.truncated, top=[[k, v] for k, v in top])
    return out


def profile_summary(profile: Profile | None) -> dict[str, Any] | None:
    """Rows, engine and a :func:`column_summary` per column."""
    if profile is None:
        return None
    return {
        "rows": profile.rows,
        "engine": profile.engine,
        "columns": {name: column_summary(col) for name, col in profile.columns.items()},
    }


def _context_text(
    spec: FeatureSpec, meta: CardMetadata, drift: Mapping[str, DriftResult]
) -> dict[str, Any]:
    fresh = spec.freshness
    return {
        "declared": len(spec.columns),
        "compared": len(drift),
        "freshness": f"{fresh.column!r}" if fresh else "",
        "use_case": repr(meta.use_case),
    }


def _not_run(
    dim: Dimension,
    spec: FeatureSpec,
    meta: CardMetadata,
    has_reference: bool,
    has_skew: bool,
    findings: Sequence[Finding],
    empty: bool,
) -> str | None:
    if empty and not findings and dim not in _SCHEMA_ONLY:
        return "not checked: the current dataset is empty"
    if dim is Dimension.DISTRIBUTION and not has_reference:
        return "not checked: no reference dataset"
    if dim is Dimension.FRESHNESS and spec.freshness is None:
        return "not checked: the spec has no freshness rule"
    if dim is Dimension.SKEW and not has_skew:
        return "not checked: no serving sample"
    if dim is Dimension.ACCESS and meta.use_case is None and not findings:
        return "not checked: no use case given"
    return None


def dimension_results(
    spec: FeatureSpec,
    findings: Sequence[Finding],
    meta: CardMetadata,
    drift: Mapping[str, DriftResult],
    *,
    has_reference: bool,
    has_skew: bool,
) -> dict[str, dict[str, Any]]:
    """Per dimension: status (pass / warn / fail / not_checked), counts and a result line."""
    words = _context_text(spec, meta, drift)
    empty = any(f.reason is FindingCode.EMPTY_DATASET for f in findings)
    out: dict[str, dict[str, Any]] = {}
    for dim in Dimension:
        mine = [f for f in findings if f.dimension is dim]
        hard = sum(f.severity is Severity.HARD for f in mine)
        soft = len(mine) - hard
        skipped = _not_run(dim, spec, meta, has_reference, has_skew, mine, empty)
        if skipped is not None:
            status, text = "not_checked", skipped
        elif not mine:
            status, text = "pass", "pass, " + _PASS_TEXT[dim].format(**words)
        else:
            status = "fail" if hard else "warn"
            named = ", ".join(f"{f.reason.value} on {f.column or 'dataset'}" for f in mine[:LISTED])
            more = f" and {len(mine) - LISTED} more" if len(mine) > LISTED else ""
            text = f"{status}, {hard} hard and {soft} soft finding(s): {named}{more}"
        out[dim.value] = {"status": status, "hard": hard, "soft": soft, "result": text}
    return out


def build_card(
    spec: FeatureSpec,
    reference: Profile | None,
    current: Profile,
    findings: Sequence[Finding],
    meta: CardMetadata,
    *,
    drift: Mapping[str, DriftResult] | None = None,
    skew_checked: bool = False,
) -> dict[str, Any]:
    """The §8.3 card as a JSON-able dict (non-finite numbers become None)."""
    drift = drift or {}
    hard = sum(f.severity is Severity.HARD for f in findings)
    soft = len(findings) - hard
    if hard:
        decision = f"blocked: {hard} hard finding(s) must be fixed or accepted"
    elif soft:
        decision = f"passed with {soft} soft finding(s) to review"
    else:
        decision = "passed: no findings"
    card: dict[str, Any] = {
        "format": CARD_FORMAT,
        "validation_id": meta.validation_id,
        "dataset_snapshot": meta.dataset,
        "reference_snapshot": meta.reference,
        "serving_sample": meta.serving,
        "feature_view": meta.feature_view or _spec_ref(spec),
        "owner": meta.owner or spec.owner,
        "source_systems": list(meta.source_systems),
        "sampling_method": meta.sampling_method,
        "use_case": meta.use_case,
        "as_of": meta.as_of,
        "results": dimension_results(
            spec,
            findings,
            meta,
            drift,
            has_reference=reference is not None,
            has_skew=skew_checked,
        ),
        "decision": decision,
        "passed": hard == 0,
        "hard": hard,
        "soft": soft,
        "findings": [f.to_dict() for f in findings],
        "drift": {name: r.to_dict() for name, r in drift.items()},
        "profiles": {
            "reference": profile_summary(reference),
            "current": profile_summary(current),
        },
        "run": {
            "engine": meta.engine or current.engine,
            "timings_s": dict(meta.timings),
            "spec_digest": meta.spec_digest,
        },
    }
    return dict(_clean(card))


def _spec_ref(spec: FeatureSpec) -> str | None:
    if spec.name is None:
        return None
    return f"{spec.name}:{spec.version}" if spec.version else spec.name


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value) or "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


_FIELDS = (
    ("Validation ID", "validation_id"),
    ("Dataset snapshot", "dataset_snapshot"),
    ("Reference snapshot", "reference_snapshot"),
    ("Serving sample", "serving_sample"),
    ("Feature view", "feature_view"),
    ("Owner", "owner"),
    ("Source systems", "source_systems"),
    ("Sampling method", "sampling_method"),
    ("Use case", "use_case"),
    ("As of", "as_of"),
)
_RESULT_LABELS = {
    "schema": "Schema result",
    "distribution": "Distribution result",
    "missingness": "Missingness result",
    "freshness": "Freshness result",
    "range": "Range result",
    "cardinality": "Cardinality result",
    "leakage": "Leakage check",
    "skew": "Training-serving skew",
    "access": "Access control",
}


def render_markdown(card: Mapping[str, Any]) -> str:
    """Render a :func:`build_card` dict as the §8.3 Markdown card."""
    rows: list[list[Any]] = [[label, card.get(key)] for label, key in _FIELDS]
    rows += [[_RESULT_LABELS[k], v["result"]] for k, v in card["results"].items()]
    rows.append(["Decision", card["decision"]])
    lines = ["# Dataset and Feature Validation Card", "", *_table(["Field", "Value"], rows)]
    findings = card["findings"]
    lines += ["", f"## Findings ({card['hard']} hard, {card['soft']} soft)", ""]
    if findings:
        lines += _table(
            ["Severity", "Dimension", "Column", "Reason", "Measured", "Threshold", "Message"],
            [
                [
                    f["severity"],
                    f["dimension"],
                    f["column"],
                    f["reason"],
                    f["measured"],
                    f["threshold"],
                    f["message"],
                ]
                for f in findings
            ],
        )
    else:
        lines.append("None.")
    if card["drift"]:
        lines += ["", "## Distribution drift", ""]
        lines += _table(
            ["Column", "Status", "PSI", "JS", "KS D", "W1/sd", "L∞", "χ² p (reported only)"],
            [
                [
                    name,
                    d["status"],
                    d.get("psi"),
                    d.get("js"),
                    d.get("ks"),
                    d.get("wasserstein_sd"),
                    d.get("linf"),
                    d.get("chi2_p"),
                ]
                for name, d in card["drift"].items()
            ],
        )
    lines += ["", "## Profiles", ""]
    lines += _profile_lines(card["profiles"])
    run = card["run"]
    timings = ", ".join(f"{k} {_cell(v)} s" for k, v in run["timings_s"].items())
    lines += ["", f"Engine: {run['engine'] or '—'}. Timings: {timings or '—'}.", ""]
    return "\n".join(lines)


def _profile_lines(profiles: Mapping[str, Any]) -> list[str]:
    cur, ref = profiles["current"], profiles["reference"]
    ref_cols = ref["columns"] if ref else {}
    rows = []
    for name, c in cur["columns"].items():
        r = ref_cols.get(name)
        if "top" in c:
            shape = f"{c['distinct']} distinct; top " + ", ".join(f"{k} ({v})" for k, v in c["top"])
        elif "mean" in c:
            shape = f"min {_cell(c['min'])}, max {_cell(c['max'])}, mean {_cell(c['mean'])}"
        else:
            shape = ""
        rows.append(
            [
                name,
                c["type"],
                r["missing_rate"] if r else None,
                c["missing_rate"],
                shape,
            ]
        )
    head = f"Current: {cur['rows']} rows" + (f"; reference: {ref['rows']} rows." if ref else ".")
    return [head, "", *_table(["Column", "Type", "Ref missing", "Cur missing", "Current"], rows)]
