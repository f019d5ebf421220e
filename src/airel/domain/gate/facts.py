"""Gate facts from stored evidence (G5): pure extraction of metric values.

The gate engine reads a flat namespace of facts (:mod:`airel.domain.gate.metrics`). This module
turns stored evidence into those facts, and nothing else:

* the frozen bundle and its pinned components → scope, governance, completeness, rollback;
* a validation run (issue 3) → counts of findings by check code, and the highest missing
  rate over the spec's critical features;
* an eval record (issue 4) — a classifier comparison or single run, an LLM run or comparison —
  → critical failures (per §4.4 kind for LLM suites), thresholds not passed, material
  regressions, uncovered slices, errored items, the primary metric's delta CI, fairness gaps,
  latency;
* an attestation → its typed metric values.

A value that the evidence cannot give is never guessed: it is ``missing`` (not measured, e.g.
no baseline comparison for a single run), ``inconclusive`` (measured but undefined, e.g. a
delta without a CI) or ``errored`` (the run failed), and a rule reading it never passes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airel.domain.data.findings import FindingCode
from airel.domain.gate.decision import Fact
from airel.domain.gate.metrics import EvidenceKind, FactStatus, check_value, metrics_of
from airel.domain.gate.records import AttestationStatus
from airel.domain.kernel.tiers import PipelineType
from airel.domain.release.bundle import BundleSpec
from airel.domain.release.completeness import CompletenessReport, Severity
from airel.domain.release.components import ComponentKey
from airel.domain.release.kinds import ComponentKind

OK, MISSING = FactStatus.OK, FactStatus.MISSING
INCONCLUSIVE, ERRORED = FactStatus.INCONCLUSIVE, FactStatus.ERRORED

# -- validation runs ---------------------------------------------------------------------------

_F = FindingCode
FINDING_GROUPS: Mapping[str, frozenset[FindingCode]] = {
    "schema_mismatches": frozenset(
        {_F.SCHEMA_MISSING_COLUMN, _F.SCHEMA_EXTRA_COLUMN, _F.SCHEMA_TYPE_CHANGED}
    ),
    "skew_findings": frozenset({_F.SKEW_MISMATCH, _F.SKEW_DRIFT, _F.SKEW_UNMATCHED}),
    "leakage_findings": frozenset(c for c in FindingCode if c.value.startswith("LEAKAGE_")),
    "acl_findings": frozenset(c for c in FindingCode if c.value.startswith("ACL_")),
    "freshness_findings": frozenset({_F.FRESHNESS_SLA, _F.FRESHNESS_UNKNOWN}),
    "drift_findings": frozenset(c for c in FindingCode if c.value.startswith("DRIFT_")),
}


def _ok(value: Any, source: str | None, name: str) -> Fact:
    return Fact(OK, check_value(name, value), source)


def critical_columns(feature_spec: Mapping[str, Any] | None) -> list[str] | None:
    """The critical columns of a stored feature spec (``None`` when no spec is known)."""
    if feature_spec is None:
        return None
    columns = feature_spec.get("columns") or {}
    return sorted(n for n, c in columns.items() if isinstance(c, Mapping) and c.get("critical"))


def validation_facts(
    run: Mapping[str, Any], *, source: str, critical: Collection[str] | None
) -> dict[str, Fact]:
    """Facts of a stored validation run (``ValidationRun`` as a dict).

    ``critical`` names the spec's critical features; when the spec is not known (it came from
    a file, not a registered feature view) the highest missing rate over *all* columns is used,
    which never understates the critical features' rate.
    """
    findings = [f for f in run.get("findings") or [] if isinstance(f, Mapping)]
    codes = [str(f.get("reason")) for f in findings]
    facts = {
        "validation_hard_failures": _ok(
            int(run.get("hard", 0)), source, "validation_hard_failures"
        ),
        "validation_soft_failures": _ok(
            int(run.get("soft", 0)), source, "validation_soft_failures"
        ),
    }
    hard = [str(f.get("reason")) for f in findings if f.get("severity") == "hard"]
    for name, group in FINDING_GROUPS.items():
        # A training-serving schema mismatch is a hard schema finding; a soft one (an optional
        # column absent on purpose, an extra column) is counted by validation_soft_failures.
        counted = hard if name == "schema_mismatches" else codes
        facts[name] = _ok(sum(c in group for c in counted), source, name)
    columns = ((run.get("card") or {}).get("profiles") or {}).get("current") or {}
    rates = {
        n: c.get("missing_rate")
        for n, c in (columns.get("columns") or {}).items()
        if isinstance(c, Mapping)
    }
    wanted = sorted(rates) if critical is None else sorted(critical)
    worst = 0.0
    for column in wanted:
        rate = rates.get(column, 1.0)  # a critical column absent from the data: all missing
        if rate is None:
            facts["critical_feature_missing_rate"] = Fact(INCONCLUSIVE, None, source)
            return facts
        worst = max(worst, float(rate))
    facts["critical_feature_missing_rate"] = _ok(worst, source, "critical_feature_missing_rate")
    return facts


# -- eval records ------------------------------------------------------------------------------

MUST_PASS_ROLES = frozenset({"regression", "red_team"})
LLM_CRITICAL: Mapping[str, tuple[str, ...]] = {
    "eval_pii_leaks": ("pii_leak",),
    "eval_unauthorised_tool_actions": ("tool_unapproved_write",),
    "eval_wrong_commitments": ("prohibited_phrases",),
    "eval_unsupported_claims": ("citation_valid", "citation_required"),
}
PRIMARY_METRIC = "roc_auc"
FAIRNESS_LIMITS = {
    "tpr_gap": "max_tpr_gap",
    "fpr_gap": "max_fpr_gap",
    "approval_gap": "max_approval_gap",
}
FAIRNESS_RATES = {"tpr_gap": "tpr", "fpr_gap": "fpr", "approval_gap": "approval_rate"}


@dataclass(frozen=True)
class _Shape:
    llm: bool
    comparison: bool


def _shape(kind: str, body: Mapping[str, Any]) -> _Shape:
    comparison = kind == "comparison"
    if comparison:
        return _Shape(body.get("task") == "llm", True)
    return _Shape("errored_items" in body, False)


def _datasets(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [d for d in body.get("datasets") or [] if isinstance(d, Mapping)]


def _not_passed(verdicts: Iterable[Mapping[str, Any]], *, hard: bool) -> int:
    count = 0
    for v in verdicts:
        nested = v.get("threshold")
        spec: Mapping[str, Any] = nested if isinstance(nested, Mapping) else v
        if bool(spec.get("hard", True)) is hard and v.get("outcome") != "pass":
            count += 1
    return count


def _verdicts(d: Mapping[str, Any], shape: _Shape) -> list[Mapping[str, Any]]:
    if shape.comparison:
        return list((d.get("comparison") or {}).get("thresholds") or [])
    if shape.llm:
        return list(d.get("thresholds") or [])
    run = d.get("run") or {}
    # A change threshold cannot be judged without a baseline: it is not a pass.
    unjudged = [{**(n.get("threshold") or {}), "outcome": "not_applicable"}
                for n in run.get("not_applicable") or []]  # fmt: skip
    return [*(run.get("thresholds") or []), *unjudged]


def _slices(d: Mapping[str, Any], shape: _Shape) -> Mapping[str, Any]:
    if shape.comparison:
        return (d.get("comparison") or {}).get("slices") or {}
    return (d.get("run") or {}).get("slices") or {}


def _uncovered(body: Mapping[str, Any], shape: _Shape) -> Fact | int:
    declared = sorted((body.get("suite") or {}).get("slices") or {})
    if not declared:
        return 0
    if shape.llm and not shape.comparison:
        return Fact(MISSING)  # an LLM run computes no slices: coverage is unknown
    covered: set[str] = set()
    for d in _datasets(body):
        if d.get("role") in MUST_PASS_ROLES:
            continue  # must-pass sets are judged by their critical failures
        for name, s in _slices(d, shape).items():
            n = int(s.get("n") or 0)
            if shape.llm:
                if n > 0:
                    covered.add(name)
            elif n > 0 and 0 < int(s.get("positives") or 0) < n:
                covered.add(name)  # both classes present: the metrics are defined
    return sum(name not in covered for name in declared)


def _primary(body: Mapping[str, Any], shape: _Shape) -> Fact | float:
    if not shape.comparison or shape.llm:
        return Fact(MISSING)  # no baseline comparison of the primary metric
    lows: list[float] = []
    for d in _datasets(body):
        if d.get("role") != "golden":
            continue
        overall = _slices(d, shape).get("overall") or {}
        low = ((overall.get("metrics") or {}).get(PRIMARY_METRIC) or {}).get("low")
        if low is None:
            return Fact(INCONCLUSIVE)
        lows.append(float(low))
    return min(lows) if lows else Fact(MISSING)


def _defined_rates(groups: Mapping[str, Any], rate: str) -> int:
    return sum(
        isinstance(g, Mapping) and ((g.get(rate) or {}).get("value") is not None)
        for g in groups.values()
    )


def _fairness(body: Mapping[str, Any], shape: _Shape) -> Fact | int:
    """Gaps above the suite's limits. A dataset where fewer than two groups have a defined
    rate (a regression set of past incidents: one group, or positives only) cannot show that
    gap and is skipped for it; every limited gap must be measured on some dataset, else the
    fact is inconclusive, never a pass."""
    spec = (body.get("suite") or {}).get("fairness")
    if shape.llm or not isinstance(spec, Mapping):
        return Fact(MISSING)
    side = "candidate" if shape.comparison else "classifier"
    limits = {
        gap: float(spec[key]) for gap, key in FAIRNESS_LIMITS.items() if spec.get(key) is not None
    }
    breaches = 0
    reported = False
    measured: set[str] = set()
    for d in _datasets(body):
        report = (d.get(side) or {}).get("fairness")
        if not isinstance(report, Mapping):
            continue
        reported = True
        groups = report.get("groups")
        for gap, limit in limits.items():
            value = (report.get(gap) or {}).get("value")
            if value is None:
                if isinstance(groups, Mapping) and _defined_rates(groups, FAIRNESS_RATES[gap]) < 2:
                    continue  # not measurable on this dataset
                return Fact(INCONCLUSIVE)
            measured.add(gap)
            breaches += float(value) > limit
    if not reported:
        return Fact(MISSING)
    if set(limits) - measured:  # a limited gap measured nowhere: unknown, never a pass
        return Fact(INCONCLUSIVE)
    return breaches


def _llm_critical(body: Mapping[str, Any], shape: _Shape) -> dict[str, int]:
    counts = {rule: 0 for rules in LLM_CRITICAL.values() for rule in rules}
    for d in _datasets(body):
        items = d.get("item_results")
        if items is None and not shape.comparison:  # older runs: the per-rule summary
            for rule in counts:
                counts[rule] += int(((d.get("rules") or {}).get(rule) or {}).get("critical", 0))
            continue
        for item in items or []:
            result = item.get("candidate") if shape.comparison else item
            for failed in (result or {}).get("failed_rules") or []:
                if failed.get("critical") and failed.get("rule") in counts:
                    counts[failed["rule"]] += 1
    return counts


def _errored(body: Mapping[str, Any], shape: _Shape) -> tuple[int, int]:
    """(errored items + evaluator errors, items) of the evaluated side."""
    items = sum(int(d.get("items") or 0) for d in _datasets(body))
    if not shape.llm:
        return 0, items
    if shape.comparison:
        side = (body.get("totals") or {}).get("candidate") or {}
        return int(side.get("errored_items", 0)) + int(side.get("evaluator_errors", 0)), items
    return int(body.get("errored_items", 0)) + int(body.get("evaluator_errors", 0)), items


def eval_facts(kind: str, body: Mapping[str, Any], *, source: str) -> dict[str, Fact]:
    """Facts of a stored eval record (``kind`` "run" or "comparison", and its body)."""
    shape = _shape(kind, body)
    errored, items = _errored(body, shape)
    if shape.llm and items and errored >= items:  # nothing was evaluated: the run errored
        return {m.name: Fact(ERRORED, None, source) for m in metrics_of(EvidenceKind.EVAL)}
    datasets = _datasets(body)
    verdicts = [v for d in datasets for v in _verdicts(d, shape)]
    values: dict[str, Fact | int | float] = {
        "eval_critical_failures": int((body.get("critical_failures") or {}).get("count", 0)),
        "eval_hard_thresholds_failed": _not_passed(verdicts, hard=True),
        "eval_soft_thresholds_failed": _not_passed(verdicts, hard=False),
        "eval_uncovered_slices": _uncovered(body, shape),
        "eval_errored_items": errored,
        "eval_primary_delta_low": _primary(body, shape),
        "eval_fairness_breaches": _fairness(body, shape),
    }
    if shape.comparison:
        values["eval_material_regressions"] = sum(
            len((d.get("comparison") or {}).get("material_regressions") or []) for d in datasets
        )
    if shape.llm:
        counts = _llm_critical(body, shape)
        for metric, rules in LLM_CRITICAL.items():
            values[metric] = sum(counts[r] for r in rules)
        calls = body.get("calls") or {}
        p95 = (calls.get("candidate") or {}) if shape.comparison else calls
        if p95.get("latency_p95_ms") is not None:
            values["eval_latency_p95_ms"] = float(p95["latency_p95_ms"])
    facts: dict[str, Fact] = {}
    for m in metrics_of(EvidenceKind.EVAL):
        value = values.get(m.name, Fact(MISSING))
        if isinstance(value, Fact):
            facts[m.name] = Fact(value.status, None, source)
        else:
            facts[m.name] = _ok(value, source, m.name)
    return facts


# -- attestations, presence, status ------------------------------------------------------------

_STATUS = {
    AttestationStatus.OK: OK,
    AttestationStatus.ERRORED: ERRORED,
    AttestationStatus.INCONCLUSIVE: INCONCLUSIVE,
}


def attestation_facts(
    kind: EvidenceKind, status: AttestationStatus, metrics: Mapping[str, Any], *, source: str
) -> dict[str, Fact]:
    """Every metric of ``kind``: recorded values, or the attestation's non-ok status, or
    ``missing`` for a metric the attestation did not record."""
    out: dict[str, Fact] = {}
    for m in metrics_of(kind):
        if status is not AttestationStatus.OK:
            out[m.name] = Fact(_STATUS[status], None, source)
        elif m.name in metrics:
            out[m.name] = _ok(metrics[m.name], source, m.name)
        else:
            out[m.name] = Fact(MISSING, None, source)
    return out


def missing(kind: EvidenceKind) -> dict[str, Fact]:
    """Every metric of ``kind`` marked missing (no such evidence for the release)."""
    return {m.name: Fact(MISSING) for m in metrics_of(kind)}


def restamp(facts: Mapping[str, Fact], status: FactStatus) -> dict[str, Fact]:
    """The same facts with another status (e.g. stale evidence), values dropped."""
    return {k: Fact(status, None, f.source) for k, f in facts.items()}


def presence_facts(present: Collection[EvidenceKind], *, source: str) -> dict[str, Fact]:
    """``has_<kind>_evidence`` for every non-bundle evidence kind (always readable)."""
    return {
        f"has_{k.value}_evidence": Fact(OK, k in present, source)
        for k in EvidenceKind
        if k is not EvidenceKind.BUNDLE
    }


# -- the bundle --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pinned:
    """A component the frozen bundle pins: where it is referenced, its node and fields."""

    path: str  # "data.training_snapshot", "eval.dataset_versions[0]", "model" …
    node: str  # kind/name:version
    fields: Mapping[str, Any]

    @property
    def kind(self) -> ComponentKind:
        """The component kind."""
        return ComponentKey.from_node(self.node).kind


_DATA_FIRST = frozenset({PipelineType.CLASSIFIER, PipelineType.DECISION_AUTOMATION})


def bundle_facts(
    spec: BundleSpec,
    pinned: Sequence[Pinned],
    completeness: CompletenessReport,
    *,
    verified: bool,
    rollback_executable: bool,
    source: str,
) -> dict[str, Fact]:
    """Facts of the frozen bundle itself (G0–G2 and G5's write-tool check)."""
    paths = {p.path.split("[")[0] for p in pinned}
    datasets = [p for p in pinned if p.kind is ComponentKind.DATASET]
    tools = [p for p in pinned if p.kind is ComponentKind.TOOL_SCHEMA]
    pipeline = spec.pipeline_type
    data_sources = {"data.training_snapshot", "data.validation_snapshot", "rag.index_version"}
    if pipeline in _DATA_FIRST or pipeline is None:
        registered = "data.training_snapshot" in paths
    else:
        registered = bool(paths & data_sources)
    values: dict[str, Any] = {
        "risk_tier": int(spec.risk_tier),
        "bundle_blocking_gaps": sum(f.severity is Severity.FAILURE for f in completeness.findings),
        "bundle_warning_gaps": sum(f.severity is Severity.WARNING for f in completeness.findings),
        "datasets_without_owner": sum(not p.fields.get("owner") for p in datasets),
        "datasets_unclassified": sum(not p.fields.get("classification") for p in datasets),
        "write_tools_without_approval": sum(
            p.fields.get("side_effects") == "write" and not p.fields.get("requires_approval")
            for p in tools
        ),
        "use_case_registered": bool(spec.use_case_id),
        "scope_recorded": spec.scope.recorded(),
        "data_sources_registered": registered,
        "lineage_recorded": all(p.fields.get("source_lineage") for p in datasets),
        "label_policy_recorded": "data.label_policy" in paths,
        "bundle_frozen": True,
        "bundle_verified": verified,
        "candidate_present": bool(paths & {"model", "prompt_policy.prompt_version"}),
        "features_or_index_present": bool(paths & {"features.feature_view", "rag.index_version"}),
        "rollback_target_executable": rollback_executable,
    }
    facts = {name: _ok(value, source, name) for name, value in values.items()}
    for name, fact in facts.items():
        causes = _bundle_causes(name, fact.value, completeness)
        if causes:
            facts[name] = Fact(fact.status, fact.value, fact.source, causes)
    return facts


# Which bundle components a failing bundle fact is about (its causes: §3.3 completeness).
_FACT_COMPONENTS: Mapping[str, frozenset[str]] = {
    "data_sources_registered": frozenset(
        {"data.training_snapshot", "data.validation_snapshot", "rag.index_version"}
    ),
    "candidate_present": frozenset({"model", "prompt_policy.prompt_version"}),
    "features_or_index_present": frozenset({"features.feature_view", "rag.index_version"}),
    "label_policy_recorded": frozenset({"data.label_policy"}),
    "use_case_registered": frozenset({"use_case_id"}),
    "rollback_target_executable": frozenset({"deployment.rollback_target"}),
}


def _bundle_causes(
    name: str, value: Any, completeness: CompletenessReport
) -> tuple[Mapping[str, str], ...]:
    """The completeness findings behind a bundle fact whose value makes rules fail."""
    if name == "bundle_blocking_gaps" and value:
        found = [f for f in completeness.findings if f.severity is Severity.FAILURE]
    elif name == "bundle_warning_gaps" and value:
        found = [f for f in completeness.findings if f.severity is Severity.WARNING]
    elif name in _FACT_COMPONENTS and value is False:
        found = [f for f in completeness.findings if f.component in _FACT_COMPONENTS[name]]
    else:
        return ()
    return tuple({"code": f.reason, "component": f.component, "risk": f.risk} for f in found)
