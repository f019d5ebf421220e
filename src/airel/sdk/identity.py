"""Role grants, signing keys and API tokens, changed by administrators (``airel role``,
``key``, ``token``).

A facet of :class:`airel.Client` (``client.identity``), loaded when first used; each method is one
service call with its arguments translated.
"""

from __future__ import annotations

from pathlib import Path

from airel.adapters import signing
from airel.domain.kernel.roles import GrantRole, RoleGrant, SigningKey
from airel.domain.kernel.tokens import ApiToken
from airel.sdk.facet import Facet
from airel.services.gate import identities, tokens
from airel.services.gate.tokens import CreatedToken


class Identity(Facet):
    """The ``client.identity`` facet (see the module docstring)."""

    def role_grants(
        self,
        *,
        identity: str | None = None,
        role: GrantRole | str | None = None,
        include_revoked: bool = False,
    ) -> list[RoleGrant]:
        """Role grants in the store (live ones unless ``include_revoked``)."""
        return identities.list_grants(
            self.ctx, identity=identity, role=role, include_revoked=include_revoked
        )

    def grant_role(self, identity: str, role: GrantRole | str) -> RoleGrant:
        """Grant a role (admin only; a no-op when already held)."""
        return identities.grant_role(self.ctx, identity, role)[0]

    def revoke_role(self, identity: str, role: GrantRole | str) -> RoleGrant:
        """Revoke a live grant (admin only; never the last admin)."""
        return identities.revoke_role(self.ctx, identity, role)

    def register_key(self, identity: str, public_key: Path | str) -> SigningKey:
        """Register an identity's Ed25519 public key from a file (PEM, or the base64 raw key
        ``generate_signing_key`` returned) or given as that base64 text; admin only."""
        path = Path(public_key)
        text = signing.load_public_key(path) if path.is_file() else str(public_key)
        return identities.register_key(self.ctx, identity, text)[0]

    def revoke_key(self, key_id: str) -> SigningKey:
        """Revoke a signing key (admin only)."""
        return identities.revoke_key(self.ctx, key_id)

    def signing_keys(self, identity: str | None = None) -> list[SigningKey]:
        """Registered signing keys (revoked ones too)."""
        return identities.list_keys(self.ctx, identity)

    def create_token(self, identity: str, name: str, *, expires: str | None = None) -> CreatedToken:
        """A REST API token for ``identity`` (admin only); its text is in the result, once."""
        return tokens.create_token(self.ctx, identity, name, expires=expires)

    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke an API token (your own, or any as an administrator)."""
        return tokens.revoke_token(self.ctx, token_id)

    def tokens(self, identity: str | None = None) -> list[ApiToken]:
        """API tokens (revoked and expired ones too; never their secrets)."""
        return tokens.list_tokens(self.ctx, identity)

    @staticmethod
    def generate_signing_key(private_key: Path | str) -> str:
        """Write a new Ed25519 private key (PEM, mode 0600) for signing approvals; return
        its public key (raw, base64) to register with ``airel key register``."""
        return signing.generate_private_key(Path(private_key))
