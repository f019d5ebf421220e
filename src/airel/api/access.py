"""Access routes: who am I, and API tokens (administrators create and list; anyone may
revoke their own)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from airel.api.auth import Ctx, Routes
from airel.domain.kernel.permissions import Permission
from airel.services.gate import identities, tokens

routes = Routes("access")


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    identity: Annotated[str, Field(max_length=128)]
    name: Annotated[str, Field(max_length=128)]
    expires: Annotated[str, Field(max_length=40)] | None = None


def _public(token: Any) -> Any:
    return {k: v for k, v in jsonable_encoder(token).items() if k != "secret_digest"}


@routes.get("/whoami", Permission.READ)
def whoami(ctx: Ctx, request: Request) -> Any:
    """The authenticated identity, its live roles and what they allow."""
    principal: tokens.Principal = request.state.principal
    grants = identities.list_grants(ctx, identity=principal.identity)
    return {
        "identity": principal.identity,
        "token_id": principal.token_id,
        "roles": sorted(g.role.value for g in grants),
        "permissions": sorted(p.value for p in principal.permissions),
    }


@routes.get("/tokens", Permission.ADMIN)
def list_tokens(ctx: Ctx, identity: str | None = None) -> Any:
    """API tokens (never their secrets)."""
    return {"items": [_public(t) for t in tokens.list_tokens(ctx, identity)]}


@routes.post("/tokens", Permission.ADMIN, status_code=201)
def create_token(ctx: Ctx, body: TokenBody) -> Any:
    """A new token for an identity: the answer holds its text, shown this once."""
    created = tokens.create_token(ctx, body.identity, body.name, expires=body.expires)
    return {**_public(created.token), "token": created.text}


@routes.delete("/tokens/{token_id}", Permission.READ)
def revoke_token(ctx: Ctx, token_id: str) -> Any:
    """Revoke a token (your own, or any as an administrator)."""
    return _public(tokens.revoke_token(ctx, token_id))
