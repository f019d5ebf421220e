"""Use cases: approvals, exceptions and risk acceptances (G3, G4, G6).

The identity is the acting user (``ctx.actor``: configuration or the OS user), trusted as it
is in embedded mode — every approval and waiver records ``auth: unauthenticated-local``
(``ctx.auth``) — and the roles it holds are the live grants in the store (``ctx.identity``,
read inside the write transaction). A cryptographically signed approval goes through
:mod:`airel.services.gate.signed_approvals` and the same checks. Segregation of duties and replay
protection are the pure checks of :mod:`airel.domain.gate.approvals`, run inside the write
transaction against what is stored, so two concurrent approvals cannot both slip past them.
Every record is sealed (an integrity digest covering the bundle digest it approves) and
audited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from airel.domain.gate.approvals import (
    Approval,
    Waiver,
    WaiverKind,
    check_new_approval,
    check_new_waiver,
)
from airel.domain.gate.decision import Decision, Failure, RuleStatus, decide
from airel.domain.gate.policy import Policy, RuleSpec
from airel.domain.gate.stack import Conditions, GateId
from airel.domain.kernel.roles import Role, parse_role
from airel.domain.release.bundle import FrozenBundle, release_node
from airel.errors import ConflictError, InputError, Reason, ValidationError
from airel.services.gate import decisions as gates
from airel.services.gate.policy import load_policy
from airel.services.kernel.context import Context
from airel.services.release import bundles
from airel.store.contract import WriteTx


@dataclass(frozen=True)
class Waived:
    """A recorded exception or risk acceptance and what it changed.

    ``decision`` is the release's decision (through the tier's whole stack) with the waiver
    counted; ``still_blocking`` lists the failures that block it still — empty when the
    waiver cleared the way, the reason to say so when it did not.
    """

    waiver: Waiver
    decision: str
    before: str
    still_blocking: tuple[Failure, ...]

    @property
    def changed(self) -> bool:
        """Whether the decision differs from the one before the waiver."""
        return self.decision != self.before


_SPAN = re.compile(r"^(\d{1,5})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expires(text: str, now: datetime) -> datetime:
    """``14d`` / ``12h`` / ``30m`` / ``2w`` from ``now``, or an ISO date or time with a zone."""
    value = text.strip()
    match = _SPAN.match(value)
    if match:
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is not None and len(value) == 10:  # a date: midnight UTC
        when = when.replace(tzinfo=UTC)
    if when is None or when.tzinfo is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"expiry {text!r} is neither a span like 14d nor an ISO date/time with a zone",
            fix="write e.g. --expires 14d, --expires 2026-12-31 or --expires 2026-12-31T17:00Z",
        )
    return when


def _now(ctx: Context, now: datetime | None) -> datetime:
    return now if now is not None else ctx.clock.now()


def expiry_at(
    expires: str | datetime | timedelta | None, now: datetime, default: timedelta | None
) -> datetime | None:
    if isinstance(expires, str):
        return parse_expires(expires, now)
    if isinstance(expires, timedelta):
        return now + expires
    if expires is None and default is not None:
        return now + default
    return expires


def store_approval(
    ctx: Context,
    approval: Approval,
    bundle: FrozenBundle,
    now: datetime,
    verify: Callable[[WriteTx], None] | None = None,
) -> None:
    """Check and record an approval in one write transaction: ``verify`` (a signed
    approval's key and signature checks) runs first inside it, then replay, segregation of
    duties and the approver's live role grants."""

    def write(tx: WriteTx) -> None:
        if verify is not None:
            verify(tx)
        if tx.get_approval(approval.approval_id) is not None:
            raise ConflictError(
                Reason.APPROVAL_REPLAYED,
                f"approval {approval.approval_id} was already presented",
                fix="an approval is single-use; approve again (or sign a new statement)",
            )
        check_new_approval(
            approval,
            submitter=bundle.created_by,
            held_roles=ctx.identity.roles_of(approval.approver, tx),
            existing=tx.list_approvals(bundle.release_id),
            now=now,
        )
        tx.insert_approval(approval)
        signed = {"key_id": approval.key_id} if approval.key_id else {}
        tx.append_audit(
            actor=ctx.actor,
            action="gate.approve",
            subject=release_node(bundle.release_id),
            before=None,
            after=approval.seal,
            details={
                "approval_id": approval.approval_id,
                "role": approval.role.value,
                "approver": approval.approver,
                "bundle_digest": approval.bundle_digest,
                "expires_at": approval.expires_at.isoformat(),
                "auth": (approval.auth or ctx.auth).value,
                **signed,
            },
        )

    ctx.store.write(write)


def digest_matches(bundle: FrozenBundle, approved: str) -> None:
    """Refuse an approval given for another bundle digest than the release's."""
    if approved != bundle.digest:
        raise InputError(
            Reason.APPROVAL_DIGEST_MISMATCH,
            f"the approval is for bundle {approved}, but release {bundle.release_id} is "
            f"{bundle.digest}",
            fix="review and approve the bundle as it is frozen now (`airel bundle show`)",
            details={"approved": approved, "bundle": bundle.digest},
        )


def approve(
    ctx: Context,
    release_id: str,
    role: Role | str,
    *,
    expires: str | datetime | timedelta | None = None,
    comment: str | None = None,
    bundle_digest: str | None = None,
    policy_ref: str | None = None,
    now: datetime | None = None,
) -> Approval:
    """Approve the release's bundle digest in ``role`` as the acting identity (recorded with
    ``ctx.auth``; the identity must hold the role in the store's grants).

    ``bundle_digest`` (optional) is the digest the approver reviewed: another digest is
    refused. Without ``expires`` the approval lasts the tier's ``approval_ttl_days``.
    """
    when = _now(ctx, now)
    bundle, held_role, expires_at = approval_terms(
        ctx, release_id, role, expires, bundle_digest, policy_ref, when
    )
    approval = Approval(
        approval_id=uuid.uuid4().hex,
        release_id=bundle.release_id,
        bundle_digest=bundle.digest,
        role=held_role,
        approver=ctx.actor,
        issued_at=when,
        expires_at=expires_at,
        comment=comment,
        auth=ctx.auth,
    ).sealed()
    store_approval(ctx, approval, bundle, when)
    return approval


def approval_terms(
    ctx: Context,
    release_id: str,
    role: Role | str,
    expires: str | datetime | timedelta | None,
    bundle_digest: str | None,
    policy_ref: str | None,
    when: datetime,
) -> tuple[FrozenBundle, Role, datetime]:
    """The bundle, role and expiry of a new approval (the tier's TTL by default)."""
    bundle = bundles.get_bundle(ctx, release_id)
    held_role = role if isinstance(role, Role) else parse_role(role)
    if bundle_digest is not None:
        digest_matches(bundle, bundle_digest)
    default = None
    if expires is None:
        tier = load_policy(ctx, policy_ref).policy.tier(bundle.risk_tier)
        default = timedelta(days=tier.approval_ttl_days)
    expires_at = expiry_at(expires, when, default)
    assert expires_at is not None
    return bundle, held_role, expires_at


def list_approvals(ctx: Context, release_id: str) -> list[Approval]:
    """Every approval recorded for a release, oldest first."""
    bundles.get_bundle(ctx, release_id)
    with ctx.store.read() as tx:
        return tx.list_approvals(release_id)


# -- waivers -----------------------------------------------------------------------------------


def _invalid(message: str, fix: str) -> ValidationError:
    return ValidationError(Reason.WAIVER_INVALID, message, fix=fix)


def _waivable(policy: Policy, bundle: FrozenBundle, kind: WaiverKind, rules: Sequence[str]) -> None:
    if not rules:
        raise _invalid("name at least one rule", fix="--rule RULE_ID (see `airel gate explain`)")
    tier = policy.tier(bundle.risk_tier)
    by_id: dict[str, RuleSpec] = {r.id: r for r in policy.rules}
    problems: list[str] = []
    for rule_id in rules:
        rule = by_id.get(rule_id)
        if rule is None or not rule.applies(bundle.risk_tier, bundle.pipeline_type):
            problems.append(f"rule {rule_id!r} is not in {policy.ref} for this release")
        elif rule.gate not in tier.gates:
            problems.append(f"rule {rule_id!r} is at {rule.gate.value}, which the tier skips")
        elif kind is WaiverKind.EXCEPTION and rule.hard:
            extra = "; take a risk acceptance" if rule.acceptable else "; it must be fixed"
            problems.append(f"rule {rule_id!r} is hard: an exception covers soft rules{extra}")
        elif kind is WaiverKind.RISK_ACCEPTANCE and not rule.hard:
            problems.append(f"rule {rule_id!r} is soft: record an exception instead")
        elif kind is WaiverKind.RISK_ACCEPTANCE and not rule.acceptable:
            problems.append(f"rule {rule_id!r} is hard and the policy does not let it be accepted")
    if problems:
        raise ValidationError(
            Reason.WAIVER_INVALID,
            problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            fix="check the rule ids and their hardness with `airel policy show`",
            problems=[{"reason": Reason.WAIVER_INVALID.value, "message": p} for p in problems],
        )


_UNMEASURED = frozenset(
    {RuleStatus.MISSING, RuleStatus.STALE, RuleStatus.ERRORED, RuleStatus.INCONCLUSIVE}
)


def _can_help(current: Decision, kind: WaiverKind, rules: Sequence[str]) -> None:
    """Refuse a waiver for a rule that is not failing now, or whose failure is not measured
    (a waiver never covers missing, stale, errored or inconclusive evidence)."""
    results = {r.rule: r for g in current.gates for r in g.rules}
    problems: list[tuple[Reason, str]] = []
    for rule_id in rules:
        result = results.get(rule_id)
        if result is None:
            problems.append((Reason.WAIVER_CANNOT_COVER, _not_evaluated(rule_id, current)))
            continue
        if result.status is RuleStatus.PASSED:
            message = f"rule {rule_id!r} passes: there is no failure to waive"
            problems.append((Reason.WAIVER_NOT_NEEDED, message))
        elif result.status in _UNMEASURED:
            problems.append(
                (
                    Reason.WAIVER_CANNOT_COVER,
                    f"rule {rule_id!r} is {result.status.value} ({result.detail}): "
                    f"{_article(kind.value.replace('_', ' '))} covers only a measured failure",
                )
            )
    if problems:
        first_reason, first = problems[0]
        raise InputError(
            first_reason,
            first + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            fix="waive only rules that fail now on measured evidence: see `airel gate check "
            "RELEASE` (record or refresh missing/stale evidence instead)",
            details={"problems": [{"reason": r.value, "message": m} for r, m in problems]},
        )


def _not_evaluated(rule_id: str, current: Decision) -> str:
    for g in current.gates:
        if g.entry is not None and not g.entry.passed:
            return (
                f"rule {rule_id!r} was not evaluated: {g.gate.value}'s entry condition is not "
                "met, so no waiver can help yet"
            )
    return f"rule {rule_id!r} was not evaluated for this release (its gate does not apply)"


def _role_for(
    ctx: Context, role: Role | str | None, allowed: frozenset[Role], kind: WaiverKind
) -> tuple[Role, frozenset[Role]]:
    with ctx.store.read() as tx:
        held = ctx.identity.roles_of(ctx.actor, tx)
    if not allowed:
        raise _invalid(
            f"the policy allows no {kind.value} at this tier",
            fix="fix the failure, or change the policy's exception/acceptance roles",
        )
    if role is not None:
        return (role if isinstance(role, Role) else parse_role(role)), held
    usable = [r for r in sorted(allowed) if r in held]
    if not usable:
        raise InputError(
            Reason.ROLE_NOT_HELD,
            f"{ctx.actor} holds none of the roles that may record a {kind.value}: "
            + ", ".join(sorted(r.value for r in allowed)),
            fix="ask a holder, or an administrator to grant the role (`airel role grant`)",
        )
    return usable[0], held


def _waive(
    ctx: Context,
    kind: WaiverKind,
    release_id: str,
    rules: Sequence[str],
    *,
    reason: str,
    expires: str | datetime | timedelta | None,
    scope: Conditions | None,
    controls: Sequence[str] = (),
    role: Role | str | None = None,
    policy_ref: str | None = None,
    now: datetime | None = None,
) -> Waived:
    when = _now(ctx, now)
    bundle = bundles.get_bundle(ctx, release_id)
    policy = load_policy(ctx, policy_ref).policy
    _waivable(policy, bundle, kind, rules)
    expires_at = expiry_at(expires, when, None)
    what = "a risk acceptance" if kind is WaiverKind.RISK_ACCEPTANCE else "an exception"
    if expires_at is None:
        raise _invalid(f"{what} needs an expiry", fix="give --expires, e.g. 14d or 2026-12-31")
    limits = scope or Conditions()
    if kind is WaiverKind.RISK_ACCEPTANCE:
        if limits.is_empty():
            raise _invalid(
                "a risk acceptance needs a scope (users, segments, regions, traffic cap …)",
                fix="add --segment, --traffic-cap, --user, --region or --human-review",
            )
        if not [c for c in controls if c.strip()]:
            raise _invalid(
                "a risk acceptance needs compensating controls", fix="add --control TEXT"
            )
    tier = policy.tier(bundle.risk_tier)
    allowed = frozenset(
        tier.acceptance_roles if kind is WaiverKind.RISK_ACCEPTANCE else tier.exception_roles
    )
    chosen, held = _role_for(ctx, role, allowed, kind)
    waiver = Waiver(
        waiver_id=uuid.uuid4().hex,
        kind=kind,
        release_id=bundle.release_id,
        bundle_digest=bundle.digest,
        rules=sorted(set(rules)),
        reason=reason,
        scope=limits,
        compensating_controls=[c for c in controls if c.strip()],
        approver=ctx.actor,
        role=chosen,
        issued_at=when,
        expires_at=expires_at,
        auth=ctx.auth,
    ).sealed()
    check_new_waiver(
        waiver, submitter=bundle.created_by, held_roles=held, allowed_roles=allowed, now=when
    )
    inputs = gates.inputs_now(ctx, release_id, policy_ref=policy_ref, now=when)
    _can_help(decide(inputs), kind, rules)
    through = _effect_through(ctx, release_id, policy, rules)
    before = decide(replace(inputs, through=through))

    def write(tx: WriteTx) -> Waiver:
        # the grant read above may have been revoked since: check it where the write happens
        check_new_waiver(
            waiver,
            submitter=bundle.created_by,
            held_roles=ctx.identity.roles_of(ctx.actor, tx),
            allowed_roles=allowed,
            now=when,
        )
        tx.insert_waiver(waiver)
        tx.append_audit(
            actor=ctx.actor,
            action=f"gate.{kind.value}",
            subject=release_node(bundle.release_id),
            before=None,
            after=waiver.seal,
            details={
                "waiver_id": waiver.waiver_id,
                "rules": waiver.rules,
                "role": chosen.value,
                "expires_at": expires_at.isoformat(),
                "auth": ctx.auth.value,
            },
        )
        return waiver

    stored = ctx.store.write(write)
    # The evidence read above plus the stored waiver: no second collection (it re-hashes the
    # pinned artifacts).
    after = decide(replace(inputs, waivers=(*inputs.waivers, stored), through=through))
    return Waived(stored, after.decision.value, before.decision.value, tuple(after.failures))


def _effect_through(
    ctx: Context, release_id: str, policy: Policy, rules: Sequence[str]
) -> GateId | None:
    """How far to judge a waiver's effect: as far as the release's latest decision ran, or
    else to the last gate of the waived rules."""
    with ctx.store.read() as tx:
        latest = tx.list_decisions(release_id)
    if latest:
        through = latest[-1].through
        return GateId(through) if through else None
    gates_of = [r.gate for r in policy.rules if r.id in set(rules)]
    return max(gates_of, key=lambda g: g.position) if gates_of else None


def add_exception(
    ctx: Context,
    release_id: str,
    rules: Sequence[str],
    *,
    reason: str,
    expires: str | datetime | timedelta | None,
    scope: Conditions | None = None,
    role: Role | str | None = None,
    policy_ref: str | None = None,
    now: datetime | None = None,
) -> Waived:
    """Record an exception for soft rule failures (with conditions and an expiry)."""
    return _waive(
        ctx,
        WaiverKind.EXCEPTION,
        release_id,
        rules,
        reason=reason,
        expires=expires,
        scope=scope,
        role=role,
        policy_ref=policy_ref,
        now=now,
    )


def accept_risk(
    ctx: Context,
    release_id: str,
    rules: Sequence[str],
    *,
    reason: str,
    controls: Sequence[str],
    expires: str | datetime | timedelta | None,
    scope: Conditions | None,
    role: Role | str | None = None,
    policy_ref: str | None = None,
    now: datetime | None = None,
) -> Waived:
    """Accept a residual hard risk the policy marks acceptable: scope, expiry, compensating
    controls and an approver of the tier's acceptance roles are all required (§4.5)."""
    return _waive(
        ctx,
        WaiverKind.RISK_ACCEPTANCE,
        release_id,
        rules,
        reason=reason,
        expires=expires,
        scope=scope,
        controls=controls,
        role=role,
        policy_ref=policy_ref,
        now=now,
    )


def list_waivers(ctx: Context, release_id: str) -> list[Waiver]:
    """Every exception and risk acceptance recorded for a release, oldest first."""
    bundles.get_bundle(ctx, release_id)
    with ctx.store.read() as tx:
        return tx.list_waivers(release_id)


def _article(noun: str) -> str:
    """``an exception``, ``a risk acceptance``."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"
