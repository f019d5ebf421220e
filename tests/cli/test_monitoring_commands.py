"""The monitoring CLI (issue 12): `traces query|show|verify|feedback`, `canary analyse`,
`traffic-plan argo|flagger|alerts`, `serve gateway` — exit 0 when done, 1 when a check
fails, 2 with the reason code on bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from airel.domain.monitoring.trace import Trace
from airel.services.monitoring import traces
from rollout_helpers import PLAN

runner = CliRunner()
Cli = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(client: Client, database_url: str) -> Cli:
    def run(*args: str) -> tuple[int, Any]:
        result = runner.invoke(app, ["--database-url", database_url, "--actor", "ops", *args])
        text = result.stdout.strip()
        try:
            return result.exit_code, json.loads(text)
        except ValueError:
            return result.exit_code, text

    return run


def trace(i: int, release: str, **kw: Any) -> Trace:
    return Trace(
        request_id=f"req-{i:08d}", at=f"2026-12-04T10:{i:02d}:00.000000Z", release_id=release,
        deployment_route="fraud-score@production", status=200, latency_ms=12.0,
        key_digest=f"hmac-sha256:{i % 3:032d}", segments=["retail"] if i % 2 else ["vulnerable"],
        model_version="fraud-score:2.0.0" if release == "REL-2" else "fraud-score:1.0.0", **kw,
    )  # fmt: skip


def test_traces_query_answers_the_impacted_population(client: Client, cli: Cli) -> None:
    """T1: which requests, customers and segments a release or a component version served
    between two times."""
    traces.ingest(client.ctx, [trace(i, "REL-2" if i < 10 else "REL-1") for i in range(20)])
    code, got = cli("traces", "query", "--release", "REL-2", "--since",
                    "2026-12-04T10:02:00.000000Z", "--until", "2026-12-04T10:08:00.000000Z",
                    "--json")  # fmt: skip
    assert code == 0
    assert got["population"]["requests"] == 6
    assert got["population"]["customers"] == 3
    assert got["population"]["segments"] == {"retail": 3, "vulnerable": 3}
    assert got["request_ids"] == [f"req-{i:08d}" for i in range(2, 8)]
    code, got = cli("traces", "query", "--release", "REL-2", "--since", "2026-12-04T11:02+01:00",
                    "--until", "2026-12-04T10:08Z", "--json")  # fmt: skip
    assert (code, got["population"]["requests"]) == (0, 6)  # any ISO form of the same instants
    assert cli("traces", "query", "--since", "2026-12-04T10:02:00")[0] == 2  # no zone
    code, got = cli("traces", "query", "--component", "model_version=fraud-score:1.0.0", "--json")
    assert (code, got["population"]["requests"]) == (0, 10)
    code, _ = cli("traces", "query", "--component", "model=fraud-score:1.0.0")
    assert code == 2


def test_traces_show_verify_and_feedback(client: Client, cli: Cli) -> None:
    traces.ingest(client.ctx, [trace(1, "REL-2")])
    code, got = cli("traces", "show", "req-00000001", "--json")
    assert code == 0
    assert [t["release_id"] for t in got] == ["REL-2"]
    code, got = cli("traces", "verify", "--json")
    assert (code, got["ok"], got["traces"]) == (0, True, 1)
    code, got = cli("traces", "feedback", "req-00000001", "--kind", "complaint", "--json")
    assert (code, got["kind"], got["by"]) == (0, "complaint", "ops")
    code, got = cli("traces", "feedback", "req-00000404", "--kind", "complaint", "--json")
    assert (code, got["reason"]) == (2, "TRACE_NOT_FOUND")
    code, got = cli("traces", "feedback", "req-00000001", "--kind", "override", "--json")
    assert (code, got["reason"]) == (2, "FEEDBACK_INVALID")


def test_canary_analyse_refuses_a_route_without_a_canary(cli: Cli) -> None:
    code, got = cli("canary", "analyse", "no-such-route", "--json")
    assert (code, got["reason"]) == (2, "ROUTE_NOT_FOUND")
    code, _ = cli("canary", "analyse", "r", "--until", "tomorrow")
    assert code == 2


def test_traffic_plan_manifests_and_alerts(
    cli: Cli, write: Callable[..., Path], database_url: str
) -> None:
    """Argo / Flagger manifests and alert rules from a plan; a plan Argo cannot express
    without a router is refused with its reason."""
    plan = write("plan.yaml", PLAN.format(use_case="FRAUD-SCORING"))
    image = "reg.internal/fraud-score:2.0.0"
    common = ("--name", "fraud-score", "--namespace", "fraud", "--image", image,
              "--airel-url", "https://airel.internal")  # fmt: skip
    code, text = cli("traffic-plan", "argo", str(plan), *common, "--nginx-ingress", "fraud")
    assert code == 0
    assert "kind: Rollout" in text
    assert "kind: AnalysisTemplate" in text
    refused = runner.invoke(
        app, ["--database-url", database_url, "traffic-plan", "argo", str(plan), *common]
    )
    assert refused.exit_code == 2  # a shadow step needs a traffic router
    assert "PLAN_TRAFFIC_INVALID" in refused.stderr
    code, text = cli("traffic-plan", "flagger", str(plan), *common)
    assert code == 0
    assert "kind: Canary" in text
    code, text = cli("traffic-plan", "alerts", str(plan), "--route", "fraud-score",
                     "--release", "REL-2")  # fmt: skip
    assert code == 0
    assert "canary_critical" in text or "airel_gateway" in text


def test_serve_gateway_refuses_bad_options(cli: Cli) -> None:
    assert cli("serve", "gateway", "--on-candidate-failure", "retry")[0] == 2
    assert cli("serve", "gateway", "--timeout", "0")[0] == 2


def test_monitor_refuses_bad_input(cli: Cli) -> None:
    """T4's edge: an unknown release or a time without a zone is exit 2 with its reason."""
    code, got = cli("monitor", "NO-SUCH-RELEASE", "--since", "2026-12-04T00:00:00Z",
                    "--until", "2026-12-05T00:00:00Z", "--json")  # fmt: skip
    assert (code, got["reason"]) == (2, "RELEASE_NOT_FOUND")
    code, _ = cli("monitor", "R", "--since", "2026-12-04T00:00:00", "--until", "2026-12-05")
    assert code == 2
