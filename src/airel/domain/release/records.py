"""Records bound to the audit chain (C2, B2, G6): which tables, how a row is digested, and what
can be wrong with a record, as pure data and functions.

Every audit entry carries, in its hashed details under ``records``, the content digest of each
record row its transaction wrote: ``{"table", "key", "digest"}``. A row's digest is the
SHA-256 of the canonical JSON of its table name and every column value as stored, so editing
any value of a live row — even one whose local seal or content id was recomputed to match —
no longer matches the digest the chain vouches for. Verification re-hashes each live row and
compares it with the latest entry that wrote it (:func:`check_row`); the gate engine does the
same for every record it reads before it counts it. An entry that deletes a row (freezing a
draft removes it) records the digest :data:`REMOVED` for it: the row's absence is then what the
chain vouches for, and a row present again is unaudited.

What the chain cannot show by itself: a writer with database access who rewrites the whole
chain after the edit. A signed checkpoint (``airel audit checkpoint``, kept outside the
database) catches that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from airel.domain.kernel.canonical import DIGEST_PREFIX, fast_canonical_bytes

RECORDS_KEY = "records"  # the reserved details key of an audit entry
REMOVED = "removed"  # the digest an entry records for a row it deleted (a draft on freeze)


class RecordTable(StrEnum):
    """The record tables whose rows the audit chain binds (all but the chain itself)."""

    COMPONENTS = "components"  # registered component versions (R1–R5)
    ARTIFACTS = "artifacts"  # content-addressed artifact metadata (B2)
    ALIASES = "aliases"  # movable aliases (the latest write is the truth)
    ALIAS_MOVES = "alias_moves"  # alias history
    BUNDLES = "bundles"  # frozen release bundles (B1, B2)
    BUNDLE_DRAFTS = "bundle_drafts"  # editable drafts, removed when frozen (B1)
    LINEAGE_EDGES = "lineage_edges"  # the lineage graph (R7)
    PROFILES = "profiles"  # stored data profiles (V4)
    VALIDATION_RUNS = "validation_runs"  # validation evidence (V1–V3)
    EVAL_RECORDS = "eval_records"  # eval runs and comparisons (E1–E4)
    ATTESTATIONS = "gate_attestations"  # attested gate evidence (G5)
    EVIDENCE_LINKS = "evidence_links"  # evidence counted for a release (G5)
    APPROVALS = "approvals"  # sign-offs (G6)
    WAIVERS = "waivers"  # exceptions and risk acceptances (G6)
    DECISIONS = "gate_decisions"  # gate decisions (G4)
    ROLE_GRANTS = "role_grants"  # identity → role assignments (G6)
    SIGNING_KEYS = "signing_keys"  # approvers' registered public keys (G6)
    API_TOKENS = "api_tokens"  # REST API bearer tokens, the secret only as a digest (G6)
    TRAFFIC_PLANS = "traffic_plans"  # §5.6 rollout plans promotions cite (P5)
    DEPLOYMENTS = "deployments"  # deployment manifests (R6)
    PROMOTIONS = "promotions"  # moves along the stage graph (P1)
    ROUTES = "routes"  # desired vs observed traffic per route (the latest write is the truth)
    ROUTE_EVENTS = "route_events"  # what moved a route, with each step's analysis (P5)
    ROLLBACKS = "rollbacks"  # rollbacks by component, quarantines, compensation (P6)
    DRILLS = "drills"  # rollback runbook drills (§8.6)
    CT_TRIGGERS = "ct_triggers"  # continuous-training trigger records (P4, §8.7)
    INCIDENTS = "incidents"  # incidents opened by stops, rollbacks and triggers
    TRACE_BATCHES = "trace_batches"  # committed trace ingest batches: count and root (T1)
    TRACE_FEEDBACK = "trace_feedback"  # human overrides and complaints against a request (T1)


def record_key(values: Sequence[Any]) -> str:
    """The key text of a row: its primary-key values, in key order, as a JSON array."""
    return json.dumps([_plain(v) for v in values], separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


_SAFE_INT = 2**53  # integers JSON and RFC 8785 write alike
_PLAIN_TYPES = frozenset({type(None), bool, int, str})  # stored as they are


def row_digest(table: str, row: Mapping[str, Any]) -> str:
    """The content digest of one stored row: every column, as stored.

    The bytes are RFC 8785 (:func:`~airel.domain.kernel.canonical.fast_canonical_bytes`). A
    row's values are flat (None, booleans, integers, text) and its column names ASCII, so
    ``json.dumps`` gives those bytes directly unless an integer is too large for a double;
    ``audit verify`` re-hashes every live row, so this path is the hot one.
    """
    plain = {k: v if type(v) in _PLAIN_TYPES else _plain(v) for k, v in row.items()}
    payload = {"table": table, "row": plain}
    if all(type(v) is not int or -_SAFE_INT < v < _SAFE_INT for v in plain.values()):
        try:
            data = json.dumps(
                payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the RFC 8785 encoder reports it
            data = fast_canonical_bytes(payload)
    else:
        data = fast_canonical_bytes(payload)
    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class RecordRef:
    """One record: its table and primary-key values."""

    table: RecordTable
    key: tuple[str | int, ...]

    @property
    def key_text(self) -> str:
        """The key as stored in the audit index."""
        return record_key(self.key)

    def __str__(self) -> str:
        return f"{self.table.value}{list(self.key)}"


class RecordProblemKind(StrEnum):
    """What is wrong with a record, checked against the audit chain."""

    EDITED = "edited"  # the row no longer has the digest its audit entry recorded
    UNAUDITED = "unaudited"  # a live row that no audit entry wrote (inserted behind airel)
    DELETED = "deleted"  # an audit entry wrote it, but the row is gone
    UNVOUCHED = "unvouched"  # the index names an entry whose hashed content does not list it


@dataclass(frozen=True)
class RecordProblem:
    """One record that does not match the chain."""

    table: str
    key: str
    kind: RecordProblemKind
    detail: str
    seq: int | None = None  # the audit entry that wrote it, when known

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "table": self.table,
            "key": self.key,
            "kind": self.kind.value,
            "detail": self.detail,
            "seq": self.seq,
        }


def check_row(
    table: str, key: str, live: str | None, audited: tuple[int, str] | None
) -> RecordProblem | None:
    """Compare a row's live digest (None: no such row) with the latest audited one."""
    if live is None and audited is None:
        return None
    if audited is None:
        return RecordProblem(
            table, key, RecordProblemKind.UNAUDITED, "no audit entry wrote this row"
        )
    seq, digest = audited
    if digest == REMOVED:
        if live is None:
            return None  # removed by the entry that says so
        return RecordProblem(
            table, key, RecordProblemKind.UNAUDITED, f"removed by entry {seq}, yet present", seq
        )
    if live is None:
        return RecordProblem(
            table, key, RecordProblemKind.DELETED, f"written by entry {seq}, now gone", seq
        )
    if live != digest:
        return RecordProblem(
            table,
            key,
            RecordProblemKind.EDITED,
            f"content {live[:19]}… differs from {digest[:19]}… recorded by entry {seq}",
            seq,
        )
    return None


def entry_records(details: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The ``(table, key, digest)`` triples an entry's hashed details vouch for."""
    out: list[tuple[str, str, str]] = []
    for item in details.get(RECORDS_KEY) or []:
        if isinstance(item, Mapping):
            out.append((str(item.get("table")), str(item.get("key")), str(item.get("digest"))))
    return out
