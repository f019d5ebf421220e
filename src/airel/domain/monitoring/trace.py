"""Request traces: one per request the gateway served (or copied to a shadow), with the full
§7.3 lineage of the release that answered it (T1).

A trace answers "which release, built from which versions, under which gate decision, gave
this answer to this customer, and what did it touch?". Its fields are the playbook's §7.3
list; for Tier 1 and Tier 2 it also keeps the high-risk elements (input classification,
retrieved evidence, feature values, policy decisions, the tool-call ledger, human override and
the customer-impact flag). Text is stored only *masked* (:func:`airel.domain.monitoring.masking
.mask_text`), and the sticky key (customer, session) only as a keyed digest.

A trace is immutable once committed; feedback (an override, a complaint) is a separate record
against its ``request_id`` (:class:`Feedback`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, Strict

Text = Annotated[str, Field(min_length=1, max_length=512)]
Short = Annotated[str, Field(max_length=512)]
Code = Annotated[str, Field(max_length=64)]  # stored in a 64-character column
Id = Annotated[str, Field(min_length=1, max_length=128)]  # a release or use-case id column
Stamp = Annotated[  # ISO-8601 UTC, as the store writes times (fits the 32-character column)
    str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$", max_length=32)
]
Tag = Annotated[str, Field(min_length=1, max_length=64)]
RequestId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{8,128}$")]
TRACE_FORMAT = "airel-trace/1"


class Mode(StrEnum):
    """How the release took part in the request."""

    LIVE = "live"  # its answer was returned to the caller
    SHADOW = "shadow"  # it got a copy; its answer was recorded and never returned


class InputClass(StrEnum):
    """The sensitive classes the gateway detects in a request (§7.3 input classification)."""

    PII = "pii"  # a personal identifier (email, IBAN, phone, national id …)
    PCI = "pci"  # a payment card number (Luhn-valid)
    AML = "aml"  # anti-money-laundering context (SAR, structuring, sanctions …)
    CREDIT = "credit"  # a credit decision or limit
    COMPLAINT = "complaint"  # the customer complains or disputes
    VULNERABLE_CUSTOMER = "vulnerable_customer"  # hardship, bereavement, illness, tagged vulnerable


class ToolOutcome(StrEnum):
    """What happened to one tool call."""

    EXECUTED = "executed"  # the tool ran (read tools, or approved writes live)
    DRY_RUN = "dry_run"  # a write in shadow or draft mode: simulated, no side effect
    REFUSED = "refused"  # the gateway refused it (disabled, unapproved write, shadow write)


class ToolCall(BaseModel):
    """One line of the tool-call ledger."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: Text
    arguments_digest: Text  # sha256 of the canonical arguments: the raw arguments are not kept
    side_effect: bool  # a write tool (it changes something outside the answer)
    outcome: ToolOutcome
    approval: Short | None = None  # the approval reference a write carried
    idempotency_key: Short | None = None
    reason: Short | None = None  # why refused / dry-run


