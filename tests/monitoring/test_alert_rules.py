"""Prometheus alerting rules from a plan's stop conditions (issue 12; SPEC T4).

* Each scraped stop-condition metric becomes one PromQL expression over the gateway's series:
  a count of increases, a ratio of increases, or a histogram quantile in seconds.
* The rules file validates against SchemaStore's prometheus.rules.json; alert names and labels
  are valid Prometheus names; a count fires at once, the rest after ``for``.
* Metrics with no gateway series (attested evidence, feedback) are listed by ``unalertable``,
  never turned into a rule that cannot fire.
* Bad names and durations are refused with a reason code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from airel.adapters.documents.manifests import render_yaml
from airel.domain.monitoring.alert_rules import SIGNALS, alert_rules, promql, unalertable
from airel.domain.promotion.traffic_plan import (
    ROLLOUT_METRICS,
    Criterion,
    TrafficPlan,
    parse_traffic_plan,
)
from airel.errors import AirelError, Reason

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "prometheus-rules.schema.json").read_text("utf-8")
)
LABELS = {"route": "fraud-score-prod", "lane": "production", "release": "REL-2", "mode": "live"}
SEL = '{route="fraud-score-prod",lane="production",release="REL-2",mode="live"}'
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def crit(metric: str, op: str, value: float) -> dict[str, Any]:
    return {"metric": metric, "op": op, "value": value}


def plan() -> TrafficPlan:
    return parse_traffic_plan(
        {
            "plan_id": "FRAUD-SCORING-ROLLOUT-2",
            "steps": [
                {
                    "name": "shadow",
                    "environment": "shadow",
                    "traffic_percent": 0,
                    "stop": [
                        crit("shadow_side_effects", ">", 0),
                        crit("canary_latency_p99_ms", ">", 1500),
                    ],
                },
                {
                    "name": "canary-1",
                    "environment": "canary",
                    "traffic_percent": 2,
                    "stop": [
                        crit("canary_critical_failures", ">", 0),
                        crit("canary_error_rate", ">", 0.01),
                        crit("canary_error_rate", ">=", 0.5),
                        crit("canary_worse_than_baseline", ">", 0),
                    ],
                },
                {
                    "name": "ramp",
                    "environment": "limited_production",
                    "traffic_percent": 50,
                    "stop": [
                        crit("canary_latency_p95_ms", ">", 800),
                        crit("canary_override_rate", ">", 0.05),
                        crit("canary_complaint_rate", ">", 0.001),
                        crit("canary_quality_failure_rate", ">", 0.002),
                        crit("canary_cost_per_request", ">", 0.0004),
                    ],
                },
                {
                    "name": "full",
                    "environment": "scaled_production",
                    "traffic_percent": 100,
                    "stop": [crit("open_incidents", ">", 0)],
                },
            ],
        }
    )


def rules(**kw: Any) -> dict[str, Any]:
    return alert_rules(plan(), route="fraud-score-prod", release="REL-2", **kw)


def c(metric: str, op: str, value: float) -> Criterion:
    return Criterion(metric=metric, op=op, value=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("criterion", "expr"),
    [
        (
            c("canary_critical_failures", ">", 0),
            f"sum(increase(airel_gateway_critical_failures_total{SEL}[5m])) > 0",
        ),
        (
            c("canary_error_rate", ">", 0.02),
            "sum(increase(airel_gateway_requests_total"
            f'{SEL[:-1]},outcome=~"error|timeout|fallback"}}[5m]))'
            f" / sum(increase(airel_gateway_requests_total{SEL}[5m])) > 0.02",
        ),
        (
            c("canary_quality_failure_rate", ">=", 0.05),
            f"sum(increase(airel_gateway_quality_failures_total{SEL}[5m]))"
            f" / sum(increase(airel_gateway_requests_total{SEL}[5m])) >= 0.05",
        ),
        (
            c("canary_cost_per_request", ">", 0.0004),
            f"sum(increase(airel_gateway_cost_total{SEL}[5m]))"
            f" / sum(increase(airel_gateway_requests_total{SEL}[5m])) > 0.0004",
        ),
        (
            c("canary_latency_p95_ms", ">", 800),
            "histogram_quantile(0.95, sum by (le) "
            f"(rate(airel_gateway_latency_seconds_bucket{SEL}[5m]))) > 0.8",
        ),
        (
            c("canary_latency_p99_ms", ">", 300.0),
            "histogram_quantile(0.99, sum by (le) "
            f"(rate(airel_gateway_latency_seconds_bucket{SEL}[5m]))) > 0.3",
        ),
        (
            c("canary_latency_p95_ms", ">", 0.1),  # 0.1 ms, exactly: no float noise
            "histogram_quantile(0.95, sum by (le) "
            f"(rate(airel_gateway_latency_seconds_bucket{SEL}[5m]))) > 0.0001",
        ),
    ],
)
def test_promql_per_kind(criterion: Criterion, expr: str) -> None:
    assert promql(criterion, LABELS, "5m") == expr
    assert expr.count("(") == expr.count(")")


def test_every_signal_is_a_numeric_rollout_metric() -> None:
    """A signal for a metric no plan can name would be dead; a bool cannot be compared."""
    for name in SIGNALS:
        assert name in ROLLOUT_METRICS, name
        assert ROLLOUT_METRICS[name].type in {"int", "double"}, name


def test_rules_file_validates_and_names_are_prometheus_names() -> None:
    doc = rules()
    errors = sorted(str(e.message) for e in Draft7Validator(SCHEMA).iter_errors(doc))
    assert errors == []
    names = [g["name"] for g in doc["groups"]]
    assert len(names) == len(set(names))  # unique within a file
    for group in doc["groups"]:
        alerts = [r["alert"] for r in group["rules"]]
        assert len(alerts) == len(set(alerts))
        assert all(METRIC_NAME.match(a) for a in alerts), alerts


def test_schema_check_bites() -> None:
    doc = rules()
    doc["groups"][0]["rules"][0]["severity"] = "critical"  # belongs under labels
    doc["groups"][1]["rules"][1]["labels"]["airel-step"] = "x"  # not a label name
    assert len(list(Draft7Validator(SCHEMA).iter_errors(doc))) == 2


def test_one_group_per_step_one_rule_per_scraped_stop_condition() -> None:
    doc = rules(window="10m", for_="2m")
    by_group = {g["name"]: g["rules"] for g in doc["groups"]}
    assert list(by_group) == [
        "airel-FRAUD-SCORING-ROLLOUT-2-shadow",
        "airel-FRAUD-SCORING-ROLLOUT-2-canary-1",
        "airel-FRAUD-SCORING-ROLLOUT-2-ramp",
    ]  # "full" has only an attested stop condition
    canary = by_group["airel-FRAUD-SCORING-ROLLOUT-2-canary-1"]
    assert [(r["alert"], r["for"]) for r in canary] == [
        ("AirelStop_canary_1_canary_critical_failures", "0s"),  # one is one too many
        ("AirelStop_canary_1_canary_error_rate", "2m"),
        ("AirelStop_canary_1_canary_error_rate_2", "2m"),
    ]
    assert canary[2]["expr"].endswith(">= 0.5")
    for rule in canary:
        assert "[10m]" in rule["expr"]
        assert 'mode="live"' in rule["expr"]
        assert rule["labels"] == {
            "severity": "critical",
            "route": "fraud-score-prod",
            "release": "REL-2",
            "airel_plan": "FRAUD-SCORING-ROLLOUT-2",
            "airel_step": "canary-1",
        }
        assert rule["annotations"]["plan_digest"] == plan().digest
    (shadow,) = by_group["airel-FRAUD-SCORING-ROLLOUT-2-shadow"]
    assert 'mode="shadow"' in shadow["expr"]  # a shadow step watches the copies
    assert shadow["expr"].endswith("> 1.5")
    assert shadow["annotations"]["criterion"] == "canary_latency_p99_ms > 1500"
    assert len(by_group["airel-FRAUD-SCORING-ROLLOUT-2-ramp"]) == 3


def test_unalertable_lists_attested_stop_conditions() -> None:
    listed = [(step, crit.text()) for step, crit in unalertable(plan())]
    assert listed == [
        ("shadow", "shadow_side_effects > 0"),
        ("canary-1", "canary_worse_than_baseline > 0"),
        ("ramp", "canary_override_rate > 0.05"),  # feedback: no gateway series to watch
        ("ramp", "canary_complaint_rate > 0.001"),
        ("full", "open_incidents > 0"),
    ]
    alerted = sum(len(g["rules"]) for g in rules()["groups"])
    assert alerted + len(listed) == sum(len(s.stop) for s in plan().steps)
    with pytest.raises(AirelError) as info:
        promql(c("shadow_side_effects", ">", 0), LABELS, "5m")
    assert info.value.reason is Reason.INVALID_VALUE


def test_steps_select_groups() -> None:
    doc = rules(steps=["ramp", "canary-1"])
    assert [g["name"] for g in doc["groups"]] == [
        "airel-FRAUD-SCORING-ROLLOUT-2-canary-1",
        "airel-FRAUD-SCORING-ROLLOUT-2-ramp",
    ]  # plan order
    assert rules(steps=["full"]) == {"groups": []}
    with pytest.raises(AirelError) as info:
        rules(steps=["canary-9"])
    assert info.value.reason is Reason.PLAN_UNKNOWN_STAGE


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"window": "0s"}, Reason.INVALID_VALUE),  # a range selector must be > 0
        ({"window": "5 m"}, Reason.INVALID_VALUE),
        ({"window": ""}, Reason.INVALID_VALUE),
        ({"window": "5m1h"}, Reason.INVALID_VALUE),  # units largest first
        ({"for_": "soon"}, Reason.INVALID_VALUE),
        ({"lane": "Prod"}, Reason.INVALID_NAME),
        ({"route": 'fraud"}'}, Reason.INVALID_NAME),
        ({"release": "REL 2"}, Reason.INVALID_NAME),
    ],
)
def test_bad_inputs_are_refused(kw: dict[str, Any], reason: Reason) -> None:
    args: dict[str, Any] = {"route": "fraud-score-prod", "release": "REL-2", **kw}
    with pytest.raises(AirelError) as info:
        alert_rules(plan(), **args)
    assert info.value.reason is reason


def test_for_zero_is_allowed_and_window_is_checked_in_promql() -> None:
    assert all(r["for"] == "0s" for g in rules(for_="0s")["groups"] for r in g["rules"])
    with pytest.raises(AirelError) as info:
        promql(c("canary_error_rate", ">", 0.1), LABELS, "0m")
    assert info.value.reason is Reason.INVALID_VALUE


def test_rules_file_yaml_round_trips() -> None:
    doc = rules()
    text = render_yaml([doc])
    assert list(yaml.safe_load_all(text)) == [doc]
    for group in doc["groups"]:  # every expression on one line, as promtool prints them
        for rule in group["rules"]:
            assert f"expr: {rule['expr']}\n" in text
