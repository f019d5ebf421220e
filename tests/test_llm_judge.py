"""The optional LLM judge (E2) against a local fake OpenAI-compatible server.

An unparseable judgement is an error, never a pass; the raw request and response are stored so
a stored run can be re-judged without calling the endpoint (E4).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airel.adapters.eval_targets import Call
from airel.adapters.llm_judge import (
    JUDGE_SYSTEM_PROMPT,
    Judgement,
    ParsedVerdict,
    judge,
    judge_version_inputs,
    parse_verdict,
    rejudge,
    render_prompt,
)
from airel.errors import Reason, ValidationError
from test_eval_targets import FakeServer

TEMPLATE = 'Question: {input}\nAnswer: {output}\nRubric: {rubric}\nReply like {"score": 1}'
ITEMS = [
    {"id": "g", "input": "q1"},
    {"id": "b", "input": "q2"},
    {"id": "x", "input": "q3"},
    {"id": "f", "input": "q4"},
    {"id": "r", "input": "q5"},
]
OUTPUTS: dict[str, Any] = {"g": "GOOD", "b": "BAD", "x": "GARBLE", "f": "FENCE", "r": "RANGE"}


@pytest.fixture
def server() -> Any:
    with FakeServer() as running:
        yield running


def _judge(server: FakeServer, items: list[dict[str, Any]], outputs: dict[str, Any]) -> Any:
    return judge(
        items,
        outputs,
        endpoint=server.url,
        model="judge-1",
        prompt_template=TEMPLATE,
        rubric="be right",
        timeout_s=5,
    )


def test_judge_verdicts_and_unparseable_is_error(server: FakeServer) -> None:
    """E2: pass/fail parsed; prose or an out-of-range score is 'error', never a pass."""
    got = {j.item_id: j for j in _judge(server, ITEMS, OUTPUTS)}
    assert (got["g"].verdict, got["g"].score, got["g"].reason) == ("pass", 0.9, "correct")
    assert got["b"].verdict == "fail"
    assert got["x"].verdict == "error"
    assert got["x"].score is None
    assert got["f"].verdict == "pass"  # a ```json fence is accepted
    assert got["r"].verdict == "error"
    request = got["g"].raw_request
    assert request["model"] == "judge-1"
    assert request["temperature"] == 0
    assert request["messages"][0]["content"] == JUDGE_SYSTEM_PROMPT
    assert "Answer: GOOD" in request["messages"][1]["content"]
    assert 'Reply like {"score": 1}' in request["messages"][1]["content"]
    assert server.requests[0][0] == "/v1/chat/completions"


def test_judge_failed_calls_and_missing_outputs_are_errors(server: FakeServer) -> None:
    """E3: an output from a failed call, or no output, is judged 'error' without asking."""
    outputs = {"g": Call("g", None, "timeout", "slow", 1.0)}
    judged = _judge(server, ITEMS[:2], outputs)
    assert [j.verdict for j in judged] == ["error", "error"]
    assert server.requests == []
    ok = {"g": Call("g", "GOOD", "ok", None, 1.0)}
    assert _judge(server, ITEMS[:1], ok)[0].verdict == "pass"


def test_judge_endpoint_failures_are_errors(server: FakeServer) -> None:
    """E2 bad input: a judge that returns 500 or hangs gives 'error' judgements."""
    for path in ("/500", "/badjson", "/hang"):
        judged = judge(
            ITEMS[:1],
            OUTPUTS,
            endpoint=server.url + path,
            model="m",
            prompt_template=TEMPLATE,
            rubric="",
            timeout_s=2,
        )
        assert judged[0].verdict == "error"
        assert judged[0].error


def test_rejudge_reparses_stored_raw_without_calling(server: FakeServer) -> None:
    """E4: a stored run is re-judged from its raw responses; the endpoint is not called."""
    judged = _judge(server, ITEMS, OUTPUTS)
    stored = json.loads(json.dumps([j.to_dict() for j in judged]))
    calls_before = len(server.requests)
    again = rejudge(stored)
    assert [j.verdict for j in again] == [j.verdict for j in judged]
    assert len(server.requests) == calls_before

    def lenient(content: str | None) -> ParsedVerdict:
        ok = content is not None and "good" in content.lower()
        return ParsedVerdict("pass" if ok else "fail", 1.0 if ok else 0.0, "lenient", None)

    relaxed = {j.item_id: j for j in rejudge(stored, parse=lenient)}
    assert relaxed["x"].verdict == "pass"  # "Looks good to me!" under the new parser
    assert len(server.requests) == calls_before
    assert Judgement.from_dict(stored[0]) == judged[0]


def test_rejudge_keeps_failed_calls_as_errors() -> None:
    """E4: a judgement without a raw response stays an error when re-judged."""
    old = Judgement("a", None, "error", None, None, error="judge call timeout")
    assert rejudge([old]) == [old]
    with pytest.raises(ValidationError) as err:
        rejudge([{"item_id": "a", "verdict": "maybe"}])
    assert err.value.reason is Reason.INVALID_VALUE


@pytest.mark.parametrize(
    ("content", "verdict"),
    [
        ('{"score": 1, "verdict": "pass"}', "pass"),
        ('{"score": 0, "verdict": "fail", "reason": 3}', "fail"),
        ('{"score": true, "verdict": "pass"}', "error"),
        ('{"score": 0.5, "verdict": "PASS"}', "error"),
        ('{"score": 0.5}', "error"),
        ('{"score": NaN, "verdict": "pass"}', "error"),
        ('{"verdict": "pass", "verdict": "fail", "score": 1}', "error"),
        ('["pass"]', "error"),
        ("pass", "error"),
        ("", "error"),
        (None, "error"),
    ],
)
def test_parse_verdict_is_strict(content: str | None, verdict: str) -> None:
    """E2: only a well-formed JSON verdict can pass."""
    assert parse_verdict(content).verdict == verdict


def test_render_prompt_and_version_inputs() -> None:
    """E1: the judge's model and prompts identify it as an evaluator version."""
    text = render_prompt("{id}|{input}|{output}|{expected}|{other}", {"input": "q"}, [1], "", "7")
    assert text == "7|q|[1]||{other}"
    version = judge_version_inputs("m", "T", "R")
    assert version == {
        "model": "m",
        "system_prompt": JUDGE_SYSTEM_PROMPT,
        "prompt_template": "T",
        "rubric": "R",
    }


def test_judge_refuses_bad_endpoint() -> None:
    """E2: the judge endpoint must be http(s)."""
    with pytest.raises(ValidationError) as err:
        judge(
            ITEMS,
            OUTPUTS,
            endpoint="file:///tmp",
            model="m",
            prompt_template="",
            rubric="",
            timeout_s=1,
        )
    assert err.value.reason is Reason.INVALID_VALUE
