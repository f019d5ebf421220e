"""Who may act, and how that was established (G6, C2): approver roles, the administrator role,
role grants and registered signing keys, as pure data.

Roles are a kernel notion: gate approvals and waivers name them, promotion approvals and the
REST API's permissions will too. Roles live in the store as :class:`RoleGrant` records —
identity → role, granted and revoked by an administrator, each change audited. ``admin``
(:class:`AdminRole`) manages grants and keys; it is not an approver role and no policy can ask
for it. :class:`AuthMethod` records how the actor of an approval was established.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from airel.errors import InputError, Reason

KEY_PREFIX = "ed25519:"
KEY_ID_HEX = 32  # 128 bits of the SHA-256 of the raw public key

Name = Annotated[str, Field(min_length=1, max_length=128)]


class Role(StrEnum):
    """Approver roles (§4.2 approval requirements, §8.1 approvals)."""

    BUSINESS_OWNER = "business_owner"  # accountable for the business outcome
    MODEL_RISK = "model_risk"  # independent model validation
    COMPLIANCE = "compliance"  # regulatory obligations
    SECURITY = "security"  # security review
    PRIVACY = "privacy"  # privacy / data protection review
    DATA_OWNER = "data_owner"  # owns the data the release uses
    PLATFORM = "platform"  # runs the platform the release deploys on
    PRODUCT_OWNER = "product_owner"  # owns the product (Tier 2/3 sign-off)
    RELEASE_MANAGER = "release_manager"  # runs the release process
    RISK = "risk"  # enterprise risk (Tier 0 review)
    LEGAL = "legal"  # legal (Tier 0 review)
    EXECUTIVE = "executive"  # executive sponsor (Tier 0 review)


class AuthMethod(StrEnum):
    """How the approver of an approval or waiver was established (G6, C2). The REST API adds
    its token / OIDC methods."""

    UNAUTHENTICATED_LOCAL = "unauthenticated-local"  # the local actor, trusted as configured
    SIGNED_ED25519 = "signed-ed25519"  # a signature under the approver's registered key
    API_TOKEN = "api-token"  # noqa: S105 - the REST API's bearer token of the identity (issue 13)


def parse_role(value: str) -> Role:
    """A role by name; an unknown one is refused with the list of known roles."""
    try:
        return Role(value.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise InputError(
            Reason.UNKNOWN_ROLE,
            f"unknown approver role {value!r}",
            fix="one of " + ", ".join(r.value for r in Role),
            details={"role": value},
        ) from None


class AdminRole(StrEnum):
    """The role that manages the store's identities (not an approver role)."""

    ADMIN = "admin"  # grants and revokes roles, registers and revokes signing keys


class AccessRole(StrEnum):
    """Roles for working with the records that approve nothing (REST API permissions)."""

    ENGINEER = "engineer"  # registers components, freezes bundles, records evidence, runs gates
    AUDITOR = "auditor"  # reads every record and exports evidence; changes nothing


GrantRole = Role | AdminRole | AccessRole


def parse_grant_role(value: str) -> GrantRole:
    """An approver role, an access role or ``admin``; an unknown one is refused with the list
    of roles."""
    cleaned = value.strip().lower().replace("-", "_").replace(" ", "_")
    if cleaned == AdminRole.ADMIN.value:
        return AdminRole.ADMIN
    try:
        return AccessRole(cleaned)
    except ValueError:
        pass
    try:
        return Role(cleaned)
    except ValueError:
        raise InputError(
            Reason.UNKNOWN_ROLE,
            f"unknown role {value!r}",
            fix="one of admin, engineer, auditor, " + ", ".join(r.value for r in Role),
            details={"role": value},
        ) from None


class RoleGrant(BaseModel):
    """One identity → role assignment as stored (revoked ones are kept)."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    identity: Name
    role: GrantRole
    granted_at: str
    granted_by: Name
    revoked_at: str | None = None
    revoked_by: str | None = None

    @property
    def live(self) -> bool:
        """True while not revoked."""
        return self.revoked_at is None


def approver_roles(grants: list[RoleGrant]) -> frozenset[Role]:
    """The approver roles among live grants."""
    return frozenset(g.role for g in grants if g.live and isinstance(g.role, Role))


def is_admin(grants: list[RoleGrant]) -> bool:
    """True when a live grant is ``admin``."""
    return any(g.live and g.role is AdminRole.ADMIN for g in grants)


class SigningKey(BaseModel):
    """An approver's registered Ed25519 public key."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    key_id: str
    identity: Name
    public_key: str  # the raw 32 bytes, base64
    created_at: str
    created_by: Name
    revoked_at: str | None = None
    revoked_by: str | None = None


def key_id_of(raw_public_key: bytes) -> str:
    """``ed25519:`` + the first 128 bits (hex) of the SHA-256 of the raw public key."""
    return KEY_PREFIX + hashlib.sha256(raw_public_key).hexdigest()[:KEY_ID_HEX]
