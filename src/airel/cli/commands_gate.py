"""Commands: ``gate check|explain|memo|list|except``, ``approve``, ``accept-risk`` (issue 5).

``airel gate check`` is the CI step: exit 0 on go, limited go or risk acceptance, 1 on no-go
or rollback, 2 on bad input. Every decision is stored; ``explain`` shows one with the facts
and evidence it read and ``--recheck`` re-runs it from the stored inputs.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from airel.cli import output
from airel.cli.app import JsonOpt, client, command
from airel.errors import Reason, ValidationError

if TYPE_CHECKING:  # models load with the command that runs, not for --help (issue 10)
    from airel.domain.gate.approvals import Approval
    from airel.domain.gate.stack import Conditions

if TYPE_CHECKING:
    from airel.sdk.gates import Waived

gate_app = typer.Typer(help="Release gates G0-G9: check, explain, memo.", no_args_is_help=True)

PASSING = frozenset({"go", "limited_go", "risk_acceptance"})
PolicyOpt = Annotated[
    str | None, typer.Option("--policy", help="Gate policy name:version (default: shipped).")
]
ExpiresOpt = Annotated[
    str | None, typer.Option("--expires", help="14d, 12h, 2w, or an ISO date/time with zone.")
]
RulesOpt = Annotated[list[str], typer.Option("--rule", help="Rule id (repeat for several).")]
SegmentOpt = Annotated[
    list[str] | None, typer.Option("--segment", help="Segment limit (repeatable).")
]
UserOpt = Annotated[list[str] | None, typer.Option("--user", help="Users limit (repeatable).")]
RegionOpt = Annotated[list[str] | None, typer.Option("--region", help="Region limit (repeatable).")]
CapOpt = Annotated[float | None, typer.Option("--traffic-cap", help="Traffic cap in percent.")]
ReviewOpt = Annotated[str | None, typer.Option("--human-review", help="Human review control.")]
NoteOpt = Annotated[
    list[str] | None, typer.Option("--note", help="Note on the scope (repeatable).")
]
RoleOpt = Annotated[
    str | None, typer.Option("--role", help="Role you act in (default: one you hold).")
]


def _at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"--at {text!r} is not an ISO-8601 time with a zone",
            fix="write e.g. 2026-07-01T00:00:00Z",
        )
    return value


def _scope(
    segments: list[str] | None,
    users: list[str] | None,
    regions: list[str] | None,
    cap: float | None,
    review: str | None,
    notes: list[str] | None,
) -> Conditions:
    from airel.domain.gate.stack import Conditions  # noqa: PLC0415

    return Conditions(
        users=users or [],
        segments=segments or [],
        regions=regions or [],
        traffic_cap_percent=cap,
        human_review=review,
        notes=notes or [],
    )


def _cell(result: dict[str, Any] | None) -> tuple[str, str, str]:
    if result is None:
        return "", "", ""
    kind = "hard" if result.get("hard") else "soft"
    status = result["status"]
    if result.get("waiver"):
        status += f" ({result['waiver'][:8]})"
    detail = result.get("detail") or ""
    reason = result["reason"] if result["status"] != "pass" else ""
    text = " ".join(x for x in (reason, detail) if x)
    return f"{result['rule']} ({kind})", status, escape(text)  # user text: no Rich markup


def _failure_line(f: dict[str, Any]) -> str:
    kind = "hard" if f.get("hard") else "soft"
    where = "deciding" if f.get("deciding") else f"also failing behind {f.get('behind')}"
    code = f.get("code") or f.get("reason")
    detail = f" — {f['detail']}" if f.get("detail") else ""
    return f"  {f['gate']} {f['rule']} ({kind}) {f['status']} {code}{detail}  [{where}]"


def print_failures(failures: list[dict[str, Any]]) -> None:
    """Every failing rule in gate order, deciding or behind the deciding gate, with causes."""
    for f in failures:
        output.out.print(_failure_line(f), markup=False)
        for c in f.get("causes") or []:
            output.out.print(
                f"      cause {c.get('code')} ({c.get('component')}): {c.get('risk')}",
                markup=False,
            )


def print_outcome(decision_id: str, body: dict[str, Any]) -> None:
    """The per-gate table, the decision, every failing rule, conditions and window."""
    outcome = body["outcome"]
    rows: list[list[Any]] = []
    for gate in outcome["gates"]:
        results = ([gate["entry"]] if gate.get("entry") else []) + list(gate["rules"])
        status = gate["status"] + (f" (behind {gate['behind']})" if gate.get("behind") else "")
        first = [gate["gate"], gate["name"], status]
        if not results:
            rows.append([*first, "", "", ""])
        for i, result in enumerate(results):
            rows.append([*(first if i == 0 else ["", "", ""]), *_cell(result)])
    output.table(
        f"gates of {body['release_id']} ({body['risk_tier']}, policy {body['policy']['ref']})",
        ["gate", "name", "gate status", "rule", "result", "reason"],
        rows,
    )
    verdict = output.ok if outcome["decision"] in PASSING else output.fail
    stage = f" up to {outcome['max_stage']}" if outcome.get("max_stage") else ""
    verdict(f"decision: {outcome['decision']}{stage}  ({decision_id})")
    failures = outcome.get("failures") or []
    if failures:
        deciding = outcome.get("deciding_gate")
        behind = sum(not f.get("deciding") for f in failures)
        output.out.print(
            f"  failing rules: {len(failures)} ({len(failures) - behind} at {deciding}, "
            f"deciding; {behind} behind it)",
            markup=False,
        )
        print_failures(failures)
    else:
        for reason in outcome["reasons"]:
            output.out.print(f"  reason: {reason}", markup=False)
    for key, value in outcome.get("conditions", {}).items():
        output.out.print(f"  condition {key}: {value}", markup=False)
    missing = outcome["approvals"].get("missing") or []
    if missing and any(":APPROVAL_MISSING:" in r for r in outcome["reasons"]):
        output.out.print(f"  approvals missing: {', '.join(missing)}", markup=False)
    if outcome.get("valid_until"):
        output.out.print(
            f"  holds: from {outcome['decided_at']} until {outcome['valid_until']} "
            "(a re-check in this window with the same evidence returns this decision)",
            markup=False,
        )
    output.out.print(f"  expires: {outcome['expires_at']}", markup=False)


@command
def check(
    release_id: Annotated[str, typer.Argument(help="Release id of a frozen bundle.")],
    through: Annotated[
        str | None, typer.Option("--through", help="Run gates up to this one (e.g. G4).")
    ] = None,
    policy: PolicyOpt = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Evaluate as of this time (ISO, with zone).")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Run the release gates and store the decision. Exit 0 go / limited go / risk
    acceptance, 1 no-go / rollback.

    Every gate up to --through is evaluated: `failures` lists every failing rule in gate
    order, each `deciding` (at the gate the decision follows, `deciding_gate`) or `behind`
    that gate (also failing); `causes` name the root cause (e.g. a completeness code and its
    risk). The decision holds from `decided_at` until `valid_until` (the first approval,
    waiver, evidence-age or decision expiry): a re-check in that window with the same
    evidence returns the stored decision (`created: false`) and writes nothing."""
    checked = client().gates.check(release_id, through=through, policy=policy, now=_at(at))
    record = checked.record
    if as_json:
        output.emit_json(
            {
                "decision_id": record.decision_id,
                "created": checked.created,
                "release_id": record.release_id,
                "policy": record.body["policy"],
                "inputs_digest": record.inputs_digest,
                **record.body["outcome"],
            }
        )
    else:
        print_outcome(record.decision_id, record.body)
        if not checked.created:
            output.out.print(
                "  same evidence inside the decision's window: the stored decision is "
                "returned, nothing new is written",
                markup=False,
            )
    passed = record.decision in PASSING
    return output.EXIT_OK if passed else output.EXIT_CHECK_FAILED


