"""'audit': the hash chain catches edits, deletions, insertions and reordering; a signed
checkpoint catches what the chain alone cannot (truncation, a consistent re-chain).

Tampering is done the way an attacker with database access would: SQLAlchemy Core statements
on ``client.ctx.store.engine`` against ``audit_log`` and ``audit_head``. Every test that takes
``client`` (directly or via ``fraud_registry``) runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import rfc8785
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from airel.client import Client
from airel.config import load_settings
from airel.domain.kernel.canonical import fast_canonical_bytes
from airel.domain.release.audit import (
    ChainProblemKind,
    ChainReport,
    canonical_details,
    entry_payload,
    hash_entry,
    hash_payload,
)
from airel.errors import (
    AirelError,
    InputError,
    NotFoundError,
    ParseError,
    Reason,
    StoreError,
    ValidationError,
)
from airel.store import schema as t
from airel.store.sql import SqlStore

K = ChainProblemKind
log, head_table = t.audit_log, t.audit_head


# -- helpers ------------------------------------------------------------------------------


def engine(client: Client) -> sa.Engine:
    return cast(SqlStore, client.ctx.store).engine


def rows(client: Client) -> list[dict[str, Any]]:
    with engine(client).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(log).order_by(log.c.seq))]


def head(client: Client) -> tuple[int, str]:
    with engine(client).connect() as conn:
        row = conn.execute(sa.select(head_table.c.seq, head_table.c.entry_hash)).one()
    return int(row[0]), str(row[1])


def problems(report: ChainReport) -> list[tuple[int, ChainProblemKind]]:
    return [(p.seq, p.kind) for p in report.problems]


def kinds(report: ChainReport) -> set[ChainProblemKind]:
    return {p.kind for p in report.problems}


def row_hash(row: dict[str, Any]) -> str:
    return hash_payload(
        entry_payload(
            row["seq"],
            row["prev_hash"],
            row["at"],
            row["actor"],
            row["action"],
            row["subject"],
            row["before_digest"],
            row["after_digest"],
            json.loads(row["details_json"]),
        )
    )


def execute(client: Client, *statements: Any) -> None:
    with engine(client).begin() as conn:
        for statement in statements:
            conn.execute(statement)


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
def activity(fraud_registry: Client) -> Client:
    """A registry with real history: init, eight registrations, three alias moves."""
    for version in ("1.0.0", "2.0.0", "1.0.0"):
        fraud_registry.registry.set_alias(
            "model", "fraud-score", "production", version, reason="test"
        )
    report = fraud_registry.audit.verify()
    assert report.ok
    assert report.entries >= 10
    return fraud_registry


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


# -- an untouched chain -------------------------------------------------------------------


def test_untouched_chain_verifies(activity: Client) -> None:
    """'audit': real activity produces a verifying chain whose head is the last entry."""
    report = activity.audit.verify()
    entries = rows(activity)
    assert report.ok
    assert report.problems == ()
    assert report.entries == len(entries) == report.head_seq
    assert (report.head_seq, report.head_hash) == head(activity)
    assert {"store.init", "component.register", "alias.set"} <= {r["action"] for r in entries}


# -- tampering the chain catches by itself ------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("actor", "mallory", [(5, K.EDITED)]),
        ("action", "store.init", [(5, K.EDITED)]),
        ("subject", "model/other:1", [(5, K.EDITED)]),
        ("at", "2020-01-01T00:00:00.000000Z", [(5, K.EDITED)]),
        ("after_digest", "sha256:" + "d" * 64, [(5, K.EDITED)]),
        ("details_json", '{"forged":true}', [(5, K.EDITED)]),
        ("prev_hash", "sha256:" + "1" * 64, [(5, K.BROKEN_LINK), (5, K.EDITED)]),
        ("entry_hash", "sha256:" + "2" * 64, [(5, K.EDITED), (6, K.BROKEN_LINK)]),
    ],
)
def test_edited_field_is_detected(
    activity: Client, column: str, value: str, expected: list[tuple[int, ChainProblemKind]]
) -> None:
    """'audit': changing any stored field of one entry is reported at that entry."""
    execute(activity, log.update().where(log.c.seq == 5).values({column: value}))
    report = activity.audit.verify()
    assert not report.ok
    assert problems(report) == expected


def test_deleted_middle_entry_is_a_gap_and_broken_link(activity: Client) -> None:
    """'audit': deleting an entry leaves a seq gap and a dangling link at the next one."""
    total = len(rows(activity))
    execute(activity, log.delete().where(log.c.seq == 5))
    report = activity.audit.verify()
    assert not report.ok
    assert problems(report) == [(6, K.GAP), (6, K.BROKEN_LINK)]
    assert report.entries == total - 1


def test_deleted_first_entry_is_a_bad_start(activity: Client) -> None:
    """'audit': the chain must start at seq 1 from the genesis hash."""
    execute(activity, log.delete().where(log.c.seq == 1))
    report = activity.audit.verify()
    assert problems(report) == [(2, K.BAD_START), (2, K.BROKEN_LINK)]


def test_forged_entry_with_renumbering_is_detected(activity: Client) -> None:
    """'audit': inserting an entry (shifting later seqs up) breaks the following link."""
    entries = rows(activity)
    with engine(activity).begin() as conn:
        for row in reversed(entries[4:]):  # seq 5.. -> 6.., highest first (primary key)
            conn.execute(log.update().where(log.c.seq == row["seq"]).values(seq=row["seq"] + 1))
        forged = {
            "seq": 5,
            "prev_hash": entries[3]["entry_hash"],
            "at": entries[3]["at"],
            "actor": "alice",
            "action": "alias.set",
            "subject": "model/fraud-score@production",
            "before_digest": None,
            "after_digest": None,
            "details_json": "{}",
        }
        forged["entry_hash"] = row_hash(forged)  # a perfectly valid entry on its own
        conn.execute(log.insert().values(**forged))
        conn.execute(
            head_table.update().values(seq=len(entries) + 1, entry_hash=entries[-1]["entry_hash"])
        )
    report = activity.audit.verify()
    assert not report.ok
    found = problems(report)
    assert (6, K.BROKEN_LINK) in found  # the original 5th entry no longer links to its parent
    assert (6, K.EDITED) in found  # and its seq is hashed
    assert all(seq >= 6 for seq, _ in found)  # the forgery itself is self-consistent


def test_swapped_entries_are_detected(activity: Client) -> None:
    """'audit': reordering (swapping the contents of entries 4 and 5) is detected."""
    entries = rows(activity)
    fourth = {k: v for k, v in entries[3].items() if k != "seq"}
    fifth = {k: v for k, v in entries[4].items() if k != "seq"}
    execute(
        activity,
        log.update().where(log.c.seq == 4).values(**fifth),
        log.update().where(log.c.seq == 5).values(**fourth),
    )
    report = activity.audit.verify()
    assert not report.ok
    found = problems(report)
    assert {(4, K.BROKEN_LINK), (4, K.EDITED), (5, K.BROKEN_LINK), (5, K.EDITED)} <= set(found)
    assert (6, K.BROKEN_LINK) in found


def test_appended_entry_without_head_update_is_a_head_mismatch(activity: Client) -> None:
    """'audit': the recorded head must name the last entry."""
    last = rows(activity)[-1]
    forged = {
        **{k: v for k, v in last.items() if k != "entry_hash"},
        "seq": last["seq"] + 1,
        "prev_hash": last["entry_hash"],
        "actor": "mallory",
    }
    forged["entry_hash"] = row_hash(forged)
    execute(activity, log.insert().values(**forged))
    report = activity.audit.verify()
    assert problems(report) == [(last["seq"], K.HEAD_MISMATCH)]


def test_head_moved_back_is_a_head_mismatch(activity: Client) -> None:
    """'audit': a head rolled back to an older entry disagrees with the chain."""
    entries = rows(activity)
    execute(
        activity,
        head_table.update().values(seq=3, entry_hash=entries[2]["entry_hash"]),
    )
    report = activity.audit.verify()
    assert problems(report) == [(3, K.HEAD_MISMATCH)]


def test_deleted_head_row_is_refused(activity: Client) -> None:
    """'audit': without a head row nothing verifies and nothing can be written."""
    execute(activity, head_table.delete())
    with pytest.raises(StoreError) as exc:
        activity.audit.verify()
    assert exc.value.reason == Reason.STORE_NOT_INITIALISED
    with pytest.raises(StoreError) as exc:
        activity.registry.set_alias("model", "fraud-score", "production", "2.0.0")
    assert exc.value.reason == Reason.STORE_NOT_INITIALISED


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


# -- the canonical-JSON fast path ---------------------------------------------------------

ASCII_KEYS = st.text(alphabet=st.characters(max_codepoint=127), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.text()  # any unicode, control characters included (not lone surrogates)
    | st.sampled_from(["", "\x00", "\x1f\x7f", '"\\/', "\u2028\u2029", "é😀", "\ud7ff"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ASCII_KEYS, inner, max_size=5),
    max_leaves=30,
)


def _assert_same_as_rfc8785(value: dict[str, Any]) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(ValidationError) as exc:
            fast_canonical_bytes(value)
        assert exc.value.reason == Reason.INVALID_VALUE
        return
    assert fast_canonical_bytes(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(ASCII_KEYS, SCALARS, max_size=10))
def test_fast_canonical_bytes_flat_matches_rfc8785(value: dict[str, Any]) -> None:
    """'audit': the audit hot path hashes exactly the RFC 8785 bytes (flat records)."""
    _assert_same_as_rfc8785(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(ASCII_KEYS, VALUES, max_size=6))
def test_fast_canonical_bytes_nested_matches_rfc8785(value: dict[str, Any]) -> None:
    """'audit': the same for nested lists and maps."""
    _assert_same_as_rfc8785(value)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=6)
        | st.text(alphabet=["a", "é", "\ue000", "\uffff", "\U0001f600", "\U00010000"]),
        VALUES,
        max_size=6,
    )
)
def test_fast_canonical_bytes_falls_back_for_unicode_keys(value: dict[str, Any]) -> None:
    """'audit': non-ASCII keys (UTF-16 ordering) take the RFC 8785 path and still agree."""
    _assert_same_as_rfc8785(value)


@pytest.mark.parametrize(
    "value",
    [
        {"n": 2**53 - 1, "m": -(2**53 - 1)},
        {"n": 2**53},
        {"n": -(2**53)},
        {"b": True, "i": 1, "z": None, "l": [False, 0, ""]},
        {"\x7f": 1, "\x00": 2, "A": 3, "a": 4},
        {"\ue000": 1, "\U0001f600": 2, "é": 3},  # UTF-16 order differs from code points
        {"s": "\b\t\n\f\r\x0b\x1f\x7f"},
        {"s": "\ud800"},  # a lone surrogate cannot be UTF-8: refused, never mis-hashed
    ],
)
def test_fast_canonical_bytes_edge_cases(value: dict[str, Any]) -> None:
    """'audit': integer limits, key order, escapes and invalid strings agree with RFC 8785."""
    _assert_same_as_rfc8785(value)


OPTIONAL_TEXT = st.none() | st.text()


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**53 - 1),
    strings=st.lists(st.text(), min_size=5, max_size=5),
    before=OPTIONAL_TEXT,
    after=OPTIONAL_TEXT,
    details=st.dictionaries(ASCII_KEYS, VALUES, max_size=6),
)
def test_hash_entry_equals_hash_of_canonical_payload(
    seq: int, strings: list[str], before: str | None, after: str | None, details: dict[str, Any]
) -> None:
    """'audit': the hand-assembled entry hash is the hash of the RFC 8785 payload."""
    try:
        details_json = canonical_details(details)
    except ValidationError:  # integers outside JSON's safe range are refused, never hashed
        return
    prev, at, actor, action, subject = strings
    payload = entry_payload(seq, prev, at, actor, action, subject, before, after, details)
    assert hash_entry(
        seq, prev, at, actor, action, subject, before, after, details_json
    ) == hash_payload(payload)
    assert hash_payload(payload) == "sha256:" + hashlib.sha256(rfc8785.dumps(payload)).hexdigest()
