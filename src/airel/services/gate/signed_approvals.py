"""Use cases: approvals signed with Ed25519 (G6, C2).

``sign_statement`` (``airel approval sign``, offline: no store) writes the approval statement
of :mod:`airel.domain.gate.signed` and signs its canonical bytes with the approver's private key.
``present_signed`` (``airel approve --signed DOC``) records one: inside the write transaction
the key named must be registered to the statement's identity before its issue time and not
revoked, the signature must verify under that registered key, the statement's digest must be
new (it is the approval's id: a replay is refused) and the bundle digest the release's; then
the checks every approval passes — the identity holds the role in the store's grants, is not
the submitter, fills one role only. ``approve_signed`` (``airel approve --sign-with KEY``)
signs and presents in one step as the acting identity. The stored approval keeps the
statement's fields, nonce, key id and signature, so it can be re-verified from the record.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airel.adapters import signing
from airel.domain.gate.approvals import Approval
from airel.domain.gate.signed import (
    SignedApproval,
    approval_of,
    approval_statement,
    check_key,
    statement_bytes,
)
from airel.domain.kernel.clock import SystemClock
from airel.domain.kernel.roles import AuthMethod, Role, key_id_of, parse_role
from airel.domain.kernel.validation import parse_record
from airel.domain.release.records import RecordRef, RecordTable
from airel.errors import IntegrityError, Reason, ValidationError
from airel.services.gate.approvals import (
    approval_terms,
    digest_matches,
    expiry_at,
    store_approval,
)
from airel.services.kernel.context import Context
from airel.services.release import bundles
from airel.services.release.record_integrity import require_intact
from airel.store.contract import WriteTx


def sign_statement(
    private_key: Path,
    *,
    release_id: str,
    bundle_digest: str,
    role: Role | str,
    identity: str,
    expires: str | datetime | timedelta,
    comment: str | None = None,
    now: datetime | None = None,
) -> SignedApproval:
    """Sign an approval statement with an Ed25519 private key (no store needed)."""
    when = now if now is not None else SystemClock().now()  # offline: no store, no context
    key = signing.load_private_key(private_key)
    expires_at = expiry_at(expires, when, None)
    draft = Approval(
        approval_id="0" * 32,  # the statement's digest, once it exists
        release_id=release_id,
        bundle_digest=bundle_digest,
        role=role if isinstance(role, Role) else parse_role(role),
        approver=identity,
        issued_at=when,
        expires_at=expires_at,
        comment=comment,
        nonce=uuid.uuid4().hex,
    )
    statement = approval_statement(draft)
    return SignedApproval(
        statement=statement,
        key_id=key_id_of(signing.raw_public(key.public_key())),
        signature=signing.sign(key, statement_bytes(statement)),
    )


def present_signed(
    ctx: Context,
    document: Mapping[str, Any],
    *,
    release_id: str | None = None,
    role: Role | str | None = None,
    now: datetime | None = None,
) -> Approval:
    """Verify and record a signed approval document (single use); ``release_id`` and
    ``role``, when given, must be the statement's."""
    when = now if now is not None else ctx.clock.now()
    signed = parse_record(SignedApproval, document, source="signed approval")
    approval = approval_of(signed)
    expected_role = parse_role(role) if isinstance(role, str) else role
    for what, given, stated in (
        ("release", release_id, approval.release_id),
        ("role", expected_role, approval.role),
    ):
        if given is not None and given != stated:
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"the signed approval is for {what} {stated}, not {given}",
                fix=f"present it for the {what} it names",
            )
    bundle = bundles.get_bundle(ctx, approval.release_id)
    digest_matches(bundle, approval.bundle_digest)

    def verify(tx: WriteTx) -> None:
        key = tx.get_signing_key(signed.key_id)
        if key is not None:  # a key row edited behind airel is never trusted
            ref = RecordRef(RecordTable.SIGNING_KEYS, (key.key_id,))
            require_intact(tx, [ref], purpose=f"signing key {key.key_id}")
        check_key(key, signed.key_id, approval.approver, approval.issued_at)
        assert key is not None
        message = statement_bytes(signed.statement)
        if not signing.verify(key.public_key, message, signed.signature):
            raise IntegrityError(
                Reason.SIGNATURE_INVALID,
                f"the signature does not verify under key {signed.key_id} of "
                f"{approval.approver}: the statement was changed after signing, or another "
                "key signed it",
                fix="sign the statement again with the registered key (`airel approval sign`)",
                details={"key_id": signed.key_id},
            )

    store_approval(ctx, approval, bundle, when, verify)
    return approval


def approve_signed(
    ctx: Context,
    release_id: str,
    role: Role | str,
    private_key: Path,
    *,
    expires: str | datetime | timedelta | None = None,
    comment: str | None = None,
    bundle_digest: str | None = None,
    policy_ref: str | None = None,
    now: datetime | None = None,
) -> Approval:
    """Sign an approval as the acting identity with its registered key and record it."""
    when = now if now is not None else ctx.clock.now()
    bundle, held_role, expires_at = approval_terms(
        ctx, release_id, role, expires, bundle_digest, policy_ref, when
    )
    signed = sign_statement(
        private_key,
        release_id=bundle.release_id,
        bundle_digest=bundle.digest,
        role=held_role,
        identity=ctx.actor,
        expires=expires_at,
        comment=comment,
        now=when,
    )
    approval = present_signed(ctx, signed.model_dump(mode="json"), now=when)
    assert approval.auth is AuthMethod.SIGNED_ED25519
    return approval