@command
def explain(
    ident: Annotated[str, typer.Argument(help="Release id (latest decision) or decision id.")],
    recheck: Annotated[
        bool, typer.Option("--recheck", help="Re-run it from the stored inputs.")
    ] = False,
    as_json: JsonOpt = False,
) -> int:
    """A stored decision with the facts and evidence it read (exit 1 if --recheck differs)."""
    c = client()
    record = c.gates.decision(ident)
    again = c.gates.recheck(record.decision_id) if recheck else None
    if as_json:
        output.emit_json({**record.body, **({"recheck": again} if again else {})})
    else:
        body = record.body
        output.kv(
            f"decision {record.decision_id}",
            [
                ("release", f"{body['release_id']} ({body['risk_tier']}, {body['pipeline_type']})"),
                ("bundle", body["bundle_digest"]),
                ("policy", f"{body['policy']['ref']} {body['policy']['digest']}"),
                ("evaluated", f"{body['evaluated_at']} by {body['evaluated_by']}"),
                ("inputs digest", record.inputs_digest),
                ("through", body["through"] or "the tier's whole stack"),
            ],
        )
        output.table(
            "evidence read",
            ["kind", "ref", "created"],
            [(e["kind"], e["ref"], e["created_at"]) for e in body["inputs"]["evidence"]],
        )
        unread = [
            (name, fact["status"], fact.get("source") or "")
            for name, fact in body["inputs"]["facts"].items()
            if fact["status"] != "ok"
        ]
        if unread:
            output.table("facts without usable evidence", ["metric", "status", "source"], unread)
        print_outcome(record.decision_id, body)
        if again is not None:
            say = output.ok if again.reproduced else output.fail
            say(
                f"recheck: {'reproduced' if again.reproduced else 'NOT reproduced'} "
                f"(policy {again.policy_matches}, inputs {again.inputs_digest_matches}, "
                f"outcome {again.outcome_matches})"
            )
    if again is not None and not again.reproduced:
        return output.EXIT_CHECK_FAILED
    return output.EXIT_OK


