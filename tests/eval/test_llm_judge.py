"""The optional LLM judge (E2) against a local fake OpenAI-compatible server.

An unparseable judgement is an error, never a pass; the raw request and response are stored so
a stored run can be re-judged without calling the endpoint (E4).
"""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from typing import Any

import pytest

from airel.adapters.eval.llm_judge import (
    JUDGE_SYSTEM_PROMPT,
    Judgement,
    ParsedVerdict,
    RetryPolicy,
    judge,
    judge_version_inputs,
    parse_verdict,
    rejudge,
    render_prompt,
)
from airel.adapters.eval.targets import Call
from airel.errors import Reason, ValidationError
from fake_server import FakeServer, JudgeServer

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


# ---------------------------------------------------------------------------------------------
# Calling the endpoint: headers, retries, time budget, bounded concurrency, order
# ---------------------------------------------------------------------------------------------

SECRET = "sk-test-SECRET-4f1c9b"
ORG = "org-secret-77"
HEADERS = {"Authorization": f"Bearer {SECRET}", "X-Org": ORG}
FAST = RetryPolicy(max_retries=3, base_s=0.01, cap_s=0.05)


@pytest.fixture
def judge_server() -> Any:
    with JudgeServer() as running:
        yield running


def _call(
    server: JudgeServer,
    route: str,
    items: list[dict[str, Any]],
    outputs: dict[str, Any],
    **kwargs: Any,
) -> list[Judgement]:
    params: dict[str, Any] = {"timeout_s": 5, "retry": FAST, "headers": HEADERS}
    params.update(kwargs)
    return judge(
        items,
        outputs,
        endpoint=server.url + route,
        model="judge-1",
        prompt_template=TEMPLATE,
        rubric="be right",
        **params,
    )


def test_headers_reach_the_endpoint_but_never_the_stored_judgement(
    judge_server: JudgeServer,
) -> None:
    """Authentication headers are sent with every call; the stored raw request is the JSON
    body only, so neither value appears in what an eval run keeps."""
    judged = _call(judge_server, "", ITEMS[:2], OUTPUTS)
    assert [j.verdict for j in judged] == ["pass", "fail"]
    assert all(h["Authorization"] == f"Bearer {SECRET}" for h in judge_server.headers)
    assert all(h["X-Org"] == ORG for h in judge_server.headers)
    stored = json.dumps([j.to_dict() for j in judged])
    assert SECRET not in stored
    assert ORG not in stored
    assert set(judged[0].raw_request) == {"model", "temperature", "messages"}
    assert SECRET not in repr(judged)


@pytest.mark.parametrize("route", ["/echo401", "/echo200"])
def test_a_secret_echoed_by_the_endpoint_is_scrubbed(judge_server: JudgeServer, route: str) -> None:
    """A server that sends the key back (in an error body or a response) cannot get it into
    the stored judgement: every header value is replaced by ***."""
    judged = _call(judge_server, route, ITEMS[:1], OUTPUTS)
    stored = json.dumps([j.to_dict() for j in judged])
    assert SECRET not in stored
    assert ORG not in stored
    assert "***" in stored
    if route == "/echo401":  # not retried: a 401 will not get better
        assert judged[0].verdict == "error"
        assert judged[0].attempts == 1
        assert judge_server.seen["GOOD"] == 1
    else:
        assert judged[0].verdict == "pass"


def test_429_and_503_are_retried_until_a_verdict(judge_server: JudgeServer) -> None:
    """429 (Retry-After: 0) then 503 then an answer: the item is judged, after 3 attempts."""
    judged = _call(judge_server, "/flaky", ITEMS[:2], OUTPUTS)
    assert [j.verdict for j in judged] == ["pass", "fail"]
    assert [j.attempts for j in judged] == [3, 3]
    assert judged[0].to_dict()["attempts"] == 3
    assert judge_server.seen == Counter({"GOOD": 3, "BAD": 3})


def test_exhausted_retries_are_an_error_never_a_pass(judge_server: JudgeServer) -> None:
    """Always 503: max_retries + 1 attempts per item, then verdict error with the reason."""
    policy = RetryPolicy(max_retries=2, base_s=0.01, cap_s=0.02)
    judged = _call(judge_server, "/down", ITEMS[:2], OUTPUTS, retry=policy)
    assert [j.verdict for j in judged] == ["error", "error"]
    assert [j.attempts for j in judged] == [3, 3]
    assert judged[0].error is not None
    assert "retries exhausted" in judged[0].error
    assert "HTTP 503" in judged[0].error
    assert judged[0].raw_response is None
    assert judge_server.seen == Counter({"GOOD": 3, "BAD": 3})


