"""The gate CLI (issue 5): exit codes for CI (0 go / limited go / risk acceptance, 1 no-go,
2 bad input), JSON on reads, and every bad input refused with its reason code and nothing
written — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from gate_fixtures import (
    CI_OK,
    V1,
    V2,
    comparison_body,
    freeze_pair,
    ready_through_g9,
    store_eval,
    store_validation,
)

runner = CliRunner()
GRANTS = (("alice", "model_risk"), ("bob", "model_risk"), ("bob", "compliance"),
          ("carol", "compliance"))  # fmt: skip

Cli = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(
    fraud_registry: Client,
    bundle_yaml: Callable[..., str],
    write: Any,
    database_url: str,
    project: Path,
) -> Cli:
    """``cli(actor, *args)`` runs airel in-process on the store holding V1 and V2."""
    freeze_pair(fraud_registry, bundle_yaml, write)

    def run(actor: str, *args: str) -> tuple[int, Any]:
        result = runner.invoke(
            app,
            ["--database-url", database_url, "--actor", actor, *args],
        )
        text = result.stdout.strip()
        try:
            return result.exit_code, json.loads(text) if text else None
        except json.JSONDecodeError:
            return result.exit_code, text

    for identity, role in GRANTS:  # alice initialised the store: she is its admin
        assert run("alice", "role", "grant", identity, role)[0] == 0
    return run


def audit_size(client: Client) -> int:
    with client.ctx.store.read() as tx:
        return tx.audit_head()[0]


def bad(cli: Cli, client: Client, reason: str, actor: str, *args: str) -> dict[str, Any]:
    """The command exits 2 with ``reason`` (JSON error) and writes nothing."""
    before = audit_size(client)
    code, out = cli(actor, *args, "--json")
    assert code == 2, out
    assert out["reason"] == reason, out
    assert audit_size(client) == before
    result: dict[str, Any] = out
    return result


def test_gate_check_exit_codes_and_explain(cli: Cli, fraud_registry: Client) -> None:
    """CI: no-go exits 1 with the reasons; full G0–G4 evidence exits 0 (limited go); explain
    --recheck reproduces the stored decision."""
    code, out = cli("ci-bot", "gate", "check", V2, "--through", "G4", "--json")
    assert code == 1, out
    assert out["decision"] == "no_go"
    assert "G2:CI_FAILED:ci-tests" in out["reasons"]
    assert out["created"] is True
    code, text = cli("ci-bot", "gate", "check", V2, "--through", "G4")
    assert code == 1, out
    assert "decision: no_go" in text
    assert "CI_FAILED" in text
    assert "nothing new is written" in text  # G5: same evidence, same window → same decision

    metrics = ["ci_tests_failed=0", "ci_container_built=true", "ci_critical_cves=0"]
    args = [f"--metric={m}" for m in [*metrics, "ci_unplanned_low_cves=0"]]
    code, out = cli("ci-bot", "evidence", "add", V2, "--kind", "ci", *args, "--json")
    assert code == 0, out
    assert out["metrics"]["ci_container_built"] is True
    validation = store_validation(fraud_registry)
    record = store_eval(fraud_registry, comparison_body())
    assert cli("ci-bot", "evidence", "link", V2, "--validation", validation)[0] == 0
    assert cli("ci-bot", "evidence", "link", V2, "--eval", record)[0] == 0
    code, out = cli("ci-bot", "evidence", "list", V2, "--json")
    assert code == 0
    assert len(out["links"]) == 2
    assert len(out["attestations"]) == 1

    code, out = cli("ci-bot", "gate", "check", V2, "--through", "G4", "--json")
    assert code == 0, out
    assert out["decision"] == "limited_go"
    assert out["max_stage"] == "staging"
    code, text = cli("ci-bot", "gate", "explain", V2, "--recheck")
    assert code == 0, text
    assert "reproduced" in text
    assert "limited_go" in text
    code, out = cli("ci-bot", "gate", "explain", out["decision_id"], "--json")
    assert out["outcome"]["decision"] == "limited_go"
    code, out = cli("ci-bot", "gate", "list", V2, "--json")
    assert [d["decision"] for d in out] == ["no_go", "limited_go"]
    code, text = cli("ci-bot", "gate", "list")
    assert code == 0
    assert "gate decisions" in text  # a table (its width depends on the terminal)


def test_gate_check_at_a_fixed_time_is_idempotent(cli: Cli, fraud_registry: Client) -> None:
    """The same inputs at the same time are one decision; a backdated check is refused
    (CLOCK_SKEW): it would count approvals and evidence that have expired since."""
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0).isoformat()
    first = cli("ci-bot", "gate", "check", V2, "--at", at, "--json")[1]
    second = cli("ci-bot", "gate", "check", V2, "--at", at, "--json")[1]
    assert first["decision_id"] == second["decision_id"]
    assert first["created"] is True
    assert second["created"] is False
    past = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    bad(cli, fraud_registry, "CLOCK_SKEW", "ci-bot", "gate", "check", V2, "--at", past)


def test_bad_gate_and_evidence_inputs(cli: Cli, fraud_registry: Client) -> None:
    """Unknown gate, unknown or mistyped metric, metric of another kind, no such record or
    decision, a naive time: exit 2 with the reason code and nothing written."""
    c = fraud_registry
    bad(cli, c, "POLICY_UNKNOWN_GATE", "ci", "gate", "check", V2, "--through", "G12")
    bad(cli, c, "INVALID_VALUE", "ci", "gate", "check", V2, "--at", "2026-11-25T12:00:00")
    bad(cli, c, "RELEASE_NOT_FOUND", "ci", "gate", "check", "NOPE-1")
    bad(cli, c, "DECISION_NOT_FOUND", "ci", "gate", "explain", V2)
    out = bad(
        cli, c, "POLICY_UNKNOWN_METRIC", "ci", "evidence", "add", V2, "--kind", "ci",
        "--metric", "ci_vibes=1", "--metric", "ci_tests_failed=many",
    )  # fmt: skip
    reasons = [p["reason"] for p in out["details"]["problems"]]
    assert reasons == ["POLICY_UNKNOWN_METRIC", "WRONG_TYPE"]
    bad(cli, c, "WRONG_TYPE", "ci", "evidence", "add", V2, "--kind", "ci", "--metric",
        "ci_container_built=yes")  # fmt: skip
    bad(cli, c, "POLICY_UNKNOWN_METRIC", "ci", "evidence", "add", V2, "--kind", "ci",
        "--metric", "secrets_in_logs=0")  # fmt: skip
    bad(cli, c, "INVALID_VALUE", "ci", "evidence", "add", V2, "--kind", "bundle",
        "--metric", "risk_tier=1")  # fmt: skip
    bad(cli, c, "EVIDENCE_NOT_FOUND", "ci", "evidence", "link", V2, "--eval", "sha256:" + "0" * 64)
    bad(cli, c, "INVALID_VALUE", "ci", "evidence", "link", V2)


def test_approvals_on_the_command_line(cli: Cli, fraud_registry: Client, project: Path) -> None:
    """G6: unknown role, self-approval, role not held, one person two roles, expired,
    another digest, an unsigned approval record presented as signed — all exit 2; a good
    approval exits 0 and records that it was made unauthenticated-local."""
    c = fraud_registry
    bad(cli, c, "UNKNOWN_ROLE", "bob", "approve", V2, "--role", "chief_vibes")
    bad(cli, c, "MISSING_FIELD", "bob", "approve", V2)
    bad(cli, c, "SELF_APPROVAL", "alice", "approve", V2, "--role", "model_risk")
    bad(cli, c, "ROLE_NOT_HELD", "carol", "approve", V2, "--role", "security")
    bad(cli, c, "APPROVAL_EXPIRED", "bob", "approve", V2, "--role", "model_risk",
        "--expires", "2020-01-01")  # fmt: skip
    bad(cli, c, "INVALID_VALUE", "bob", "approve", V2, "--role", "model_risk", "--expires", "soon")
    other = c.bundles.get(V1).digest
    bad(cli, c, "APPROVAL_DIGEST_MISMATCH", "bob", "approve", V2, "--role", "model_risk",
        "--bundle-digest", other)  # fmt: skip
    code, approval = cli("bob", "approve", V2, "--role", "model_risk", "--expires", "14d", "--json")
    assert code == 0, approval
    assert approval["role"] == "model_risk"
    assert approval["bundle_digest"] == c.bundles.get(V2).digest
    assert approval["auth"] == "unauthenticated-local"
    bad(cli, c, "DUPLICATE_APPROVER", "bob", "approve", V2, "--role", "compliance")
    signed = project / "signed.json"
    signed.write_text(json.dumps(approval))
    bad(cli, c, "MISSING_FIELD", "carol", "approve", V2, "--signed", str(signed))
    code, text = cli("carol", "approve", V2, "--role", "compliance")
    assert code == 0
    assert "carol approved" in text


def test_waivers_on_the_command_line(cli: Cli, fraud_registry: Client) -> None:
    """§4.5: a risk acceptance without expiry, scope or controls exits 2; an exception on a
    hard rule exits 2; complete ones are recorded."""
    c = fraud_registry
    ready_through_g9(c)
    c.gates.add_evidence(V2, "security_review", {"secrets_in_logs": 0, "security_high_findings": 1})
    c.gates.add_evidence(V2, "ci", {**CI_OK, "ci_unplanned_low_cves": 2})
    base = ["accept-risk", V2, "--rule", "security-findings", "--reason", "needs inside access"]
    scope = ["--segment", "staff pilot", "--traffic-cap", "5"]
    bad(cli, c, "WAIVER_INVALID", "bob", *base, *scope, "--control", "WAF rule")
    bad(cli, c, "WAIVER_INVALID", "bob", *base, "--control", "WAF rule", "--expires", "7d")
    bad(cli, c, "WAIVER_INVALID", "bob", *base, *scope, "--expires", "7d")
    bad(cli, c, "WAIVER_INVALID", "bob", "gate", "except", V2, "--rule", "zero-critical-failures",
        "--reason", "x", "--expires", "7d")  # fmt: skip
    bad(cli, c, "SELF_APPROVAL", "alice", "gate", "except", V2, "--rule", "low-cves-planned",
        "--reason", "x", "--expires", "7d")  # fmt: skip
    code, out = cli("bob", *base, *scope, "--control", "WAF rule", "--expires", "7d", "--json")
    assert code == 0, out
    assert out["kind"] == "risk_acceptance"
    assert out["scope"]["traffic_cap_percent"] == 5.0
    waive = ["gate", "except", V2, "--rule", "low-cves-planned", "--reason", "patch planned"]
    code, text = cli("bob", *waive, "--expires", "7d", "--note", "patch in sprint 12")
    assert code == 0, text
    assert "exception" in text
    code, out = cli("bob", "evidence", "list", V2, "--json")
    assert [w["kind"] for w in out["waivers"]] == ["risk_acceptance", "exception"]


def test_exceptions_that_cannot_help(cli: Cli, fraud_registry: Client) -> None:
    """G3/G4 (issue 17): an exception for a rule that passes, or whose evidence is missing, is
    refused with its reason and nothing written; one that is recorded but leaves the decision
    unchanged says which rules still block."""
    c = fraud_registry
    ready_through_g9(c)
    c.gates.add_evidence(V2, "ci", {**CI_OK, "ci_unplanned_low_cves": 2})
    c.gates.link_evidence(V2, eval=store_eval(c, comparison_body(critical=1)))
    waive = ["gate", "except", V2, "--reason", "x", "--expires", "7d"]
    bad(cli, c, "WAIVER_NOT_NEEDED", "bob", *waive, "--rule", "feature-freshness")
    c.gates.add_evidence(V2, "shadow", {"traces_by_release_id": True})  # the other metrics missing
    bad(cli, c, "WAIVER_CANNOT_COVER", "bob", *waive, "--rule", "dashboard-tiles")
    code, out = cli("ci-bot", "gate", "check", V2, "--through", "G4", "--json")
    assert code == 1, out
    assert out["decision"] == "no_go"
    assert [(f["gate"], f["rule"], f["deciding"], f["behind"]) for f in out["failures"]] == [
        ("G2", "low-cves-planned", True, None),
        ("G4", "zero-critical-failures", False, "G2"),
    ]
    code, text = cli("bob", *waive, "--rule", "low-cves-planned")
    assert code == 0, text
    assert "does not change the decision" in text  # no_go → no_go: say what still blocks
    assert "still blocking" in text
    assert "zero-critical-failures" in text
    code, out = cli("bob", *waive, "--rule", "low-cves-planned", "--json")
    assert code == 0, out
    assert (out["decision_before"], out["decision"]) == ("no_go", "no_go")
    assert [f["rule"] for f in out["still_blocking"]] == ["zero-critical-failures"]
    assert out["still_blocking"][0]["deciding"] is True


POLICY = """
policy: bank-gates
version: "2.0"
extends: airel-default:1.0
tiers:
  "Tier 1": {thresholds: {min_primary_delta: 0.0}}
