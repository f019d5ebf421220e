"""The store contract of the gate context.

Attestations, evidence links, approvals, waivers, decisions, role grants and signing keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a contract names the models; importing it builds none (issue 10)
    from airel.domain.gate.approvals import Approval, Waiver
    from airel.domain.gate.records import Attestation, DecisionRecord, EvidenceLink
    from airel.domain.kernel.roles import GrantRole, RoleGrant, SigningKey
    from airel.domain.kernel.tokens import ApiToken


class GateReads(Protocol):
    """Reads of the gate context (see the module docstring)."""

    def list_attestations(self, release_id: str) -> list[Attestation]:
        """A release's attestations, oldest first."""
        ...

    def list_evidence_links(self, release_id: str) -> list[EvidenceLink]:
        """Validation runs and eval records linked to a release, oldest link first."""
        ...

    def get_approval(self, approval_id: str) -> Approval | None: ...

    def list_approvals(self, release_id: str) -> list[Approval]:
        """Every approval presented for a release (valid or not), oldest first."""
        ...

    def list_waivers(self, release_id: str) -> list[Waiver]:
        """Every exception and risk acceptance recorded for a release, oldest first."""
        ...

    def get_decision(self, decision_id: str) -> DecisionRecord | None: ...

    def list_decisions(
        self, release_id: str | None = None, *, inputs_digest: str | None = None
    ) -> list[DecisionRecord]:
        """Stored gate decisions (optionally of one release), oldest first."""
        ...

    def list_role_grants(
        self, identity: str | None = None, *, include_revoked: bool = False
    ) -> list[RoleGrant]:
        """Role grants (live ones unless ``include_revoked``), by identity and role."""
        ...

    def get_signing_key(self, key_id: str) -> SigningKey | None: ...

    def list_signing_keys(self, identity: str | None = None) -> list[SigningKey]:
        """Registered keys (revoked ones too), oldest first."""
        ...

    def get_api_token(self, token_id: str) -> ApiToken | None: ...

    def list_api_tokens(self, identity: str | None = None) -> list[ApiToken]:
        """API tokens (revoked and expired ones too), oldest first."""
        ...


class GateWrites(Protocol):
    """Mutations of the gate context (inside :meth:`Store.write`)."""

    def insert_attestation(self, attestation: Attestation) -> None: ...

    def insert_evidence_link(self, link: EvidenceLink) -> None: ...

    def insert_approval(self, approval: Approval) -> None:
        """Record a sealed approval; a second use of its id raises APPROVAL_REPLAYED."""
        ...

    def insert_waiver(self, waiver: Waiver) -> None: ...

    def insert_decision(self, record: DecisionRecord) -> None: ...

    def grant_role(self, identity: str, role: GrantRole, *, at: str, by: str) -> RoleGrant:
        """Grant a role (a revoked grant is granted anew); the caller checks it is not live."""
        ...

    def revoke_role(self, identity: str, role: GrantRole, *, at: str, by: str) -> RoleGrant:
        """Mark a live grant revoked (kept as a record)."""
        ...

    def insert_signing_key(self, key: SigningKey) -> None: ...

    def revoke_signing_key(self, key_id: str, *, at: str, by: str) -> SigningKey:
        """Mark a registered key revoked (kept as a record)."""
        ...

    def insert_api_token(self, token: ApiToken) -> None: ...

    def revoke_api_token(self, token_id: str, *, at: str, by: str) -> ApiToken:
        """Mark a token revoked (kept as a record)."""
        ...
