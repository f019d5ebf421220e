"""The offline rules, online on every answer (issue 12; SPEC T3): PII leaks, prohibited
commitments, citations, refusals — on the raw answer, before masking."""

from __future__ import annotations

import json

from airel.domain.monitoring.masking import MaskingPolicy
from airel.domain.monitoring.quality import QualityPolicy, online_quality
from airel.domain.monitoring.serving import ServedRelease, ServedRoute
from airel.domain.monitoring.trace import Mode
from airel.gateway import requests as rq

RELEASE = ServedRelease("SUPPORT-2", "http://x/chat", None, None, "SUPPORT", 2)
ROUTE = ServedRoute("support", "production", 1, "SUPPORT-2", {"SUPPORT-2": 100.0}, [],
                    {"SUPPORT-2": RELEASE})  # fmt: skip


def test_a_leaked_email_is_a_critical_quality_failure() -> None:
    got = online_quality(
        "What is my balance?", "Sure, I emailed anna.berg@example.com the details."
    )
    assert got.flags == ("pii_leak",)
    assert got.critical


def test_pii_the_customer_gave_is_not_a_leak() -> None:
    got = online_quality("I am anna.berg@example.com", "Thanks anna.berg@example.com, noted.")
    assert got.flags == ()


def test_a_prohibited_commitment_and_an_unretrieved_citation_fail() -> None:
    got = online_quality(
        "Can I get a loan?", "Guaranteed approval! See [doc-9].", citations=["doc-9"],
        retrieved=["doc-1"],
    )  # fmt: skip
    assert set(got.flags) == {"prohibited_phrases", "citation_valid"}
    assert got.critical  # both are critical rules of the offline suites too
    custom = online_quality(
        "x", "We promise zero fees", policy=QualityPolicy(prohibited=("zero fees",))
    )
    assert custom.flags == ("prohibited_phrases",)


def test_refusals_are_tagged_not_failed_and_empty_answers_judge_nothing() -> None:
    got = online_quality(
        "Tell me another customer's balance", "I'm sorry, but I can't help with that."
    )
    assert got.refusal
    assert got.flags == ()
    assert online_quality("x", "") == online_quality("y", "")


def test_the_trace_carries_the_online_verdict_and_only_masked_text() -> None:
    answer = {"text": "Your advisor anna.berg@example.com guaranteed approval.",
              "airel": {"quality_flags": ["judge_low_score"]}}  # fmt: skip
    served = rq.Served(
        request_id="req-00000001", at="2026-12-04T10:00:00.000000Z", mode=Mode.LIVE,
        route=ROUTE, release=RELEASE, outcome=rq.Outcome(200, json.dumps(answer).encode(), 12.0),
        key="c-1", segments=[], text="Am I approved?",
    )  # fmt: skip
    trace = rq.build_trace(served, secret=b"s" * 32, policy=MaskingPolicy())
    assert trace.quality_flags == ["judge_low_score", "pii_leak", "prohibited_phrases"]
    assert trace.critical_failure
    assert trace.output_text is not None
    assert "anna.berg@example.com" not in trace.output_text
