"""The promotion CLI (issue 11): `airel promote`, `promotion list`, `deployment list|show|diff`,
`traffic-plan check|canary` — exit 0 on success, 2 with the reason code on a refusal or bad
input, JSON on reads; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from gate_fixtures import V1, V2, adopt_v1, approve_all, freeze_pair, now, ready_through_g9

runner = CliRunner()
PLAN = """\
plan_id: FRAUD-ROLLOUT-1
segments: {vulnerable: {}}
steps:
  - {name: shadow, environment: shadow, traffic_percent: 0}
  - name: canary-1
    environment: canary
    traffic_percent: 5
    exclude_segments: [vulnerable]
    stop: [{metric: canary_critical_failures, op: ">", value: 0}]
"""
DEPLOY = """\
monitoring: {dashboard: grafana/fraud, auto_rollback: [any critical failure]}
"""

Cli = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any, database_url: str
) -> Cli:
    """``cli(*args)`` runs airel in-process on a store where V2 has a go decision."""
    freeze_pair(fraud_registry, bundle_yaml, write)
    ready_through_g9(fraud_registry)
    when = now()
    approve_all(fraud_registry, when=when)
    assert fraud_registry.gates.check(V2, now=when + timedelta(minutes=1)).record.decision == "go"
    adopt_v1(fraud_registry)

    def run(*args: str) -> tuple[int, Any]:
        result = runner.invoke(app, ["--database-url", database_url, "--actor", "rm", *args])
        text = result.stdout.strip()
        try:
            return result.exit_code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return result.exit_code, text

    return run


def test_promote_shadow_then_canary_and_read_back(cli: Cli, write: Any) -> None:
    plan, deploy = write("rollout.yaml", PLAN), write("deploy.yaml", DEPLOY)
    code, shadow = cli("promote", V2, "--to", "shadow", "--plan", str(plan), "--json")
    assert code == 0, shadow
    assert shadow["deployment"]["traffic"] == {V1: 100.0}
    assert shadow["deployment"]["mirror"] == [V2]
    code, canary = cli(
        "promote", V2, "--to", "canary", "--plan", str(plan), "--deployment", str(deploy), "--json"
    )
    assert code == 0, canary
    assert canary["promotion"]["source"] == "shadow"
    assert canary["deployment"]["traffic"] == {V1: 95.0, V2: 5.0}
    code, listed = cli("promotion", "list", "--release", V2, "--json")
    assert code == 0
    assert [p["target"] for p in listed] == ["shadow", "canary"]
    code, manifests = cli("deployment", "list", "--route", "fraud-score-prod", "--json")
    assert [m["digest"] for m in manifests] == [
        shadow["deployment_digest"],
        canary["deployment_digest"],
    ]
    code, diff = cli(
        "deployment", "diff", shadow["deployment_digest"], canary["deployment_digest"], "--json"
    )
    assert code == 0
    assert {"environment", "traffic", "mirror", "monitoring"} <= set(diff["changes"])
    code, text = cli("deployment", "show", canary["deployment_digest"][:20])
    assert code == 0
    assert "fraud-score-prod" in text
    code, card = cli("promotion", "card", canary["promotion"]["promotion_id"])
    assert code == 0
    assert "Model Promotion Card" in card
    assert "| To stage | canary |" in card


def test_refusals_exit_2_with_the_reason_and_write_nothing(cli: Cli, write: Any) -> None:
    plan = write("rollout.yaml", PLAN)
    code, err = cli("promote", V2, "--to", "canary", "--plan", str(plan), "--json")
    assert code == 2
    assert err["reason"] == "FORBIDDEN_ACTION"  # no monitoring, no auto rollback
    code, err = cli("promote", V2, "--to", "prod", "--json")
    assert code == 2
    assert err["reason"] == "PLAN_UNKNOWN_STAGE"
    assert cli("promotion", "list", "--json") == (0, [])


def test_traffic_plan_check_and_canary(cli: Cli, write: Any) -> None:
    plan = write("rollout.yaml", PLAN)
    code, checked = cli("traffic-plan", "check", str(plan), "--json")
    assert code == 0
    assert checked["digest"].startswith("sha256:")
    code, text = cli("traffic-plan", "canary", str(plan), "--step", "canary-1")
    assert code == 0
    assert "Canary Plan" in text
    assert "excluding vulnerable" in text
    bad = write("bad.yaml", PLAN.replace("traffic_percent: 5", "traffic_percent: 500"))
    code, err = cli("traffic-plan", "check", str(bad), "--json")
    assert code == 2
    assert err["reason"] == "INVALID_VALUE"
    assert err["details"]["problems"][0]["line"] == 7


def test_promote_help_names_the_environments(tmp_path: Path) -> None:
    result = runner.invoke(app, ["promote", "--help"])
    assert result.exit_code == 0
    assert "limited_production" in result.stdout