def test_connection_failures_are_retried_then_an_error() -> None:
    """Nothing listening: connection refused is retried, then the item is an error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    judged = judge(
        ITEMS[:1],
        OUTPUTS,
        endpoint=f"http://127.0.0.1:{port}",
        model="m",
        prompt_template=TEMPLATE,
        rubric="",
        timeout_s=5,
        retry=RetryPolicy(max_retries=2, base_s=0.01, cap_s=0.02),
    )
    assert judged[0].verdict == "error"
    assert judged[0].attempts == 3
    assert "request failed" in (judged[0].error or "")


def test_retry_after_is_honoured(judge_server: JudgeServer) -> None:
    """429 with Retry-After: 1 — the retry waits at least a second (back-off alone: 10 ms)."""
    judged = _call(judge_server, "/wait", ITEMS[:1], OUTPUTS)
    assert judged[0].verdict == "pass"
    first, second = judge_server.times["GOOD"]
    assert second - first >= 0.95


def test_a_retry_after_beyond_the_budget_is_not_waited_for(judge_server: JudgeServer) -> None:
    """Retry-After: 30 with a 2 s budget: give up at once, an error naming the reason."""
    start = time.monotonic()
    judged = _call(judge_server, "/later", ITEMS[:1], OUTPUTS, timeout_s=2)
    assert time.monotonic() - start < 1.5
    assert judged[0].verdict == "error"
    assert judged[0].attempts == 1
    assert "Retry-After" in (judged[0].error or "")


def test_a_slow_item_times_out_and_the_others_are_judged(judge_server: JudgeServer) -> None:
    """One item's judge call outlasts its 1 s budget: that item is an error (timeout), the
    others are judged in parallel, and the whole call takes about one budget."""
    outputs = {**OUTPUTS, "b": "SLOW"}
    start = time.monotonic()
    judged = _call(judge_server, "/slow", ITEMS[:3], outputs, timeout_s=1)
    assert time.monotonic() - start < 2.5
    assert [j.item_id for j in judged] == ["g", "b", "x"]
    assert judged[1].verdict == "error"
    assert "timeout" in (judged[1].error or "")
    assert judged[1].raw_response is None
    assert (judged[0].verdict, judged[2].verdict) == ("pass", "fail")


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_is_bounded_and_order_is_kept(
    judge_server: JudgeServer, concurrency: int
) -> None:
    """12 items, later ones answered faster: never more than ``concurrency`` calls in flight,
    and the judgements come back in item order whatever order the calls finished in."""
    items = [{"id": f"i{n:02d}", "input": f"q{n}"} for n in range(12)]
    outputs = {f"i{n:02d}": f"A{n}" for n in range(12)}
    judged = _call(judge_server, "/pool", items, outputs, concurrency=concurrency)
    assert judge_server.max_in_flight == concurrency
    assert [j.item_id for j in judged] == [i["id"] for i in items]
    assert [j.verdict for j in judged] == ["pass" if n % 2 else "fail" for n in range(12)]


def test_retry_policy_delays_and_bad_arguments(judge_server: JudgeServer) -> None:
    """Exponential with jitter and a cap; Retry-After wins when longer; bad values refused."""
    policy = RetryPolicy(max_retries=5, base_s=0.2, cap_s=1.0)
    for _ in range(50):
        assert 0.1 <= policy.delay(1) <= 0.2
        assert 0.2 <= policy.delay(2) <= 0.4
        assert 0.5 <= policy.delay(9) <= 1.0
    assert policy.delay(1, retry_after_s=3.0) == 3.0
    assert 0.1 <= policy.delay(1, retry_after_s=0.0) <= 0.2
    with pytest.raises(ValidationError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValidationError):
        RetryPolicy(base_s=2.0, cap_s=1.0)
    with pytest.raises(ValidationError) as err:
        _call(judge_server, "", ITEMS[:1], OUTPUTS, concurrency=0)
    assert err.value.reason is Reason.INVALID_VALUE
    assert judge_server.requests == []
