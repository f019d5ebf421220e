"""A request as the gateway reads it, and the trace it leaves (T1, T2).

The gateway reads a JSON object (strictly: duplicate keys, non-finite numbers, depth and size
are refused) and takes from it only what routing and tracing need — the sticky key, the
segment tags, the text to classify. The body is forwarded to the upstream byte for byte.

An upstream answers with JSON; besides its own answer it may report, under ``airel`` (the
upstream contract, docs/gateway.md), what the trace should carry: ``quality_flags``,
``critical_failure``, ``cost``, ``retrieved_evidence``, ``policy_decisions``,
``feature_values``, ``human_review_status``, ``customer_impact``. Anything else is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airel.adapters.documents.strict_json import json_value
from airel.domain.monitoring.masking import MaskingPolicy, classify, key_digest, mask_text
from airel.domain.monitoring.quality import DEFAULT_QUALITY, QualityPolicy, online_quality
from airel.domain.monitoring.serving import ServedRelease, ServedRoute
from airel.domain.monitoring.trace import HumanReview, Mode, ToolCall, Trace
from airel.errors import AirelError, InputError, Reason

MAX_DEPTH = 32
MAX_TEXT = 8192


def _invalid(message: str, fix: str, **details: Any) -> InputError:
    return InputError(Reason.REQUEST_INVALID, message, fix=fix, details=details)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_DEPTH:
            break
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def new_request_id() -> str:
    """``req-`` and 32 hex digits laid out as a UUIDv7 (RFC 9562): 48 bits of Unix time in
    milliseconds, then 74 random bits. Ids sort by arrival, so the traces' primary-key index
    grows at its end instead of at random pages (a trace batch's commit costs half as much as
    with random ids: bench/bench_traces.py), and they stay unguessable."""
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits; 74 are used
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (rand >> 68) << 64
    value |= 0b10 << 62 | rand & ((1 << 62) - 1)
    return f"req-{value:032x}"


def parse_body(raw: bytes, *, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object, or REQUEST_INVALID naming what is wrong."""
    if len(raw) > max_bytes:
        raise _invalid(
            f"the request body is {len(raw):,} bytes; the limit is {max_bytes:,}",
            "send a smaller request (the limit is the gateway's --max-body-bytes)",
            bytes=len(raw),
            limit=max_bytes,
        )
    try:
        text = raw.decode("utf-8")
        body = json_value(text, "request body")
    except UnicodeDecodeError as exc:
        raise _invalid("the request body is not UTF-8", "send UTF-8 JSON") from exc
    except RecursionError as exc:
        raise _invalid("the request body is nested too deeply", "flatten the JSON") from exc
    except AirelError as exc:
        raise _invalid(exc.message, "send one JSON object", reason=exc.reason.value) from exc
    if not isinstance(body, dict):
        raise _invalid("the request body is not a JSON object", 'send {"...": ...}')
    if _depth(body) > MAX_DEPTH:
        raise _invalid(f"the request body is nested deeper than {MAX_DEPTH}", "flatten the JSON")
    return body


def _strings(value: Any, out: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    if isinstance(value, str):
        out.append(value[: budget[0]])
        budget[0] -= len(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out, budget)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out, budget)


def body_text(body: Mapping[str, Any], *, omit: str | None = None) -> str:
    """Every string of the body, in order, up to MAX_TEXT characters (what is classified and,
    masked, kept) — without the sticky key's field, which is kept only as a digest."""
    out: list[str] = []
    _strings({k: v for k, v in body.items() if k != omit}, out, [MAX_TEXT])
    return "\n".join(out)


def sticky_key(route: ServedRoute, body: Mapping[str, Any], header: str | None) -> str | None:
    """The key that keeps a customer on one release: the header, else the plan's field."""
    if header:
        return header[:256]
    if route.sticky_by:
        value = body.get(route.sticky_by)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)[:256]
    return None


def segment_tags(body: Mapping[str, Any], header: str | None) -> list[str]:
    """The caller's segment tags: the ``X-Airel-Segments`` header and a ``segments`` list."""
    tags = [t.strip() for t in (header or "").split(",") if t.strip()]
    listed = body.get("segments")
    if isinstance(listed, list):
        tags.extend(t for t in listed if isinstance(t, str) and t.strip())
    return [t[:64] for t in tags[:32]]


