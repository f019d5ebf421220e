"""Gate policy as code (G2, G3, G5): tiers → gates, rules, thresholds, approvers, rollout.

A policy is a versioned YAML document (registered as a ``policy`` component). Its rules are
`CEL <https://cel.dev>`_ expressions — the non-Turing-complete language of Kubernetes admission
policies and Google IAM conditions, evaluated by the ``cel`` library, never by ``eval`` — over
the flat metric namespace of :mod:`airel.domain.gate.metrics` plus ``threshold`` (the tier's
thresholds map) and ``pipeline_type``. A policy may ``extends:`` another by reference; rules
merge by id, tiers and gates key by key.

Loading checks everything a reviewer would: unknown gates and metrics, syntax errors (with
the CEL message), rules that are not boolean or read a threshold their tier lacks (every rule
is trial-run per tier on typed sample values), cycles of ``extends``, and contradictions (a
Tier 0 that reaches production, a rule for a gate no tier runs, approvers at a gate the tier
skips …). Every problem is collected and reported with its reason code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import cel
from pydantic import BaseModel, ConfigDict, Field

from airel.domain.gate.metrics import METRICS, RESERVED
from airel.domain.gate.stack import Conditions, GateId, Stage
from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.roles import Role
from airel.domain.kernel.tiers import PipelineType, RiskTier, parse_risk_tier
from airel.domain.kernel.validation import parse_record
from airel.domain.release.components import LAX
from airel.errors import AirelError, Reason, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=4096)]
Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{2,63}$")]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Threshold = int | float | bool
MAX_EXTENDS = 8
Gate = Annotated[GateId, LAX]
StageT = Annotated[Stage, LAX]
RoleT = Annotated[Role, LAX]
Pipe = Annotated[PipelineType, LAX]


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", strict=True)


class GatePolicy(_Strict):
    """How one gate is entered, and for which pipeline types it applies."""

    entry: Text = "true"
    pipeline_types: list[Pipe] | None = None  # None: every type


class TierPolicy(_Strict):
    """What one risk tier requires (§4.2)."""

    production: bool = True  # False: never promoted by automation (Tier 0)
    gates: list[Gate]
    rollout: list[StageT] = Field(default_factory=list)
    approvers: list[RoleT] = Field(default_factory=list)
    approval_gate: Gate = GateId.G5
    exception_roles: list[RoleT] = Field(default_factory=list)
    acceptance_roles: list[RoleT] = Field(default_factory=list)
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    max_evidence_age_days: int = Field(default=30, ge=1, le=3650)
    decision_ttl_days: int = Field(default=14, ge=1, le=3650)
    approval_ttl_days: int = Field(default=30, ge=1, le=3650)


class RuleSpec(_Strict):
    """One rule: an expression that must hold, its gate, reason code and hardness (§4.4)."""

    id: RuleId
    gate: Gate
    expr: Text
    reason: Code
    hard: bool = True
    description: Text | None = None
    tiers: list[int] | None = None  # None: every tier
    pipeline_types: list[Pipe] | None = None  # None: every type
    acceptable: bool = False  # a hard failure a risk acceptance may cover
    conditions: Conditions | None = None  # limits a soft failure imposes once excepted

    def applies(self, tier: RiskTier, pipeline: PipelineType | None) -> bool:
        """True when the rule runs for this tier and pipeline type."""
        if self.tiers is not None and int(tier) not in self.tiers:
            return False
        return self.pipeline_types is None or pipeline is None or pipeline in self.pipeline_types


class PolicyDoc(_Strict):
    """The policy document as written (after ``extends`` is merged)."""

    policy: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    version: Annotated[str, Field(min_length=1, max_length=64)]
    description: Text | None = None
    extends: Text | None = None
    gates: dict[Gate, GatePolicy] = Field(default_factory=dict)
    tiers: dict[str, TierPolicy]
    rules: list[RuleSpec] = Field(default_factory=list)
    remove_rules: list[RuleId] = Field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    """A checked policy with compiled expressions; ``digest`` identifies its exact content."""

    doc: PolicyDoc
    digest: str
    tiers: dict[RiskTier, TierPolicy]
    rules: tuple[RuleSpec, ...]
    programs: dict[str, cel.Program]  # rule id or "entry:G3" -> compiled program
    reads: dict[str, tuple[str, ...]]  # rule id or "entry:G3" -> metrics it reads

    @property
    def ref(self) -> str:
        """``name:version``."""
        return f"{self.doc.policy}:{self.doc.version}"

    def tier(self, tier: RiskTier) -> TierPolicy:
        """The tier's requirements."""
        return self.tiers[tier]

    def gate(self, gate: GateId) -> GatePolicy:
        """The gate's entry and applicability (default: always entered)."""
        return self.doc.gates.get(gate, GatePolicy())


