"""Stored gate records (G4, G5): attestations, evidence links and gate decisions.

An :class:`Attestation` is evidence airel does not compute itself — CI results, reviews, and
the shadow, canary, ramp and post-release evidence — recorded for one release as typed metric
values of one evidence kind. Its id is the digest of its content, so the decision that read it
names exactly what it read. An :class:`EvidenceLink` ties a stored validation run or eval
record to a release. A :class:`DecisionRecord` is one run of the gate engine: the decision,
the policy version and the digest of every input, with the full body that explains and
reproduces it. All three are immutable once stored.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from airel.domain.kernel.canonical import digest_of


class LinkKind(StrEnum):
    """What kind of stored record an evidence link points at."""

    VALIDATION = "validation"  # a data & feature validation run (G3)
    EVAL = "eval"  # an eval run or comparison (G4)


class AttestationStatus(StrEnum):
    """What an attestation says about its own evidence."""

    OK = "ok"  # the metrics were measured
    ERRORED = "errored"  # the producing job failed: every metric reads as errored
    INCONCLUSIVE = "inconclusive"  # the job could not decide: every metric is inconclusive


class Attestation(BaseModel):
    """Typed metric values of one attestation kind, recorded for one release."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    attestation_id: str  # sha256 of the other fields
    release_id: str
    kind: str  # an attestation EvidenceKind value (ci, security_review, shadow …)
    status: AttestationStatus
    metrics: dict[str, Any]
    source: str | None  # where it came from: a CI run URL, a review ticket …
    created_at: str
    created_by: str

    @staticmethod
    def identify(content: dict[str, Any]) -> str:
        """The id of an attestation with ``content`` (every field but the id)."""
        return digest_of({"format": "airel-attestation/1", **content})


class EvidenceLink(BaseModel):
    """A stored validation run or eval record counted as evidence for a release."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    release_id: str
    kind: LinkKind
    record_id: str
    created_at: str
    created_by: str


class DecisionRecord(BaseModel):
    """One stored gate decision; ``body`` holds the inputs and the outcome in full."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    decision_id: str  # sha256 of the evidence set, the outcome and the window's start
    release_id: str
    bundle_digest: str
    decision: str  # a DecisionKind value
    policy_ref: str
    policy_digest: str
    inputs_digest: str
    through: str | None  # the last gate run (None: the tier's whole stack)
    expires_at: str
    created_at: str
    created_by: str
    body: dict[str, Any]

    @property
    def decided_at(self) -> str | None:
        """When the decision was taken (the start of its window; None before format 2)."""
        value = (self.body.get("outcome") or {}).get("decided_at")
        return str(value) if value else None

    @property
    def valid_until(self) -> str | None:
        """The end of the window in which its outcome holds for unchanged evidence."""
        value = (self.body.get("outcome") or {}).get("valid_until")
        return str(value) if value else None


DECISION_FORMAT = "airel-decision/2"


def decision_id_of(inputs_digest: str, outcome_key: dict[str, Any], decided_at: str) -> str:
    """The identity of a decision: the evidence set it read (``inputs_digest``, no clock),
    what it answered (the outcome without its times) and when its window started."""
    return digest_of(
        {
            "format": DECISION_FORMAT,
            "inputs": inputs_digest,
            "outcome": outcome_key,
            "decided_at": decided_at,
        }
    )
