"""The offline rule evaluators, run online on each answer the gateway returns (T3).

The rules the release's offline suite ran (:mod:`airel.domain.eval.llm.rules`) that need no
case-specific expectation run on every live answer: ``pii_leak`` (PII in the answer that the
request did not contain), ``prohibited_phrases`` (commitments a bank's answers must never
make: the :class:`QualityPolicy`'s list), ``citation_valid`` (every cited document was
retrieved). A failed rule becomes a ``quality_flags`` entry of the trace; a failed critical
rule (PII leak) makes the answer a critical failure. Refusals are tagged ``refusal`` in the
trace's monitoring tags — a refusal is not a failure in itself, its rate is watched.

They run on the raw answer, before it is masked for storage: a masked answer cannot leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airel.domain.eval.llm.cases import EvalCase, Output, RuleId
from airel.domain.eval.llm.rules import evaluate_case, is_refusal

ONLINE_RULES = (RuleId.PII_LEAK, RuleId.PROHIBITED_PHRASES, RuleId.CITATION_VALID)
COMMITMENTS = (
    "guaranteed approval", "you are guaranteed", "we guarantee", "guaranteed returns",
    "risk-free", "risk free", "you will definitely be approved", "no credit check",
    "we will waive all fees", "your loan is approved",
)  # fmt: skip


@dataclass(frozen=True)
class QualityPolicy:
    """What the online rules look for."""

    prohibited: tuple[str, ...] = COMMITMENTS  # prohibited commitments
    check_refusal: bool = True


DEFAULT_QUALITY = QualityPolicy()


@dataclass(frozen=True)
class OnlineQuality:
    """The online rules' verdict on one answer."""

    flags: tuple[str, ...]  # failed rules (the trace's quality_flags)
    critical: bool  # a critical rule failed
    refusal: bool


def online_quality(
    request_text: str,
    answer_text: str,
    *,
    citations: Sequence[str] = (),
    retrieved: Sequence[str] = (),
    policy: QualityPolicy = DEFAULT_QUALITY,
) -> OnlineQuality:
    """Run the online rules on one answer (an empty answer: nothing to judge)."""
    if not answer_text:
        return OnlineQuality((), False, False)
    case = EvalCase(id="online", input=request_text, prohibited_phrases=policy.prohibited)
    output = Output(text=answer_text, citations=tuple(citations), retrieved=tuple(retrieved))
    results = evaluate_case(case, output, ONLINE_RULES)
    failed = [r for r in results if r.passed is False]
    refusal = policy.check_refusal and is_refusal(answer_text) is not None
    return OnlineQuality(
        tuple(r.rule.value for r in failed), any(r.critical for r in failed), refusal
    )
