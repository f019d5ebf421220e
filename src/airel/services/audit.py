"""Use cases: verify the audit chain; sign and check Ed25519 checkpoints of its head.

``verify`` streams every entry, recomputes each hash and link, and compares the recorded head.
A checkpoint is the chain head signed with an Ed25519 key kept outside the database; checking
one catches a rewrite that re-chained every entry consistently (an attacker with database
access but without the key cannot produce a matching signed head).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from airel.adapters.documents import ParseLimits, parse_json, read_bounded
from airel.domain.audit import (
    CHECKPOINT_FORMAT,
    ChainProblem,
    ChainProblemKind,
    ChainReport,
    checkpoint_message,
    verify_entries,
)
from airel.domain.records import RecordProblem
from airel.errors import AirelError, InputError, Reason
from airel.services.context import Context
from airel.services.record_integrity import (
    MAX_PROBLEMS,
    IndexMatcher,
    tap,
    verify_live_records,
)
from airel.store.sql import utc_now

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
    for path in (private_path, public_path):
        if path.exists():
            raise InputError(
                Reason.INVALID_KEY,
                f"{path} already exists",
                fix="choose another file name; airel never overwrites a key",
            )
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = key.public_key()
    public_path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return _raw_b64(public)


def create_checkpoint(ctx: Context, private_key: Path, out: Path) -> dict[str, Any]:
    """Sign the current chain head after verifying the chain; write it to ``out``."""
    report = verify_chain(ctx)
    if not report.ok:
        raise InputError(
            Reason.HASH_MISMATCH,
            f"the audit chain is broken ({len(report.problems)} problem(s)); refusing to sign it",
            fix="run `airel audit verify` and investigate before checkpointing",
        )
    key = _load_private(private_key)
    with ctx.store.read() as tx:
        store_id = tx.store_id()
    at = utc_now()
    message = checkpoint_message(store_id, report.head_seq, report.head_hash, at)
    data = {
        "format": CHECKPOINT_FORMAT,
        "store_id": store_id,
        "seq": report.head_seq,
        "entry_hash": report.head_hash,
        "at": at,
        "public_key": _raw_b64(key.public_key()),
        "signature": base64.b64encode(key.sign(message)).decode("ascii"),
    }
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return data


def _raw_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(read_bounded(path, _KEY_LIMITS), password=None)
    except AirelError:
        raise
    except (ValueError, TypeError) as exc:
        raise InputError(
            Reason.INVALID_KEY,
            f"{path} is not an unencrypted PEM private key: {exc}",
            fix="create one with `airel audit keygen`",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            Reason.INVALID_KEY,
            f"{path} is not an Ed25519 key",
            fix="create one with `airel audit keygen`",
        )
    return key


def _load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(read_bounded(path, _KEY_LIMITS))
    except AirelError:
        raise
    except (ValueError, TypeError) as exc:
        raise InputError(
            Reason.INVALID_KEY,
            f"{path} is not a PEM public key: {exc}",
            fix="pass the .pub file written by `airel audit keygen`",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(
            Reason.INVALID_KEY,
            f"{path} is not an Ed25519 public key",
            fix="pass the .pub file written by `airel audit keygen`",
        )
    return key


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
    try:
        if public_key is not None:
            key = _load_public(public_key)
            if _raw_b64(key) != data["public_key"]:
                problems.append(
                    ChainProblem(
                        seq=seq,
                        kind=ChainProblemKind.CHECKPOINT_INVALID,
                        detail="signed with a different key",
                    )
                )
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data["public_key"]))
        message = checkpoint_message(data["store_id"], seq, data["entry_hash"], data["at"])
        key.verify(base64.b64decode(data["signature"], validate=True), message)
    except (InvalidSignature, ValueError):
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
