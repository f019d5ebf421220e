"""What the gateway may keep of a request's text: classification and masking, by policy (T1).

:func:`classify` names the §7.3 sensitive classes a text touches — PII and PCI by the same
checksummed detectors the offline ``pii_leak`` rule uses (:mod:`airel.domain.eval.llm.pii`),
the business classes (AML, credit, complaint, vulnerable customer) by the keywords of a
:class:`MaskingPolicy` — plus the classes the caller tagged explicitly.

:func:`mask_text` replaces every detected identifier by its masked form (last four characters,
an email's first letter and domain) before anything is stored; the policy decides whether text
is kept at all (``keep_text``) and how much of it (``max_chars``). Raw PII never reaches the
store, the audit log, the metrics or the spans.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from airel.domain.eval.llm.pii import find_pii
from airel.domain.monitoring.trace import InputClass

_KEYWORDS: dict[InputClass, tuple[str, ...]] = {
    InputClass.AML: (
        "money laundering", "aml", "suspicious activity", "sar", "structuring", "smurfing",
        "sanction", "terrorist financing", "mule",
    ),
    InputClass.CREDIT: (
        "credit limit", "loan", "mortgage", "credit score", "overdraft", "affordability",
        "credit application", "credit decision",
    ),
    InputClass.COMPLAINT: (
        "complaint", "complain", "ombudsman", "unacceptable", "dispute", "formal grievance",
        "escalate",
    ),
    InputClass.VULNERABLE_CUSTOMER: (
        "hardship", "bereavement", "passed away", "terminal illness", "can't afford",
        "cannot afford", "debt advice", "carer", "dementia", "vulnerable",
    ),
}  # fmt: skip
_ALIASES = {"vulnerable": "vulnerable_customer", "complaints": "complaint"}
_WORD_CACHE: dict[str, re.Pattern[str]] = {}
PCI_KINDS = frozenset({"card"})


def _word(term: str) -> re.Pattern[str]:
    pattern = _WORD_CACHE.get(term)
    if pattern is None:
        pattern = re.compile(rf"(?<![\w]){re.escape(term)}(?![\w])", re.IGNORECASE)
        _WORD_CACHE[term] = pattern
    return pattern


@dataclass(frozen=True)
class MaskingPolicy:
    """What of a request's text is kept (the deployment's masking policy)."""

    keep_text: bool = True  # False: no text at all, only classes and digests
    max_chars: int = 2048  # text kept is cut here (after masking)
    keywords: dict[InputClass, tuple[str, ...]] = field(default_factory=lambda: dict(_KEYWORDS))


DEFAULT_POLICY = MaskingPolicy()


def classify(
    text: str,
    *,
    tags: Iterable[str] = (),
    policy: MaskingPolicy = DEFAULT_POLICY,
) -> list[InputClass]:
    """The sensitive classes of ``text`` and of the caller's ``tags``, in enum order."""
    found: set[InputClass] = set()
    for match in find_pii(text):
        found.add(InputClass.PCI if match.kind in PCI_KINDS else InputClass.PII)
    for cls, terms in policy.keywords.items():
        if any(_word(t).search(text) for t in terms):
            found.add(cls)
    names = {c.value: c for c in InputClass}
    for tag in tags:
        normal = tag.strip().lower().replace("-", "_").replace(" ", "_")
        normal = _ALIASES.get(normal, normal)
        if normal in names:
            found.add(names[normal])
    return [c for c in InputClass if c in found]


def mask_text(text: str | None, policy: MaskingPolicy = DEFAULT_POLICY) -> str | None:
    """``text`` with every detected identifier masked, cut to the policy's length (None when
    the policy keeps no text)."""
    if text is None or not policy.keep_text:
        return None
    out: list[str] = []
    last = 0
    for match in find_pii(text):
        out.append(text[last : match.start])
        out.append(f"[{match.kind}:{match.masked}]")
        last = match.end
    out.append(text[last:])
    masked = "".join(out)
    return masked[: policy.max_chars]


def key_digest(key: str, secret: bytes) -> str:
    """A keyed digest of a sticky key (customer or session id): equal keys give equal digests,
    but the key cannot be recovered or guessed from the store without the gateway's secret."""
    return "hmac-sha256:" + hmac.new(secret, key.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
