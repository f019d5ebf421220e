"""The hash-chained audit log: entries, their hashes, and chain verification as pure functions.

Entry ``n`` hashes a canonical JSON payload holding its sequence number, the previous entry's
hash, the timestamp, actor, action, subject, the subject's digests before and after, and
details. Changing, deleting, inserting or reordering any entry breaks a hash or a link;
a rewrite that re-chains everything is caught by a signed checkpoint kept outside the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from json.encoder import encode_basestring
from typing import Any

from pydantic import BaseModel, ConfigDict

from airel.domain.kernel.canonical import DIGEST_PREFIX, fast_canonical_bytes

GENESIS_HASH = DIGEST_PREFIX + "0" * 64
CHECKPOINT_FORMAT = "airel-audit-checkpoint/1"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One appended audit entry (a plain slotted record: millions are streamed by verify)."""

    seq: int
    prev_hash: str
    at: str  # ISO-8601 UTC with microseconds, inside the hashed payload
    actor: str
    action: str  # e.g. "component.register", "alias.set", "bundle.freeze"
    subject: str  # a lineage node id or other stable subject id
    before: str | None  # the subject's digest before the change
    after: str | None  # the subject's digest after the change
    details_json: str  # the canonical (RFC 8785) text of the details, as hashed and stored
    entry_hash: str

    @property
    def details(self) -> dict[str, Any]:
        """The details as a mapping."""
        value = json.loads(self.details_json)
        return value if isinstance(value, dict) else {}


def entry_payload(
    seq: int,
    prev_hash: str,
    at: str,
    actor: str,
    action: str,
    subject: str,
    before: str | None,
    after: str | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    """The exact payload that is hashed."""
    return {
        "seq": seq,
        "prev": prev_hash,
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "before": before,
        "after": after,
        "details": details,
    }


def hash_payload(payload: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the payload's canonical bytes."""
    return DIGEST_PREFIX + hashlib.sha256(fast_canonical_bytes(payload)).hexdigest()


def canonical_details(details: dict[str, Any]) -> str:
    """The RFC 8785 text of an entry's details, as stored in the database."""
    return fast_canonical_bytes(details).decode("utf-8")


def _js(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def hash_entry(
    seq: int,
    prev_hash: str,
    at: str,
    actor: str,
    action: str,
    subject: str,
    before: str | None,
    after: str | None,
    details_json: str,
) -> str:
    """The entry hash, assembled directly: equal to ``hash_payload(entry_payload(...))``.

    The payload's keys are fixed ASCII and its values strings, an integer, nulls and the
    already-canonical details text, so its RFC 8785 form can be written in one format call
    (a property test pins the equality). This is the hot path of ``audit verify``.
    """
    enc = encode_basestring
    text = (
        f'{{"action":{enc(action)},"actor":{enc(actor)},"after":{_js(after)},'
        f'"at":{enc(at)},"before":{_js(before)},"details":{details_json},'
        f'"prev":{enc(prev_hash)},"seq":{int(seq)},"subject":{enc(subject)}}}'
    )
    return DIGEST_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


def recompute(entry: AuditEntry) -> str:
    """The hash an entry should have, from its own fields."""
    return hash_entry(
        entry.seq,
        entry.prev_hash,
        entry.at,
        entry.actor,
        entry.action,
        entry.subject,
        entry.before,
        entry.after,
        entry.details_json,
    )


class ChainProblemKind(StrEnum):
    """What is wrong at a point of the chain."""

    EDITED = "edited"  # an entry's content no longer matches its hash
    BROKEN_LINK = "broken_link"  # prev_hash does not match the previous entry (insert/reorder)
    GAP = "gap"  # sequence numbers skip: entries were deleted
    BAD_START = "bad_start"  # the chain does not start at seq 1 from the genesis hash
    HEAD_MISMATCH = "head_mismatch"  # the recorded head disagrees with the last entry
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # a signed checkpoint disagrees with the chain
    CHECKPOINT_INVALID = "checkpoint_invalid"  # a checkpoint's signature or format is bad


class ChainProblem(BaseModel):
    """One problem found while verifying."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    seq: int
    kind: ChainProblemKind
    detail: str


class ChainReport(BaseModel):
    """The result of verifying the whole chain (and optionally a checkpoint)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problems: tuple[ChainProblem, ...]
    checkpoint_seq: int | None = None
    records_checked: int | None = None  # live record rows re-hashed (None: not checked)
    record_problems: tuple[dict[str, Any], ...] = ()  # RecordProblem.to_dict() each


def verify_entries(
    entries: Iterable[AuditEntry], *, max_problems: int = 100
) -> tuple[int, int, str, list[ChainProblem]]:
    """Stream the chain in seq order; return (count, last seq, last hash, problems)."""
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    last_seq = 0
    for entry in entries:
        count += 1
        if count == 1 and entry.seq != 1:
            problems.append(
                ChainProblem(
                    seq=entry.seq,
                    kind=ChainProblemKind.BAD_START,
                    detail=f"first entry has seq {entry.seq}, expected 1",
                )
            )
        elif entry.seq != expected_seq:
            problems.append(
                ChainProblem(
                    seq=entry.seq,
                    kind=ChainProblemKind.GAP,
                    detail=f"expected seq {expected_seq}, found {entry.seq}",
                )
            )
        if entry.prev_hash != prev_hash:
            problems.append(
                ChainProblem(
                    seq=entry.seq,
                    kind=ChainProblemKind.BROKEN_LINK,
                    detail="prev_hash does not match the previous entry's hash",
                )
            )
        if recompute(entry) != entry.entry_hash:
            problems.append(
                ChainProblem(
                    seq=entry.seq,
                    kind=ChainProblemKind.EDITED,
                    detail="content does not match entry_hash",
                )
            )
        if len(problems) >= max_problems:
            break
        expected_seq = entry.seq + 1
        prev_hash = entry.entry_hash
        last_seq = entry.seq
    return count, last_seq, prev_hash, problems


def checkpoint_message(store_id: str, seq: int, entry_hash: str, at: str) -> bytes:
    """The exact bytes an Ed25519 checkpoint signs."""
    return fast_canonical_bytes(
        {
            "format": CHECKPOINT_FORMAT,
            "store_id": store_id,
            "seq": seq,
            "entry_hash": entry_hash,
            "at": at,
        }
    )
