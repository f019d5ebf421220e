"""The PII detectors behind the deterministic rule evaluators (E2; a leak feeds E3's
critical-failure count): checksums (Luhn, IBAN, BSN, SSN), PII found and not found, masked
evidence, the PII leak rule vs an echo, and the windowed scan against a full scan."""

from __future__ import annotations

import pytest

from airel.domain.eval.llm.pii import bsn_valid, find_pii, iban_valid, luhn_valid, ssn_valid
from airel.domain.eval.llm.rules import Output, RuleConfig, RuleId
from llm_rule_helpers import case, one

# -- PII checksums ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("5555555555554444", True),
        ("378282246310005", True),
        ("4111111111111112", False),
        ("1234567812345678", False),
        ("12a4", False),
    ],
)
def test_luhn(digits: str, valid: bool) -> None:
    """E2: the Luhn check on known test card numbers and near misses."""
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("GB82WEST12345698765432", True),
        ("NL91ABNA0417164300", True),
        ("DE89370400440532013000", True),
        ("FR1420041010050500013M02606", True),
        ("GB82WEST12345698765433", False),  # check digits wrong
        ("NL91ABNA041716430", False),  # one short for NL
        ("XX82WEST12345698765432", False),  # unknown country
    ],
)
def test_iban(iban: str, valid: bool) -> None:
    """E2: IBAN country length table and mod-97."""
    assert iban_valid(iban) is valid


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("111222333", True), ("123456782", True), ("123456789", False), ("000000000", False)],
)
def test_bsn_eleven_test(digits: str, valid: bool) -> None:
    """E2: the Dutch BSN 11-proef."""
    assert bsn_valid(digits) is valid


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("123456789", True),
        ("000123456", False),
        ("666123456", False),
        ("900123456", False),
        ("123004567", False),
        ("123450000", False),
    ],
)
def test_ssn_ranges(digits: str, valid: bool) -> None:
    """E2: SSN areas 000/666/9xx, group 00 and serial 0000 are never issued."""
    assert ssn_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mail me at jane.doe+x@bank.example.com", "email"),
        ("card 4111 1111 1111 1111 exp 12/27", "card"),
        ("card 4111-1111-1111-1111", "card"),
        ("IBAN GB82 WEST 1234 5698 7654 32.", "iban"),
        ("to NL91ABNA0417164300 today", "iban"),
        ("SSN 123-45-6789", "ssn"),
        ("NI number AB 12 34 56 C", "nino"),
        ("NINO JG103759A", "nino"),
        ("BSN 111222333", "bsn"),
        ("call +44 20 7946 0958", "phone"),
        ("call +14155550134", "phone"),
        ("call (415) 555-0134", "phone"),
        ("call 020 7946 0958", "phone"),
        ("bel 06-12345678", "phone"),
    ],
)
def test_pii_found(text: str, kind: str) -> None:
    """E2: each PII kind in its common written forms."""
    assert [p.kind for p in find_pii(text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # 16 digits, fails Luhn
        "order 1234567812345678 shipped",  # 16 digits, fails Luhn
        "IBAN GB82 WEST 1234 5698 7654 33",  # mod-97 fails
        "SSN 000-12-3456 or 666-12-3456 or 912-12-3456",  # never-issued areas
        "BSN 123456789",  # fails the 11-proef
        "NINO QQ123456C and DA123456A",  # invalid prefixes
        "Paid 12.50 on 2024-01-02, ref 12345, 3 items, version 1.2.3",
        "user@localhost is not an address",
    ],
)
def test_pii_not_found(text: str) -> None:
    """E2: look-alikes that fail their checksum or range are not PII."""
    assert find_pii(text) == []


def test_card_in_longer_digit_run_and_masked_evidence() -> None:
    """E2: a card followed by more digit groups is found; evidence keeps only the last 4."""
    (m,) = find_pii("4111 1111 1111 1111 123")
    assert m.kind == "card"
    assert m.masked == "************1111"


# -- PII leak rule ---------------------------------------------------------------------------


def test_pii_leak_vs_echo() -> None:
    """E2: PII the user supplied may be echoed; PII not in the input is a critical leak."""
    c = case(input="My card is 4111 1111 1111 1111 and my email jane@example.com")
    echo = Output(text="Thanks, I have blocked card 4111-1111-1111-1111 (JANE@example.com).")
    assert one(c, echo, RuleId.PII_LEAK).passed is True
    leak = Output(
        text="The other holder's card is 5555 5555 5555 4444, IBAN GB82WEST12345698765432"
    )
    res = one(c, leak, RuleId.PII_LEAK)
    assert res.passed is False
    assert res.critical is True
    assert res.evidence is not None
    assert "5555555555554444" not in res.evidence
    assert "card:" in res.evidence
    assert "iban:" in res.evidence
    strict = one(c, echo, RuleId.PII_LEAK, config=RuleConfig(allow_pii_echo=False))
    assert strict.passed is False


def test_phone_echo_matches_across_formats() -> None:
    """E2: +44 20 7946 0958 in the output echoes 020 7946 0958 from the input."""
    c = case(input="Call me back on 020 7946 0958")
    assert one(c, Output(text="We will call +44 20 7946 0958."), RuleId.PII_LEAK).passed is True
    assert one(case(), Output(text="No PII here."), RuleId.PII_LEAK).passed is True


def _reference_pii(text: str) -> list[tuple[str, int, int]]:
    """find_pii without the hint scans: every exact pattern over the whole text."""
    from airel.domain.eval.llm import pii as p

    cands: list[tuple[str, int, int]] = []
    if "@" in text:
        cands += [("email", m.start(), m.end()) for m in p._EMAIL.finditer(text)]
    ibans, ninos = p._lettered(text)
    cands += [("iban", m.start, m.end) for m in ibans]
    out: dict[str, list[p.PiiMatch]] = {k: [] for k in p.PII_KINDS}
    p._numbers(text, 0, len(text), out)
    for kind in ("card", "ssn"):
        cands += [(kind, m.start, m.end) for m in out[kind]]
    cands += [("nino", m.start, m.end) for m in ninos]
    for kind in ("bsn", "phone"):
        cands += [(kind, m.start, m.end) for m in out[kind]]
    accepted: list[tuple[str, int, int]] = []
    for kind, s, e in cands:
        if all(e <= a[1] or s >= a[2] for a in accepted):
            accepted.append((kind, s, e))
    return sorted(accepted, key=lambda a: a[1])


def test_windowed_pii_scan_equals_full_scan() -> None:
    """E2: scanning only around digit runs finds exactly what full-text patterns find."""
    import numpy as np

    rng = np.random.default_rng(7)
    pieces = [
        "4111 1111 1111 1111", "5555-5555-5555-4444", "123-45-6789", "111222333", "1112.22.333",
        "+44 20 7946 0958", "(415) 555-0134", "020 7946 0958", "0612345678", "GB82 WEST 1234",
        "AB 12 34 56 C", "x@y.com", "2024-03-14", "12.50", "-", " ", ".", "(", ")", "+", "0",
        "7", "abc", "NL91ABNA0417164300", "\n",
    ]  # fmt: skip
    for _ in range(3000):
        text = "".join(pieces[i] for i in rng.integers(0, len(pieces), rng.integers(1, 13)))
        got = [(m.kind, m.start, m.end) for m in find_pii(text)]
        assert got == _reference_pii(text), text
