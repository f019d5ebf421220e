"""Release gates: decisions, memos, approvals, waivers, evidence and policies (``airel gate``,
``approve``, ``accept-risk``, ``evidence``, ``policy``).

A facet of :class:`airel.Client` (``client.gates``), loaded when first used; each method is one
service call with its arguments translated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airel.adapters.documents.parse import ParseLimits, load_document
from airel.domain.gate import memo as gate_memo
from airel.domain.gate.approvals import Approval, Waiver
from airel.domain.gate.decision import Decision
from airel.domain.gate.metrics import METRICS, MetricDef
from airel.domain.gate.records import Attestation, DecisionRecord, EvidenceLink
from airel.domain.gate.stack import Conditions, GateId
from airel.domain.kernel.roles import Role
from airel.domain.kernel.validation import parse_record
from airel.errors import InputError, Reason, ValidationError
from airel.sdk.facet import Facet
from airel.services.gate import approvals as gate_approvals
from airel.services.gate import decisions as gates
from airel.services.gate import evidence as gate_evidence
from airel.services.gate import policy as gate_policy
from airel.services.gate import signed_approvals
from airel.services.gate.approvals import Waived
from airel.services.gate.decisions import Checked, Recheck
from airel.services.gate.evidence import ReleaseEvidence
from airel.services.gate.policy import LoadedPolicy, PolicyDiff

Expiry = str | datetime | timedelta | None


__all__ = ["Gates", "Waived"]


def _gate(value: GateId | str | None) -> GateId | None:
    if value is None or isinstance(value, GateId):
        return value
    try:
        return GateId(value.strip().upper())
    except ValueError:
        raise ValidationError(
            Reason.POLICY_UNKNOWN_GATE, f"unknown gate {value!r}", fix="gates are G0 … G9"
        ) from None


def _scope(scope: Conditions | Mapping[str, Any] | None) -> Conditions | None:
    if scope is None or isinstance(scope, Conditions):
        return scope
    return parse_record(Conditions, scope, source="scope")


class Gates(Facet):
    """The ``client.gates`` facet (see the module docstring)."""

    def check(
        self,
        release_id: str,
        *,
        through: GateId | str | None = None,
        policy: str | None = None,
        now: datetime | None = None,
    ) -> Checked:
        """Run the gates (up to ``through``) under a policy (default: the shipped one) and
        store the decision."""
        return gates.check(self.ctx, release_id, through=_gate(through), policy_ref=policy, now=now)

    def preview(
        self,
        release_id: str,
        *,
        through: GateId | str | None = None,
        policy: str | None = None,
        now: datetime | None = None,
    ) -> Decision:
        """Run the gates on the current evidence without storing a decision."""
        return gates.preview(
            self.ctx, release_id, through=_gate(through), policy_ref=policy, now=now
        )

    def decision(self, release_or_decision: str) -> DecisionRecord:
        """A stored decision by id, or the latest decision of a release."""
        return gates.explain(self.ctx, release_or_decision)

    def recheck(self, release_or_decision: str) -> Recheck:
        """Re-run the engine on a stored decision's inputs: is it reproduced exactly?"""
        return gates.recheck(self.ctx, release_or_decision)

    def decisions(self, release_id: str | None = None) -> list[DecisionRecord]:
        """Stored decisions, oldest first."""
        return gates.list_decisions(self.ctx, release_id)

    def memo(self, release_or_decision: str, *, html: bool = False) -> str:
        """The §8.1 release gate memo of a stored decision, as Markdown or HTML."""
        body = gates.explain(self.ctx, release_or_decision).body
        return gate_memo.render_html(body) if html else gate_memo.render_markdown(body)

    def approve(
        self,
        release_id: str,
        role: Role | str,
        *,
        expires: Expiry = None,
        comment: str | None = None,
        bundle_digest: str | None = None,
        policy: str | None = None,
        sign_with: Path | str | None = None,
        now: datetime | None = None,
    ) -> Approval:
        """Approve the release's bundle digest in ``role`` as the acting identity, which must
        hold the role in the store. With ``sign_with`` (an Ed25519 private key file whose
        public key is registered to the identity) the approval is signed and verified
        (``auth: signed-ed25519``); without, it is recorded as ``unauthenticated-local``."""
        if sign_with is not None:
            return signed_approvals.approve_signed(
                self.ctx,
                release_id,
                role,
                Path(sign_with),
                expires=expires,
                comment=comment,
                bundle_digest=bundle_digest,
                policy_ref=policy,
                now=now,
            )
        return gate_approvals.approve(
            self.ctx,
            release_id,
            role,
            expires=expires,
            comment=comment,
            bundle_digest=bundle_digest,
            policy_ref=policy,
            now=now,
        )

    def present_signed_approval(
        self,
        document: Mapping[str, Any] | Path | str,
        *,
        release_id: str | None = None,
        role: Role | str | None = None,
        now: datetime | None = None,
    ) -> Approval:
        """Verify and record a signed approval (a mapping, or the JSON file
        ``airel approval sign`` wrote): the signature must verify under the key registered
        to the statement's identity, and the identity must hold the role; single use.
        ``release_id`` / ``role``, when given, must be what the statement says."""
        if isinstance(document, (str, Path)):
            doc = load_document(Path(document), self.ctx.limits)
            data: Mapping[str, Any] = doc.data
        else:
            data = document
        return signed_approvals.present_signed(
            self.ctx, data, release_id=release_id, role=role, now=now
        )

    @staticmethod
    def sign_approval(
        private_key: Path | str,
        *,
        release_id: str,
        bundle_digest: str,
        role: Role | str,
        identity: str,
        expires: Expiry,
        comment: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Sign an approval statement offline (no store): the document to present with
        :meth:`present_signed_approval` / ``airel approve --signed``."""
        if expires is None:
            raise ValidationError(
                Reason.MISSING_FIELD,
                "a signed approval needs an expiry",
                fix="give --expires, e.g. 14d or 2026-12-31",
            )
        signed = signed_approvals.sign_statement(
            Path(private_key),
            release_id=release_id,
            bundle_digest=bundle_digest,
            role=role,
            identity=identity,
            expires=expires,
            comment=comment,
            now=now,
        )
        return signed.model_dump(mode="json")

    def approvals(self, release_id: str) -> list[Approval]:
        """Every approval recorded for a release."""
        return gate_approvals.list_approvals(self.ctx, release_id)

    def add_exception(
        self,
        release_id: str,
        rules: Sequence[str],
        *,
        reason: str,
        expires: Expiry,
        scope: Conditions | Mapping[str, Any] | None = None,
        role: Role | str | None = None,
        policy: str | None = None,
        now: datetime | None = None,
    ) -> Waived:
        """Record an exception for soft rules (conditions and an expiry)."""
        return gate_approvals.add_exception(
            self.ctx,
            release_id,
            rules,
            reason=reason,
            expires=expires,
            scope=_scope(scope),
            role=role,
            policy_ref=policy,
            now=now,
        )

    def accept_risk(
        self,
        release_id: str,
        rules: Sequence[str],
        *,
        reason: str,
        controls: Sequence[str],
        expires: Expiry,
        scope: Conditions | Mapping[str, Any] | None,
        role: Role | str | None = None,
        policy: str | None = None,
        now: datetime | None = None,
    ) -> Waived:
        """Accept a residual hard risk (scope, expiry, compensating controls, approver)."""
        return gate_approvals.accept_risk(
            self.ctx,
            release_id,
            rules,
            reason=reason,
            controls=controls,
            expires=expires,
            scope=_scope(scope),
            role=role,
            policy_ref=policy,
            now=now,
        )

    def waivers(self, release_id: str) -> list[Waiver]:
        """Every exception and risk acceptance recorded for a release."""
        return gate_approvals.list_waivers(self.ctx, release_id)

    def add_evidence(
        self,
        release_id: str,
        kind: str,
        metrics: Mapping[str, Any],
        *,
        status: str = "ok",
        source: str | None = None,
    ) -> Attestation:
        """Record attested metrics (CI, reviews, shadow, canary, ramp, post-release)."""
        return gate_evidence.add_attestation(
            self.ctx, release_id, kind, metrics, status=status, source=source
        )

    def link_evidence(
        self, release_id: str, *, eval: str | None = None, validation: str | None = None
    ) -> EvidenceLink:
        """Count a stored eval record or validation run as evidence for the release."""
        if (eval is None) == (validation is None):
            raise InputError(
                Reason.INVALID_VALUE,
                "link exactly one record: an eval record or a validation run",
                fix="give --eval ID or --validation ID",
            )
        if eval is not None:
            return gate_evidence.link_evidence(self.ctx, release_id, "eval", eval)
        assert validation is not None
        return gate_evidence.link_evidence(self.ctx, release_id, "validation", validation)

    def evidence(self, release_id: str) -> ReleaseEvidence:
        """The release's evidence links and attestations."""
        return gate_evidence.list_evidence(self.ctx, release_id)

    def policy(self, ref: str | None = None) -> LoadedPolicy:
        """A gate policy by reference (default: the shipped ``airel-default:1.0``)."""
        return gate_policy.load_policy(self.ctx, ref)

    def diff_policies(self, old: str, new: str) -> PolicyDiff:
        """Rules and tiers changed between two policies, and a unified diff."""
        return gate_policy.diff_policies(self.policy(old), self.policy(new))

    def check_policy_file(self, path: Path | str) -> LoadedPolicy:
        """Strictly parse and check a policy file; ``extends`` of the shipped default needs
        no store, other references are read from the registry."""
        limits = ParseLimits(max_bytes=self.settings.max_document_bytes)
        offline = gate_policy.registry_loader(None, limits)

        def load(ref: str) -> Mapping[str, Any]:
            if ref == gate_policy.DEFAULT_REF:
                return offline(ref)
            return gate_policy.registry_loader(self.ctx, limits)(ref)

        return gate_policy.check_policy_file(Path(path), limits, load)

    @staticmethod
    def policy_metrics() -> list[MetricDef]:
        """Every metric gate rules may read, with its type and evidence kind."""
        return list(METRICS.values())
