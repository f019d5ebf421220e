"""An LLM judge behind an OpenAI-compatible chat endpoint, with re-judging from stored output.

The judge is an evaluator like any other: the caller registers its ``model`` and
``prompt_template`` (plus :data:`JUDGE_SYSTEM_PROMPT`, which :func:`judge_version_inputs`
returns with them) as a versioned evaluator, so every eval run records which judge it used.

Each :class:`Judgement` keeps the exact request sent and the raw response received, so a stored
run can be re-judged later with a different parser by :func:`rejudge`, without calling the
endpoint again. The judge must answer with JSON ``{"score": 0..1, "verdict": "pass"|"fail",
"reason": "..."}`` (a ```json fence around it is accepted). Anything else — no answer, a
timeout, an HTTP error, prose, a score outside 0..1, a verdict other than pass/fail — is
verdict ``"error"``: an unparseable judgement is never a pass.

Placeholders in ``prompt_template`` are ``{input}``, ``{output}``, ``{expected}``, ``{rubric}``
and ``{id}``; every other brace is left alone, so a template can show the judge a JSON example.

Calling the endpoint (:func:`judge`):

* items are judged ``concurrency`` at a time (a bounded thread pool, default
  :data:`DEFAULT_CONCURRENCY`); results come back in item order whatever order calls finish in;
* ``timeout_s`` is each item's budget from its first attempt to its last: every attempt gets
  what is left of it, and an item that has no verdict when it runs out is an ``error`` (its
  ``error`` says ``timeout``);
* 429, 5xx and connection failures are retried (:class:`RetryPolicy`: exponential back-off with
  jitter, capped; a ``Retry-After`` is waited for, unless it would outlast the budget). An item
  whose retries are exhausted is an ``error``; other statuses (401, 404 …) are not retried;
* authentication ``headers`` (:mod:`airel.adapters.eval.judge_auth`) are sent with every call but
  are
  not part of ``raw_request``, which is the JSON body only; any header value that comes back in
  a response or an error message is replaced by ``***`` before it is kept.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from airel.adapters.documents.parse import parse_json
from airel.adapters.eval.call import Call, item_ids
from airel.adapters.eval.http import HttpResult, chat_content, chat_url, check_url, post_json
from airel.adapters.eval.judge_auth import scrub
from airel.errors import InputError, Reason, ValidationError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "JUDGE_SYSTEM_PROMPT",
    "JudgeVerdict",
    "Judgement",
    "ParsedVerdict",
    "RetryPolicy",
    "judge",
    "judge_version_inputs",
    "parse_verdict",
    "rejudge",
    "render_prompt",
]

JudgeVerdict = Literal["pass", "fail", "error"]

JUDGE_SYSTEM_PROMPT = (
    "You are an evaluator. Judge the answer against the rubric. Reply with one JSON object and "
    'nothing else: {"score": <number from 0 to 1>, "verdict": "pass" or "fail", '
    '"reason": "<one sentence>"}.'
)

DEFAULT_CONCURRENCY = 4  # judge calls in flight at once

_PLACEHOLDER = re.compile(r"\{(input|output|expected|rubric|id)\}")
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class ParsedVerdict:
    """What a judge's message content says: a verdict, its score and reason, or why not."""

    verdict: JudgeVerdict
    score: float | None
    reason: str | None
    error: str | None


