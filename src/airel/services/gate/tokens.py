"""Use cases: REST API tokens and authenticating a request (issue 13; G6, C2).

``airel token create|list|revoke``: an administrator creates a token for an identity (shown
once; stored as the SHA-256 of its secret), lists them, revokes one; an identity may also
revoke its own. Each change is one audited transaction binding the row it wrote.
:func:`authenticate` is what the API runs on every request: the token must parse, exist,
match its chain-bound row (a row inserted or edited behind airel is RECORD_TAMPERED), carry
the right secret, be unrevoked and unexpired; the identity's permissions are then those of
its live, intact role grants — none when it has none (deny by default).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from airel.domain.kernel.clock import stamp
from airel.domain.kernel.names import NameClass, check_name
from airel.domain.kernel.permissions import Permission, permissions_of
from airel.domain.kernel.tokens import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    ApiToken,
    check_token,
    parse_token,
    secret_digest,
    token_text,
)
from airel.domain.release.records import RecordRef, RecordTable
from airel.errors import AuthError, NotFoundError, Reason, ValidationError
from airel.services.gate.approvals import parse_expires
from airel.services.gate.identities import intact_grants, require_admin
from airel.services.kernel.context import Context
from airel.services.release.record_integrity import require_intact
from airel.store.contract import WriteTx


@dataclass(frozen=True)
class Principal:
    """Who a request is, established by a token, and what its roles allow."""

    identity: str
    token_id: str
    permissions: frozenset[Permission]

    def require(self, permission: Permission) -> None:
        """PERMISSION_DENIED unless the identity's roles allow ``permission``."""
        if permission is not Permission.PUBLIC and permission not in self.permissions:
            raise AuthError(
                Reason.PERMISSION_DENIED,
                f"{self.identity} may not {permission.value}: no role of theirs allows it",
                fix="ask an administrator for a role that does (`airel role list`)",
                details={"permission": permission.value, "identity": self.identity},
            )


@dataclass(frozen=True)
class CreatedToken:
    """A new token: the record and the text, which is shown this once and never again."""

    token: ApiToken
    text: str


def _expiry(ctx: Context, expires: str | None) -> str:
    now = ctx.clock.now()
    when: datetime = (
        parse_expires(expires, now)
        if expires is not None
        else now + timedelta(days=DEFAULT_TOKEN_DAYS)
    )
    if when <= now or when > now + timedelta(days=MAX_TOKEN_DAYS):
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"a token must expire after now and within {MAX_TOKEN_DAYS} days, not at {when}",
            fix=f"e.g. --expires 30d (default {DEFAULT_TOKEN_DAYS}d)",
            details={"field": "expires"},
        )
    return stamp(when)


def _audit(ctx: Context, tx: WriteTx, action: str, token: ApiToken) -> None:
    tx.append_audit(
        actor=ctx.actor,
        action=action,
        subject=f"identity/{token.identity}",
        before=None,
        after=None,
        details={
            "identity": token.identity,
            "token_id": token.token_id,
            "name": token.name,
            "expires_at": token.expires_at,
            "auth": ctx.auth.value,
        },
    )


def create_token(
    ctx: Context, identity: str, name: str, *, expires: str | None = None
) -> CreatedToken:
    """A new token for ``identity`` (admin only), expiring by ``expires`` (default 90 days,
    at most a year)."""
    check_name(identity, NameClass.ACTOR, field="identity")
    label = name.strip()
    if not label or len(label) > 128 or any(ord(ch) < 32 for ch in label):
        raise ValidationError(
            Reason.INVALID_VALUE,
            "a token's name must be 1–128 printable characters",
            fix="name what it is for, e.g. --name ci-pipeline",
            details={"field": "name"},
        )
    expires_at = _expiry(ctx, expires)
    token_id = "tok_" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)

    def write(tx: WriteTx) -> ApiToken:
        require_admin(ctx, tx, "create API tokens")
        token = ApiToken(
            token_id=token_id,
            identity=identity,
            name=label,
            secret_digest=secret_digest(secret),
            created_at=ctx.stamp(),
            created_by=ctx.actor,
            expires_at=expires_at,
        )
        tx.insert_api_token(token)
        _audit(ctx, tx, "token.create", token)
        return token

    return CreatedToken(ctx.store.write(write), token_text(token_id, secret))


def revoke_token(ctx: Context, token_id: str) -> ApiToken:
    """Revoke a token (an administrator, or the identity it belongs to)."""

    def write(tx: WriteTx) -> ApiToken:
        token = tx.get_api_token(token_id)
        if token is None:
            raise NotFoundError(
                Reason.TOKEN_NOT_FOUND, f"no API token {token_id}", fix="see `airel token list`"
            )
        if token.identity != ctx.actor:
            require_admin(ctx, tx, "revoke another identity's token")
        if token.revoked_at is not None:
            return token
        revoked = tx.revoke_api_token(token_id, at=ctx.stamp(), by=ctx.actor)
        _audit(ctx, tx, "token.revoke", revoked)
        return revoked

    return ctx.store.write(write)


def list_tokens(ctx: Context, identity: str | None = None) -> list[ApiToken]:
    """API tokens (revoked and expired ones too), oldest first — never their secrets."""
    with ctx.store.read() as tx:
        return tx.list_api_tokens(identity)


def authenticate(ctx: Context, bearer: str | None) -> Principal:
    """Who presents ``bearer`` (the token text), and what they may do (see the module)."""
    if bearer is None or not bearer.strip():
        raise AuthError(
            Reason.AUTH_REQUIRED,
            "this request needs an API token",
            fix="send `Authorization: Bearer airel_tok_…` (`airel token create`)",
        )
    token_id, secret = parse_token(bearer)
    with ctx.store.read() as tx:
        found = tx.get_api_token(token_id)
        token = check_token(found, secret, ctx.stamp())
        require_intact(
            tx, [RecordRef(RecordTable.API_TOKENS, (token_id,))], purpose=f"token {token_id}"
        )
        grants = intact_grants(tx, token.identity)
    return Principal(token.identity, token_id, permissions_of(grants))
