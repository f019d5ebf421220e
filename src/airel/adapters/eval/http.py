"""Evaluating an HTTP endpoint: plain JSON, or an OpenAI-compatible chat completions API.

Transport is the standard library's :mod:`http.client` (what :mod:`urllib.request` runs on)
with URLs parsed by :mod:`urllib.parse`: only ``http`` and ``https`` URLs with a host are
accepted (anything else is a ``ValidationError`` before a byte is sent), there are no ``file:``
or ``ftp:`` handlers to reach, and redirects are not followed (a 3xx is an error, so an endpoint
cannot bounce a request, headers and all, to another host). HTTPS verifies certificates.

Per-item outcomes are recorded, never raised (:class:`~airel.adapters.eval.call.Call`):

* no answer within ``timeout_s`` (connect, any read, or the whole body) → ``timeout``;
* a non-2xx status → ``error`` ``"HTTP 500: <start of body>"``;
* a body that is not strict JSON (NaN, duplicate keys, too large, not UTF-8) → ``error``
  ``"invalid JSON: ..."``; a chat response without ``choices[0].message.content`` → ``error``.

``max_retries`` retries timeouts, connection failures, 429 and 5xx with a short exponential
back-off; ``latency_ms`` is the wall time of the item including retries. A 429 or 5xx answer's
``Retry-After`` (seconds or an HTTP date) is returned as ``retry_after_s`` for callers with their
own retry policy (the LLM judge).
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from airel.adapters.documents.parse import ParseLimits, parse_json
from airel.adapters.eval.call import Call, item_ids
from airel.errors import InputError, Reason, ValidationError

__all__ = ["HttpMode", "HttpResult", "call_http", "chat_url", "check_url", "post_json"]

HttpMode = Literal["json", "openai_chat"]

_CHUNK = 1 << 16
_BODY_SNIPPET = 300
_MAX_BACKOFF_S = 2.0


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; ``ValidationError`` otherwise."""
    parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"endpoint {url!r} is not an http:// or https:// URL with a host",
            fix="use an http or https URL such as http://127.0.0.1:8000/predict",
            details={"url": repr(url)},
        )
    return url


def chat_url(base: str) -> str:
    """The chat completions URL for ``base``: kept if it already ends in ``/chat/completions``,
    else ``/chat/completions`` is appended after ``/v1`` (which is added when missing)."""
    trimmed = base.rstrip("/")
    if trimmed.endswith("/chat/completions"):
        return trimmed
    if trimmed.endswith("/v1"):
        return trimmed + "/chat/completions"
    return trimmed + "/v1/chat/completions"


@dataclass(frozen=True)
class HttpResult:
    """One POST after retries: ``body`` is the parsed JSON when ``status`` is ``ok``."""

    status: Literal["ok", "error", "timeout"]
    body: Any
    error: str | None
    http_status: int | None
    latency_ms: float
    attempts: int
    retry_after_s: float | None = None  # a 429/5xx answer's Retry-After, in seconds


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _connection(url: str, timeout_s: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout_s)
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout_s)
    path = parts.path or "/"
    return conn, f"{path}?{parts.query}" if parts.query else path


def _once(
    url: str,
    data: bytes,
    headers: Mapping[str, str],
    timeout_s: float,
    limits: ParseLimits,
) -> HttpResult:
    start = time.perf_counter()
    deadline = start + timeout_s

    def done(status: Literal["ok", "error", "timeout"], **kw: Any) -> HttpResult:
        elapsed = (time.perf_counter() - start) * 1000.0
        fields: dict[str, Any] = {"body": None, "error": None, "http_status": None}
        fields.update(kw)
        return HttpResult(status=status, latency_ms=elapsed, attempts=1, **fields)

    sent = {"Content-Type": "application/json", "Accept": "application/json", **headers}
    conn, target = _connection(url, timeout_s)
    try:
        conn.request("POST", target, body=data, headers=sent)
        response = conn.getresponse()
        code = response.status
        retry_after = (
            _retry_after(response.getheader("Retry-After")) if code == 429 or code >= 500 else None
        )
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.perf_counter() > deadline:
                return done("timeout", error=f"no full answer within {timeout_s:g} s")
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limits.max_bytes:
                return done("error", error="invalid JSON: response too large", http_status=code)
            chunks.append(chunk)
    except TimeoutError:
        return done("timeout", error=f"no answer within {timeout_s:g} s")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return done("error", error=f"request failed: {type(exc).__name__}: {exc}")
    finally:
        conn.close()
    raw = b"".join(chunks)
    if not 200 <= code < 300:
        snippet = raw[:_BODY_SNIPPET].decode("utf-8", "replace")
        return done(
            "error", error=f"HTTP {code}: {snippet}", http_status=code, retry_after_s=retry_after
        )
    try:
        body = parse_json(raw, source=url, limits=limits)
    except InputError as exc:
        return done("error", error=f"invalid JSON: {exc.message}", http_status=code)
    return done("ok", body=body, http_status=code)


