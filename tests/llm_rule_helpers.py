"""Helpers for the deterministic LLM rule tests (tests/eval/test_rules*.py): build a case and
run one rule on it."""

from __future__ import annotations

from typing import Any

from airel.domain.eval.llm.rules import EvalCase, Output, RuleId, RuleResult, evaluate_case


def one(case: EvalCase, output: Output, rule: RuleId, **kw: Any) -> RuleResult:
    (res,) = evaluate_case(case, output, [rule], **kw)
    assert res.rule is rule
    return res


def case(**kw: Any) -> EvalCase:
    kw.setdefault("id", "c1")
    kw.setdefault("input", "What is the fee for a late payment?")
    return EvalCase(**kw)
