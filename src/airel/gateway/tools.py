"""The tool-call ledger: what the gateway lets a release's proposed tool calls do (T1, T2).

An upstream reports the tool calls of its answer under ``airel.tool_calls`` (``tool``,
``arguments``, ``side_effect``, ``approval``, ``idempotency_key``). The gateway decides each
by the deployment manifest's tool modes and the request's mode, and the ledger is traced:

- a tool the manifest does not enable (absent, or ``disabled``) is REFUSED;
- in a shadow copy, every write is a DRY_RUN: the answer is never returned, so nothing it
  proposes is carried out (the upstream was also told ``X-Airel-Tools: dry-run``);
- a ``draft`` tool's writes are DRY_RUNs in every mode (a human sends the draft);
- a live ``write`` needs an approval reference and an idempotency key, else it is REFUSED.

Arguments are kept only as a digest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airel.domain.monitoring.serving import ServedRelease
from airel.domain.monitoring.trace import Mode, ToolCall, ToolOutcome
from airel.gateway.requests import answer_fields, arguments_digest

MAX_CALLS = 64


def _text(value: Any) -> str | None:
    return str(value)[:512] if isinstance(value, (str, int)) and str(value) else None


def decide(
    mode_of_tool: str | None, side_effect: bool, mode: Mode, approval: str | None, idem: str | None
) -> tuple[ToolOutcome, str | None]:
    """The outcome of one proposed call and why (None: no reason needed)."""
    if mode_of_tool in (None, "disabled"):
        return ToolOutcome.REFUSED, "the tool is not enabled in this deployment"
    write = side_effect or mode_of_tool == "write"
    if not write:
        return ToolOutcome.EXECUTED, None
    if mode is Mode.SHADOW:
        return ToolOutcome.DRY_RUN, "shadow: writes are never carried out"
    if mode_of_tool in ("read", "draft"):
        return ToolOutcome.DRY_RUN, f"the tool is {mode_of_tool}-only in this deployment"
    if not approval or not idem:
        return ToolOutcome.REFUSED, "a write needs an approval reference and an idempotency key"
    return ToolOutcome.EXECUTED, None


def _call(release: ServedRelease, item: Mapping[str, Any], mode: Mode) -> ToolCall | None:
    tool = _text(item.get("tool"))
    if tool is None:
        return None
    args = json.dumps(item.get("arguments"), sort_keys=True, default=str).encode("utf-8")
    side_effect = item.get("side_effect") is True or release.tools.get(tool) == "write"
    approval, idem = _text(item.get("approval")), _text(item.get("idempotency_key"))
    outcome, reason = decide(release.tools.get(tool), side_effect, mode, approval, idem)
    return ToolCall(
        tool=tool, arguments_digest=arguments_digest(args), side_effect=side_effect,
        outcome=outcome, approval=approval, idempotency_key=idem, reason=reason,
    )  # fmt: skip


def ledger(release: ServedRelease, answer: bytes, mode: Mode) -> tuple[ToolCall, ...]:
    """The ledger of the tool calls ``answer`` proposes."""
    items = answer_fields(answer).get("tool_calls")
    if not isinstance(items, list):
        return ()
    calls = (_call(release, i, mode) for i in items[:MAX_CALLS] if isinstance(i, dict))
    return tuple(c for c in calls if c is not None)