@dataclass(frozen=True)
class Outcome:
    """What one upstream call gave."""

    status: int  # HTTP status (0: no answer)
    body: bytes
    latency_ms: float
    error: str | None = None  # TIMEOUT, UPSTREAM_5XX, UNREACHABLE, NO_ENDPOINT, BAD_ANSWER
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def _answer(raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return answer if isinstance(answer, dict) else {}


def answer_fields(raw: bytes) -> dict[str, Any]:
    """The ``airel`` object an upstream's JSON answer carries (empty when none / not JSON)."""
    meta = _answer(raw).get("airel")
    return meta if isinstance(meta, dict) else {}


def answer_text(answer: Mapping[str, Any]) -> str:
    """The natural-language answer, if any: ``text`` / ``answer`` / ``output`` / ``content``,
    or an OpenAI-style ``choices[0].message.content``."""
    for key in ("text", "answer", "output", "content"):
        value = answer.get(key)
        if isinstance(value, str):
            return value[:MAX_TEXT]
    choices = answer.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            return str(message["content"])[:MAX_TEXT]
    return ""


def _list(meta: Mapping[str, Any], name: str, limit: int) -> list[str]:
    value = meta.get(name)
    if not isinstance(value, list):
        return []
    return [str(v)[:512] for v in value[:limit] if isinstance(v, (str, int, float))]


def _features(meta: Mapping[str, Any]) -> dict[str, float | int | str | bool | None]:
    value = meta.get("feature_values")
    if not isinstance(value, dict):
        return {}
    out: dict[str, float | int | str | bool | None] = {}
    for k, v in list(value.items())[:256]:
        if isinstance(k, str) and k and (v is None or isinstance(v, (bool, int, float, str))):
            out[k[:512]] = v if not isinstance(v, str) else v[:512]
    return out


def _number(meta: Mapping[str, Any], name: str) -> float | None:
    value = meta.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _review(meta: Mapping[str, Any]) -> HumanReview:
    try:
        return HumanReview(str(meta.get("human_review_status", "not_required")))
    except ValueError:
        return HumanReview.NOT_REQUIRED


@dataclass(frozen=True)
class Served:
    """One release's part in one request, ready to be traced."""

    request_id: str
    at: str
    mode: Mode
    route: ServedRoute
    release: ServedRelease
    outcome: Outcome
    key: str | None
    segments: list[str]
    text: str
    fallback: bool = False
    tool_calls: tuple[ToolCall, ...] = ()


def build_trace(
    s: Served, *, secret: bytes, policy: MaskingPolicy, quality: QualityPolicy = DEFAULT_QUALITY
) -> Trace:
    """The §7.3 trace of ``s``: lineage from the served release, the online quality rules
    run on the raw answer, text masked by policy."""
    answer = _answer(s.outcome.body) if s.outcome.status else {}
    found = answer.get("airel")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    r = s.release
    retrieved = _list(meta, "retrieved_evidence", 256)
    online = online_quality(s.text, answer_text(answer), citations=_list(meta, "citations", 64),
                            retrieved=retrieved, policy=quality)  # fmt: skip
    flags = list(dict.fromkeys([*_list(meta, "quality_flags", 64), *online.flags]))[:64]
    tags = [t for t in (s.route.step, s.mode.value, "refusal" if online.refusal else None) if t]
    classes = classify(s.text, tags=s.segments, policy=policy)
    output = s.outcome.body.decode("utf-8", "replace")[:MAX_TEXT] if s.outcome.body else None
    return Trace(
        request_id=s.request_id, at=s.at, mode=s.mode, release_id=r.release_id,
        use_case_id=r.use_case_id, risk_tier=r.risk_tier, eval_gate_id=r.decision_id,
        deployment_route=s.route.key, manifest_digest=r.manifest_digest,
        human_review_status=_review(meta),
        monitoring_tags=tags,
        key_digest=key_digest(s.key, secret) if s.key is not None else None,
        segments=s.segments, status=s.outcome.status, latency_ms=s.outcome.latency_ms,
        cost=_number(meta, "cost"), error=s.outcome.error, fallback=s.fallback,
        quality_flags=flags,
        critical_failure=meta.get("critical_failure") is True or online.critical,
        input_classes=classes, retrieved_evidence=retrieved,
        feature_values=_features(meta), policy_decisions=_list(meta, "policy_decisions", 256),
        tool_calls=list(s.tool_calls), customer_impact=meta.get("customer_impact") is True,
        input_text=mask_text(s.text, policy), output_text=mask_text(output, policy),
        **r.versions,
    )  # fmt: skip


def arguments_digest(raw: bytes) -> str:
    """The digest a tool call's arguments are kept as (the arguments themselves are not)."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()
