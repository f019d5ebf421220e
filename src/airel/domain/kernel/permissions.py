"""What each role may do through the REST API, as data (issue 13; G6, C2).

Deny by default: an identity may do exactly what the union of its live grants allows, and an
identity without grants may do nothing — not even read. Every route of the API declares one
:class:`Permission` (a test enumerates the routes and fails on any without). A permission
lets a request reach a use case; the use case still applies its own rules: ``APPROVE`` lets
an approver ask, and the approval service still checks that the identity holds the very role
it approves in and did not submit the release (segregation of duties).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from airel.domain.kernel.roles import AccessRole, AdminRole, GrantRole, Role, RoleGrant


class Permission(StrEnum):
    """What a request may do (one per route)."""

    PUBLIC = "public"  # no identity needed: health, the OpenAPI document
    READ = "read"  # read records: components, bundles, decisions, audit, traces …
    REGISTER = "register"  # register components, freeze bundles, move aliases
    EVIDENCE = "evidence"  # record evidence: attestations, validation runs, eval records
    GATE = "gate"  # run the gates and store a decision
    APPROVE = "approve"  # record an approval (in a role the identity holds)
    ACCEPT_RISK = "accept_risk"  # record an exception or a risk acceptance
    PROMOTE = "promote"  # promote, advance, pause, resume or abort a rollout
    ROLLBACK = "rollback"  # roll a release or one component back
    ADMIN = "admin"  # tokens, role grants, signing keys


_APPROVER = frozenset({Permission.READ, Permission.APPROVE, Permission.ACCEPT_RISK})
_OPERATOR = _APPROVER | {Permission.GATE, Permission.PROMOTE, Permission.ROLLBACK}

# role → what it may do; approver roles approve and accept risk in their own role, the roles
# that run releases also move them (§4.2: the release manager and the platform owner)
ROLE_PERMISSIONS: Mapping[GrantRole, frozenset[Permission]] = {
    AdminRole.ADMIN: frozenset({Permission.READ, Permission.ADMIN}),
    AccessRole.AUDITOR: frozenset({Permission.READ}),
    AccessRole.ENGINEER: frozenset(
        {Permission.READ, Permission.REGISTER, Permission.EVIDENCE, Permission.GATE}
    ),
    **dict.fromkeys(Role, _APPROVER),
    Role.RELEASE_MANAGER: _OPERATOR,
    Role.PLATFORM: _OPERATOR,
}


def permissions_of(grants: Iterable[RoleGrant]) -> frozenset[Permission]:
    """What the live grants allow together (empty when there are none: deny by default)."""
    allowed: set[Permission] = {Permission.PUBLIC}
    live = [g for g in grants if g.live]
    if not live:
        return frozenset()
    for grant in live:
        allowed |= ROLE_PERMISSIONS.get(grant.role, frozenset())
    return frozenset(allowed)