def _retryable(result: HttpResult) -> bool:
    if result.status == "timeout":
        return True
    if result.http_status is None:
        return result.status == "error"  # connection refused / reset
    return result.http_status == 429 or result.http_status >= 500


def post_json(
    url: str,
    payload: Any,
    *,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    max_retries: int = 0,
    limits: ParseLimits | None = None,
) -> HttpResult:
    """POST ``payload`` as JSON and parse the JSON answer; failures are returned, not raised."""
    check_url(url)
    data = json.dumps(payload, allow_nan=False).encode("utf-8")
    start = time.perf_counter()
    attempts = 0
    while True:
        result = _once(url, data, headers or {}, timeout_s, limits or ParseLimits())
        attempts += 1
        if result.status == "ok" or attempts > max_retries or not _retryable(result):
            break
        time.sleep(min(_MAX_BACKOFF_S, 0.05 * 2 ** (attempts - 1)))
    total = (time.perf_counter() - start) * 1000.0
    return HttpResult(
        status=result.status,
        body=result.body,
        error=result.error,
        http_status=result.http_status,
        latency_ms=total,
        attempts=attempts,
        retry_after_s=result.retry_after_s,
    )


def chat_messages(item: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The chat messages for an item: its ``messages`` list, or its ``prompt``/``input`` text
    as one user message; None when it has neither."""
    messages = item.get("messages")
    if isinstance(messages, list) and messages:
        return [dict(m) for m in messages if isinstance(m, Mapping)]
    text = item.get("prompt", item.get("input"))
    if isinstance(text, str):
        return [{"role": "user", "content": text}]
    return None


def chat_content(body: Any) -> str | None:
    """``choices[0].message.content`` of a chat completions response, if it is text."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def _tokens(body: Any, key: str) -> int | None:
    usage = body.get("usage") if isinstance(body, dict) else None
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _chat_call(
    item_id: str,
    result: HttpResult,
    price_in: float | None,
    price_out: float | None,
) -> Call:
    body = result.body
    content = chat_content(body)
    tokens_in, tokens_out = _tokens(body, "prompt_tokens"), _tokens(body, "completion_tokens")
    cost = None
    if None not in (tokens_in, tokens_out, price_in, price_out):
        cost = (tokens_in or 0) / 1000 * (price_in or 0) + (tokens_out or 0) / 1000 * (
            price_out or 0
        )
    return Call(
        item_id=item_id,
        output=content,
        status="ok" if content is not None else "error",
        error=None if content is not None else "response has no choices[0].message.content",
        latency_ms=result.latency_ms,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost,
        raw=body,
    )


def call_http(
    url: str,
    items: Sequence[Mapping[str, Any]],
    *,
    mode: HttpMode = "json",
    model: str | None = None,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    max_retries: int = 0,
    price_per_1k_in: float | None = None,
    price_per_1k_out: float | None = None,
    id_key: str = "id",
) -> list[Call]:
    """Call an endpoint once per item, in item order.

    ``json``: POST the item as JSON to ``url``; the output is the parsed JSON answer.
    ``openai_chat``: POST ``{"model", "messages"}`` to :func:`chat_url` of ``url``; the output is
    ``choices[0].message.content``, tokens come from ``usage`` and cost from the per-1k prices.
    """
    if mode not in ("json", "openai_chat"):
        raise ValidationError(
            Reason.INVALID_VALUE, f"unknown HTTP mode {mode!r}", details={"mode": mode}
        )
    if mode == "openai_chat" and not model:
        raise ValidationError(
            Reason.MISSING_FIELD, "openai_chat mode needs a model", details={"mode": mode}
        )
    if timeout_s <= 0 or max_retries < 0:
        raise ValidationError(
            Reason.INVALID_VALUE,
            "timeout_s must be positive and max_retries not negative",
            details={"timeout_s": timeout_s, "max_retries": max_retries},
        )
    target = check_url(chat_url(url) if mode == "openai_chat" else url)
    ids = item_ids(items, id_key)
    calls: list[Call] = []
    for item_id, item in zip(ids, items, strict=True):
        payload: Any = dict(item)
        if mode == "openai_chat":
            messages = chat_messages(item)
            if messages is None:
                calls.append(
                    Call(item_id, None, "error", "item has no messages, prompt or input", 0.0)
                )
                continue
            payload = {"model": model, "messages": messages}
        try:
            result = post_json(
                target, payload, timeout_s=timeout_s, headers=headers, max_retries=max_retries
            )
        except (TypeError, ValueError) as exc:  # the item itself cannot be sent as JSON
            calls.append(Call(item_id, None, "error", f"item is not JSON-serialisable: {exc}", 0.0))
            continue
        if result.status != "ok":
            error = result.error or "request failed"
            calls.append(Call(item_id, None, result.status, error, result.latency_ms))
        elif mode == "openai_chat":
            calls.append(_chat_call(item_id, result, price_per_1k_in, price_per_1k_out))
        else:
            calls.append(Call(item_id, result.body, "ok", None, result.latency_ms, raw=result.body))
    return calls