@dataclass(frozen=True)
class Judgement:
    """One item's judgement, with the raw request and response kept for re-judging."""

    item_id: str
    score: float | None
    verdict: JudgeVerdict
    raw_request: Any
    raw_response: Any
    reason: str | None = None
    error: str | None = None
    latency_ms: float = 0.0
    attempts: int = 0  # calls made to the endpoint (retries included); 0 when not asked

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored with an eval run."""
        return {
            "item_id": self.item_id,
            "score": self.score,
            "verdict": self.verdict,
            "reason": self.reason,
            "error": self.error,
            "latency_ms": self.latency_ms,
            "attempts": self.attempts,
            "raw_request": self.raw_request,
            "raw_response": self.raw_response,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Judgement:
        """Rebuild a stored judgement (the inverse of :meth:`to_dict`)."""
        verdict = data.get("verdict")
        if verdict not in ("pass", "fail", "error"):
            raise ValidationError(
                Reason.INVALID_VALUE,
                f"stored judgement has verdict {verdict!r}",
                details={"item_id": data.get("item_id")},
            )
        return cls(
            item_id=str(data["item_id"]),
            score=data.get("score"),
            verdict=verdict,
            raw_request=data.get("raw_request"),
            raw_response=data.get("raw_response"),
            reason=data.get("reason"),
            error=data.get("error"),
            latency_ms=float(data.get("latency_ms", 0.0)),
            attempts=int(data.get("attempts", 0)),
        )


@dataclass(frozen=True)
class RetryPolicy:
    """How a judge call is retried on 429, 5xx and connection failures.

    Before retry ``n`` (1, 2, …) airel waits ``d/2 + U(0, d/2)`` with
    ``d = min(cap_s, base_s * 2**(n-1))`` (exponential, capped, "equal jitter" so that parallel
    items do not retry in lock-step), or the answer's ``Retry-After`` when that is longer. A
    wait that would end after the item's time budget is not started: the item is an error.
    """

    max_retries: int = 3
    base_s: float = 0.25
    cap_s: float = 8.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_s < 0 or self.cap_s < self.base_s:
            raise ValidationError(
                Reason.INVALID_VALUE,
                "retry policy needs max_retries >= 0 and 0 <= base_s <= cap_s",
                details={"max_retries": self.max_retries, "base_s": self.base_s},
            )

    def delay(self, retry: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** (retry - 1))
        wait = ceiling / 2 + _JITTER.uniform(0, ceiling / 2)
        return max(wait, retry_after_s) if retry_after_s is not None else wait


_JITTER = random.SystemRandom()  # jitter only; nothing depends on it being reproducible


def judge_version_inputs(model: str, prompt_template: str, rubric: str) -> dict[str, str]:
    """What identifies this judge as an evaluator version (hash and register these)."""
    return {
        "model": model,
        "system_prompt": JUDGE_SYSTEM_PROMPT,
        "prompt_template": prompt_template,
        "rubric": rubric,
    }


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def render_prompt(
    template: str, item: Mapping[str, Any], output: Any, rubric: str, item_id: str
) -> str:
    """Fill the template's placeholders; other braces are kept as written."""
    values = {
        "input": _text(item.get("input", item.get("prompt", item.get("messages", "")))),
        "output": _text(output),
        "expected": _text(item.get("expected", "")),
        "rubric": rubric,
        "id": item_id,
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _bad(error: str) -> ParsedVerdict:
    return ParsedVerdict(verdict="error", score=None, reason=None, error=error)


def parse_verdict(content: str | None) -> ParsedVerdict:
    """Read ``{"score", "verdict", "reason"}`` from a judge's message content, strictly."""
    if content is None:
        return _bad("the judge returned no message content")
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content.strip()
    try:
        value = parse_json(text, source="judge response")
    except InputError as exc:
        return _bad(f"unparseable judgement: {exc.reason.value}")
    if not isinstance(value, dict):
        return _bad("the judgement is not a JSON object")
    verdict = value.get("verdict")
    if verdict not in ("pass", "fail"):
        return _bad(f"verdict {verdict!r} is not 'pass' or 'fail'")
    score = value.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        return _bad(f"score {score!r} is not a number from 0 to 1")
    reason = value.get("reason")
    return ParsedVerdict(
        verdict=verdict,
        score=float(score),
        reason=reason if isinstance(reason, str) else None,
        error=None,
    )


Parser = Callable[[str | None], ParsedVerdict]


def _judgement(
    item_id: str,
    parsed: ParsedVerdict,
    request: Any,
    response: Any,
    latency_ms: float,
    attempts: int = 0,
) -> Judgement:
    return Judgement(
        item_id=item_id,
        score=parsed.score,
        verdict=parsed.verdict,
        raw_request=request,
        raw_response=response,
        reason=parsed.reason,
        error=parsed.error,
        latency_ms=latency_ms,
        attempts=attempts,
    )


def _retryable(result: HttpResult) -> bool:
    """429, 5xx and connection failures (no HTTP status) are worth another attempt."""
    if result.status != "error":
        return False
    code = result.http_status
    return code is None or code == 429 or code >= 500


@dataclass(frozen=True)
class _Outcome:
    """One item's calls: the last answer (or failure), the attempts and the wall time."""

    result: HttpResult | None
    error: str | None
    attempts: int
    latency_ms: float


def _ask(
    url: str,
    request: Any,
    *,
    headers: Mapping[str, str],
    timeout_s: float,
    retry: RetryPolicy,
) -> _Outcome:
    """Call the judge for one item within its budget, retrying what is worth retrying."""
    start = time.monotonic()
    deadline = start + timeout_s
    attempts = 0
    result: HttpResult | None = None
    error: str | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            error = f"timeout: no verdict within the item's {timeout_s:g} s"
            break
        result = post_json(url, request, timeout_s=remaining, headers=headers)
        attempts += 1
        if result.status == "ok":
            break
        if result.status == "timeout":
            error = f"timeout: no verdict within the item's {timeout_s:g} s ({result.error})"
            break
        if not _retryable(result):
            error = f"judge call error: {result.error}"
            break
        if attempts > retry.max_retries:
            error = f"judge call error, retries exhausted after {attempts} attempts: {result.error}"
            break
        wait = retry.delay(attempts, result.retry_after_s)
        if time.monotonic() + wait >= deadline:
            why = "Retry-After" if result.retry_after_s is not None else "back-off"
            error = (
                f"judge call error after {attempts} attempt(s): {result.error}; the next "
                f"attempt ({why} {wait:.3g} s) would outlast the item's {timeout_s:g} s"
            )
            break
        time.sleep(wait)
    latency = (time.monotonic() - start) * 1000.0
    return _Outcome(result, error, attempts, latency)


def judge(
    items: Sequence[Mapping[str, Any]],
    outputs: Mapping[str, Any],
    *,
    endpoint: str,
    model: str,
    prompt_template: str,
    rubric: str,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    id_key: str = "id",
    parse: Parser = parse_verdict,
) -> list[Judgement]:
    """Ask the judge about each item's output; the judgements come back in item order.

    ``outputs`` maps item id to the output to judge, or to the :class:`Call` that produced it;
    a missing output or a call that is not ``ok`` is judged ``error`` without asking the judge.
    ``timeout_s`` is each item's whole budget (retries included); ``retry`` defaults to
    :class:`RetryPolicy()`; at most ``concurrency`` calls are in flight at once.
    """
    url = check_url(chat_url(endpoint))
    if timeout_s <= 0 or isinstance(concurrency, bool) or concurrency < 1:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "timeout_s must be positive and concurrency at least 1",
            details={"timeout_s": timeout_s, "concurrency": concurrency},
        )
    policy = retry if retry is not None else RetryPolicy()
    sent = dict(headers or {})
    ids = item_ids(items, id_key)
    results: list[Judgement | None] = [None] * len(ids)
    work: list[tuple[int, str, dict[str, Any]]] = []
    for index, (item_id, item) in enumerate(zip(ids, items, strict=True)):
        output = outputs.get(item_id)
        if item_id not in outputs or (isinstance(output, Call) and not output.ok):
            why = "no output to judge" if item_id not in outputs else "the call did not succeed"
            results[index] = _judgement(item_id, _bad(why), None, None, 0.0)
            continue
        if isinstance(output, Call):
            output = output.output
        request = {
            "model": model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": render_prompt(prompt_template, item, output, rubric, item_id),
                },
            ],
        }
        work.append((index, item_id, request))
    if work:
        workers = min(concurrency, len(work))
        with ThreadPoolExecutor(workers, thread_name_prefix="airel-judge") as pool:
            futures = [
                pool.submit(_ask, url, request, headers=sent, timeout_s=timeout_s, retry=policy)
                for _, _, request in work
            ]
            for (index, item_id, request), future in zip(work, futures, strict=True):
                results[index] = _judged(item_id, request, future.result(), sent, parse)
    return [j for j in results if j is not None]


