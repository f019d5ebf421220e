"""Gate-context routes: decisions and their explanation, the gate check, approvals, risk
acceptances and attested evidence. Every write runs the same use case as the CLI and SDK,
as the authenticated identity: the approval service itself checks that the identity holds the
role and did not submit the release (segregation of duties), whatever the route allowed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from airel.api.auth import Ctx, Routes
from airel.api.http import DEFAULT_LIMIT, MAX_LIMIT, page
from airel.domain.gate.stack import Conditions, GateId
from airel.domain.kernel.permissions import Permission
from airel.domain.kernel.roles import Role
from airel.services.gate import approvals, decisions, evidence

routes = Routes("gate")
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0)]
Text = Annotated[str, Field(max_length=4000)]
Rule = Annotated[str, Field(max_length=200)]
Span = Annotated[
    str, Field(max_length=40, description="14d, 12h, 2w or an ISO date/time with a zone")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckBody(_Body):
    through: GateId | None = None  # run the stack up to this gate (default: the tier's whole stack)


class ApprovalBody(_Body):
    role: Role
    comment: Text | None = None
    expires: Span | None = None
    bundle_digest: Annotated[str, Field(max_length=71)] | None = None  # the digest reviewed


class RiskAcceptanceBody(_Body):
    rules: Annotated[
        list[Annotated[str, Field(max_length=200)]], Field(min_length=1, max_length=50)
    ]
    reason: Text
    controls: Annotated[list[Text], Field(min_length=1, max_length=50)]
    expires: Span
    scope: Conditions
    role: Role | None = None


class EvidenceBody(_Body):
    kind: Annotated[str, Field(max_length=64)]
    metrics: dict[Annotated[str, Field(max_length=128)], Any] = Field(max_length=500)
    status: Annotated[str, Field(max_length=32)] = "ok"
    source: Annotated[str, Field(max_length=500)] | None = None


@routes.get("/releases/{release_id}/decisions", Permission.READ)
def list_decisions(
    ctx: Ctx, release_id: str, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
) -> Any:
    """A release's stored gate decisions, oldest first."""
    return page(decisions.list_decisions(ctx, release_id), limit, offset)


@routes.get("/decisions/{ident}", Permission.READ)
def explain_decision(ctx: Ctx, ident: str) -> Any:
    """A decision by id, or the latest of a release, with every rule's result."""
    return jsonable_encoder(decisions.explain(ctx, ident))


@routes.post("/releases/{release_id}/gate-checks", Permission.GATE, status_code=201)
def check_gates(ctx: Ctx, release_id: str, body: CheckBody) -> Any:
    """Run the gates on the current evidence and store the decision."""
    return jsonable_encoder(decisions.check(ctx, release_id, through=body.through))


@routes.get("/releases/{release_id}/approvals", Permission.READ)
def list_approvals(ctx: Ctx, release_id: str) -> Any:
    """Every approval presented for a release."""
    return {"items": jsonable_encoder(approvals.list_approvals(ctx, release_id))}


@routes.post("/releases/{release_id}/approvals", Permission.APPROVE, status_code=201)
def approve(ctx: Ctx, release_id: str, body: ApprovalBody) -> Any:
    """Approve the release's bundle in a role the authenticated identity holds."""
    approval = approvals.approve(
        ctx,
        release_id,
        body.role,
        expires=body.expires,
        comment=body.comment,
        bundle_digest=body.bundle_digest,
    )
    return jsonable_encoder(approval)


@routes.get("/releases/{release_id}/waivers", Permission.READ)
def list_waivers(ctx: Ctx, release_id: str) -> Any:
    """Every exception and risk acceptance recorded for a release."""
    return {"items": jsonable_encoder(approvals.list_waivers(ctx, release_id))}


@routes.post("/releases/{release_id}/risk-acceptances", Permission.ACCEPT_RISK, status_code=201)
def accept_risk(ctx: Ctx, release_id: str, body: RiskAcceptanceBody) -> Any:
    """Accept a residual hard risk: scope, expiry, compensating controls, approver."""
    waived = approvals.accept_risk(ctx, release_id, body.rules, reason=body.reason,
                                   controls=body.controls, expires=body.expires,
                                   scope=body.scope, role=body.role)  # fmt: skip
    return jsonable_encoder(waived)


@routes.get("/releases/{release_id}/evidence", Permission.READ)
def list_evidence(ctx: Ctx, release_id: str) -> Any:
    """The evidence the gates read for a release."""
    return jsonable_encoder(evidence.list_evidence(ctx, release_id))


@routes.post("/releases/{release_id}/evidence", Permission.EVIDENCE, status_code=201)
def add_evidence(ctx: Ctx, release_id: str, body: EvidenceBody) -> Any:
    """Record attested metrics of one evidence kind (CI, review, shadow, canary …)."""
    attestation = evidence.add_attestation(ctx, release_id, body.kind, body.metrics,
                                           status=body.status, source=body.source)  # fmt: skip
    return jsonable_encoder(attestation)
