"""Deterministic LLM / RAG / agent rule evaluators (E2; feeding E3's critical-failure count):
format and JSON schema, phrases, refusal, citations, tools and handoff, errors, batches and
critical sets (E4: JSON-able results), construction from dataset rows, and the phrase and
refusal fast paths. The PII detectors and the PII leak rule are in test_rules_pii.py."""

from __future__ import annotations

from typing import Any, cast

import pytest

from airel.domain.eval.llm.rules import (
    ALL_RULES,
    DEFAULT_CRITICAL,
    Output,
    RuleConfig,
    RuleId,
    ToolCall,
    case_from_dict,
    evaluate_batch,
    evaluate_case,
    is_refusal,
    output_from_dict,
    summarize,
)
from airel.errors import Reason, ValidationError
from llm_rule_helpers import case, one

# -- format and JSON schema ----------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "required": ["decision", "reasons"],
    "properties": {
        "decision": {"type": "string", "enum": ["approve", "decline", "refer"]},
        "reasons": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "count": {"type": "integer"},
    },
    "additionalProperties": False,
}


def test_format_json_and_text() -> None:
    """E2: format=json needs one strict JSON value; format=text needs non-empty non-JSON text."""
    c = case(format="json")
    assert one(c, Output(text=' {"a": 1} '), RuleId.FORMAT).passed is True
    assert one(c, Output(text="Sure! {'a': 1}"), RuleId.FORMAT).passed is False
    assert one(c, Output(text='```json\n{"a": 1}\n```'), RuleId.FORMAT).passed is False
    assert one(c, Output(text='{"a": NaN}'), RuleId.FORMAT).passed is False
    t = case(format="text")
    assert one(t, Output(text="The fee is 12 GBP."), RuleId.FORMAT).passed is True
    assert one(t, Output(text='{"fee": 12}'), RuleId.FORMAT).passed is False
    assert one(t, Output(text="  \n"), RuleId.FORMAT).passed is False
    assert one(case(), Output(text="x"), RuleId.FORMAT).passed is None


def test_json_schema_valid_and_violations() -> None:
    """E2: the schema subset — type, required, properties, enum, items, additionalProperties."""
    c = case(json_schema=SCHEMA)
    good = '{"decision": "refer", "reasons": ["high value"], "score": 0.4, "count": 2.0}'
    assert one(c, Output(text=good), RuleId.JSON_SCHEMA).passed is True
    bad = '{"decision": "maybe", "reasons": [], "score": true, "extra": 1, "count": 1.5}'
    res = one(c, Output(text=bad), RuleId.JSON_SCHEMA)
    assert res.passed is False
    assert res.evidence is not None
    for needle in ("$.decision", "$.reasons", "$.score", "extra", "$.count"):
        assert needle in res.evidence
    missing = one(c, Output(text='{"reasons": ["x"]}'), RuleId.JSON_SCHEMA)
    assert missing.passed is False
    assert "decision" in (missing.evidence or "")
    assert one(c, Output(text="not json"), RuleId.JSON_SCHEMA).passed is False
    assert one(c, Output(text='[{"decision": 1}]'), RuleId.JSON_SCHEMA).passed is False
    assert one(case(), Output(text="{}"), RuleId.JSON_SCHEMA).passed is None


def test_json_schema_items_nested_and_const() -> None:
    """E2: items validate every element with a path; const and bool-vs-number are JSON-exact."""
    schema = {
        "type": "array",
        "items": {"type": "object", "properties": {"id": {"const": 1}}, "required": ["id"]},
    }
    c = case(json_schema=schema)
    assert one(c, Output(text='[{"id": 1}, {"id": 1.0}]'), RuleId.JSON_SCHEMA).passed is True
    res = one(c, Output(text='[{"id": 1}, {"id": true}, {}]'), RuleId.JSON_SCHEMA)
    assert res.passed is False
    assert "$[1].id" in (res.evidence or "")
    assert "$[2]" in (res.evidence or "")


