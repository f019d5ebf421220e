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
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from airel.adapters.documents import parse_json
from airel.adapters.eval_call import Call, item_ids
from airel.adapters.eval_http import chat_content, chat_url, check_url, post_json
from airel.errors import InputError, Reason, ValidationError

__all__ = [
    "JUDGE_SYSTEM_PROMPT",
    "JudgeVerdict",
    "Judgement",
    "ParsedVerdict",
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

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored with an eval run."""
        return {
            "item_id": self.item_id,
            "score": self.score,
            "verdict": self.verdict,
            "reason": self.reason,
            "error": self.error,
            "latency_ms": self.latency_ms,
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
        )


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
    )


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
    max_retries: int = 0,
    id_key: str = "id",
    parse: Parser = parse_verdict,
) -> list[Judgement]:
    """Ask the judge about each item's output, in item order.

    ``outputs`` maps item id to the output to judge, or to the :class:`Call` that produced it;
    a missing output or a call that is not ``ok`` is judged ``error`` without asking the judge.
    """
    url = check_url(chat_url(endpoint))
    if timeout_s <= 0:
        raise ValidationError(
            Reason.INVALID_VALUE, "timeout_s must be positive", details={"timeout_s": timeout_s}
        )
    ids = item_ids(items, id_key)
    results: list[Judgement] = []
    for item_id, item in zip(ids, items, strict=True):
        output = outputs.get(item_id)
        if item_id not in outputs or (isinstance(output, Call) and not output.ok):
            why = "no output to judge" if item_id not in outputs else "the call did not succeed"
            results.append(_judgement(item_id, _bad(why), None, None, 0.0))
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
        result = post_json(
            url, request, timeout_s=timeout_s, headers=headers, max_retries=max_retries
        )
        if result.status != "ok":
            parsed = _bad(f"judge call {result.status}: {result.error}")
        else:
            parsed = parse(chat_content(result.body))
        results.append(_judgement(item_id, parsed, request, result.body, result.latency_ms))
    return results


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
            _judgement(old.item_id, parsed, old.raw_request, old.raw_response, old.latency_ms)
        )
    return out
