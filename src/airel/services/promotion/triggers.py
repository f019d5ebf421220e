"""Use case: record a continuous-training trigger (P4, §5.4, §8.7), and read triggers back.

``record_trigger``:

1. parses the trigger file strictly; refuses, writing nothing, a trigger id already stored, a
   use case with no frozen release, a snapshot that is not registered, or an observed release
   that is not one of the use case's;
2. runs the build command when asked (argv, no shell, in ``workdir``, with a timeout; the
   environment carries ``AIREL_CT_TRIGGER_ID`` and ``AIREL_CT_SNAPSHOTS``);
3. freezes the candidate bundle it names through the bundle service (its own audited
   transaction, ``bundle.freeze``) — a failing build, or a bundle that cannot be frozen, is
   recorded as such, with no candidate;
4. stores the §8.7 record (with ``candidate_release_id``) and, for a performance degradation,
   an incident, with one ``ct.trigger`` audit entry.

It never promotes: the candidate is held for the release gate its tier requires.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airel.adapters.documents.parse import load_document
from airel.domain.kernel.tiers import RiskTier
from airel.domain.promotion.ct_trigger import (
    BuildOutcome,
    CtTrigger,
    Incident,
    TriggerDecision,
    TriggerSpec,
    decision_text,
    parse_trigger_spec,
    release_rule,
    render_trigger_record,
    trigger_incident,
)
from airel.domain.release.components import ComponentKey
from airel.errors import AirelError, ConflictError, NotFoundError, Reason, ValidationError
from airel.services.kernel.context import Context
from airel.services.release.bundles import Frozen, freeze_spec, load_bundle_spec
from airel.store.contract import ReadTx, WriteTx

OUTPUT_TAIL = 4000  # characters of a build's output kept in the record
DEFAULT_SEVERITY = "sev2"


@dataclass(frozen=True)
class TriggerResult:
    """What ``record_trigger`` stored."""

    trigger: CtTrigger
    incident: Incident | None
    candidate: Frozen | None


def load_trigger(ctx: Context, path: Path) -> TriggerSpec:
    """A trigger file, parsed strictly (every problem listed)."""
    doc = load_document(path, ctx.limits)
    return parse_trigger_spec(doc.data, source=doc.source, lines=doc.lines)


def _check(tx: ReadTx, spec: TriggerSpec) -> tuple[RiskTier, str | None]:
    """Refuse what the store contradicts; (the use case's strictest tier, observed release)."""
    if tx.get_ct_trigger(spec.trigger_id) is not None:
        raise ConflictError(
            Reason.DUPLICATE_RECORD,
            f"trigger_id: {spec.trigger_id} is already recorded",
            fix="a trigger is recorded once; give the new one its own trigger_id",
            details={"field": "trigger_id", "trigger_id": spec.trigger_id},
        )
    bundles = tx.list_bundles(use_case_id=spec.use_case_id)
    if not bundles:
        raise NotFoundError(
            Reason.RELEASE_NOT_FOUND,
            f"use_case_id: no frozen release of use case {spec.use_case_id}",
            fix="freeze a release of the use case first (`airel bundle create --freeze`), "
            "or correct use_case_id (`airel bundle list` shows them)",
            details={"field": "use_case_id", "use_case_id": spec.use_case_id},
        )
    snapshots = spec.build.snapshots if spec.build else []
    missing = [s for s in snapshots if tx.get_component(ComponentKey.from_node(s)) is None]
    if missing:
        at = f"build.snapshots[{snapshots.index(missing[0])}]"
        raise NotFoundError(
            Reason.DANGLING_REFERENCE,
            f"{at}: {', '.join(missing)} not registered",
            fix="register the snapshot first (`airel component register`) or pin a "
            "registered version (`airel component list`)",
            details={"field": at, "missing": missing},
        )
    ids = {b.release_id for b in bundles}
    if spec.observed_release is not None and spec.observed_release not in ids:
        raise NotFoundError(
            Reason.RELEASE_NOT_FOUND,
            f"observed_release: {spec.observed_release} is not a frozen release of "
            f"{spec.use_case_id}",
            fix="name a release of this use case (`airel bundle list`) or drop the field",
            details={"field": "observed_release"},
        )
    observed = spec.observed_release
    if observed is None:  # the use case's latest promoted release, if any
        promoted = [p.release_id for p in tx.list_promotions() if p.release_id in ids]
        observed = promoted[-1] if promoted else None
    return min(RiskTier(b.risk_tier) for b in bundles), observed


def execute_build(spec: TriggerSpec, workdir: Path) -> BuildOutcome:
    """Run the trigger's build command (argv, no shell) in ``workdir`` with its timeout."""
    assert spec.build is not None
    build = spec.build
    env = {
        **os.environ,
        "AIREL_CT_TRIGGER_ID": spec.trigger_id,
        "AIREL_CT_SNAPSHOTS": " ".join(build.snapshots),
    }
    started = time.monotonic()
    code: int | None
    timed_out, output = False, ""
    try:
        proc = subprocess.run(  # noqa: S603 - an argv list, no shell: the author's own command
            build.command,
            cwd=workdir,
            env=env,
            timeout=build.timeout_seconds,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, timed_out = None, True
        output = _text(exc.stdout) + _text(exc.stderr)
    except FileNotFoundError as exc:
        code, output = 127, f"command not found: {exc.filename or build.command[0]}"
    except PermissionError as exc:
        code, output = 126, f"not executable: {exc.filename or build.command[0]}"
    return BuildOutcome(
        command=tuple(build.command),
        exit_code=code,
        timed_out=timed_out,
        seconds=round(time.monotonic() - started, 3),
        output_tail=output[-OUTPUT_TAIL:],
    )


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value or ""


def _candidate(ctx: Context, spec: TriggerSpec, path: Path) -> Frozen:
    bundle = load_bundle_spec(ctx, path)
    if bundle.use_case_id != spec.use_case_id:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"candidate {bundle.release_id} is for use case {bundle.use_case_id}, "
            f"not {spec.use_case_id}",
            fix="build the candidate of the trigger's use case",
            details={"field": "candidate_bundle"},
        )
    return freeze_spec(ctx, bundle)


def record_trigger(
    ctx: Context, spec_path: Path, *, run_build: bool, workdir: Path | None = None
) -> TriggerResult:
    """Record the trigger at ``spec_path`` (see the module docstring); never promotes."""
    spec = load_trigger(ctx, spec_path)
    cwd = workdir if workdir is not None else spec_path.parent
    if not cwd.is_dir():
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"--workdir: {cwd} is not a directory",
            fix="give the training environment's working directory",
            details={"field": "workdir"},
        )
    with ctx.store.read() as tx:
        tier, observed = _check(tx, spec)
    build = execute_build(spec, cwd) if run_build and spec.build is not None else None
    frozen: Frozen | None = None
    error: AirelError | None = None
    bundle_path = cwd / spec.candidate_bundle if spec.candidate_bundle else None
    if build is not None and build.exit_code != 0:
        decision = TriggerDecision.BUILD_FAILED
    elif bundle_path is not None and (build is not None or bundle_path.is_file()):
        try:
            frozen = _candidate(ctx, spec, bundle_path)
            decision = TriggerDecision.CANDIDATE_HELD
        except AirelError as exc:
            error, decision = exc, TriggerDecision.CANDIDATE_REFUSED
    else:
        decision = TriggerDecision.RECORDED
    candidate = frozen.bundle.release_id if frozen else None
    at = ctx.stamp()
    trigger = CtTrigger(
        trigger_id=spec.trigger_id,
        use_case_id=spec.use_case_id,
        kind=spec.kind,
        source=spec.source,
        condition=spec.condition,
        candidate_action=spec.candidate_action,
        release_rule=release_rule(spec.kind, tier),
        required_evals=tuple(spec.required_evals),
        owner=spec.owner,
        risk_tier=tier,
        decision=decision,
        decision_text=decision_text(
            decision,
            tier=tier,
            candidate=candidate,
            build=build,
            error=error.reason.value if error else None,
        ),
        snapshots=tuple(spec.build.snapshots) if spec.build else (),
        candidate_release_id=candidate,
        candidate_error=None if error is None else _error(error),
        build=build,
        incident_id=f"INC-{spec.trigger_id}" if spec.kind.action.opens_incident else None,
        spec_digest=spec.digest,
        created_at=at,
        created_by=ctx.actor,
    )
    incident = (
        trigger_incident(trigger, release_id=observed, severity=spec.severity or DEFAULT_SEVERITY)
        if trigger.incident_id
        else None
    )

    def write(tx: WriteTx) -> TriggerResult:
        tx.insert_ct_trigger(trigger)
        details: dict[str, Any] = {
            "use_case_id": trigger.use_case_id,
            "kind": trigger.kind.value,
            "decision": trigger.decision.value,
            "spec_digest": trigger.spec_digest,
        }
        if build is not None:
            details["exit_code"] = build.exit_code
        if incident is not None:
            tx.insert_incident(incident)
            details["incident_id"] = incident.incident_id
        tx.append_audit(
            actor=ctx.actor,
            action="ct.trigger",
            subject=f"ct_trigger/{trigger.trigger_id}",
            before=None,
            after=candidate,
            details=details,
        )
        return TriggerResult(trigger, incident, frozen)

    return ctx.store.write(write)