class HumanReview(StrEnum):
    """Where a human stands on this answer (§7.3 human_review_status)."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    ACCEPTED = "accepted"
    MODIFIED = "modified"
    REJECTED = "rejected"


class Trace(BaseModel):
    """One request as one release saw it (§7.3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: RequestId
    at: Stamp  # when the gateway received the request
    mode: Annotated[Mode, Strict(False)] = Mode.LIVE
    # -- §7.3 lineage ----------------------------------------------------------------------
    release_id: Id
    use_case_id: Id | None = None
    risk_tier: Annotated[int, Field(ge=1, le=3)] | None = None
    model_version: Short | None = None
    prompt_version: Short | None = None
    policy_version: Short | None = None
    feature_view_version: Short | None = None
    dataset_or_index_version: Short | None = None
    tool_schema_version: Short | None = None
    eval_gate_id: Short | None = None  # the gate decision that admitted the release
    deployment_route: Annotated[str, Field(min_length=3, max_length=530)]  # route@lane
    manifest_digest: Short | None = None
    human_review_status: Annotated[HumanReview, Strict(False)] = HumanReview.NOT_REQUIRED
    monitoring_tags: list[Short] = Field(default_factory=list, max_length=64)
    # -- what happened -----------------------------------------------------------------------
    key_digest: Code | None = None  # keyed digest of the sticky key (customer / session)
    segments: list[Tag] = Field(default_factory=list, max_length=30)  # ≤ 2048 joined
    status: int = Field(ge=0, le=999)  # the upstream's HTTP status (0: no answer)
    latency_ms: float = Field(ge=0, allow_inf_nan=False)
    cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    error: Code | None = None  # TIMEOUT, UPSTREAM_5XX, UNREACHABLE … (None: answered)
    fallback: bool = False  # the answer came from the baseline because the candidate failed
    quality_flags: list[Short] = Field(default_factory=list, max_length=64)  # e.g. pii_leak
    critical_failure: bool = False
    # -- high-risk elements (Tier 1 and 2) ---------------------------------------------------
    input_classes: list[Annotated[InputClass, Strict(False)]] = Field(default_factory=list)
    retrieved_evidence: list[Short] = Field(default_factory=list, max_length=256)
    feature_values: dict[Text, float | int | str | bool | None] = Field(default_factory=dict)
    policy_decisions: list[Short] = Field(default_factory=list, max_length=256)
    tool_calls: list[ToolCall] = Field(default_factory=list, max_length=256)
    human_override: bool = False
    customer_impact: bool = False
    input_text: Annotated[str, Field(max_length=8192)] | None = None  # masked
    output_text: Annotated[str, Field(max_length=8192)] | None = None  # masked

    def row(self) -> dict[str, Any]:
        """The canonical JSON body (what is stored and hashed)."""
        return {"format": TRACE_FORMAT, **self.model_dump(mode="json", exclude_defaults=True)}


class FeedbackKind(StrEnum):
    """What a person said about one answer."""

    OVERRIDE = "override"  # a reviewer accepted, modified or rejected the answer
    COMPLAINT = "complaint"  # the customer complained about it


class Feedback(BaseModel):
    """A human override or a complaint against one request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: RequestId
    kind: Annotated[FeedbackKind, Strict(False)]
    at: Text
    by: Text
    review: Annotated[HumanReview, Strict(False)] | None = None  # for an override
    note: Annotated[str, Field(max_length=2048)] | None = None  # masked before it is stored


# -- storing traces: canonical rows, batches and their roots -----------------------------------


class TraceColumns(NamedTuple):
    """The fields of a trace the store keeps as columns (to query and analyse without parsing
    bodies), in column order; plain values, so a row can cross a process boundary."""

    request_id: str
    release_id: str
    mode: str
    route: str
    at: str
    use_case_id: str | None
    key_digest: str | None
    status: int
    latency_ms: float
    critical: bool
    error: str | None
    cost: float | None
    quality_failure: bool  # any online quality rule failed
    override: bool  # a human overrode the answer in-flow
    segments: str  # comma-joined segment tags
    model_version: str | None
    prompt_version: str | None
    policy_version: str | None
    feature_view_version: str | None
    dataset_or_index_version: str | None
    tool_schema_version: str | None


@dataclass(frozen=True, slots=True)
class TraceRow:
    """A trace ready to store: its columns, its canonical body and the digest its batch root
    covers."""

    columns: TraceColumns
    body_json: str
    digest: str


_PREFIX = f'{{"format":"{TRACE_FORMAT}",'.encode()
_SERIALIZER = Trace.__pydantic_serializer__  # the core serializer: no wrapper per call


def trace_row(trace: Trace) -> TraceRow:
    """The stored form of ``trace``: its columns, its body (compact UTF-8 JSON, fields in model
    order, defaults left out: what :meth:`Trace.row` holds, serialised by pydantic's core
    straight to bytes — a third of the cost of sorting keys in Python) and the body's sha256.
    The digest covers the stored text, so verification re-hashes what is stored, whatever the
    key order."""
    raw = _PREFIX + _SERIALIZER.to_json(trace, exclude_defaults=True)[1:]
    t = trace
    columns = TraceColumns(
        t.request_id, t.release_id, t.mode.value, t.deployment_route, t.at, t.use_case_id,
        t.key_digest, t.status, t.latency_ms, t.critical_failure, t.error, t.cost,
        bool(t.quality_flags), t.human_override, ",".join(t.segments), t.model_version,
        t.prompt_version, t.policy_version, t.feature_view_version, t.dataset_or_index_version,
        t.tool_schema_version,
    )  # fmt: skip
    return TraceRow(columns, raw.decode("utf-8"), "sha256:" + hashlib.sha256(raw).hexdigest())


def batch_root(digests: Iterable[str]) -> str:
    """The root of a batch: sha256 over its traces' digests in order, one per line."""
    h = hashlib.sha256()
    for d in digests:
        h.update(d.encode("ascii"))
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


class TraceBatch(BaseModel):
    """One committed ingest batch (bound to the audit chain; its traces are vouched for by
    ``root``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_id: int = Field(ge=1)
    count: int = Field(ge=1)
    root: Text
    first_at: Text
    last_at: Text
    created_at: Text
    created_by: Text


class TraceQuery(BaseModel):
    """Which traces: a release or route, a component version, a window (``since`` ≤ at <
    ``until``), a mode; ordered by time, paged by ``limit``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    release_id: Short | None = None
    route: Short | None = None  # route@lane
    component: tuple[str, str] | None = None  # (a TRACE_VERSION_FIELDS name, its version)
    since: Short | None = None
    until: Short | None = None
    mode: Annotated[Mode, Strict(False)] | None = None
    limit: int = Field(default=1000, ge=1, le=1_000_000)


TRACE_VERSION_FIELDS = (
    "model_version",
    "prompt_version",
    "policy_version",
    "feature_view_version",
    "dataset_or_index_version",
    "tool_schema_version",
)