def _judged(
    item_id: str,
    request: Any,
    outcome: _Outcome,
    headers: Mapping[str, str],
    parse: Parser,
) -> Judgement:
    """The judgement of one item's outcome; header values are scrubbed from what is kept."""
    result = outcome.result
    if outcome.error is not None or result is None:
        parsed = _bad(scrub(outcome.error or "no answer", headers))
        response = None
    else:
        response = scrub(result.body, headers)
        parsed = parse(chat_content(response))
    return _judgement(item_id, parsed, request, response, outcome.latency_ms, outcome.attempts)


def rejudge(
    stored: Sequence[Judgement | Mapping[str, Any]], *, parse: Parser = parse_verdict
) -> list[Judgement]:
    """Re-read stored raw responses with ``parse``; the endpoint is not called.

    A judgement whose call failed (no raw response) stays ``error``.
    """
    out: list[Judgement] = []
    for entry in stored:
        old = entry if isinstance(entry, Judgement) else Judgement.from_dict(entry)
        if old.raw_response is None:
            out.append(old)
            continue
        parsed = parse(chat_content(old.raw_response))
        out.append(
            _judgement(
                old.item_id,
                parsed,
                old.raw_request,
                old.raw_response,
                old.latency_ms,
                old.attempts,
            )
        )
    return out
