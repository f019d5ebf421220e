"""Use cases: verify the audit chain; sign and check Ed25519 checkpoints of its head.

``verify`` streams every entry, recomputes each hash and link, and compares the recorded head.
A checkpoint is the chain head signed with an Ed25519 key kept outside the database; checking
one catches a rewrite that re-chained every entry consistently (an attacker with database
access but without the key cannot produce a matching signed head).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airel.adapters import signing
from airel.adapters.documents.parse import ParseLimits, parse_json, read_bounded
from airel.domain.release.audit import (
    CHECKPOINT_FORMAT,
    ChainProblem,
    ChainProblemKind,
    ChainReport,
    checkpoint_message,
    verify_entries,
)
from airel.domain.release.records import RecordProblem
from airel.errors import InputError, Reason
from airel.services.kernel.context import Context
from airel.services.release.record_integrity import (
    MAX_PROBLEMS,
    IndexMatcher,
    tap,
    verify_live_records,
)

_KEY_LIMITS = ParseLimits(max_bytes=16_384, max_depth=4, max_nodes=100)


def verify_chain(
    ctx: Context,
    *,
    checkpoint: Path | None = None,
    public_key: Path | None = None,
    records: bool = True,
) -> ChainReport:
    """Verify every entry, the recorded head, optionally a signed checkpoint, and (by
    default) every live record against the digest the chain recorded for it."""
    record_problems: list[RecordProblem] = []
    checked: int | None = None
    with ctx.store.read() as tx:
        entries = tx.iter_audit()
        if records:
            entries = tap(entries, IndexMatcher(tx.iter_index(), record_problems))
        count, last_seq, last_hash, problems = verify_entries(entries)
        if records:
            checked = verify_live_records(tx, record_problems)
        head_seq, head_hash = tx.audit_head()
        store_id = tx.store_id()
        checkpoint_seq: int | None = None
        if (head_seq, head_hash) != (last_seq, last_hash) and not problems:
            problems.append(
                ChainProblem(
                    seq=head_seq,
                    kind=ChainProblemKind.HEAD_MISMATCH,
                    detail=f"recorded head is seq {head_seq}, last entry is seq {last_seq}",
                )
            )
        if checkpoint is not None:
            data = _load_checkpoint(checkpoint)
            checkpoint_seq = int(data["seq"])
            problems.extend(_check_checkpoint(data, public_key, store_id))
            entry = tx.get_audit(checkpoint_seq)
            if entry is None or entry.entry_hash != data["entry_hash"]:
                problems.append(
                    ChainProblem(
                        seq=checkpoint_seq,
                        kind=ChainProblemKind.CHECKPOINT_MISMATCH,
                        detail="the chain no longer contains the signed entry "
                        + ("(it was removed)" if entry is None else "(its hash differs)"),
                    )
                )
    return ChainReport(
        ok=not problems and not record_problems,
        entries=count,
        head_seq=last_seq,
        head_hash=last_hash,
        problems=tuple(problems),
        checkpoint_seq=checkpoint_seq,
        records_checked=checked,
        record_problems=tuple(p.to_dict() for p in record_problems[:MAX_PROBLEMS]),
    )


def generate_key(private_path: Path, public_path: Path) -> str:
    """Write a new Ed25519 key pair (private key mode 0600); return the public key (base64)."""
    if public_path.exists():
        raise InputError(
            Reason.INVALID_KEY,
            f"{public_path} already exists",
            fix="choose another file name; airel never overwrites a key",
        )
    public = signing.generate_private_key(private_path)
    public_path.write_bytes(signing.public_pem(public))
    return public


def create_checkpoint(ctx: Context, private_key: Path, out: Path) -> dict[str, Any]:
    """Sign the current chain head after verifying the chain; write it to ``out``."""
    report = verify_chain(ctx)
    if not report.ok:
        raise InputError(
            Reason.HASH_MISMATCH,
            f"the audit chain is broken ({len(report.problems)} problem(s)); refusing to sign it",
            fix="run `airel audit verify` and investigate before checkpointing",
        )
    key = signing.load_private_key(private_key)
    with ctx.store.read() as tx:
        store_id = tx.store_id()
    at = ctx.stamp()
    message = checkpoint_message(store_id, report.head_seq, report.head_hash, at)
    data = {
        "format": CHECKPOINT_FORMAT,
        "store_id": store_id,
        "seq": report.head_seq,
        "entry_hash": report.head_hash,
        "at": at,
        "public_key": signing.raw_b64(key.public_key()),
        "signature": signing.sign(key, message),
    }
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return data


def _load_checkpoint(path: Path) -> dict[str, Any]:
    data = parse_json(read_bounded(path, _KEY_LIMITS), source=str(path), limits=_KEY_LIMITS)
    required = {"format", "store_id", "seq", "entry_hash", "at", "public_key", "signature"}
    if (
        not isinstance(data, dict)
        or data.get("format") != CHECKPOINT_FORMAT
        or not required <= set(data)
        or not isinstance(data.get("seq"), int)
        or isinstance(data.get("seq"), bool)
        or not all(isinstance(data[k], str) for k in required - {"seq"})
    ):
        raise InputError(
            Reason.INVALID_KEY,
            f"{path} is not an airel audit checkpoint ({CHECKPOINT_FORMAT})",
            fix="pass a file written by `airel audit checkpoint`",
        )
    return data


def _check_checkpoint(
    data: dict[str, Any], public_key: Path | None, store_id: str
) -> list[ChainProblem]:
    seq = int(data["seq"])
    problems: list[ChainProblem] = []
    if (
        public_key is not None
        and signing.load_public_key(public_key, allow_private=False) != data["public_key"]
    ):
        problems.append(
            ChainProblem(
                seq=seq,
                kind=ChainProblemKind.CHECKPOINT_INVALID,
                detail="signed with a different key",
            )
        )
    message = checkpoint_message(data["store_id"], seq, data["entry_hash"], data["at"])
    if not signing.verify(data["public_key"], message, data["signature"]):
        problems.append(
            ChainProblem(
                seq=seq,
                kind=ChainProblemKind.CHECKPOINT_INVALID,
                detail="the signature does not verify",
            )
        )
    if data["store_id"] != store_id:
        problems.append(
            ChainProblem(
                seq=seq,
                kind=ChainProblemKind.CHECKPOINT_INVALID,
                detail="the checkpoint belongs to another store",
            )
        )
    return problems
