"""Use cases: role grants and signing keys, managed by administrators (G6, C2).

Roles are records in the store: ``airel role grant|revoke`` by an identity holding ``admin``,
each change one audited transaction that binds the row it wrote. The configuration's
``[identities]`` table only seeds the grants of a store that has none yet (``airel init``),
and the initialising actor becomes ``admin`` when the seed names no administrator; after that
a configuration file grants nothing. The last live administrator cannot be revoked.

Signing keys (``airel key register|revoke``) are approvers' Ed25519 public keys; a signed
approval counts only under a key registered to its approver (:mod:`services.signed_approvals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airel.domain.kernel.names import NameClass, check_name
from airel.domain.kernel.roles import (
    AdminRole,
    GrantRole,
    Role,
    RoleGrant,
    SigningKey,
    approver_roles,
    is_admin,
    key_id_of,
    parse_grant_role,
)
from airel.domain.release.records import RecordRef, RecordTable
from airel.errors import ConflictError, InputError, NotFoundError, Reason
from airel.services.kernel.context import Context
from airel.services.release.record_integrity import require_intact
from airel.store.contract import ReadTx, WriteTx


def intact_grants(tx: ReadTx, name: str) -> list[RoleGrant]:
    """Every grant of ``name`` (revoked ones too), each checked against the audit chain: a
    grant edited or inserted behind airel is RECORD_TAMPERED, never counted."""
    grants = tx.list_role_grants(name, include_revoked=True)
    refs = [RecordRef(RecordTable.ROLE_GRANTS, (g.identity, g.role.value)) for g in grants]
    require_intact(tx, refs, purpose=f"the role grants of {name}")
    return grants


@dataclass(frozen=True)
class StoreIdentities:
    """Roles as granted in the store (``role_grants``, changed only by an administrator);
    a configuration file plays no part once the store is initialised. A grant row that does
    not match the audit chain (edited or inserted behind airel) is refused, not counted."""

    def roles_of(self, name: str, tx: ReadTx) -> frozenset[Role]:
        """The live approver-role grants of ``name`` (RECORD_TAMPERED if one was forged)."""
        return approver_roles(intact_grants(tx, name))


def _role(role: GrantRole | str) -> GrantRole:
    return role if isinstance(role, GrantRole) else parse_grant_role(role)


def require_admin(ctx: Context, tx: ReadTx, what: str) -> None:
    """ROLE_NOT_HELD unless the acting identity holds a live, intact ``admin`` grant."""
    if not is_admin(intact_grants(tx, ctx.actor)):
        raise InputError(
            Reason.ROLE_NOT_HELD,
            f"{ctx.actor} does not hold the role admin: only an administrator may {what}",
            fix="ask an administrator (`airel role list --role admin`)",
            details={"role": AdminRole.ADMIN.value},
        )


def _audit(ctx: Context, tx: WriteTx, action: str, identity: str, **details: Any) -> None:
    tx.append_audit(
        actor=ctx.actor,
        action=action,
        subject=f"identity/{identity}",
        before=None,
        after=None,
        details={"identity": identity, **details, "auth": ctx.auth.value},
    )


def _live(tx: ReadTx, identity: str, role: GrantRole) -> RoleGrant | None:
    return next((g for g in tx.list_role_grants(identity) if g.role == role), None)


def grant_role(ctx: Context, identity: str, role: GrantRole | str) -> tuple[RoleGrant, bool]:
    """Grant ``role`` to ``identity`` (admin only); (grant, False) when already held."""
    check_name(identity, NameClass.ACTOR, field="identity")
    granted = _role(role)

    def write(tx: WriteTx) -> tuple[RoleGrant, bool]:
        require_admin(ctx, tx, "grant roles")
        held = _live(tx, identity, granted)
        if held is not None:
            return held, False
        grant = tx.grant_role(identity, granted, at=ctx.stamp(), by=ctx.actor)
        _audit(ctx, tx, "role.grant", identity, role=granted.value)
        return grant, True

    return ctx.store.write(write)


def revoke_role(ctx: Context, identity: str, role: GrantRole | str) -> RoleGrant:
    """Revoke a live grant (admin only); the store's last administrator stays."""
    revoked = _role(role)

    def write(tx: WriteTx) -> RoleGrant:
        require_admin(ctx, tx, "revoke roles")
        if _live(tx, identity, revoked) is None:
            raise InputError(
                Reason.ROLE_NOT_HELD,
                f"{identity} does not hold the role {revoked.value}",
                fix="see `airel role list --identity " + identity + "`",
            )
        if revoked is AdminRole.ADMIN:
            admins = [g for g in tx.list_role_grants() if g.role is AdminRole.ADMIN]
            if len(admins) <= 1:
                raise ConflictError(
                    Reason.LAST_ADMIN,
                    f"{identity} is the store's last administrator",
                    fix="grant admin to someone else first",
                )
        grant = tx.revoke_role(identity, revoked, at=ctx.stamp(), by=ctx.actor)
        _audit(ctx, tx, "role.revoke", identity, role=revoked.value)
        return grant

    return ctx.store.write(write)


