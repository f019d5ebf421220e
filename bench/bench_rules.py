"""Benchmark: the deterministic LLM / RAG / agent rules (E2) over 100k outputs of ~500 characters.

Generates a seeded synthetic mix of support-assistant outputs — plain answers with amounts and
dates, a share with PII (cards, IBANs, emails, phones, some echoed from the input), refusals,
JSON answers checked against a schema, citations and tool calls — and times
:func:`airel.domain.eval.llm.rules.evaluate_batch` with every rule. Case construction is timed
separately (it validates JSON schemas once per case). Prints a ``RESULT_JSON: {...}`` line and
exits 1 when evaluation takes longer than ``--budget`` seconds (default 10).

Usage::

    .venv/bin/python bench/bench_rules.py [--n 100000] [--budget 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time

from airel.domain.eval.llm.rules import (
    EvalCase,
    Output,
    ToolCall,
    evaluate_batch,
    summarize,
)

FILLER = (
    "Thank you for contacting us about your account. The late payment fee on your statement "
    "dated 2024-03-14 was £12.50 and it was applied because the minimum payment of £25.00 "
    "arrived after the due date. You can request a review of the fee through the app under "
    "Help > Fees, and a colleague will reply within 5 working days. Please keep reference "
    "{ref} for your records. Interest of 1.9% per month continues to apply to the balance, "
    "and we’ll send you a reminder 3 days before your next due date so it doesn’t happen again. "
)
PII = [
    "card 4111 1111 1111 1111",
    "IBAN GB82 WEST 1234 5698 7654 32",
    "jane.doe@example.com",
    "+44 20 7946 0958",
    "SSN 123-45-6789",
    "NI number AB 12 34 56 C",
]
REFUSAL = "I'm sorry, but I can't help with moving money out of someone else's account. "
SCHEMA = {
    "type": "object",
    "required": ["decision", "reasons"],
    "properties": {
        "decision": {"type": "string", "enum": ["approve", "decline", "refer"]},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}


def make_item(i: int, rng: random.Random) -> tuple[EvalCase, Output]:
    """One synthetic case/output pair of ~500 characters."""
    kind = rng.random()
    pii = rng.choice(PII)
    echo = rng.random() < 0.5
    user = f"Why was I charged a late fee? My details: {pii}" if echo else "Why was I charged?"
    text = FILLER.format(ref=f"R{i:08d}")
    if kind < 0.10:  # JSON decision
        text = json.dumps({"decision": "refer", "reasons": [text[:460]]}, ensure_ascii=False)
        case = EvalCase(id=f"c{i}", input=user, format="json", json_schema=SCHEMA)
        return case, Output(text=text)
    if kind < 0.20:  # red-team
        case = EvalCase(id=f"c{i}", input=user, expect_refusal=True)
        return case, Output(text=REFUSAL + text[:420])
    if kind < 0.30:  # PII in the answer
        text = text[:300] + f" We have on file: {pii}. " + text[300:]
    calls: tuple[ToolCall, ...] = ()
    if kind > 0.85:  # agent with tool calls
        calls = (
            ToolCall("get_statement", {"account": f"A{i}"}, side_effect="read"),
            ToolCall("refund_fee", {"account": f"A{i}", "amount": 12.5}, kind > 0.9, "write"),
        )
    case = EvalCase(
        id=f"c{i}",
        input=user,
        format="text",
        required_phrases=("late payment fee", "working days"),
        prohibited_phrases=("guaranteed fee waiver", "we will waive"),
        expect_refusal=False,
        requires_citation=True,
        approved_docs=frozenset({"fees-2024", "terms-v3"}),
        expect_handoff=kind > 0.95 or None,
    )
    cited = ("fees-2024",) if kind < 0.8 else ("blog-7",)
    out = Output(
        text=text[:520], citations=cited, retrieved=("fees-2024", "blog-7"), tool_calls=calls
    )
    return case, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = time.perf_counter()
    pairs = [make_item(i, rng) for i in range(args.n)]
    build_s = time.perf_counter() - start
    cases = [c for c, _ in pairs]
    outputs = [o for _, o in pairs]
    chars = sum(len(o.text) for o in outputs)
    start = time.perf_counter()
    rows = evaluate_batch(cases, outputs)
    eval_s = time.perf_counter() - start
    summary = summarize(rows)
    failed = {rule: c["failed"] for rule, c in summary.items() if c["failed"]}
    print(f"items            {args.n:>10,}")
    print(f"mean chars       {chars / args.n:>10.0f}")
    print(f"build cases (s)  {build_s:>10.2f}")
    print(f"evaluate (s)     {eval_s:>10.2f}   budget {args.budget:.1f}")
    print(f"items / s        {args.n / eval_s:>10,.0f}")
    print(f"failures         {failed}")
    result = {
        "bench": "rules",
        "items": args.n,
        "mean_chars": round(chars / args.n, 1),
        "rules": len(rows[0]) if rows else 0,
        "build_s": round(build_s, 3),
        "evaluate_s": round(eval_s, 3),
        "items_per_s": round(args.n / eval_s),
        "budget_s": args.budget,
        "ok": eval_s <= args.budget,
        "failures": failed,
        "python": platform.python_version(),
    }
    print("RESULT_JSON: " + json.dumps(result, sort_keys=True))
    return 0 if eval_s <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