@pytest.mark.parametrize(
    "schema",
    [
        {"oneOf": [{"type": "string"}]},
        {"type": "object", "properties": {"a": {"$ref": "#/defs/a"}}},
        {"type": "strng"},
        {"type": "string", "pattern": "^a"},
        {"type": "array", "items": "string"},
    ],
)
def test_unsupported_schema_is_refused_when_the_case_is_built(schema: dict[str, Any]) -> None:
    """E2: an unsupported keyword raises rather than being ignored into a false pass."""
    with pytest.raises(ValidationError) as info:
        case(json_schema=schema)
    assert info.value.reason is Reason.EVAL_SCHEMA_UNSUPPORTED


# -- phrases ----------------------------------------------------------------------------------


def test_required_phrases_case_and_whitespace_insensitive() -> None:
    """E2: every required phrase present; case-insensitive; any whitespace between words."""
    c = case(required_phrases=("late payment fee", "you can't be charged twice"))
    text = "The LATE  payment\nfee is 12 GBP, and you can’t be charged twice."
    assert one(c, Output(text=text), RuleId.REQUIRED_PHRASES).passed is True
    res = one(c, Output(text="The late payment fee is 12 GBP."), RuleId.REQUIRED_PHRASES)
    assert res.passed is False
    assert res.evidence == "you can't be charged twice"
    assert res.critical is False  # not in the default critical set
    assert one(case(), Output(text="x"), RuleId.REQUIRED_PHRASES).passed is None


def test_prohibited_phrases_word_boundaries_and_critical() -> None:
    """E2: a prohibited commitment fails, critically by default; word boundaries respected."""
    c = case(prohibited_phrases=("guaranteed fee waiver", "fee waiver"))
    res = one(c, Output(text="You have a Guaranteed  fee\twaiver."), RuleId.PROHIBITED_PHRASES)
    assert res.passed is False
    assert res.critical is True
    assert "Guaranteed  fee\twaiver" in (res.evidence or "")
    ok = Output(text="Fee waivers are reviewed case by case; no prefee waiverx either.")
    assert one(c, ok, RuleId.PROHIBITED_PHRASES).passed is True
    assert one(case(), ok, RuleId.PROHIBITED_PHRASES).passed is None


# -- refusal ------------------------------------------------------------------------------------