@command
def memo(
    ident: Annotated[str, typer.Argument(help="Release id (latest decision) or decision id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write Markdown here.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write HTML here.")] = None,
) -> int:
    """The §8.1 release gate memo of a stored decision (Markdown to stdout by default)."""
    c = client()
    markdown = c.gates.memo(ident)
    if out is not None:
        out.write_text(markdown, encoding="utf-8")
        output.ok(f"memo written to {out}")
    if html is not None:
        html.write_text(c.gates.memo(ident, html=True), encoding="utf-8")
        output.ok(f"HTML memo written to {html}")
    if out is None and html is None:
        output.out.print(markdown, markup=False)
    return output.EXIT_OK


@command
def list_(
    release_id: Annotated[str | None, typer.Argument(help="Only this release.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Stored gate decisions, oldest first."""
    records = client().gates.decisions(release_id)
    if as_json:
        output.emit_json(
            [{k: v for k, v in r.model_dump().items() if k != "body"} for r in records]
        )
        return output.EXIT_OK
    output.table(
        "gate decisions",
        ["decision", "release", "outcome", "policy", "through", "evaluated", "expires", "by"],
        [
            (
                r.decision_id[:19] + "…",
                r.release_id,
                r.decision,
                r.policy_ref,
                r.through or "all",
                r.body.get("evaluated_at"),
                r.expires_at,
                r.created_by,
            )
            for r in records
        ],
    )
    return output.EXIT_OK


def _show_waiver(waived: Waived, as_json: bool) -> None:
    waiver = waived.waiver
    blocking = [f.to_dict() for f in waived.still_blocking]
    if as_json:
        output.emit_json(
            {
                **waiver.model_dump(mode="json"),
                "decision": waived.decision,
                "decision_before": waived.before,
                "still_blocking": blocking,
            }
        )
        return
    output.ok(
        f"{waiver.kind.value} {waiver.waiver_id} by {waiver.approver} ({waiver.role.value}) "
        f"for {', '.join(waiver.rules)} on {waiver.release_id}, expires "
        f"{waiver.expires_at.isoformat()}"
    )
    if waived.decision in PASSING:
        output.ok(f"decision now: {waived.decision} (was {waived.before})")
        return
    change = "does not change the decision" if not waived.changed else "changes the decision"
    output.fail(
        f"recorded, but it {change}: {waived.decision} (was {waived.before}); still blocking:"
    )
    print_failures(blocking)


@command
def except_(
    release_id: Annotated[str, typer.Argument(help="Release id.")],
    rule: RulesOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why the failure is accepted.")],
    expires: ExpiresOpt = None,
    segment: SegmentOpt = None,
    user: UserOpt = None,
    region: RegionOpt = None,
    traffic_cap: CapOpt = None,
    human_review: ReviewOpt = None,
    note: NoteOpt = None,
    role: RoleOpt = None,
    policy: PolicyOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Record an exception for soft rule failures (limited go with these conditions).

    Refused (exit 2) for a hard rule, a rule not in the policy, one that passes
    (WAIVER_NOT_NEEDED) or whose evidence is missing, stale, errored or inconclusive
    (WAIVER_CANNOT_COVER). The output says the decision before and after, and which rules
    still block when it does not clear the way (`still_blocking`).
    """
    waived = client().gates.add_exception(
        release_id,
        rule,
        reason=reason,
        expires=expires,
        scope=_scope(segment, user, region, traffic_cap, human_review, note),
        role=role,
        policy=policy,
    )
    _show_waiver(waived, as_json)
    return output.EXIT_OK


@command
def accept_risk(
    release_id: Annotated[str, typer.Argument(help="Release id.")],
    rule: RulesOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why the residual risk is accepted.")],
    control: Annotated[
        list[str] | None, typer.Option("--control", help="Compensating control (repeatable).")
    ] = None,
    expires: ExpiresOpt = None,
    segment: SegmentOpt = None,
    user: UserOpt = None,
    region: RegionOpt = None,
    traffic_cap: CapOpt = None,
    human_review: ReviewOpt = None,
    note: NoteOpt = None,
    role: RoleOpt = None,
    policy: PolicyOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Accept a residual hard risk the policy allows: scope, expiry, controls required.

    Refused like `gate except` when the rule passes or its evidence is not measured; the
    output says the decision before and after and what still blocks."""
    waived = client().gates.accept_risk(
        release_id,
        rule,
        reason=reason,
        controls=control or [],
        expires=expires,
        scope=_scope(segment, user, region, traffic_cap, human_review, note),
        role=role,
        policy=policy,
    )
    _show_waiver(waived, as_json)
    return output.EXIT_OK


@command
def approve(
    release_id: Annotated[str, typer.Argument(help="Release id.")],
    role: Annotated[str | None, typer.Option("--role", help="The role you approve in.")] = None,
    expires: ExpiresOpt = None,
    comment: Annotated[str | None, typer.Option("--comment", help="A note.")] = None,
    bundle_digest: Annotated[
        str | None, typer.Option("--bundle-digest", help="The digest you reviewed.")
    ] = None,
    sign_with: Annotated[
        Path | None,
        typer.Option("--sign-with", help="Sign with this Ed25519 private key (registered)."),
    ] = None,
    signed: Annotated[
        Path | None,
        typer.Option("--signed", help="Present a signed approval (`airel approval sign`)."),
    ] = None,
    policy: PolicyOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Approve a release's bundle digest in a role you hold in the store (single use,
    expires, digest-bound).

    Without a key the approval is recorded as made by the local actor, unauthenticated
    (`auth: unauthenticated-local`). With --sign-with KEY it is signed with your private key
    and verified against the public key registered to you (`auth: signed-ed25519`); --signed
    DOC presents a statement signed offline. A signature that does not verify is refused
    (SIGNATURE_INVALID), so is a key not registered to the statement's identity before it
    was issued (KEY_NOT_REGISTERED), a revoked key (KEY_REVOKED) and a replay
    (APPROVAL_REPLAYED); all exit 2."""
    c = client()
    approval: Approval
    if signed is not None:
        if sign_with is not None:
            raise ValidationError(
                Reason.INVALID_VALUE,
                "give --signed DOC or --sign-with KEY, not both",
                fix="--signed presents a statement that is signed already",
            )
        approval = c.gates.present_signed_approval(signed, release_id=release_id, role=role)
    elif role is None:
        raise ValidationError(
            Reason.MISSING_FIELD, "give --role (or --signed FILE)", fix="--role model_risk"
        )
    else:
        approval = c.gates.approve(
            release_id,
            role,
            expires=expires,
            comment=comment,
            bundle_digest=bundle_digest,
            policy=policy,
            sign_with=sign_with,
        )
    if as_json:
        output.emit_json(approval)
    else:
        how = (
            f"signed with {approval.key_id}"
            if approval.key_id
            else "as the local actor, unauthenticated"
        )
        output.ok(
            f"{approval.approver} approved {approval.release_id} as {approval.role.value} "
            f"({how}; bundle {approval.bundle_digest[:19]}…, expires "
            f"{approval.expires_at.isoformat()})"
        )
    return output.EXIT_OK


# The group's commands (the group itself is listed in airel.cli.table).
gate_app.command("check")(check)
gate_app.command("explain")(explain)
gate_app.command("memo")(memo)
gate_app.command("list")(list_)
gate_app.command("except")(except_)
gate_app.command("approve")(approve)
gate_app.command("accept-risk")(accept_risk)
