"""'audit': the hash chain catches edits, deletions, insertions and reordering.

What only a signed checkpoint catches (truncation, a consistent re-chain) and bad keys and
checkpoint files are in test_audit_checkpoints.py; the canonical-JSON hashing the chain rests
on is in test_audit_hashing.py.

Tampering is done the way an attacker with database access would: SQLAlchemy Core statements
on ``client.ctx.store.engine`` against ``audit_log`` and ``audit_head``. Every test that takes
``client`` (directly or via ``fraud_registry``) runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest

from airel.client import Client
from airel.domain.release.audit import ChainProblemKind
from airel.errors import Reason, StoreError
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
