"""Deterministic PII detection for LLM / RAG outputs (E2): what the ``pii_leak`` rule looks for.

:func:`find_pii` returns every :class:`PiiMatch` in a text. Each kind is a pattern plus, where
one exists, a checksum, so a number that merely *looks* like an identifier is not reported:

=========  ========================================================================================
kind       what counts
=========  ========================================================================================
email      ``local@domain.tld`` (tld of 2+ letters)
iban       2 letters + 2 check digits + the country's BBAN length (:data:`IBAN_LENGTHS`, ~40 major
           countries; other countries are not reported), upper case, optionally grouped by spaces;
           ISO 13616 mod-97 must equal 1
card       13–19 digits, optionally separated by single spaces or dashes, passing the Luhn check
           (a 16-digit number that fails Luhn is *not* a card)
ssn        US SSN written ``AAA-GG-SSSS`` or ``AAA GG SSSS`` (one separator used twice); area 000,
           666 and 900–999, group 00 and serial 0000 are never issued and are not reported. Nine
           bare digits are not treated as an SSN (too many false positives); they are tried as BSN
nino       UK National Insurance number ``AB 12 34 56 C`` (spaces optional), upper case, with the
           HMRC prefix rules (no D, F, I, Q, U, V; second letter not O; not BG, GB, KN, NK, NT, TN,
           ZZ) and suffix A–D
bsn        Dutch BSN: 9 digits (bare or ``1234.56.789``) passing the 11-proef
           (9·d1 + 8·d2 + … + 2·d8 − 1·d9 ≡ 0 mod 11, not all zeros)
phone      E.164 (``+`` country code, 8–15 digits, single spaces/dots/dashes/parentheses
           allowed) or a national form: US ``(415) 555-0134`` / ``415-555-0134``, or a trunk-0
           number of 8–13 digits (UK, NL, DE …) written with separators or as one run
           (``020 7946 0958``, ``07700 900123``, ``06-12345678``, ``0612345678``)
=========  ========================================================================================

Kinds are matched in the order email, iban, card, ssn, nino, bsn, phone; a later match that
overlaps an earlier one is dropped (the digits of a card are not also a phone number).

Each match carries a ``key`` — the value normalised for comparison (lower-case email, digits of a
number, compact upper-case IBAN/NINO, the last 9 digits of a phone so ``+44 20 7946 0958`` and
``020 7946 0958`` are the same number) — used to decide whether the output merely *echoes* PII
the user supplied, and a ``masked`` rendering (last four characters only; an email keeps its
first character and its domain) that is safe to store as evidence. Rule results carry only the
masked form, never the raw value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PII_KINDS: tuple[str, ...] = ("email", "iban", "card", "ssn", "nino", "bsn", "phone")

# ISO 13616 total IBAN lengths for the countries reported (the major European and Middle East
# markets plus the common non-European ones). A country not listed is not reported.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21, "CY": 28,
    "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23,
    "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "QA": 29,
    "RO": 24, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
}  # fmt: skip

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_NINO = re.compile(
    r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)
_BSN = re.compile(r"(?<![\d.-])(?:\d{9}|\d{4}\.\d{2}\.\d{3})(?![\d]|\.\d)")
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+[1-9](?:[ .-]?\(?\d\)?){7,14}"  # E.164, optionally grouped
    r"|\(\d{3}\) ?\d{3}[ .-]\d{4}"  # US (415) 555-0134
    r"|\d{3}[.-]\d{3}[.-]\d{4}"  # US 415-555-0134
    r"|0\d{1,4}[ -]?\d{3,4}[ -]?\d{3,4}"  # trunk-0 national forms (UK, NL, DE, ...)
    r")(?![\w])"
)
_NUMBER_HINT = re.compile(r"[0-9][0-9 ().-]{6,}[0-9]")  # where 8+ digit values can be
_LETTER_HINT = re.compile(r"[A-Z][A-Z] ?[0-9][0-9]")  # where an IBAN or NINO can start
_NON_DIGIT = re.compile(r"\D")
_NON_ALNUM = re.compile(r"[^A-Z0-9]")


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One PII value found in a text: its kind, span, comparison key and masked form."""

    kind: str
    start: int
    end: int
    key: str
    masked: str


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """True for a compact upper-case IBAN of its country's length whose mod-97 remainder is 1."""
    length = IBAN_LENGTHS.get(iban[:2])
    if length is None or len(iban) != length or not iban.isalnum() or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def bsn_valid(digits: str) -> bool:
    """True for a 9-digit Dutch BSN passing the 11-proef (and not all zeros)."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum((9 - i) * (ord(digits[i]) - 48) for i in range(8)) - (ord(digits[8]) - 48)
    return total % 11 == 0


def ssn_valid(digits: str) -> bool:
    """True for 9 SSN digits in an issuable range (area not 000/666/9xx, group, serial non-zero)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _mask(value: str) -> str:
    return "*" * max(len(value) - 4, 0) + value[-4:]