"""


def test_policy_commands(cli: Cli, fraud_registry: Client, project: Path) -> None:
    """G5: show, metrics, check (exit 2 with every problem), diff against a registered one."""
    code, out = cli("x", "policy", "show", "--json")
    assert code == 0
    assert out["ref"] == "airel-default:1.0"
    assert out["document"]["tiers"]["Tier 0"]["production"] is False
    assert any(r["id"] == "zero-critical-failures" for r in out["document"]["rules"])
    code, text = cli("x", "policy", "show")
    assert code == 0
    assert "policy airel-default:1.0" in text
    code, out = cli("x", "policy", "metrics", "--json")
    assert {"name": "eval_pii_leaks", "type": "int", "source": "eval"} in out
    (project / "bank.yaml").write_text(POLICY)
    code, out = cli("x", "policy", "check", str(project / "bank.yaml"), "--json")
    assert code == 0, out
    assert out["ref"] == "bank-gates:2.0"
    (project / "broken.yaml").write_text(
        POLICY + "rules:\n  - {id: a, gate: G0, expr: vibes == 1, reason: VIBES}\n"
        "  - {id: b, gate: G1, expr: 'risk_tier >', reason: BROKEN}\n"
    )
    code, out = cli("x", "policy", "check", str(project / "broken.yaml"), "--json")
    assert code == 2
    assert {p["reason"] for p in out["details"]["problems"]} == {
        "POLICY_UNKNOWN_METRIC",
        "POLICY_RULE_SYNTAX",
    }
    (project / "cyclic.yaml").write_text(POLICY.replace("airel-default:1.0", "bank-gates:2.0"))
    assert cli("x", "policy", "check", str(project / "cyclic.yaml"), "--json")[1]["reason"] == (
        "POLICY_CYCLE"
    )
    (project / "bad.yaml").write_text("policy: [unclosed\n")
    assert cli("x", "policy", "check", str(project / "bad.yaml"), "--json")[1]["reason"] == (
        "YAML_SYNTAX"
    )
    (project / "spec.yaml").write_text(
        "kind: policy\nname: bank-gates\nversion: '2.0'\nformat: yaml\ntext_file: bank.yaml\n"
    )
    assert cli("x", "register", "policy", str(project / "spec.yaml"))[0] == 0
    code, out = cli("x", "policy", "diff", "airel-default:1.0", "bank-gates:2.0", "--json")
    assert code == 0
    assert out["changed_tiers"] == ["Tier 1"]
    code, text = cli("x", "policy", "diff", "airel-default:1.0", "bank-gates:2.0")
    assert "min_primary_delta" in text
    code, out = cli("x", "gate", "check", V2, "--policy", "bank-gates:2.0", "--json")
    assert out["policy"]["ref"] == "bank-gates:2.0"


def test_gate_memo_is_rendered_from_the_stored_decision(cli: Cli, project: Path) -> None:
    """G7: the §8.1 memo of the latest decision, as Markdown (stdout or file) and HTML."""
    bad_code, _ = cli("x", "gate", "memo", V2)
    assert bad_code == 2  # no decision yet
    cli("ci-bot", "gate", "check", V2, "--through", "G4")
    code, text = cli("x", "gate", "memo", V2)
    assert code == 0
    assert "## Decision" in text
    assert V2 in text
    md, page = project / "memo.md", project / "memo.html"
    code, _ = cli("x", "gate", "memo", V2, "--out", str(md), "--html", str(page))
    assert code == 0
    assert md.read_text(encoding="utf-8").count("## ") >= 5
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_config_show_lists_identities_and_their_roles(cli: Cli) -> None:
    """G6: `airel config show` shows who holds which role in the store's grants."""
    code, out = cli("alice", "config", "show", "--json")
    assert code == 0
    assert out["identities"] == {
        "alice": ["admin", "model_risk"],
        "bob": ["compliance", "model_risk"],
        "carol": ["compliance"],
    }
    assert out["actor"]["value"] == "alice"
