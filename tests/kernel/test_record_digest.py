"""A record row's digest is the RFC 8785 digest of its columns (issue 18), whichever path
computes it: the fast ``json.dumps`` path of :func:`row_digest` must give the same bytes as the
general canonical encoder for every value a row can hold."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from airel.domain.kernel.canonical import DIGEST_PREFIX, canonical_bytes
from airel.domain.release.records import row_digest

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),  # what RFC 8785 can encode
    st.text(max_size=40),
)
ROWS = st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), VALUES, max_size=12)


@given(table=st.sampled_from(["components", "alias_moves", "gate_decisions"]), row=ROWS)
def test_fast_row_digest_is_the_canonical_digest(table: str, row: dict[str, object]) -> None:
    """Any row: ``row_digest`` equals sha256 of the RFC 8785 bytes of {table, row}."""
    expected = (
        DIGEST_PREFIX + hashlib.sha256(canonical_bytes({"table": table, "row": row})).hexdigest()
    )
    assert row_digest(table, row) == expected


def test_a_changed_value_changes_the_digest() -> None:
    """The digest covers every column."""
    row = {"name": "fraud-score", "version": "1.0.0", "row_version": 3}
    assert row_digest("aliases", row) != row_digest("aliases", {**row, "row_version": 4})
    assert row_digest("aliases", row) != row_digest("alias_moves", row)