def _error(error: AirelError) -> dict[str, Any]:
    return {"reason": error.reason.value, "message": error.message[:1000]}


def list_triggers(ctx: Context, use_case_id: str | None = None) -> list[CtTrigger]:
    """Stored trigger records, oldest first (optionally of one use case)."""
    with ctx.store.read() as tx:
        return tx.list_ct_triggers(use_case_id=use_case_id)


def get_trigger(ctx: Context, trigger_id: str) -> CtTrigger:
    """One trigger record by id."""
    with ctx.store.read() as tx:
        found = tx.get_ct_trigger(trigger_id)
    if found is None:
        raise NotFoundError(
            Reason.EVIDENCE_NOT_FOUND,
            f"no trigger {trigger_id}",
            fix="`airel ct list` shows the recorded triggers",
            details={"trigger_id": trigger_id},
        )
    return found


def trigger_record(ctx: Context, trigger_id: str) -> str:
    """The §8.7 Continuous Training Trigger Record of a stored trigger (Markdown)."""
    trigger = get_trigger(ctx, trigger_id)
    incident = None
    if trigger.incident_id is not None:
        with ctx.store.read() as tx:
            incident = tx.get_incident(trigger.incident_id)
    return render_trigger_record(trigger, incident)


def list_incidents(
    ctx: Context, *, release_id: str | None = None, use_case_id: str | None = None
) -> list[Incident]:
    """Stored incidents, oldest first (optionally of one release or use case)."""
    with ctx.store.read() as tx:
        return tx.list_incidents(release_id=release_id, use_case_id=use_case_id)
