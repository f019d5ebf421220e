"""The rollout CLI (issue 11): `rollout status|adopt|analyse|advance|pause|resume|abort`,
`reconcile`, `rollback [apply]|list|runbook|drill` — exit 0 when done, 1 when a step holds or
stops, 2 with the reason code on a refusal, a conflict or a missing confirmation."""

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
from gate_fixtures import ROUTE, V1, V2, approve_all, freeze_pair, now, ready_through_g9
from rollout_helpers import DEPLOYMENT, PLAN

runner = CliRunner()
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

    def run(*args: str, stdin: str | None = None) -> tuple[int, Any]:
        result = runner.invoke(
            app, ["--database-url", database_url, "--actor", "rm", *args], input=stdin
        )
        text = result.stdout.strip()
        try:
            return result.exit_code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return result.exit_code, text

    return run


def files(write: Any, client: Client) -> tuple[Path, Path]:
    use_case = client.bundles.get(V2).use_case_id
    return (
        write("rollout.yaml", PLAN.format(use_case=use_case)),
        write("deploy.yaml", DEPLOYMENT.format(tool="draft")),
    )


def test_a_rollout_from_the_command_line(cli: Cli, write: Any, fraud_registry: Client) -> None:
    plan, deploy = files(write, fraud_registry)
    code, refused = cli("promote", V2, "--to", "shadow", "--plan", str(plan), "--json")
    assert code == 2
    assert refused["reason"] == "ROLLBACK_NOT_ALLOWED"  # V1 was never approved nor adopted
    code, adopted = cli(
        "rollout", "adopt", ROUTE, "--release", V1, "--change-approval", "CHG-1", "--json"
    )
    assert code == 0, adopted
    code, _ = cli("promote", V2, "--to", "shadow", "--plan", str(plan), "--deployment", str(deploy))
    assert code == 0
    code, shown = cli("rollout", "status", ROUTE, "--json")
    assert shown["route"]["step"] == "shadow"
    assert [e["kind"] for e in shown["history"]] == ["adopt", "promote"]
    code, held = cli("rollout", "advance", ROUTE, "--json")
    assert code == 1
    assert held["verdict"] in ("inconclusive", "hold")
    cli(
        "evidence",
        "add",
        V2,
        "--kind",
        "shadow",
        "--metric",
        "shadow_side_effects=0",
        "--metric",
        "shadow_requests=400",
    )
    version = shown["route"]["version"]
    code, moved = cli(
        "rollout",
        "advance",
        ROUTE,
        "--expect-version",
        str(version),
        "--to-step",
        "canary-1",
        "--json",
    )
    assert code == 0, moved
    assert moved["route"]["desired"]["weights"] == {V1: 95.0, V2: 5.0}
    code, stale = cli("rollout", "pause", ROUTE, "--expect-version", str(version), "--json")
    assert (code, stale["reason"]) == (2, "STALE_VERSION")
    code, again = cli("rollout", "advance", ROUTE, "--to-step", "canary-1", "--json")
    assert (code, again["verdict"]) == (0, "done")
    code, report = cli("reconcile", "--router-dir", str(plan.parent / "routes"), "--json")
    assert code == 0
    assert report[0]["applied"] == [f"{ROUTE}@production"]
    cli("evidence", "add", V2, "--kind", "canary", "--metric", "canary_critical_failures=3")
    code, stopped = cli("rollout", "advance", ROUTE, "--json")
    assert (code, stopped["verdict"]) == (1, "stop")
    assert stopped["route"]["desired"]["weights"] == {V1: 100.0}
    code, listed = cli("rollback", "list", "--release", V2, "--json")
    assert [b["component"] for b in listed] == ["route"]


def test_rollback_needs_the_release_typed_in_production(
    cli: Cli, write: Any, fraud_registry: Client
) -> None:
    plan, deploy = files(write, fraud_registry)
    cli("rollout", "adopt", ROUTE, "--release", V1, "--change-approval", "CHG-1")
    cli("promote", V2, "--to", "canary", "--plan", str(plan), "--deployment", str(deploy))
    code, error = cli("rollback", V2, "--component", "model", "--json")
    assert (code, error["reason"]) == (2, "CONFIRMATION_REQUIRED")  # no terminal, no --yes
    code, wrong = cli("rollback", V2, "--component", "model", "--confirm", V1, "--json")
    assert (code, wrong["reason"]) == (2, "CONFIRMATION_REQUIRED")
    code, done = cli("rollback", V2, "--component", "model", "--confirm", V2, "--json")
    assert code == 0, done
    assert done["rollback"]["emergency"] is True
    assert done["manifest"]["composed_from"] == {"model": V1}
    code, refused = cli("rollout", "resume", ROUTE, "--json")
    assert (code, refused["reason"]) == (2, "RESTART_GATE_REQUIRED")
    code, other = cli("rollback", V2, "--component", "route", "--to", "NOPE-1", "--yes", "--json")
    assert (code, other["reason"]) == (2, "ROLLBACK_TARGET_NOT_FOUND")
    code, batch = cli(
        "rollback", "apply", V2, "--component", "batch", "--batch-run", "b-1", "--json"
    )
    assert code == 0
    assert batch["rollback"]["body"]["status"] == "quarantined"


def test_runbook_and_drill(cli: Cli, write: Any, fraud_registry: Client) -> None:
    _, deploy = files(write, fraud_registry)
    cli("rollout", "adopt", ROUTE, "--release", V1, "--change-approval", "CHG-1")
    code, text = cli("rollback", "runbook", V2)
    assert code == 0
    assert "| 9 | Release Manager | Prepare restart gate memo |" in text
    code, refused = cli("rollback", "drill", V2, "--json")
    assert (code, refused["reason"]) == (2, "ROLLBACK_NOT_ALLOWED")  # not in staging
    cli("promote", V2, "--to", "staging", "--deployment", str(deploy))
    code, drill = cli("rollback", "drill", V2, "--json")
    assert code == 0, drill
    assert drill["passed"] is True
    assert [s["status"] for s in drill["steps"]].count("done") >= 6
    code, routes = cli("rollout", "status", "--json")
    assert {(r["lane"], r["status"]) for r in routes} == {
        ("production", "stable"),
        ("staging", "stable"),
    }
