"""Signed approval statements (G6, C2), as pure data and checks (roles, grants and keys are in
:mod:`airel.domain.kernel.roles`).

A signed approval is an *approval statement* (:func:`approval_statement`: the canonical JSON
of everything the approval asserts — release, bundle digest, role, identity, issue time,
expiry, comment and a random nonce) with an Ed25519 signature over its RFC 8785 bytes and the
id of the key that made it. It counts only when the key is registered to the identity the
statement names, was registered before the statement's issue time and is not revoked; the
statement's digest is single-use (it is the approval's id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from airel.domain.gate.approvals import Approval
from airel.domain.kernel.canonical import canonical_bytes, digest_of
from airel.domain.kernel.roles import AuthMethod, SigningKey
from airel.domain.kernel.validation import parse_record
from airel.errors import InputError, NotFoundError, Reason, ValidationError

STATEMENT_FORMAT = "airel-approval-statement/1"
SIGNED_FORMAT = "airel-signed-approval/1"

Name = Annotated[str, Field(min_length=1, max_length=128)]


class SignedApproval(BaseModel):
    """What ``airel approval sign`` writes and ``airel approve --signed`` presents."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    format: str = SIGNED_FORMAT
    statement: dict[str, Any]
    key_id: Annotated[str, Field(min_length=1, max_length=71)]
    signature: Annotated[str, Field(min_length=1, max_length=128)]


def approval_statement(approval: Approval) -> dict[str, Any]:
    """The statement a signed approval's signature covers, rebuilt from the approval."""
    fields = approval.model_dump(
        mode="json",
        include={"release_id", "bundle_digest", "role", "issued_at", "expires_at", "comment"},
    )
    return {
        "format": STATEMENT_FORMAT,
        **fields,
        "identity": approval.approver,
        "nonce": approval.nonce,
    }


def statement_bytes(statement: dict[str, Any]) -> bytes:
    """The RFC 8785 bytes that are signed."""
    return canonical_bytes(statement)


def statement_id(statement: dict[str, Any]) -> str:
    """The single-use id of a statement: 128 bits of its digest (the approval's id)."""
    return digest_of(statement).split(":", 1)[1][:32]


def approval_of(signed: SignedApproval) -> Approval:
    """The approval a signed statement asserts (not yet verified); refuses a statement that
    is not exactly in the form airel signs (so the stored approval can be re-verified)."""
    statement = dict(signed.statement)
    if statement.get("format") != STATEMENT_FORMAT:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"the statement's format is not {STATEMENT_FORMAT}",
            fix="sign the approval with `airel approval sign`",
        )
    names = {"identity": "approver"}
    data: dict[str, Any] = {
        names.get(k, k): v for k, v in statement.items() if k not in ("format",)
    }
    data.update(
        approval_id=statement_id(statement),
        auth=AuthMethod.SIGNED_ED25519.value,
        key_id=signed.key_id,
        signature=signed.signature,
    )
    approval = parse_record(Approval, data, source="approval statement")
    if approval_statement(approval) != statement:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "the approval statement has fields or forms airel does not sign",
            fix="present the statement exactly as `airel approval sign` wrote it",
        )
    return approval.sealed()


def check_key(key: SigningKey | None, key_id: str, identity: str, issued_at: datetime) -> None:
    """The key must be registered to ``identity``, before ``issued_at``, and not revoked."""
    if key is None:
        raise NotFoundError(
            Reason.KEY_NOT_REGISTERED,
            f"no signing key {key_id} is registered",
            fix="an administrator registers the approver's public key: `airel key register`",
            details={"key_id": key_id},
        )
    if key.identity != identity:
        raise NotFoundError(
            Reason.KEY_NOT_REGISTERED,
            f"key {key_id} is registered to {key.identity}, not to {identity}",
            fix="sign with a key registered to the identity the statement names",
            details={"key_id": key_id, "identity": identity},
        )
    if key.revoked_at is not None:
        raise InputError(
            Reason.KEY_REVOKED,
            f"key {key_id} of {identity} was revoked at {key.revoked_at}",
            fix="register a new key and sign again",
            details={"key_id": key_id},
        )
    if datetime.fromisoformat(key.created_at.replace("Z", "+00:00")) > issued_at:
        raise NotFoundError(
            Reason.KEY_NOT_REGISTERED,
            f"key {key_id} was registered at {key.created_at}, after the statement was issued "
            f"({issued_at.isoformat()})",
            fix="sign a new statement now that the key is registered",
            details={"key_id": key_id},
        )