def _problem(reason: Reason, where: str, message: str) -> dict[str, Any]:
    return {"reason": reason.value, "field": where, "message": message}


def _first(problems: list[dict[str, Any]]) -> str:
    """The first problem in words (the CLI lists the others as "also:")."""
    return f"{problems[0]['field']}: {problems[0]['message']}"


def _unknown_gates(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    known = {g.value for g in GateId}
    found: list[tuple[str, Any]] = [(f"gates.{k}", k) for k in raw.get("gates") or {}]
    tiers = raw.get("tiers") or {}
    if isinstance(tiers, Mapping):
        for name, tier in tiers.items():
            if isinstance(tier, Mapping):
                found += [(f"tiers.{name}.gates", g) for g in tier.get("gates") or []]
                if "approval_gate" in tier:
                    found.append((f"tiers.{name}.approval_gate", tier["approval_gate"]))
    for i, rule in enumerate(raw.get("rules") or []):
        if isinstance(rule, Mapping) and "gate" in rule:
            found.append((f"rules[{i}].gate", rule["gate"]))
    return [
        _problem(Reason.POLICY_UNKNOWN_GATE, where, f"unknown gate {value!r} (G0-G9)")
        for where, value in found
        if value not in known
    ]


def merge_docs(base: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """``child`` over ``base``: gates and tiers key by key, rules by id, thresholds merged."""
    out = {k: v for k, v in base.items() if k not in ("remove_rules", "extends")}
    for key, value in child.items():
        if key in ("gates", "tiers") and isinstance(value, Mapping):
            merged = dict(out.get(key) or {})
            for name, part in value.items():
                prior = merged.get(name)
                if isinstance(prior, Mapping) and isinstance(part, Mapping):
                    combined = {**prior, **part}
                    if key == "tiers" and "thresholds" in prior and "thresholds" in part:
                        combined["thresholds"] = {**prior["thresholds"], **part["thresholds"]}
                    merged[name] = combined
                else:
                    merged[name] = part
            out[key] = merged
        elif key == "rules" and isinstance(value, list):
            by_id = {r.get("id"): r for r in out.get("rules") or [] if isinstance(r, Mapping)}
            for rule in value:
                by_id[rule.get("id") if isinstance(rule, Mapping) else None] = rule
            out["rules"] = list(by_id.values())
        elif key not in ("remove_rules",):
            out[key] = value
    drop = set(child.get("remove_rules") or [])
    out["rules"] = [
        r for r in out.get("rules") or [] if not (isinstance(r, Mapping) and r.get("id") in drop)
    ]
    out["extends"] = child.get("extends")
    return out


def resolve_extends(
    raw: Mapping[str, Any], load: Callable[[str], Mapping[str, Any]]
) -> dict[str, Any]:
    """Merge the ``extends`` chain (``load`` fetches a policy by ``name:version``)."""
    chain = [dict(raw)]
    seen = {f"{raw.get('policy')}:{raw.get('version')}"}
    while chain[-1].get("extends"):
        ref = str(chain[-1]["extends"])
        if ref in seen or len(chain) > MAX_EXTENDS:
            raise ValidationError(
                Reason.POLICY_CYCLE,
                f"policy extends form a cycle or are deeper than {MAX_EXTENDS}: "
                + " -> ".join([*seen, ref]),
                fix="remove the extends that closes the cycle",
            )
        seen.add(ref)
        chain.append(dict(load(ref)))
    merged: dict[str, Any] = chain[-1]
    for child in reversed(chain[:-1]):
        merged = merge_docs(merged, child)
    return merged


def _compile(key: str, source: str, problems: list[dict[str, Any]]) -> cel.Program | None:
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError) as exc:
        problems.append(_problem(Reason.POLICY_RULE_SYNTAX, key, str(exc).splitlines()[0]))
        return None
    unknown = sorted(set(program.variables()) - set(METRICS) - RESERVED)
    if unknown:
        problems.append(_problem(Reason.POLICY_UNKNOWN_METRIC, key, f"unknown metric(s) {unknown}"))
        return None
    return program


def trial_context(variables: tuple[str, ...], tier: TierPolicy) -> dict[str, Any]:
    """Typed sample values for type-checking an expression for one tier."""
    ctx: dict[str, Any] = {"threshold": dict(tier.thresholds), "pipeline_type": "classifier"}
    ctx |= {v: METRICS[v].sample() for v in variables if v in METRICS}
    return ctx


def _trial(key: str, program: cel.Program, ctx: dict[str, Any]) -> str | None:
    try:
        result = program.execute(ctx)
    except (LookupError, TypeError, ValueError, RuntimeError, ArithmeticError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, KeyError):
            return f"reads threshold {exc.args[0]!r}, which the tier does not define"
        return text
    return None if isinstance(result, bool) else f"returns {type(result).__name__}, not a bool"


def _tiers(doc: PolicyDoc, problems: list[dict[str, Any]]) -> dict[RiskTier, TierPolicy]:
    tiers: dict[RiskTier, TierPolicy] = {}
    for name, tier in doc.tiers.items():
        try:
            tiers[parse_risk_tier(name)] = tier
        except AirelError as exc:
            problems.append(_problem(exc.reason, f"tiers.{name}", exc.message))
    for missing in sorted(set(RiskTier) - set(tiers)):
        problems.append(
            _problem(Reason.MISSING_FIELD, "tiers", f"no policy for {RiskTier(missing).label}")
        )
    return tiers


def _contradictions(
    tiers: dict[RiskTier, TierPolicy], rules: list[RuleSpec]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def bad(where: str, message: str) -> None:
        out.append(_problem(Reason.POLICY_CONTRADICTION, where, message))

    t0 = tiers.get(RiskTier.TIER_0)
    if t0 is not None and (t0.production or t0.rollout):
        bad("tiers.0", "Tier 0 never reaches production automation: production: false, no rollout")
    for tier, tp in tiers.items():
        where = f"tiers.{int(tier)}"
        if len(set(tp.gates)) != len(tp.gates) or list(tp.gates) != sorted(
            tp.gates, key=lambda g: g.position
        ):
            bad(where, "gates must be listed once each, in stack order G0..G9")
        if tp.approvers and tp.approval_gate not in tp.gates:
            bad(where, f"approvers sign at {tp.approval_gate.value}, which the tier does not run")
        if len(set(tp.approvers)) != len(tp.approvers):
            bad(where, "an approver role is listed twice")
        if list(tp.rollout) != sorted(tp.rollout, key=list(Stage).index):
            bad(where, "rollout stages must be in order (staging … full)")
        if tp.production and not tp.rollout:
            bad(where, "a production tier needs a rollout strategy")
    seen: set[str] = set()
    for rule in rules:
        where = f"rules.{rule.id}"
        if rule.id in seen:
            bad(where, "rule id used twice")
        seen.add(rule.id)
        runs = [t for t, tp in tiers.items() if rule.applies(t, None) and rule.gate in tp.gates]
        if not runs:
            bad(where, f"gate {rule.gate.value} is run by no tier this rule applies to")
        if rule.hard and rule.conditions is not None:
            bad(where, "conditions apply to soft rules (a hard failure blocks)")
        if rule.acceptable and not rule.hard:
            bad(where, "acceptable is for hard rules; soft failures take an exception")
        if rule.acceptable and not any(tiers[t].acceptance_roles for t in runs):
            bad(where, "acceptable, but no tier it runs in names acceptance_roles")
    return out


def build_policy(raw: Mapping[str, Any]) -> Policy:
    """Check and compile a merged policy document; every problem is reported at once."""
    problems = _unknown_gates(raw)
    if problems:
        raise ValidationError(
            Reason.POLICY_UNKNOWN_GATE,
            f"policy names {len(problems)} unknown gate(s); {_first(problems)}",
            fix="gates are G0 … G9",
            problems=problems,
        )
    doc = parse_record(PolicyDoc, raw, source="gate policy")
    tiers = _tiers(doc, problems := [])
    rules = list(doc.rules)
    programs: dict[str, cel.Program] = {}
    reads: dict[str, tuple[str, ...]] = {}
    sources = {f"entry:{g.value}": gp.entry for g, gp in doc.gates.items()}
    sources |= {r.id: r.expr for r in rules}
    for key, source in sources.items():
        program = _compile(key, source, problems)
        if program is not None:
            programs[key] = program
            reads[key] = tuple(sorted(set(program.variables()) & set(METRICS)))
    for key, program in programs.items():
        rule = next((r for r in rules if r.id == key), None)
        for tier, tp in tiers.items():
            if rule is not None and not (rule.applies(tier, None) and rule.gate in tp.gates):
                continue
            error = _trial(key, program, trial_context(reads[key], tp))
            if error:
                problems.append(_problem(Reason.POLICY_RULE_TYPE, key, f"{tier.label}: {error}"))
    if not problems:
        problems += _contradictions(tiers, rules)
    if problems:
        raise ValidationError(
            Reason(problems[0]["reason"]),
            f"gate policy {doc.policy}:{doc.version} has {len(problems)} problem(s); "
            + _first(problems),
            fix="correct the listed rules and run `airel policy check` again",
            problems=problems,
        )
    canonical = doc.model_dump(mode="json", exclude_none=True)
    return Policy(doc, digest_of(canonical), tiers, tuple(rules), programs, reads)