def list_grants(
    ctx: Context,
    *,
    identity: str | None = None,
    role: GrantRole | str | None = None,
    include_revoked: bool = False,
) -> list[RoleGrant]:
    """Role grants, live ones unless ``include_revoked``."""
    wanted = _role(role) if role is not None else None
    with ctx.store.read() as tx:
        grants = tx.list_role_grants(identity, include_revoked=include_revoked)
    return [g for g in grants if wanted is None or g.role == wanted]


def seed_grants(
    tx: WriteTx, actor: str, seeds: Mapping[str, frozenset[GrantRole]], *, at: str
) -> list[dict[str, str]]:
    """Grant the configured roles of a store that has no grants at all, and ``admin`` to
    ``actor`` when the seed names no administrator; the rows bind to the caller's next audit
    entry. Returns what was granted (empty when the store had grants already)."""
    if tx.list_role_grants(include_revoked=True):
        return []
    wanted = {(name, role) for name, roles in seeds.items() for role in roles}
    if not any(role is AdminRole.ADMIN for _, role in wanted):
        wanted.add((actor, AdminRole.ADMIN))
    for name, role in sorted(wanted, key=lambda p: (p[0], p[1].value)):
        tx.grant_role(name, role, at=at, by=actor)
    return [{"identity": n, "role": r.value} for n, r in sorted(wanted, key=lambda p: p[0])]


# -- signing keys --------------------------------------------------------------------------------


def register_key(ctx: Context, identity: str, public_key: str) -> tuple[SigningKey, bool]:
    """Register ``identity``'s Ed25519 public key (raw, base64; admin only); (key, False)
    when that key is already registered to it."""
    check_name(identity, NameClass.ACTOR, field="identity")
    from airel.adapters import signing  # noqa: PLC0415 -- cryptography loads only here

    key_id = key_id_of(signing.raw_bytes(public_key))

    def write(tx: WriteTx) -> tuple[SigningKey, bool]:
        require_admin(ctx, tx, "register signing keys")
        existing = tx.get_signing_key(key_id)
        if existing is not None:
            if existing.identity == identity and existing.revoked_at is None:
                return existing, False
            raise ConflictError(
                Reason.DUPLICATE_RECORD,
                f"key {key_id} is already registered to {existing.identity}"
                + (" and was revoked" if existing.revoked_at else ""),
                fix="generate a new key pair for this identity (`airel key generate`)",
                details={"key_id": key_id},
            )
        key = SigningKey(
            key_id=key_id,
            identity=identity,
            public_key=public_key,
            created_at=ctx.stamp(),
            created_by=ctx.actor,
        )
        tx.insert_signing_key(key)
        _audit(ctx, tx, "key.register", identity, key_id=key_id, public_key=public_key)
        return key, True

    return ctx.store.write(write)


def revoke_key(ctx: Context, key_id: str) -> SigningKey:
    """Revoke a registered key (admin only): signed statements under it no longer count."""

    def write(tx: WriteTx) -> SigningKey:
        require_admin(ctx, tx, "revoke signing keys")
        key = tx.get_signing_key(key_id)
        if key is None:
            raise NotFoundError(
                Reason.KEY_NOT_REGISTERED,
                f"no signing key {key_id} is registered",
                fix="see `airel key list`",
            )
        if key.revoked_at is not None:
            raise InputError(
                Reason.KEY_REVOKED,
                f"key {key_id} was already revoked at {key.revoked_at}",
                fix="nothing more to do: signatures under it are refused "
                "(`airel key list` shows who revoked it)",
            )
        revoked = tx.revoke_signing_key(key_id, at=ctx.stamp(), by=ctx.actor)
        _audit(ctx, tx, "key.revoke", key.identity, key_id=key_id)
        return revoked

    return ctx.store.write(write)


def list_keys(ctx: Context, identity: str | None = None) -> list[SigningKey]:
    """Registered signing keys (revoked ones too), oldest first."""
    with ctx.store.read() as tx:
        return tx.list_signing_keys(identity)
