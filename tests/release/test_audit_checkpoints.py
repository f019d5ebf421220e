"""'audit': a signed checkpoint catches what the chain alone cannot (truncation, a
consistent re-chain; C2), and bad keys and checkpoint files are refused with a reason.

Covers checkpoint verification as the chain grows, checkpoints signed by another key, edited,
of another store or of a broken chain, key generation, unusable private and public keys, and
malformed checkpoint files. Tampering is done the way an attacker with database access would:
SQLAlchemy Core statements on ``client.ctx.store.engine`` against ``audit_log`` and
``audit_head``. Every test that takes ``client`` (via ``fraud_registry``) runs on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from airel.client import Client
from airel.config import load_settings
from airel.domain.release.audit import ChainProblemKind, ChainReport
from airel.errors import (
    AirelError,
    InputError,
    NotFoundError,
    ParseError,
    Reason,
)
from audit_helpers import (
    K,
    activity_fixture,  # noqa: F401  (the pytest fixture ``activity``)
    engine,
    execute,
    head,
    head_table,
    log,
    problems,
    row_hash,
    rows,
)


def kinds(report: ChainReport) -> set[ChainProblemKind]:
    return {p.kind for p in report.problems}


def set_head_to_last(client: Client) -> None:
    last = rows(client)[-1]
    execute(
        client,
        head_table.update().values(seq=last["seq"], entry_hash=last["entry_hash"]),
    )


def rechain(client: Client) -> None:
    """What an attacker without the signing key does: recompute every hash and link."""
    with engine(client).begin() as conn:
        prev = "sha256:" + "0" * 64
        for row in [dict(r._mapping) for r in conn.execute(sa.select(log).order_by(log.c.seq))]:
            row["prev_hash"] = prev
            row["entry_hash"] = row_hash(row)
            conn.execute(
                log.update()
                .where(log.c.seq == row["seq"])
                .values(prev_hash=row["prev_hash"], entry_hash=row["entry_hash"])
            )
            prev = row["entry_hash"]
            last = row["seq"]
        conn.execute(head_table.update().values(seq=last, entry_hash=prev))


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "keys"
    folder.mkdir()
    priv, pub = folder / "audit.key", folder / "audit.pub"
    Client.generate_key(priv, pub)
    return priv, pub


@pytest.fixture
def checkpoint(activity: Client, keys: tuple[Path, Path], tmp_path: Path) -> Path:
    out = tmp_path / "checkpoint.json"
    activity.audit.checkpoint(keys[0], out)
    return out


# -- what only a signed checkpoint catches ------------------------------------------------


def test_checkpoint_verifies_and_survives_later_activity(
    activity: Client, keys: tuple[Path, Path], checkpoint: Path
) -> None:
    """'audit': a checkpoint matches its chain, also after the chain grows."""
    data = json.loads(checkpoint.read_text(encoding="utf-8"))
    assert (data["seq"], data["entry_hash"]) == head(activity)
    report = activity.audit.verify(checkpoint=checkpoint, public_key=keys[1])
    assert report.ok
    assert report.checkpoint_seq == data["seq"]
    activity.registry.set_alias("model", "fraud-score", "production", "2.0.0")
    report = activity.audit.verify(checkpoint=checkpoint, public_key=keys[1])
    assert report.ok
    assert report.head_seq == data["seq"] + 1
    assert activity.audit.verify(checkpoint=checkpoint).ok  # embedded key, no pinning


def test_truncation_is_only_caught_by_a_checkpoint(
    activity: Client, keys: tuple[Path, Path], checkpoint: Path
) -> None:
    """'audit': deleting the newest entries and fixing the head fools the chain alone; the
    records those entries wrote are left without a voucher (C2, issue 18)."""
    total = len(rows(activity))
    execute(activity, log.delete().where(log.c.seq > total - 3))
    set_head_to_last(activity)
    alone = activity.audit.verify(records=False)
    assert alone.ok  # the chain alone cannot know it used to be longer
    assert alone.entries == total - 3
    with_records = activity.audit.verify()
    assert not with_records.ok
    assert {p["kind"] for p in with_records.record_problems} == {"unvouched"}
    report = activity.audit.verify(checkpoint=checkpoint, public_key=keys[1])
    assert not report.ok
    assert problems(report) == [(total, K.CHECKPOINT_MISMATCH)]


def test_consistent_rechain_is_only_caught_by_a_checkpoint(
    activity: Client, keys: tuple[Path, Path], checkpoint: Path
) -> None:
    """'audit': an edit followed by recomputing every hash and the head needs the checkpoint."""
    total = len(rows(activity))
    execute(activity, log.update().where(log.c.seq == 3).values(actor="mallory"))
    assert not activity.audit.verify().ok
    rechain(activity)
    alone = activity.audit.verify()
    assert alone.ok
    assert alone.entries == total
    report = activity.audit.verify(checkpoint=checkpoint, public_key=keys[1])
    assert not report.ok
    assert problems(report) == [(total, K.CHECKPOINT_MISMATCH)]


def test_checkpoint_signed_by_another_key_is_invalid(
    activity: Client, keys: tuple[Path, Path], checkpoint: Path, tmp_path: Path
) -> None:
    """'audit': pinning the public key refuses a checkpoint signed by any other key."""
    other_priv, other_pub = tmp_path / "other.key", tmp_path / "other.pub"
    Client.generate_key(other_priv, other_pub)
    report = activity.audit.verify(checkpoint=checkpoint, public_key=other_pub)
    assert not report.ok
    assert kinds(report) == {K.CHECKPOINT_INVALID}

    # An attacker re-chains after an edit and signs the new head with their own key.
    execute(activity, log.update().where(log.c.seq == 2).values(actor="mallory"))
    rechain(activity)
    forged = tmp_path / "forged.json"
    activity.audit.checkpoint(other_priv, forged)
    report = activity.audit.verify(checkpoint=forged, public_key=keys[1])
    assert not report.ok
    assert kinds(report) == {K.CHECKPOINT_INVALID}


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("seq", lambda v: v - 1),
        ("entry_hash", lambda v: "sha256:" + "e" * 64),
        ("at", lambda v: "2020-01-01T00:00:00.000000Z"),
        ("store_id", lambda v: "00000000-0000-0000-0000-000000000000"),
        ("signature", lambda v: "AAAA" + v[4:]),
        ("signature", lambda v: "not base64!"),
        ("public_key", lambda v: "AAAA" + v[4:]),
    ],
)
def test_edited_checkpoint_is_invalid(
    activity: Client,
    keys: tuple[Path, Path],
    checkpoint: Path,
    field: str,
    change: Callable[[Any], Any],
) -> None:
    """'audit': any edit of a signed checkpoint breaks its signature."""
    data = json.loads(checkpoint.read_text(encoding="utf-8"))
    data[field] = change(data[field])
    checkpoint.write_text(json.dumps(data), encoding="utf-8")
    for public_key in (keys[1], None):
        report = activity.audit.verify(checkpoint=checkpoint, public_key=public_key)
        assert not report.ok
        assert K.CHECKPOINT_INVALID in kinds(report)
        assert kinds(report) <= {K.CHECKPOINT_INVALID, K.CHECKPOINT_MISMATCH}


def test_checkpoint_of_another_store_is_invalid(
    activity: Client, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """'audit': a checkpoint is bound to the store id it was made for."""
    other_dir = tmp_path / "other-store"
    other_dir.mkdir()
    other = Client(
        load_settings(
            {"database_url": f"sqlite:///{other_dir / 'airel.db'}", "actor": "bob"},
            cwd=other_dir,
            environ={},
        )
    )
    try:
        other.init()
        foreign = tmp_path / "foreign.json"
        other.audit.checkpoint(keys[0], foreign)
        assert other.audit.verify(checkpoint=foreign, public_key=keys[1]).ok
    finally:
        other.close()
    report = activity.audit.verify(checkpoint=foreign, public_key=keys[1])
    assert not report.ok
    assert K.CHECKPOINT_INVALID in kinds(report)
    assert any("another store" in p.detail for p in report.problems)


def test_checkpoint_of_a_broken_chain_is_refused(
    activity: Client, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """'audit': airel never signs a chain that does not verify."""
    execute(activity, log.update().where(log.c.seq == 4).values(actor="mallory"))
    out = tmp_path / "cp.json"
    with pytest.raises(InputError) as exc:
        activity.audit.checkpoint(keys[0], out)
    assert exc.value.reason == Reason.HASH_MISMATCH
    assert not out.exists()


# -- bad keys and checkpoint files --------------------------------------------------------


def test_keygen_writes_a_private_key_only_the_owner_can_read(tmp_path: Path) -> None:
    """'audit': the private key is created 0600 and the public key is returned."""
    priv, pub = tmp_path / "k", tmp_path / "k.pub"
    raw = Client.generate_key(priv, pub)
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    assert b"PRIVATE KEY" in priv.read_bytes()
    assert b"PUBLIC KEY" in pub.read_bytes()
    assert len(raw) == 44  # 32 raw bytes, base64


@pytest.mark.parametrize("existing", ["private", "public"])
def test_keygen_refuses_to_overwrite(tmp_path: Path, existing: str) -> None:
    """'audit': keygen never replaces an existing key file (INVALID_KEY)."""
    priv, pub = tmp_path / "k", tmp_path / "k.pub"
    target = priv if existing == "private" else pub
    target.write_bytes(b"precious")
    with pytest.raises(InputError) as exc:
        Client.generate_key(priv, pub)
    assert exc.value.reason == Reason.INVALID_KEY
    assert target.read_bytes() == b"precious"
    assert [p.exists() for p in (priv, pub)].count(True) == 1


def _ec_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize(
    ("content", "error", "reason"),
    [
        (b"this is not a key\n", InputError, Reason.INVALID_KEY),
        (b"", InputError, Reason.INVALID_KEY),
        (None, InputError, Reason.INVALID_KEY),  # an EC key: right format, wrong algorithm
        (b"-----BEGIN PRIVATE KEY-----\n" + b"A" * 20_000, ParseError, Reason.DOC_TOO_LARGE),
    ],
    ids=["text", "empty", "ec-key", "huge"],
)
def test_unusable_private_key_is_refused(
    activity: Client,
    tmp_path: Path,
    content: bytes | None,
    error: type[AirelError],
    reason: Reason,
) -> None:
    """'audit': checkpoint refuses a private key file it cannot use, and writes nothing."""
    key = tmp_path / "bad.key"
    key.write_bytes(_ec_pem() if content is None else content)
    out = tmp_path / "cp.json"
    with pytest.raises(error) as exc:
        activity.audit.checkpoint(key, out)
    assert exc.value.reason == reason
    assert not out.exists()


def test_missing_private_key_is_not_found(activity: Client, tmp_path: Path) -> None:
    """'audit': a missing key file is reported as missing."""
    with pytest.raises(NotFoundError) as exc:
        activity.audit.checkpoint(tmp_path / "absent.key", tmp_path / "cp.json")
    assert exc.value.reason == Reason.ARTIFACT_MISSING


@pytest.mark.parametrize("which", ["garbage", "private-key"])
def test_unusable_public_key_is_refused(
    activity: Client, keys: tuple[Path, Path], checkpoint: Path, tmp_path: Path, which: str
) -> None:
    """'audit': verification refuses a public key file that is not an Ed25519 public key."""
    pub = tmp_path / "bad.pub"
    pub.write_bytes(b"nope" if which == "garbage" else keys[0].read_bytes())
    with pytest.raises(InputError) as exc:
        activity.audit.verify(checkpoint=checkpoint, public_key=pub)
    assert exc.value.reason == Reason.INVALID_KEY


def _valid(checkpoint: Path) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(checkpoint.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("make", "error", "reason"),
    [
        (
            lambda d: '{"format": "airel-audit-checkpoint/1", "seq": ',
            ParseError,
            Reason.JSON_SYNTAX,
        ),
        (
            lambda d: json.dumps(d)[:-1] + ', "seq": 1}',
            ParseError,
            Reason.DUPLICATE_KEY,
        ),
        (
            lambda d: json.dumps({**d, "padding": "x" * 1_048_576}),
            ParseError,
            Reason.DOC_TOO_LARGE,
        ),
        (lambda d: json.dumps([d]), InputError, Reason.INVALID_KEY),
        (lambda d: json.dumps({**d, "format": "other/1"}), InputError, Reason.INVALID_KEY),
        (
            lambda d: json.dumps({k: v for k, v in d.items() if k != "signature"}),
            InputError,
            Reason.INVALID_KEY,
        ),
        (lambda d: json.dumps({**d, "seq": str(d["seq"])}), InputError, Reason.INVALID_KEY),
        (lambda d: json.dumps({**d, "seq": True}), InputError, Reason.INVALID_KEY),
        (lambda d: json.dumps({**d, "entry_hash": None}), InputError, Reason.INVALID_KEY),
        (lambda d: "\ufeff\xff" + json.dumps(d), ParseError, Reason.JSON_SYNTAX),
    ],
    ids=[
        "truncated",
        "duplicate-key",
        "1MB",
        "list",
        "format",
        "missing-field",
        "seq-string",
        "seq-bool",
        "hash-null",
        "junk-prefix",
    ],
)
def test_malformed_checkpoint_is_refused(
    activity: Client,
    keys: tuple[Path, Path],
    checkpoint: Path,
    make: Callable[[dict[str, Any]], str],
    error: type[AirelError],
    reason: Reason,
) -> None:
    """'audit': a checkpoint file that is not a well-formed checkpoint raises with a reason."""
    checkpoint.write_text(make(_valid(checkpoint)), encoding="utf-8")
    with pytest.raises(error) as exc:
        activity.audit.verify(checkpoint=checkpoint, public_key=keys[1])
    assert exc.value.reason == reason
