"""Text matching for the LLM output rules (E2): phrases and refusal detection.

**Phrases** match case-insensitively with any run of whitespace between words, a straight or
curly apostrophe for ``'``, and word boundaries at both ends: "fee waiver" does not match
"fee waivers", "guaranteed  Fee\\nwaiver" matches "guaranteed fee waiver".

**Refusal** is detected by :data:`REFUSAL_PATTERNS` anywhere in the text ("I can't help with",
"I cannot provide", "I'm unable to", "I must decline", "I'm not permitted to", "Sorry, … I
can't", "not something I can help with", "not in a position to" …). A partial refusal ("I can't
provide legal advice, but …") counts as a refusal: for a case that must be answered that is
flagged as over-refusal, which a reviewer then reads — the conservative side for a gate. Extra
patterns come from ``RuleConfig.extra_refusal_patterns`` (:mod:`airel.domain.eval.llm.rules`).

**Speed.** Both matchers run a cheap case-sensitive pre-check first. A phrase is searched only if
its longest ASCII word occurs in the lower-cased text (exact whenever ``lower()`` agrees with
``re.IGNORECASE``, i.e. unless the text holds one of the four characters of
:data:`FOLD_TO_ASCII`, in which case the pre-check is skipped); the refusal alternation runs only
if the lower-cased text contains one of the words every built-in pattern needs.
"""

from __future__ import annotations

import re
from functools import lru_cache

_A = "['’]"  # a straight or curly apostrophe
_CANT = rf"(?:can{_A}?t|cannot|can not|won{_A}t|will not|am not able to|{_A}m not able to)"
REFUSAL_PATTERNS: tuple[str, ...] = (
    rf"\bI(?:{_A}m| am) (?:unable|not able) to\b",
    rf"\bI {_CANT} (?:help|assist|provide|share|give|do|answer|discuss|comply|disclose|process"
    r"|complete|offer|support|fulfil|fulfill|advise|recommend)\b",
    r"\bI (?:must|have to|need to) (?:decline|refuse)\b",
    rf"\bI(?:{_A}m| am) not (?:allowed|permitted|authori[sz]ed) to\b",
    rf"\b(?:sorry|apologi[sz]e)\b[^.!?\n]{{0,40}}\bI {_CANT}",
    rf"\b(?:that|this)(?:{_A}s| is) not something I can (?:help|assist|do)\b",
    rf"\bI(?:{_A}m| am) not in a position to\b",
)


_REFUSAL_RE = re.compile("|".join(f"(?:{p})" for p in REFUSAL_PATTERNS), re.IGNORECASE)
# Every built-in pattern contains one of these (lower-case) words, so a text without any of them
# skips the full scan — a fast literal search instead of the case-insensitive alternation.
_REFUSAL_HINT = re.compile(
    r"unable|not able|can['’]?t|cannot|can not|won['’]t|will not|declin|refus|not allowed"
    r"|not permitted|not authori|not something|not in a position"
)


@lru_cache(maxsize=64)
def _extra_refusal_re(extra: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in extra), re.IGNORECASE)


@lru_cache(maxsize=8192)
def phrase_re(phrase: str) -> re.Pattern[str]:
    """The compiled, cached matcher of one phrase (see the module doc)."""
    words = [re.escape(w.replace("’", "'")).replace("'", _A) for w in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


# The only non-ASCII characters re.IGNORECASE matches to an ASCII letter or digit (İ ı ſ and the
# Kelvin sign; tests re-derive the set): a text holding one skips the lower-case pre-check.
FOLD_TO_ASCII = "\u0130\u0131\u017f\u212a"
_FOLD_TO_ASCII = re.compile(f"[{FOLD_TO_ASCII}]")


def lower_agrees(text: str) -> bool:
    """True when ``str.lower`` of ``text`` finds every ASCII word ``re.IGNORECASE`` would."""
    return text.isascii() or _FOLD_TO_ASCII.search(text) is None


@lru_cache(maxsize=8192)
def phrase_anchor(phrase: str) -> str:
    """The phrase's longest plain ASCII word, lower-cased ('' when it has none)."""
    words = [w.lower() for w in phrase.split() if w.isascii() and w.isalnum()]
    return max(words, key=len, default="")


def find_refusal(text: str, extra_patterns: tuple[str, ...] = ()) -> str | None:
    """The refusal wording found in ``text``, or None when it is not a refusal."""
    if not lower_agrees(text) or _REFUSAL_HINT.search(text.lower()) is not None:
        m = _REFUSAL_RE.search(text)
        if m is not None:
            return m.group()
    if extra_patterns:
        m = _extra_refusal_re(extra_patterns).search(text)
        if m is not None:
            return m.group()
    return None
