"""Commands: ``role grant|revoke|list``, ``key generate|register|list|revoke``,
``approval sign`` (issue 18, G6), ``token create|list|revoke`` (issue 13).

Roles and keys live in the store; changing them needs the ``admin`` role (ROLE_NOT_HELD,
exit 2, otherwise). ``key generate`` and ``approval sign`` work offline, without a store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from airel.cli import output
from airel.cli.app import JsonOpt, client, command
from airel.errors import InputError, Reason

if TYPE_CHECKING:  # models load with the command that runs, not for --help (issue 10)
    from airel.domain.kernel.roles import RoleGrant, SigningKey
    from airel.domain.kernel.tokens import ApiToken

role_app = typer.Typer(help="Role grants in the store (admin changes them).", no_args_is_help=True)
key_app = typer.Typer(help="Ed25519 keys that sign approvals.", no_args_is_help=True)
approval_app = typer.Typer(help="Sign approvals offline.", no_args_is_help=True)
token_app = typer.Typer(help="REST API tokens (admin creates them).", no_args_is_help=True)

IdentityArg = Annotated[str, typer.Argument(help="The identity (e.g. lena-vos).")]
RoleArg = Annotated[str, typer.Argument(help="admin or an approver role (e.g. model_risk).")]


def _grant_row(g: RoleGrant) -> tuple[str, str, str, str]:
    state = f"revoked {g.revoked_at} by {g.revoked_by}" if g.revoked_at else "live"
    return g.identity, g.role.value, f"{g.granted_at} by {g.granted_by}", state


@command
def role_grant(identity: IdentityArg, role: RoleArg, as_json: JsonOpt = False) -> int:
    """Grant a role to an identity (admin only; audited). Exit 2 with ROLE_NOT_HELD when
    you are not an administrator."""
    grant = client().identity.grant_role(identity, role)
    if as_json:
        output.emit_json(grant)
    else:
        output.ok(f"{grant.identity} holds {grant.role.value} (granted by {grant.granted_by})")
    return output.EXIT_OK


@command
def role_revoke(identity: IdentityArg, role: RoleArg, as_json: JsonOpt = False) -> int:
    """Revoke a role (admin only; audited). The last administrator cannot be revoked
    (LAST_ADMIN)."""
    grant = client().identity.revoke_role(identity, role)
    if as_json:
        output.emit_json(grant)
    else:
        output.ok(f"{grant.identity} no longer holds {grant.role.value}")
    return output.EXIT_OK


@command
def role_list(
    identity: Annotated[str | None, typer.Option("--identity", help="Only this identity.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="Only this role.")] = None,
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked grants.")] = False,
    as_json: JsonOpt = False,
) -> int:
    """Role grants in the store: the only source of roles once the store exists."""
    grants = client().identity.role_grants(identity=identity, role=role, include_revoked=revoked)
    if as_json:
        output.emit_json(grants)
    else:
        output.table(
            "role grants", ["identity", "role", "granted", "state"], map(_grant_row, grants)
        )
    return output.EXIT_OK


@command
def key_generate(
    out: Annotated[Path, typer.Option("--out", help="Private key file to create (0600).")],
    as_json: JsonOpt = False,
) -> int:
    """Create an Ed25519 private key for signing approvals (never overwrites a file) and
    print its public key, for an administrator to register (`airel key register`)."""
    public = client().identity.generate_signing_key(out)
    if as_json:
        output.emit_json({"private_key": str(out), "public_key": public})
    else:
        output.ok(f"private key written to {out} (mode 0600; keep it to yourself)")
        output.out.print(public, markup=False)
    return output.EXIT_OK


def _key_row(k: SigningKey) -> tuple[str, str, str, str]:
    state = f"revoked {k.revoked_at} by {k.revoked_by}" if k.revoked_at else "live"
    return k.key_id, k.identity, f"{k.created_at} by {k.created_by}", state


@command
def key_register(
    identity: IdentityArg,
    public_key: Annotated[
        str, typer.Argument(help="Public key file (PEM or base64), or the base64 key itself.")
    ],
    as_json: JsonOpt = False,
) -> int:
    """Register an identity's Ed25519 public key (admin only; audited): approvals signed
    with it count for that identity from now on."""
    key = client().identity.register_key(identity, public_key)
    if as_json:
        output.emit_json(key)
    else:
        output.ok(f"key {key.key_id} registered to {key.identity}")
    return output.EXIT_OK


@command
def key_list(
    identity: Annotated[str | None, typer.Option("--identity", help="Only this identity.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Registered signing keys, revoked ones included."""
    keys = client().identity.signing_keys(identity)
    if as_json:
        output.emit_json(keys)
    else:
        output.table(
            "signing keys", ["key", "identity", "registered", "state"], map(_key_row, keys)
        )
    return output.EXIT_OK


