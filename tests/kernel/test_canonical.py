"""RFC 8785 (JCS) canonical JSON and the digests built on it (B2: identity = canonical digest).

Golden vectors come from RFC 8785 itself (§3.2.2 example, §3.2.3 sorting example, §3.2.4 UTF-8
bytes, Appendix B number serialisation). Pinned SHA-256 digests were computed once with
``digest_of`` and cross-checked with ``hashlib`` over the literal canonical bytes below; if any
of them changes, every release identity ever recorded changes with it.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airel.domain.kernel.canonical import (
    canonical_bytes,
    check_digest,
    digest_bytes,
    digest_of,
    fast_canonical_bytes,
    is_digest,
)
from airel.errors import Reason, ValidationError

# -- RFC 8785 §3.2.2: the sample object ------------------------------------------------------

# The input as the RFC writes it (JSON text): parsed with the standard library so that the
# numbers go through the same text -> IEEE 754 conversion any producer would do.
RFC_INPUT_TEXT = r"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""

RFC_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)

# RFC 8785 §3.2.4: the same output as UTF-8 bytes, copied from the RFC's hex dump.
RFC_OUTPUT_HEX = """
7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d
"""

RFC_OUTPUT_DIGEST = "sha256:2d5e01a318d0f0879ab568c4be289c8b1f64ef8921a53c6277d5e069978baacb"


def test_rfc_sample_object_canonical_bytes() -> None:
    """B2: the RFC 8785 §3.2.2 sample serialises to exactly the RFC's output bytes."""
    value = json.loads(RFC_INPUT_TEXT)
    expected = bytes.fromhex(RFC_OUTPUT_HEX)
    assert RFC_OUTPUT.encode("utf-8") == expected  # the two transcriptions of the RFC agree
    assert canonical_bytes(value) == expected


def test_rfc_sample_object_from_python_literals() -> None:
    """B2: the same sample written as Python values gives the same bytes (key order ignored)."""
    value = {
        "string": '\u20ac$\u000f\nA\'B"\\\\"/',
        "literals": [None, True, False],
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
    }
    assert canonical_bytes(value) == bytes.fromhex(RFC_OUTPUT_HEX)


def test_rfc_sample_object_golden_digest() -> None:
    """B2: the pinned digest is sha256 of the RFC's bytes, computed independently of airel."""
    independent = "sha256:" + hashlib.sha256(bytes.fromhex(RFC_OUTPUT_HEX)).hexdigest()
    assert independent == RFC_OUTPUT_DIGEST
    assert digest_of(json.loads(RFC_INPUT_TEXT)) == RFC_OUTPUT_DIGEST
    assert digest_bytes(bytes.fromhex(RFC_OUTPUT_HEX)) == RFC_OUTPUT_DIGEST


# -- RFC 8785 §3.2.3: property sorting by UTF-16 code units ----------------------------------

SORTING_INPUT = {
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\U0001f600": "Emoji: Grinning Face",  # JSON "\ud83d\ude00": UTF-16 surrogates D83D DE00
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis",
}

# The RFC's expected order: \r, 1, U+0080, ö, €, 😀 (D83D...), U+FB33. By code point the emoji
# (U+1F600) would sort last; by UTF-16 code units it sorts before U+FB33.
SORTING_OUTPUT = (
    b'{"\\r":"Carriage Return",'
    b'"1":"One",'
    b'"\xc2\x80":"Control",'
    b'"\xc3\xb6":"Latin Small Letter O With Diaeresis",'
    b'"\xe2\x82\xac":"Euro Sign",'
    b'"\xf0\x9f\x98\x80":"Emoji: Grinning Face",'
    b'"\xef\xac\xb3":"Hebrew Letter Dalet With Dagesh"}'
)

SORTING_DIGEST = "sha256:5e321556d22018a9656991a9e94f77ec175fa193e52a2429d312f8419ec8b08c"


def test_rfc_sorting_example_uses_utf16_code_units() -> None:
    """B2: keys sort by UTF-16 code units, so a non-BMP key precedes U+FB33."""
    assert canonical_bytes(SORTING_INPUT) == SORTING_OUTPUT
    # The same input parsed from JSON text with surrogate-pair escapes.
    text = json.dumps(SORTING_INPUT, ensure_ascii=True)
    assert "\\ud83d\\ude00" in text
    assert canonical_bytes(json.loads(text)) == SORTING_OUTPUT


