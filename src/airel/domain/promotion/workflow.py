"""The §5.8 promotion workflow (SPEC P2): twelve steps, each proven by its own records.

:data:`STEPS` is the playbook's list as data (number, owner, action). :func:`assess` reads a
plain :class:`Facts` — what the service found in the store for one release — and gives every
step a :class:`StepState` with a stable :class:`StepCode`, the records that prove it and the
command that moves it on. The rules:

- missing evidence is *pending*, never done;
- evidence that failed (tests failed, a no-go, a stop that rolled the route back, an errored
  attestation) is *blocked*, with what blocked it;
- a step is done only from its own evidence, never inferred from a later one; stage evidence
  (shadow, canary, ramp, post-release) counts only when recorded after the stage was entered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from airel.domain.gate import memo


class StepState(StrEnum):
    """Where one workflow step is."""

    DONE = "done"  # its own records prove it happened and passed
    PENDING = "pending"  # no record proves it yet (missing evidence is never done)
    BLOCKED = "blocked"  # its evidence failed: the step must be fixed and redone


class StepCode(StrEnum):
    """Why a step is in its state (stable: tests and tools read these, not the prose)."""

    PROVEN = "PROVEN"  # done: the cited records prove the step
    NOT_FROZEN = "NOT_FROZEN"  # pending: the release is only a draft
    MISSING = "MISSING"  # pending: no record of the step at all
    INCOMPLETE = "INCOMPLETE"  # pending: some of what the step needs is recorded, not all
    NOT_ENTERED = "NOT_ENTERED"  # pending: the release never entered the step's stage
    AWAITING_EVIDENCE = "AWAITING_EVIDENCE"  # pending: in the stage, no evidence since entry
    FAILED = "FAILED"  # blocked: the evidence reports a failure (tests, evals, side effects)
    ERRORED = "ERRORED"  # blocked: the job that produced the evidence errored
    INCONCLUSIVE = "INCONCLUSIVE"  # blocked: the evidence could not decide; re-run it
    NO_GO = "NO_GO"  # blocked: the latest gate decision is no-go (or rollback)
    STOPPED = "STOPPED"  # blocked: a stop condition rolled the route back in this stage
    ABORTED = "ABORTED"  # blocked: an operator aborted the rollout in this stage
    ROLLED_BACK = "ROLLED_BACK"  # blocked: a rollback took the release back in this stage


@dataclass(frozen=True)
class Step:
    """One §5.8 step: who does it and what (the playbook's words)."""

    number: int
    owner: str
    action: str


STEPS: tuple[Step, ...] = (
    Step(1, "product owner", "submits the AI release change request"),
    Step(2, "release manager", "confirms risk tier, scope and affected components"),
    Step(3, "pipeline", "locks code commit, data snapshot, feature version, prompt version"),
    Step(4, "CI", "runs code, config, schema, prompt, policy and security tests"),
    Step(5, "training pipeline", "generates the candidate model / prompt / index artifact"),
    Step(6, "eval runner", "runs the golden, regression, red-team and slice sets"),
    Step(7, "model registry", "records artifact, metrics, lineage and approval status"),
    Step(8, "release gate board", "reviews eval, risk, security, rollback and monitoring"),
    Step(9, "staging and shadow", "confirm trace, latency, cost, policy and fallback"),
    Step(10, "canary", "small traffic with automatic monitoring of failures, overrides, cost"),
    Step(11, "ramp", "expands by segment, every stage producing evidence"),
    Step(12, "post-release review", "updates dataset, controls, issue log, portfolio record"),
)


@dataclass(frozen=True)
class Record:
    """One stored record a step cites: its kind, id, time and actor."""

    kind: str  # bundle, draft, attestation, eval, approval, decision, promotion, rollback …
    id: str
    at: str
    by: str
    note: str = ""

    def cite(self) -> str:
        """``attestation 3f2a9c1d7e0b (ok) at … by …``."""
        short = self.id.removeprefix("sha256:")[:12]
        note = f" ({self.note})" if self.note else ""
        return f"{self.kind} {short}{note} at {self.at} by {self.by}"


@dataclass(frozen=True)
class Reading:
    """An attestation: its kind, status and metrics."""

    record: Record
    kind: str  # ci, shadow, canary, ramp, post_release, rollback_drill …
    status: str  # ok, errored, inconclusive
    metrics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalResult:
    """A stored eval record counted for the release and the dataset roles it covered."""

    record: Record
    passed: bool | None
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """A stored gate decision: its kind, stage cap and what failed."""

    record: Record
    kind: str  # go, limited_go, no_go, rollback, risk_acceptance
    max_stage: str | None = None
    failed: tuple[str, ...] = ()  # "G4 EVAL_CRITICAL_FAILURE" …


@dataclass(frozen=True)
class Entry:
    """A promotion: the release entered ``environment``."""

    record: Record
    environment: str


@dataclass(frozen=True)
class Stop:
    """Traffic taken away from the release: a stop condition, an abort or a rollback."""

    record: Record
    kind: str  # stop, abort, rollback (a RouteEvent kind)
    environment: str | None  # the stage the release was in (None: not known)
    reason: str = ""


@dataclass(frozen=True)
class Facts:
    """What the store holds about one release, as plain values (the service reads them)."""

    release_id: str
    submitted: Record  # the frozen bundle, else the draft
    frozen: bool
    risk_tier: str | None = None
    scope_missing: tuple[str, ...] = ()  # scope fields not recorded
    components: tuple[str, ...] = ()  # the resolved component nodes
    locks: Mapping[str, str | None] = field(default_factory=dict)  # "code commit" → value
    candidates: tuple[Record, ...] = ()  # model / prompt / index versions with an artifact
    readings: tuple[Reading, ...] = ()  # every attestation, oldest first
    evals: tuple[EvalResult, ...] = ()
    evals_missing: tuple[str, ...] = ()  # eval ids the bundle names that are not stored
    lineage: tuple[str, ...] = ()  # parent nodes of the release's lineage edges
    artifacts_missing: tuple[str, ...] = ()  # candidate artifacts not in the artifact table
    approvals: tuple[Record, ...] = ()
    decisions: tuple[Verdict, ...] = ()  # oldest first
    entries: tuple[Entry, ...] = ()  # promotions, oldest first
    stops: tuple[Stop, ...] = ()  # oldest first
    route: str | None = None  # the route the release is on now (as candidate or stable)
    route_status: str | None = None  # its rollout status: stable, progressing, paused …


@dataclass(frozen=True)
class StepStatus:
    """One step's state, why, the records that prove it and what to run next."""

    step: Step
    state: StepState
    code: StepCode
    detail: str
    evidence: tuple[Record, ...] = ()
    fix: str | None = None


_Out = tuple[StepState, StepCode, str, tuple[Record, ...], str | None]
# What makes an attestation a failure, by kind: counts above zero and flags that are false.
COUNTS_BAD = {
    "ci": ("ci_tests_failed", "ci_critical_cves"),
    "shadow": ("shadow_side_effects",),
    "rollback_drill": ("rollback_drill_failed_steps",),
    "canary": ("canary_critical_failures",),
}
FLAGS_NEEDED = {
    "ci": ("ci_container_built",),
    "shadow": ("traces_by_release_id", "monitoring_dashboard_live"),
    "ramp": ("ramp_capacity_ok", "support_ready"),
    "post_release": ("evidence_complete",),
}
_STOP_CODE = {"stop": StepCode.STOPPED, "abort": StepCode.ABORTED}


def _done(detail: str, *evidence: Record) -> _Out:
    return StepState.DONE, StepCode.PROVEN, detail, evidence, None


def _pending(code: StepCode, detail: str, fix: str | None, *evidence: Record) -> _Out:
    return StepState.PENDING, code, detail, evidence, fix


def _blocked(code: StepCode, detail: str, fix: str, *evidence: Record) -> _Out:
    return StepState.BLOCKED, code, detail, evidence, fix


def _reading(r: Reading, fix: str, *also: Record) -> _Out | None:
    """Blocked when the attestation errored, was inconclusive or reports a failure."""
    if r.status in ("errored", "inconclusive"):
        code = StepCode.ERRORED if r.status == "errored" else StepCode.INCONCLUSIVE
        return _blocked(code, f"{r.kind} evidence is {r.status}", fix, *also, r.record)
    m = r.metrics
    failed = [f"{k}={m[k]!r}" for k in COUNTS_BAD.get(r.kind, ()) if (m.get(k) or 0) > 0]
    failed += [f"{k}=false" for k in FLAGS_NEEDED.get(r.kind, ()) if m.get(k) is False]
    if failed:
        return _blocked(StepCode.FAILED, "; ".join(failed), fix, *also, r.record)
    return None


def _latest(f: Facts, kind: str, since: str = "") -> Reading | None:
    found = [r for r in f.readings if r.kind == kind and r.record.at >= since]
    return found[-1] if found else None


def _submitted(f: Facts) -> _Out:
    what = "frozen bundle" if f.frozen else "draft (not frozen yet)"
    return _done(f"change request recorded as a {what}", f.submitted)


def _draft(f: Facts) -> _Out:
    detail = "a draft can still change: nothing is confirmed or locked until it is frozen"
    return _pending(StepCode.NOT_FROZEN, detail, f"airel bundle freeze {f.release_id}")


def _confirmed(f: Facts) -> _Out:
    if not f.frozen:
        return _draft(f)
    missing = [f"scope.{s}" for s in f.scope_missing]
    if not f.components:
        missing.append("components")
    if missing:
        detail = "not recorded (freeze a new release with them): " + ", ".join(missing)
        return _pending(StepCode.INCOMPLETE, detail, _NEW_BUNDLE, f.submitted)
    detail = f"risk tier {f.risk_tier}, scope recorded, {len(f.components)} components"
    return _done(detail, f.submitted)


_NEW_BUNDLE = "airel bundle create release.yaml --freeze"


def _locked(f: Facts) -> _Out:
    if not f.frozen:
        return _draft(f)
    held = {k: v for k, v in f.locks.items() if v}
    if "code commit" not in held or len(held) < 2:
        missing = ", ".join(k for k, v in f.locks.items() if not v)
        return _pending(StepCode.INCOMPLETE, f"not locked: {missing}", _NEW_BUNDLE, f.submitted)
    return _done("; ".join(f"{k} {v}" for k, v in held.items()), f.submitted)


def _ci(f: Facts) -> _Out:
    fix = f"airel ci run {f.release_id} --config ci.yaml"
    r = _latest(f, "ci")
    if r is None:
        return _pending(StepCode.MISSING, "no CI evidence recorded", fix)
    return _reading(r, fix) or _done("CI checks passed", r.record)


def _candidate(f: Facts) -> _Out:
    if not f.candidates:
        detail = "no model, prompt or index version with an artifact"
        return _pending(StepCode.MISSING, detail, "airel register model model.yaml")
    return _done(f"{len(f.candidates)} candidate artifact(s)", *f.candidates)


def _evals(f: Facts) -> _Out:
    fix = f"airel eval compare … --release {f.release_id}"
    cited = [e.record for e in f.evals]
    failed = [e.record for e in f.evals if e.passed is False]
    if failed:
        return _blocked(StepCode.FAILED, f"{len(failed)} eval record(s) failed", fix, *failed)
    if f.evals_missing:
        detail = "named in the bundle, not stored: " + ", ".join(f.evals_missing)
        return _pending(StepCode.INCOMPLETE, detail, fix, *cited)
    if not any(e.passed for e in f.evals):
        return _pending(StepCode.MISSING, "no passing eval record", fix, *cited)
    roles = sorted({r for e in f.evals for r in e.roles})
    sets = f"; sets: {', '.join(roles)}" if roles else ""
    return _done(f"{len(f.evals)} eval record(s) passed{sets}", *cited)


def _registry(f: Facts) -> _Out:
    missing = [] if f.lineage else ["lineage"]
    missing += [f"artifact {a}" for a in f.artifacts_missing]
    if not f.approvals:
        missing.append("approvals")
    if missing:
        fix = f"airel gate approve {f.release_id} --role ROLE"
        fix = fix if missing == ["approvals"] else "airel audit verify"
        detail = "not recorded: " + ", ".join(missing)
        return _pending(StepCode.INCOMPLETE, detail, fix, f.submitted, *f.approvals)
    detail = f"{len(f.lineage)} lineage edges, artifacts recorded, {len(f.approvals)} approvals"
    return _done(detail, f.submitted, *f.approvals)


def _gate(f: Facts) -> _Out:
    rid = f.release_id
    if not f.decisions:
        return _pending(StepCode.MISSING, "no gate decision", f"airel gate check {rid}")
    d = f.decisions[-1]
    if d.kind in ("no_go", "rollback"):
        detail = f"latest decision {d.kind}: {', '.join(d.failed) or d.kind}"
        return _blocked(StepCode.NO_GO, detail, f"airel gate explain {rid}", d.record)
    cap = f" up to {d.max_stage}" if d.max_stage else ""
    return _done(f"latest decision {d.kind}{cap}", d.record)


def _stage(f: Facts, envs: Sequence[str], kind: str, held: str | None = None) -> _Out:
    """A rollout stage: entered (a promotion), not stopped since, and its evidence since."""
    entries = [e for e in f.entries if e.environment in envs]
    if not entries:
        return _pending(StepCode.NOT_ENTERED, f"never entered {' or '.join(envs)}", _enter(f, envs))
    entry = entries[-1]
    for s in f.stops:
        if s.environment in envs and s.record.at >= entry.record.at:
            detail = f"{s.kind} in {s.environment}" + (f": {s.reason}" if s.reason else "")
            fix = f"airel rollout status {f.route or 'ROUTE'}"
            code = _STOP_CODE.get(s.kind, StepCode.ROLLED_BACK)
            return _blocked(code, detail, fix, entry.record, s.record)
    fix = f"airel evidence add {f.release_id} --kind {kind} --metric …"
    r = _latest(f, kind, since=entry.record.at)
    if r is None:
        detail = f"in {entry.environment} since {entry.record.at}; no {kind} evidence since"
        return _pending(StepCode.AWAITING_EVIDENCE, detail, fix, entry.record)
    failed = _reading(r, fix, entry.record)
    if failed is not None:
        return failed
    if held is not None and r.metrics.get(held) is not True:
        return _pending(StepCode.INCOMPLETE, f"{held} not recorded", fix, entry.record, r.record)
    return _done(f"{entry.environment}: {kind} evidence ok", entry.record, r.record)


def _enter(f: Facts, envs: Sequence[str]) -> str:
    """The command that takes the release into the first of ``envs``."""
    if f.route is not None and f.route_status == "progressing":
        return f"airel rollout advance {f.route}"
    to = envs[-1] if envs[0] == "staging" else envs[0]
    return f"airel promote {f.release_id} --to {to} --plan rollout.yaml --deployment deploy.yaml"


def _shadow(f: Facts) -> _Out:
    out = _stage(f, ("staging", "shadow"), "shadow")
    drill = _latest(f, "rollback_drill")
    failed = _reading(drill, f"airel rollback drill {f.release_id}") if drill else None
    return failed if out[0] is StepState.DONE and failed is not None else out


_RULES: tuple[Callable[[Facts], _Out], ...] = (
    _submitted, _confirmed, _locked, _ci, _candidate, _evals,
    _registry, _gate, _shadow,
    lambda f: _stage(f, ("canary",), "canary"),
    lambda f: _stage(f, ("limited_production", "scaled_production"), "ramp"),
    lambda f: _stage(f, ("limited_production", "scaled_production", "post_release_review"),
                     "post_release", held="post_release_review_done"),
)  # fmt: skip


def assess(facts: Facts) -> list[StepStatus]:
    """Every §5.8 step's state for one release, from its facts only."""
    out = []
    for step, rule in zip(STEPS, _RULES, strict=True):
        state, reason, detail, evidence, fix = rule(facts)
        done = state is StepState.DONE
        out.append(StepStatus(step, state, reason, detail, evidence, None if done else fix))
    return out


def next_step(steps: Sequence[StepStatus]) -> StepStatus | None:
    """The first step not done (None: the workflow is complete)."""
    return next((s for s in steps if s.state is not StepState.DONE), None)


def render_markdown(release_id: str, steps: Sequence[StepStatus]) -> str:
    """The workflow as a Markdown page: one row per step, then the next step and its fix."""
    lines = [f"# Promotion workflow (§5.8): {memo.text(release_id)}", ""]
    lines += ["| # | owner | action | state | code | detail | evidence |", "|" + "---|" * 7]
    for s in steps:
        cited = "; ".join(memo.text(r.cite()) for r in s.evidence) or memo.NONE
        state = f"**{s.state.value}**" if s.state is StepState.BLOCKED else s.state.value
        lines.append(
            f"| {s.step.number} | {memo.text(s.step.owner)} | {memo.text(s.step.action)} | "
            f"{state} | {s.code.value} | {memo.text(s.detail)} | {cited} |"
        )
    n = next_step(steps)
    if n is None:
        return "\n".join([*lines, "", "Every step is done."]) + "\n"
    lines += ["", f"**Next step**: {n.step.number}, {memo.text(n.step.owner)} "
              f"{memo.text(n.step.action)} ({n.state.value}, {n.code.value})."]  # fmt: skip
    if n.fix:
        lines += ["", f"**Fix**: {memo.code(n.fix)}"]
    return "\n".join(lines) + "\n"