@command
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (ed25519:…).")],
    as_json: JsonOpt = False,
) -> int:
    """Revoke a signing key (admin only; audited): statements signed with it are refused."""
    key = client().identity.revoke_key(key_id)
    if as_json:
        output.emit_json(key)
    else:
        output.ok(f"key {key.key_id} of {key.identity} revoked")
    return output.EXIT_OK


@command
def approval_sign(
    release_id: Annotated[str, typer.Argument(help="Release id.")],
    bundle_digest: Annotated[
        str, typer.Option("--bundle-digest", help="The bundle digest you reviewed.")
    ],
    role: Annotated[str, typer.Option("--role", help="The role you approve in.")],
    key: Annotated[Path, typer.Option("--key", help="Your Ed25519 private key file.")],
    out: Annotated[Path, typer.Option("--out", help="Signed approval file to create.")],
    expires: Annotated[
        str, typer.Option("--expires", help="14d, 12h, 2w, or an ISO date/time with zone.")
    ],
    identity: Annotated[
        str | None, typer.Option("--identity", help="Who approves (default: the actor).")
    ] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="A note.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """Sign an approval statement offline (no store): release, bundle digest, role,
    identity, issue time, expiry, comment and a nonce, signed with Ed25519. Present it with
    `airel approve RELEASE --signed FILE`."""
    if out.exists():
        raise InputError(
            Reason.INVALID_VALUE, f"{out} already exists", fix="choose another --out file"
        )
    c = client()
    document = c.gates.sign_approval(
        key,
        release_id=release_id,
        bundle_digest=bundle_digest,
        role=role,
        identity=identity or c.settings.actor,
        expires=expires,
        comment=comment,
    )
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    if as_json:
        output.emit_json(document)
    else:
        output.ok(f"signed approval written to {out} (key {document['key_id']})")
    return output.EXIT_OK


def _token_row(t: ApiToken) -> tuple[str, str, str, str, str]:
    state = f"revoked {t.revoked_at} by {t.revoked_by}" if t.revoked_at else "live"
    return t.token_id, t.identity, t.name, t.expires_at, state


@command
def token_create(
    identity: IdentityArg,
    name: Annotated[str, typer.Option("--name", help="What it is for (e.g. ci-pipeline).")],
    expires: Annotated[
        str | None, typer.Option("--expires", help="30d, 12h, 2w or an ISO date (default 90d).")
    ] = None,
    as_json: JsonOpt = False,
) -> int:
    """Create a REST API token for an identity (admin only; audited). The token is printed
    this once: only its SHA-256 is stored."""
    created = client().identity.create_token(identity, name, expires=expires)
    if as_json:
        output.emit_json({**created.token.model_dump(exclude={"secret_digest"}),
                          "token": created.text})  # fmt: skip
    else:
        output.ok(f"token {created.token.token_id} for {identity}, expires "
                  f"{created.token.expires_at} — shown once, keep it secret:")  # fmt: skip
        output.out.print(created.text, markup=False)
    return output.EXIT_OK


@command
def token_list(
    identity: Annotated[str | None, typer.Option("--identity", help="Only this identity.")] = None,
    as_json: JsonOpt = False,
) -> int:
    """API tokens in the store (never their secrets)."""
    found = client().identity.tokens(identity)
    if as_json:
        output.emit_json([t.model_dump(exclude={"secret_digest"}) for t in found])
    else:
        output.table("API tokens", ["token", "identity", "name", "expires", "state"],
                     map(_token_row, found))  # fmt: skip
    return output.EXIT_OK


@command
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token id (tok_…).")],
    as_json: JsonOpt = False,
) -> int:
    """Revoke an API token (yours, or any as an administrator; audited)."""
    token = client().identity.revoke_token(token_id)
    if as_json:
        output.emit_json(token.model_dump(exclude={"secret_digest"}))
    else:
        output.ok(f"token {token.token_id} of {token.identity} revoked")
    return output.EXIT_OK


# The group's commands (the group itself is listed in airel.cli.table).
role_app.command("grant")(role_grant)
role_app.command("revoke")(role_revoke)
role_app.command("list")(role_list)
key_app.command("generate")(key_generate)
key_app.command("register")(key_register)
key_app.command("list")(key_list)
key_app.command("revoke")(key_revoke)
approval_app.command("sign")(approval_sign)
token_app.command("create")(token_create)
token_app.command("list")(token_list)
token_app.command("revoke")(token_revoke)
