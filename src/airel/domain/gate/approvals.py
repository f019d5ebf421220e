"""Approvals, exceptions and risk acceptances, with segregation of duties (G3, G4, G6).

An :class:`Approval` is one person's sign-off in one role on one bundle digest. Its ``seal`` is
the SHA-256 of its canonical content — an integrity digest, not a signature: it binds the
record to the exact bundle it was given for (a changed bundle has another digest and the
approval no longer counts) and a row edited without recomputing it no longer matches. Who
made an approval, and how that was established, is its ``auth`` (:class:`AuthMethod`): the
trusted local actor (``unauthenticated-local``) or an Ed25519 signature verified against the
approver's registered key (``signed-ed25519``, with ``key_id`` and ``signature``; see
:mod:`airel.domain.gate.signed`). Each approval has an id that may be presented once (a replay is
refused), and an expiry.

A :class:`Waiver` is either an *exception* (a soft rule failure accepted with reason and
conditions) or a *risk acceptance* (a hard failure the policy lets be accepted, with scope,
expiry, compensating controls and an approver of the required role). An expired waiver no
longer counts, which sends the release back to its gate.

The checks here are pure: the service passes the clock, the roles held and the stored records.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from airel.domain.gate.stack import Conditions
from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.roles import AuthMethod, Role
from airel.errors import ConflictError, InputError, Reason, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=2048)]
MAX_SKEW = timedelta(minutes=5)  # how far ahead of the clock a timestamp may be


# Fields added after records were first stored: left out of the seal while unset, so the seals
# of approvals and waivers stored before them still verify.
_LATER_FIELDS = frozenset({"auth", "key_id", "nonce", "signature"})


class _Sealed(BaseModel):
    """A record whose ``seal`` is the digest of its other fields (approvals and waivers)."""

    seal: str = ""

    def content(self) -> dict[str, Any]:
        """What the seal covers (fields added later are left out while unset)."""
        unset = {f for f in _LATER_FIELDS if getattr(self, f, None) is None}
        return self.model_dump(mode="json", exclude={"seal"} | unset)

    def sealed(self) -> Self:
        """A copy with its seal computed."""
        return self.model_copy(update={"seal": digest_of(self.content())})

    def seal_ok(self) -> bool:
        """True when the stored seal matches the content."""
        return self.seal == digest_of(self.content())


def _aware(ts: datetime, field: str) -> datetime:
    if ts.tzinfo is None:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"{field} must carry a time zone",
            fix="give times in UTC, e.g. 2026-11-25T10:00:00Z",
        )
    return ts


class Approval(_Sealed):
    """A digest-bound, single-use, expiring sign-off."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    approval_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    release_id: Text
    bundle_digest: Text
    role: Role
    approver: Text
    issued_at: datetime
    expires_at: datetime
    comment: str | None = Field(default=None, max_length=4096)
    auth: AuthMethod | None = None  # None only on approvals stored before it was recorded
    key_id: str | None = Field(default=None, max_length=71)  # signed: the registered key
    nonce: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")  # signed: the statement's
    signature: str | None = Field(default=None, max_length=128)  # signed: base64 Ed25519


class WaiverKind(StrEnum):
    """What a waiver does."""

    EXCEPTION = "exception"  # a soft failure accepted for now, with conditions
    RISK_ACCEPTANCE = "risk_acceptance"  # a residual hard risk accepted (§4.5)


