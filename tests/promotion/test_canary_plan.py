"""The §8.5 canary plan rendered from a traffic plan (P7): every row from the plan, no filler."""

from __future__ import annotations

import copy

from airel.adapters.documents.parse import parse_yaml
from airel.domain.promotion.canary_plan import NOT_DECLARED, render_canary_plan
from airel.domain.promotion.traffic_plan import TrafficPlan, parse_traffic_plan

PLAN = """\
plan_id: CX-ROLLOUT-4
use_case_id: fee-assistant
sticky_by: session_id
segments:
  complaint: {description: open complaint}
  hardship: {description: "hardship | vulnerable"}
steps:
  - name: shadow
    environment: shadow
    traffic_percent: 0
    min_duration_hours: 240
    success: [{metric: shadow_side_effects, op: "==", value: 0}]
  - name: canary-1
    environment: canary
    traffic_percent: 2
    exclude_segments: [complaint, hardship]
    min_duration_hours: 120
    human_review: daily QA sample of 100 conversations
    success: [{metric: canary_override_rate, op: "<=", value: 0.05}]
    stop:
      - {metric: canary_critical_failures, op: ">", value: 0}
      - {metric: canary_latency_p95_ms, op: ">", value: 900}
  - name: ramp
    environment: limited_production
    traffic_percent: 10
    stop: [{metric: aged_issues, op: ">", value: 3}]
"""


def plan() -> TrafficPlan:
    return parse_traffic_plan(copy.deepcopy(dict(parse_yaml(PLAN).data)))


def rows(markdown: str) -> dict[str, str]:
    out = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith(("| Field", "|---")):
            key, value = line[2:-2].split(" | ", 1)
            out[key] = value
    return out


def test_every_row_comes_from_the_plan() -> None:
    md = render_canary_plan(plan(), "canary-1")
    r = rows(md)
    assert md.startswith("# Canary Plan — CX-ROLLOUT-4 / canary-1\n")
    assert r["Canary ID"] == "CX-ROLLOUT-4/canary-1"
    assert r["Use case"] == "fee-assistant"
    assert r["Entry condition"] == ("shadow passed, at least 240 h, with shadow_side_effects == 0")
    assert r["Traffic"].startswith("2% of canary traffic, excluding complaint (open complaint)")
    assert "sticky by session_id" in r["Traffic"]
    assert r["Duration"] == "at least 120 h"
    assert r["Monitored metrics"] == (
        "canary_critical_failures, canary_latency_p95_ms, canary_override_rate"
    )
    assert r["Auto rollback"] == ("canary_critical_failures \\> 0; canary_latency_p95_ms \\> 900")
    assert r["Manual review"] == "daily QA sample of 100 conversations"
    assert r["Exit decision"] == "go to 10% (ramp), extend canary-1, rollback or no-go"


def test_user_text_cannot_break_the_table() -> None:
    """A pipe in a segment description is escaped; the table keeps its two columns."""
    md = render_canary_plan(plan(), "canary-1")
    assert "hardship \\| vulnerable" in md
    assert all(line.count(" | ") == 1 for line in md.splitlines() if line.startswith("| "))


def test_missing_rows_say_so_and_the_last_step_has_no_next() -> None:
    r = rows(render_canary_plan(plan(), "ramp", use_case="override"))
    assert r["Use case"] == "override"
    assert r["Manual review"] == NOT_DECLARED
    assert r["Success criteria"] == NOT_DECLARED
    assert r["Duration"] == "no minimum: advances when criteria hold"
    assert r["Exit decision"].startswith("hold at full scale")
    first = rows(render_canary_plan(plan(), "shadow"))
    assert first["Entry condition"] == "the gate decision admits the release to shadow"
    assert first["Auto rollback"] == NOT_DECLARED
