"""Risk tiers (§4.2) and pipeline types (§3.5): the two axes every rule is indexed by."""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum
from typing import Any

from airel.errors import Reason, ValidationError


class RiskTier(IntEnum):
    """§4.2 risk tiers; a lower number means stronger gates."""

    TIER_0 = 0  # prohibited or restricted: never auto-promoted to production automation
    TIER_1 = 1  # high impact: full gate stack, shadow -> pilot -> canary -> ramp
    TIER_2 = 2  # medium impact: standard gates, staging -> canary -> ramp
    TIER_3 = 3  # low impact: light gates, direct limited release with monitoring

    @property
    def label(self) -> str:
        """``Tier N`` as the playbook writes it."""
        return f"Tier {self.value}"


_TIER_TEXT = re.compile(r"^(?:tier[ _-]?)?([0-3])$", re.IGNORECASE)


def parse_risk_tier(value: Any) -> RiskTier:
    """Accept ``1``, ``"1"``, ``"Tier 1"`` or ``"tier-1"``; refuse anything else, bools included."""
    if isinstance(value, RiskTier):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
        return RiskTier(value)
    if isinstance(value, str):
        match = _TIER_TEXT.match(value.strip())
        if match:
            return RiskTier(int(match.group(1)))
    raise ValidationError(
        Reason.INVALID_VALUE,
        f"risk_tier must be 0-3 or 'Tier 0'..'Tier 3', got {value!r}",
        fix="write e.g. risk_tier: Tier 1",
    )


class PipelineType(StrEnum):
    """§3.5 pipeline types; each has its own required components and release risks (B5)."""

    CLASSIFIER = "classifier"  # traditional ML classifier or ranker
    RAG_ASSISTANT = "rag_assistant"  # retrieval-augmented assistant
    LLM_PROMPT = "llm_prompt"  # LLM prompt product on a hosted or own model
    AGENT = "agent"  # agent workflow with tools and side effects
    DECISION_AUTOMATION = "decision_automation"  # model + rules + workflow + human override


PIPELINE_RISKS: dict[PipelineType, tuple[str, ...]] = {
    PipelineType.CLASSIFIER: ("data drift", "feature skew", "threshold shift", "label leakage"),
    PipelineType.RAG_ASSISTANT: ("stale docs", "ACL failure", "wrong citation", "index rollback"),
    PipelineType.LLM_PROMPT: (
        "prompt drift",
        "over-refusal",
        "unsafe answer",
        "vendor model change",
    ),
    PipelineType.AGENT: ("tool misuse", "approval bypass", "loop", "irreversible action"),
    PipelineType.DECISION_AUTOMATION: (
        "customer impact",
        "fairness",
        "adverse action",
        "regulatory audit",
    ),
}