class Waiver(_Sealed):
    """An exception or a risk acceptance for named rules of one bundle."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    waiver_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    kind: WaiverKind
    release_id: Text
    bundle_digest: Text
    rules: list[Text] = Field(min_length=1)
    reason: Text
    scope: Conditions
    compensating_controls: list[Text] = Field(default_factory=list)
    approver: Text
    role: Role
    issued_at: datetime
    expires_at: datetime
    auth: AuthMethod | None = None  # None only on waivers stored before it was recorded

    @model_validator(mode="after")
    def _complete(self) -> Waiver:
        if self.kind is WaiverKind.RISK_ACCEPTANCE:
            if not self.compensating_controls:
                raise ValueError("a risk acceptance needs compensating controls")
            if self.scope.is_empty():
                raise ValueError("a risk acceptance needs a scope (users, segments, traffic …)")
        return self


VoidReason = Literal["expired", "other_bundle", "seal_broken", "not_yet_valid"]


def void_reason(item: Approval | Waiver, bundle_digest: str, now: datetime) -> VoidReason | None:
    """Why a stored approval or waiver does not count now, or None when it does."""
    if not item.seal_ok():
        return "seal_broken"
    if item.bundle_digest != bundle_digest:
        return "other_bundle"
    if item.issued_at > now + MAX_SKEW:
        return "not_yet_valid"
    if item.expires_at <= now:
        return "expired"
    return None


def check_times(
    issued_at: datetime, expires_at: datetime | None, now: datetime, *, signed: bool = False
) -> datetime:
    """The expiry of a new approval/waiver; refuses a missing/past expiry and clock skew.

    A ``signed`` statement may have been issued any time before it is presented (it is
    single-use and bound to a key registered before it); never in the future."""
    _aware(issued_at, "issued_at")
    if issued_at > now + MAX_SKEW or (not signed and issued_at < now - MAX_SKEW):
        raise InputError(
            Reason.CLOCK_SKEW,
            f"issued_at {issued_at.isoformat()} is more than {MAX_SKEW} from the clock "
            f"({now.isoformat()})",
            fix="synchronise the clock (NTP) and approve again",
        )
    if expires_at is None:
        raise ValidationError(
            Reason.WAIVER_INVALID,
            "an expiry is required",
            fix="give --expires, e.g. --expires 14d or an ISO date",
        )
    _aware(expires_at, "expires_at")
    if expires_at <= now:
        raise InputError(
            Reason.APPROVAL_EXPIRED,
            f"expiry {expires_at.isoformat()} is already past",
            fix="give a span from now, e.g. --expires 14d, or a later ISO date",
        )
    return expires_at


def check_new_approval(
    approval: Approval,
    *,
    submitter: str,
    held_roles: frozenset[Role],
    existing: list[Approval],
    now: datetime,
) -> None:
    """Segregation of duties and replay protection for a new approval (G6).

    Refuses: the submitter approving their own release; an identity not holding the role; a
    replayed approval id; the same person already filling another role on this bundle.
    """
    signed = approval.auth is AuthMethod.SIGNED_ED25519
    check_times(approval.issued_at, approval.expires_at, now, signed=signed)
    if approval.approver == submitter:
        raise InputError(
            Reason.SELF_APPROVAL,
            f"{approval.approver} submitted release {approval.release_id} and cannot approve it",
            fix="ask someone else holding the role to approve",
        )
    if approval.role not in held_roles:
        raise InputError(
            Reason.ROLE_NOT_HELD,
            f"{approval.approver} does not hold the role {approval.role.value}",
            fix="ask an administrator to grant it (`airel role grant`) or ask a holder",
            details={"held": sorted(r.value for r in held_roles)},
        )
    for prior in existing:
        if prior.approval_id == approval.approval_id:
            raise ConflictError(
                Reason.APPROVAL_REPLAYED,
                f"approval {approval.approval_id} was already presented",
                fix="an approval is single-use; approve again",
            )
        live = void_reason(prior, approval.bundle_digest, now) is None
        if live and prior.approver == approval.approver and prior.role != approval.role:
            raise InputError(
                Reason.DUPLICATE_APPROVER,
                f"{approval.approver} already approved this bundle as {prior.role.value}",
                fix="each required role needs a different person",
            )


def check_new_waiver(
    waiver: Waiver,
    *,
    submitter: str,
    held_roles: frozenset[Role],
    allowed_roles: frozenset[Role],
    now: datetime,
) -> None:
    """A waiver needs an expiry in the future, an approver other than the submitter holding
    one of the roles the policy allows for this kind of waiver."""
    check_times(waiver.issued_at, waiver.expires_at, now)
    if waiver.approver == submitter:
        raise InputError(
            Reason.SELF_APPROVAL,
            f"{waiver.approver} submitted release {waiver.release_id} and cannot waive its rules",
            fix="ask an approver of the required role",
        )
    if waiver.role not in held_roles:
        raise InputError(
            Reason.ROLE_NOT_HELD,
            f"{waiver.approver} does not hold the role {waiver.role.value}",
            fix="ask an administrator to grant it (`airel role grant`) or ask a holder",
        )
    if waiver.role not in allowed_roles:
        raise InputError(
            Reason.WAIVER_INVALID,
            f"a {waiver.kind.value} must be approved by one of "
            f"{sorted(r.value for r in allowed_roles)}, not {waiver.role.value}",
            fix="ask an approver of a role the policy names for this tier",
        )