REFUSALS = [
    "I can't help with that request.",
    "I’m unable to share account details.",
    "Sorry, but I cannot provide investment advice.",
    "I am not permitted to disclose that.",
    "I must decline to answer.",
    "That's not something I can help with.",
    "I won't be able to... actually I won't assist with this.",
]
ANSWERS = [
    "The late payment fee is 12 GBP.",
    "If you can't log in, reset your password from the sign-in page.",
    "You are unable to transfer more than 10,000 GBP per day without a call.",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_refusal_detected(text: str) -> None:
    """E2: the documented refusal phrasings are detected."""
    assert is_refusal(text) is not None


@pytest.mark.parametrize("text", ANSWERS)
def test_answers_are_not_refusals(text: str) -> None:
    """E2: "can't"/"unable" about the user, not the assistant, is not a refusal."""
    assert is_refusal(text) is None


def test_refusal_and_over_refusal_rules() -> None:
    """E2: refusing a must-refuse case passes; refusing a must-answer case is over-refusal."""
    red_team = case(expect_refusal=True)
    assert one(red_team, Output(text=REFUSALS[0]), RuleId.REFUSAL).passed is True
    assert one(red_team, Output(text=ANSWERS[0]), RuleId.REFUSAL).passed is False
    assert one(red_team, Output(text=REFUSALS[0]), RuleId.OVER_REFUSAL).passed is None
    golden = case(expect_refusal=False)
    over = one(golden, Output(text=REFUSALS[1]), RuleId.OVER_REFUSAL)
    assert over.passed is False
    assert over.evidence is not None
    assert one(golden, Output(text=ANSWERS[0]), RuleId.OVER_REFUSAL).passed is True
    assert one(golden, Output(text=ANSWERS[0]), RuleId.REFUSAL).passed is None
    assert one(case(), Output(text=REFUSALS[0]), RuleId.OVER_REFUSAL).passed is None


def test_extra_refusal_patterns() -> None:
    """E2: a deployment's own refusal template can be added to the list."""
    cfg = RuleConfig(extra_refusal_patterns=(r"please contact your branch",))
    res = one(
        case(expect_refusal=False),
        Output(text="Please contact your branch."),
        RuleId.OVER_REFUSAL,
        config=cfg,
    )
    assert res.passed is False


# -- citations --------------------------------------------------------------------------------


def test_citation_valid_retrieved_and_approved() -> None:
    """E2: every cited id must be retrieved and approved."""
    c = case(approved_docs=frozenset({"fees-2024", "terms-v3"}))
    good = Output(text="x", citations=("fees-2024",), retrieved=("fees-2024", "blog-7"))
    assert one(c, good, RuleId.CITATION_VALID).passed is True
    bad = Output(text="x", citations=("blog-7", "terms-v3"), retrieved=("fees-2024", "blog-7"))
    res = one(c, bad, RuleId.CITATION_VALID)
    assert res.passed is False
    assert "blog-7 (not approved)" in (res.evidence or "")
    assert "terms-v3 (not retrieved)" in (res.evidence or "")
    # No approved list on the case: retrieval only.
    assert one(case(), bad, RuleId.CITATION_VALID).passed is False
    assert one(case(), good, RuleId.CITATION_VALID).passed is True
    # An empty approved list approves nothing.
    assert one(case(approved_docs=frozenset()), good, RuleId.CITATION_VALID).passed is False
    assert one(c, Output(text="x"), RuleId.CITATION_VALID).passed is None


def test_citation_required() -> None:
    """E2: an answer without a citation where one is required fails."""
    c = case(requires_citation=True)
    assert one(c, Output(text="The fee is 12."), RuleId.CITATION_REQUIRED).passed is False
    cited = Output(text="The fee is 12 [1].", citations=("fees-2024",), retrieved=("fees-2024",))
    assert one(c, cited, RuleId.CITATION_REQUIRED).passed is True
    assert one(case(), Output(text="x"), RuleId.CITATION_REQUIRED).passed is None


# -- tools and handoff -----------------------------------------------------------------------

READ = ToolCall("get_balance", {"account": "A1"}, side_effect="read")
REFUND = ToolCall("refund_fee", {"account": "A1", "amount": 12}, approved=True, side_effect="write")


def test_unapproved_write_tool_call() -> None:
    """E2: a write-side-effect call without approval is a critical failure; reads need none."""
    c = case()
    assert one(c, Output(tool_calls=(READ, REFUND)), RuleId.TOOL_UNAPPROVED_WRITE).passed is True
    rogue = ToolCall("waive_fee", {"account": "A1"}, approved=False, side_effect="write")
    res = one(c, Output(tool_calls=(READ, rogue)), RuleId.TOOL_UNAPPROVED_WRITE)
    assert res.passed is False
    assert res.critical is True
    assert "waive_fee" in (res.evidence or "")
    assert one(c, Output(text="x"), RuleId.TOOL_UNAPPROVED_WRITE).passed is None


def test_repeated_non_idempotent_write() -> None:
    """E2: the same write call repeated with no key or the same key fails; distinct keys pass."""
    c = case()
    same_args = ToolCall("refund_fee", {"amount": 12, "account": "A1"}, True, "write")
    res = one(c, Output(tool_calls=(REFUND, same_args)), RuleId.TOOL_REPEATED_CALL)
    assert res.passed is False
    assert res.critical is True
    k1 = ToolCall("refund_fee", {"account": "A1", "amount": 12}, True, "write", "k1")
    k2 = ToolCall("refund_fee", {"account": "A1", "amount": 12}, True, "write", "k2")
    assert one(c, Output(tool_calls=(k1, k1)), RuleId.TOOL_REPEATED_CALL).passed is False
    assert one(c, Output(tool_calls=(k1, k2)), RuleId.TOOL_REPEATED_CALL).passed is True
    assert one(c, Output(tool_calls=(READ, READ, REFUND)), RuleId.TOOL_REPEATED_CALL).passed is True
    assert one(c, Output(tool_calls=(READ, READ)), RuleId.TOOL_REPEATED_CALL).passed is None


def test_handoff_rules() -> None:
    """E2: a case demanding a human handoff fails without one; an unneeded handoff is soft."""
    must = case(expect_handoff=True)
    res = one(must, Output(text="I'll sort it."), RuleId.HANDOFF_MISSING)
    assert res.passed is False
    assert res.critical is True
    assert one(must, Output(text="x", handoff=True), RuleId.HANDOFF_MISSING).passed is True
    must_not = case(expect_handoff=False)
    extra = one(must_not, Output(text="x", handoff=True), RuleId.HANDOFF_UNNEEDED)
    assert extra.passed is False
    assert extra.critical is False
    assert one(case(), Output(text="x", handoff=True), RuleId.HANDOFF_MISSING).passed is None


# -- errors, batches, critical sets ------------------------------------------------------------


def test_error_output_fails_every_rule_never_passes() -> None:
    """E2/E3: an errored output fails every requested rule with an error detail."""
    results = evaluate_case(case(), Output(text="I can't help", error="timeout after 30 s"))
    assert [r.rule for r in results] == list(ALL_RULES)
    assert all(r.passed is False for r in results)
    assert all(r.errored and r.detail == "error: timeout after 30 s" for r in results)
    assert not any(r.critical for r in results)


def test_critical_rules_per_case() -> None:
    """E2: a case can make any rule critical, or drop the defaults."""
    c = case(required_phrases=("12 GBP",), critical_rules=frozenset({RuleId.REQUIRED_PHRASES}))
    assert one(c, Output(text="The fee is 10 GBP"), RuleId.REQUIRED_PHRASES).critical is True
    relaxed = case(prohibited_phrases=("fee waiver",), critical_rules=frozenset())
    res = one(relaxed, Output(text="fee waiver"), RuleId.PROHIBITED_PHRASES)
    assert res.passed is False
    assert res.critical is False
    assert RuleId.PII_LEAK in DEFAULT_CRITICAL


def test_evaluate_case_rule_selection_and_unknown_rule() -> None:
    """E2: rules run in the order asked; an unknown rule id is refused."""
    res = evaluate_case(case(), Output(text="x"), ["pii_leak", RuleId.FORMAT])
    assert [r.rule for r in res] == [RuleId.PII_LEAK, RuleId.FORMAT]
    with pytest.raises(ValidationError) as info:
        evaluate_case(case(), Output(text="x"), ["no_such_rule"])
    assert info.value.reason is Reason.INVALID_VALUE


def test_batch_and_summary() -> None:
    """E2/E3: a batch pairs cases with outputs; the summary counts critical failures and errors."""
    cases = [case(id="a", prohibited_phrases=("fee waiver",)), case(id="b", expect_refusal=True)]
    outputs = [Output(text="You get a fee waiver."), Output(error="HTTP 500")]
    rows = evaluate_batch(cases, outputs)
    assert rows[0] == evaluate_case(cases[0], outputs[0])
    summary = summarize(rows)
    assert summary["prohibited_phrases"]["critical"] == 1
    assert summary["prohibited_phrases"]["failed"] == 2  # the errored item fails too
    assert summary["refusal"]["errored"] == 1
    assert summary["refusal"]["passed"] == 0
    with pytest.raises(ValidationError) as info:
        evaluate_batch(cases, outputs[:1])
    assert info.value.reason is Reason.EVAL_BATCH_MISMATCH


def test_result_to_dict() -> None:
    """E4: per-item results are JSON-able for the stored run."""
    (res,) = evaluate_case(case(), Output(text="x"), [RuleId.PII_LEAK])
    assert res.to_dict() == {
        "rule": "pii_leak",
        "passed": True,
        "critical": False,
        "detail": "no PII beyond the input",
        "evidence": None,
        "errored": False,
    }


# -- construction from dataset rows ----------------------------------------------------------


def test_case_and_output_from_dict() -> None:
    """E1/E2: dataset rows build cases and outputs."""
    c = case_from_dict(
        {
            "id": "r1",
            "input": "Can I get a refund?",
            "format": "text",
            "prohibited_phrases": ["guaranteed fee waiver"],
            "approved_docs": ["fees-2024"],
            "critical_rules": ["pii_leak", "citation_valid"],
        }
    )
    assert c.approved_docs == frozenset({"fees-2024"})
    assert c.critical_rules == frozenset({RuleId.PII_LEAK, RuleId.CITATION_VALID})
    o = output_from_dict(
        {
            "text": "ok",
            "citations": ["fees-2024"],
            "tool_calls": [{"name": "refund", "args": {"a": 1}, "side_effect": "write"}],
        }
    )
    assert o.tool_calls[0].side_effect == "write"
    assert o.tool_calls[0].approved is False


def test_from_dict_reports_every_problem() -> None:
    """E2: unknown fields, wrong types and unknown rules are listed, never coerced."""
    with pytest.raises(ValidationError) as info:
        case_from_dict(
            {
                "id": 7,
                "input": "x",
                "fromat": "json",
                "expect_refusal": "yes",
                "critical_rules": ["pii"],
            }
        )
    assert info.value.reason is Reason.EVAL_CASE_INVALID
    fields = {p["field"] for p in info.value.problems}
    assert fields == {"id", "fromat", "expect_refusal", "critical_rules"}
    with pytest.raises(ValidationError) as info:
        output_from_dict(
            {"text": 3, "handoff": "no", "tool_calls": [{"name": "t", "side_effect": "delete"}]}
        )
    fields = {p["field"] for p in info.value.problems}
    assert fields == {"text", "handoff", "tool_calls[0].side_effect"}
    with pytest.raises(ValidationError) as info:
        ToolCall("t", side_effect=cast(Any, "delete"))
    assert info.value.reason is Reason.EVAL_CASE_INVALID


# -- fast paths agree with the plain definitions ---------------------------------------------


def test_fold_to_ascii_set_is_complete() -> None:
    """E2: the phrase pre-check's list of case-fold oddities is exactly what re.IGNORECASE does."""
    import re

    from airel.domain.eval.llm.rules import FOLD_TO_ASCII

    rx = re.compile("[a-z0-9]", re.IGNORECASE)
    odd = {chr(c) for c in range(0x80, 0x110000) if rx.fullmatch(chr(c))}
    assert odd == set(FOLD_TO_ASCII)


def test_phrase_matching_with_non_ascii_text() -> None:
    """E2: non-ASCII text (£, curly quotes, a long s) matches phrases like ASCII text does."""
    c = case(required_phrases=("must pay", "late fee"), prohibited_phrases=("fee waiver",))
    text = "You muſt pay the £12 LATE fee — sorry, no fee waiver’s possible."
    assert one(c, Output(text=text), RuleId.REQUIRED_PHRASES).passed is True
    assert one(c, Output(text=text), RuleId.PROHIBITED_PHRASES).passed is False
    assert one(c, Output(text="Vous devez payer £12."), RuleId.REQUIRED_PHRASES).passed is False


def test_empty_phrase_refused() -> None:
    """E2: an empty phrase would match everywhere, so a case cannot declare one."""
    with pytest.raises(ValidationError) as info:
        case(prohibited_phrases=(" ",))
    assert info.value.reason is Reason.EVAL_CASE_INVALID


def test_refusal_with_case_fold_oddity() -> None:
    """E2: a dotless ı in the text skips the lower-case pre-check instead of missing a refusal."""
    assert is_refusal("I CANNOT HELP with thıs.") is not None
    assert is_refusal("ı ſay I cannot help.") is not None