def test_rfc_sorting_example_differs_from_code_point_order() -> None:
    """B2: a naive code-point sort would give other bytes (the test above can fail)."""
    naive = json.dumps(
        SORTING_INPUT, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert naive != SORTING_OUTPUT
    assert naive.index("\U0001f600".encode()) > naive.index("\ufb33".encode())


def test_rfc_sorting_example_golden_digest() -> None:
    """B2: pinned digest of the sorting example, cross-checked with hashlib."""
    assert "sha256:" + hashlib.sha256(SORTING_OUTPUT).hexdigest() == SORTING_DIGEST
    assert digest_of(SORTING_INPUT) == SORTING_DIGEST


def test_key_order_and_nesting() -> None:
    """B2: nested objects are sorted too; arrays keep their order."""
    value = {"b": [3, 1, 2], "a": {"z": 1, "y": {"d": None, "c": "x"}}}
    assert canonical_bytes(value) == b'{"a":{"y":{"c":"x","d":null},"z":1},"b":[3,1,2]}'


# -- RFC 8785 Appendix B: number serialisation ----------------------------------------------

NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),  # minus zero
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("ieee_hex", "expected"), NUMBERS)
def test_rfc_number_serialisation(ieee_hex: str, expected: str) -> None:
    """B2: IEEE 754 doubles serialise exactly as RFC 8785 Appendix B lists."""
    (value,) = struct.unpack(">d", bytes.fromhex(ieee_hex))
    assert canonical_bytes(value) == expected.encode("ascii")
    assert canonical_bytes([value]) == f"[{expected}]".encode("ascii")


def test_integers_and_integral_floats_agree() -> None:
    """B2: 1 and 1.0 are the same JSON number and the same digest."""
    assert canonical_bytes(1) == canonical_bytes(1.0) == b"1"
    assert digest_of({"n": 4.50}) == digest_of({"n": 4.5})
    assert digest_of({"n": 2}) == digest_of({"n": 2.0})


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        {"metrics": {"auc": float("nan")}},
        [1.0, float("inf")],
    ],
    ids=["nan", "inf", "-inf", "nested-nan", "inf-in-list"],
)
def test_non_finite_numbers_are_refused(value: Any) -> None:
    """B2: NaN and Infinity have no JSON form and therefore no digest."""
    with pytest.raises(ValidationError) as info:
        canonical_bytes(value)
    assert info.value.reason is Reason.INVALID_VALUE
    with pytest.raises(ValidationError):
        digest_of(value)


@pytest.mark.parametrize(
    "value",
    [2**53, -(2**53), 2**64, {1: "integer key"}, b"bytes", {"set": {1, 2}}, "\ud800"],
    ids=["2^53", "-2^53", "2^64", "int-key", "bytes", "set", "lone-surrogate"],
)
def test_values_without_a_canonical_form_are_refused(value: Any) -> None:
    """B2: integers beyond IEEE 754 precision, non-string keys, bytes and lone surrogates."""
    with pytest.raises(ValidationError) as info:
        canonical_bytes(value)
    assert info.value.reason is Reason.INVALID_VALUE


def test_largest_safe_integer_is_accepted() -> None:
    """B2: 2^53 - 1 is the largest integer with an exact JSON number form."""
    assert canonical_bytes(2**53 - 1) == b"9007199254740991"


# -- the fast path (audit entries) must equal the RFC encoder ----------------------------------

_ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=8)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_ascii_keys, children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(_ascii_keys, _values, max_size=6))
def test_fast_canonical_bytes_equals_rfc8785(value: dict[str, Any]) -> None:
    """B2/C2: the audit hot path gives exactly the RFC 8785 bytes, or the same refusal."""
    outcomes: list[bytes | Reason] = []
    for encode in (canonical_bytes, fast_canonical_bytes):
        try:
            outcomes.append(encode(value))
        except ValidationError as exc:
            outcomes.append(exc.reason)
    assert outcomes[0] == outcomes[1]


def test_fast_path_falls_back_for_non_ascii_keys_and_floats() -> None:
    """B2: values the fast path cannot handle still get the RFC bytes."""
    assert fast_canonical_bytes(SORTING_INPUT) == SORTING_OUTPUT
    assert fast_canonical_bytes({"x": 1e30, "y": 4.5}) == b'{"x":1e+30,"y":4.5}'


# -- digest strings --------------------------------------------------------------------------


def test_digest_format() -> None:
    """B2: digests are 'sha256:' plus 64 lower-case hex digits."""
    digest = digest_of({})
    assert digest == "sha256:" + hashlib.sha256(b"{}").hexdigest()
    assert is_digest(digest)
    assert check_digest(digest) == digest


@pytest.mark.parametrize(
    "value",
    [
        "sha256:" + "A" * 64,
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha1:" + "a" * 40,
        "a" * 64,
        "sha256:" + "g" * 64,
        "c55a...",
        None,
        1,
    ],
)
def test_malformed_digests_are_refused(value: Any) -> None:
    """B2: a declared digest must be complete and well-formed."""
    assert not is_digest(value)
    with pytest.raises(ValidationError) as info:
        check_digest(value, field="artifact_hash")
    assert info.value.reason is Reason.INVALID_VALUE
    assert info.value.details["field"] == "artifact_hash"
