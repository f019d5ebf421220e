"""'audit': the canonical-JSON fast path the audit chain hashes with agrees with RFC 8785.

Property tests (flat, nested and non-ASCII keys), edge cases (integer limits, key order,
escapes, lone surrogates), and the hand-assembled entry hash equal to the hash of the canonical
payload. Pure functions: no store involved.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from airel.domain.kernel.canonical import fast_canonical_bytes
from airel.domain.release.audit import (
    canonical_details,
    entry_payload,
    hash_entry,
    hash_payload,
)
from airel.errors import Reason, ValidationError

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