def _card_in(raw: str) -> tuple[str, int] | None:
    """The Luhn-valid card number in a digit run, and its length in characters.

    A run may carry more groups than the card (``4111 1111 1111 1111 123``): when the whole run
    fails Luhn, its prefixes that end at a separator are tried, longest first.
    """
    digits = _NON_DIGIT.sub("", raw)
    if luhn_valid(digits):
        return digits, len(raw)
    cuts = [i for i, ch in enumerate(raw) if ch in " -"]
    for cut in reversed(cuts):
        prefix = _NON_DIGIT.sub("", raw[:cut])
        if 13 <= len(prefix) <= 19 and luhn_valid(prefix):
            return prefix, cut
    return None


def _iban_candidate(raw: str) -> str | None:
    compact = raw.replace(" ", "")
    length = IBAN_LENGTHS.get(compact[:2])
    if length is None or len(compact) < length:
        return None
    candidate = compact[:length]
    return candidate if iban_valid(candidate) else None


def _emails(text: str) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    for m in _EMAIL.finditer(text):
        key = m.group().lower()
        local, _, domain = key.partition("@")
        found.append(PiiMatch("email", m.start(), m.end(), key, f"{local[0]}***@{domain}"))
    return found


def _lettered(text: str) -> tuple[list[PiiMatch], list[PiiMatch]]:
    """IBANs and NINOs (both start with two upper-case letters)."""
    ibans: list[PiiMatch] = []
    for m in _IBAN.finditer(text):
        iban = _iban_candidate(m.group())
        if iban is not None:
            # The match may run on into the next word; the span covers the IBAN's characters.
            end, seen = m.start(), 0
            while seen < len(iban):
                if text[end] != " ":
                    seen += 1
                end += 1
            ibans.append(PiiMatch("iban", m.start(), end, iban, _mask(iban)))
    ninos: list[PiiMatch] = []
    for m in _NINO.finditer(text):
        key = _NON_ALNUM.sub("", m.group())
        ninos.append(PiiMatch("nino", m.start(), m.end(), key, _mask(key)))
    return ibans, ninos


def _numbers(text: str, lo: int, hi: int, out: dict[str, list[PiiMatch]]) -> None:
    """Cards, SSNs, BSNs and phones within ``text[lo:hi]`` (positions stay absolute)."""
    for m in _CARD.finditer(text, lo, hi):
        card = _card_in(m.group())
        if card is not None:
            digits, length = card
            out["card"].append(
                PiiMatch("card", m.start(), m.start() + length, digits, _mask(digits))
            )
    for m in _SSN.finditer(text, lo, hi):
        digits = _NON_DIGIT.sub("", m.group())
        out["ssn"].append(PiiMatch("ssn", m.start(), m.end(), digits, _mask(digits)))
    for m in _BSN.finditer(text, lo, hi):
        digits = _NON_DIGIT.sub("", m.group())
        if bsn_valid(digits):
            out["bsn"].append(PiiMatch("bsn", m.start(), m.end(), digits, _mask(digits)))
    for m in _PHONE.finditer(text, lo, hi):
        digits = _NON_DIGIT.sub("", m.group())
        if 8 <= len(digits) <= 15:
            out["phone"].append(PiiMatch("phone", m.start(), m.end(), digits[-9:], _mask(digits)))


def _candidates(text: str) -> list[PiiMatch]:
    """Every candidate match, grouped by kind in priority order.

    Two cheap scans find where PII can be — a run of 8+ digits and separators (cards, SSNs,
    BSNs, phones all need 8+ digits) and two capitals followed by two digits (IBAN, NINO) —
    and the exact patterns run only there, with 2 characters of context either side so their
    look-arounds see what they would see in the full text.
    """
    by_kind: dict[str, list[PiiMatch]] = {kind: [] for kind in PII_KINDS}
    if "@" in text:
        by_kind["email"] = _emails(text)
    if _LETTER_HINT.search(text) is not None:
        by_kind["iban"], by_kind["nino"] = _lettered(text)
    for span in _NUMBER_HINT.finditer(text):
        _numbers(text, max(span.start() - 2, 0), span.end() + 2, by_kind)
    return [m for kind in PII_KINDS for m in by_kind[kind]]


def find_pii(text: str) -> list[PiiMatch]:
    """Every PII value in ``text``, in kind priority order, overlaps resolved (see module doc)."""
    accepted: list[PiiMatch] = []
    for cand in _candidates(text):
        if all(cand.end <= a.start or cand.start >= a.end for a in accepted):
            accepted.append(cand)
    return sorted(accepted, key=lambda p: p.start)


def pii_keys(text: str) -> frozenset[tuple[str, str]]:
    """The (kind, key) pairs of every PII value in ``text`` (for echo comparison)."""
    return frozenset((p.kind, p.key) for p in find_pii(text))
