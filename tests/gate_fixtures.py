"""Helpers for the gate service and CLI tests: frozen fraud releases with scope and a
rollback target, stored evidence, and clients acting as other identities (issue 5)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from airel.client import Client
from airel.domain.data.evidence import ValidationRun
from airel.domain.eval.record import EvalRecord
from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.clock import utc_now
from airel.store.contract import WriteTx

V1, V2 = "FRAUD-2026-001", "FRAUD-2026-002"
FIRST = "first release of the use case: nothing earlier to roll back to"  # --allow-incomplete
SCOPE = """
scope:
  approved_use: [score card-not-present authorisations]
  prohibited_use: [automatic account closure]
  customer_impact: declined or challenged payments
  human_role: fraud analysts review declines above 500 EUR
"""
TIER1_ROLES = ("business_owner", "model_risk", "compliance", "security", "data_owner")

CI_OK = {
    "ci_tests_failed": 0,
    "ci_container_built": True,
    "ci_critical_cves": 0,
    "ci_unplanned_low_cves": 0,
}
LATER_OK: dict[str, dict[str, Any]] = {
    "security_review": {"secrets_in_logs": 0, "security_high_findings": 0},
    "privacy_review": {"privacy_approved": True},
    "model_risk_review": {"model_risk_validated": True, "explainability_documented": True},
    "shadow": {
        "traces_by_release_id": True,
        "monitoring_dashboard_live": True,
        "shadow_side_effects": 0,
        "shadow_requests": 5000,
        "dashboard_tiles_stale": 0,
    },
    "rollback_drill": {"rollback_drill_minutes": 6.0, "rollback_drill_failed_steps": 0},
    "canary": {
        "canary_critical_failures": 0,
        "canary_latency_p95_ms": 120.0,
        "canary_error_rate": 0.001,
        "canary_override_rate": 0.01,
        "canary_cost_per_request": 0.002,
    },
    "ramp": {"ramp_capacity_ok": True, "support_ready": True, "aged_issues": 0},
    "post_release": {
        "post_release_review_done": True,
        "evidence_complete": True,
        "open_incidents": 0,
    },
}


def now() -> datetime:
    """The wall clock, whole seconds (evidence timestamps are real)."""
    return datetime.now(UTC).replace(microsecond=0)


def freeze_pair(client: Client, bundle_yaml: Callable[..., str], write: Callable[..., Any]) -> str:
    """Freeze V1 (model 1.0.0) and V2 (model 2.0.0, rolls back to V1), both with a scope."""
    client.bundles.create(
        write("v1.yaml", bundle_yaml() + SCOPE), freeze=True, allow_incomplete=FIRST
    )
    v2 = bundle_yaml(release_id=V2, model_version="2.0.0", rollback_target=V1)
    client.bundles.create(write("v2.yaml", v2 + SCOPE), freeze=True)
    return V2


ROUTE = "fraud-score-prod"  # bundle_yaml's deployment.route


def adopt_v1(client: Client, route: str = ROUTE) -> None:
    """V1 recorded as what the production route ran before airel (its stable release)."""
    from airel.services.promotion import rollouts

    rollouts.adopt(client.ctx, route, release_id=V1, change_approval="CHG-0001")


def as_actor(client: Client, name: str, *roles: str) -> Client:
    """A client on the same store acting as ``name``, granted ``roles`` in the store by one
    of its administrators (G6)."""
    admin = client.identity.role_grants(role="admin")[0].identity
    with Client(dataclasses.replace(client.settings, actor=admin)) as granter:
        for role in roles:
            granter.identity.grant_role(name, role)
    return Client(dataclasses.replace(client.settings, actor=name))


def store_validation(client: Client, *, findings: list[dict[str, Any]] | None = None) -> str:
    """A stored validation run (clean unless findings are given); returns its id."""
    found = findings or []
    hard = sum(f.get("severity") == "hard" for f in found)
    body: dict[str, Any] = {
        "current": "dataset/FRAUD-TRAIN:1",
        "reference": None,
        "serving": None,
        "feature_view": None,
        "spec_digest": "sha256:" + "5" * 64,
        "use_case": "FRAUD-SCORING",
        "as_of": utc_now(),
        "passed": hard == 0,
        "hard": hard,
        "soft": len(found) - hard,
        "findings": found,
        "card": {"profiles": {"current": {"columns": {"amount": {"missing_rate": 0.0}}}}},
    }
    run = ValidationRun(
        run_id=digest_of(body), created_at=utc_now(), created_by="validator", **body
    )

    def fn(tx: WriteTx) -> None:
        if tx.get_validation_run(run.run_id) is not None:
            return
        tx.insert_validation_run(run)
        tx.append_audit(
            actor="validator",
            action="validation.run",
            subject=run.current,
            before=None,
            after=run.run_id,
        )

    client.ctx.store.write(fn)
    return run.run_id


def comparison_body(*, critical: int = 0, delta_low: float = 0.01) -> dict[str, Any]:
    """A classifier comparison body as ``airel eval compare`` stores it (trimmed)."""
    metric = {"metric": "roc_auc", "low": delta_low, "high": delta_low + 0.03}
    return {
        "suite": {"slices": {"web": {}}, "fairness": {"attribute": "channel", "max_tpr_gap": 0.05}},
        "datasets": [
            {
                "dataset": "eval_dataset/FRAUD-GOLDEN:2",
                "role": "golden",
                "items": 2000,
                "comparison": {
                    "slices": {
                        "overall": {"n": 2000, "positives": 600, "metrics": {"roc_auc": metric}},
                        "web": {"n": 1000, "positives": 300, "metrics": {}},
                    },
                    "thresholds": [
                        {"threshold": {"metric": "roc_auc", "hard": True}, "outcome": "pass"}
                    ],
                    "material_regressions": [],
                },
                "candidate": {
                    "fairness": {
                        "tpr_gap": {"value": 0.01},
                        "fpr_gap": {"value": 0.01},
                        "approval_gap": {"value": 0.02},
                    }
                },
            }
        ],
        "critical_failures": {"count": critical, "examples": []},
        "passed": critical == 0,
    }


def store_eval(client: Client, body: dict[str, Any], kind: str = "comparison") -> str:
    """A stored eval record with ``body``; returns its id."""
    record = EvalRecord(
        record_id=digest_of(body),
        kind=kind,
        subject="v1 -> v2",
        passed=body.get("passed"),
        body=body,
        created_at=utc_now(),
        created_by="evaluator",
    )

    def fn(tx: WriteTx) -> None:
        if tx.get_eval_record(record.record_id) is not None:
            return
        tx.insert_eval_record(record)
        tx.append_audit(
            actor="evaluator",
            action=f"eval.{kind}",
            subject=record.subject,
            before=None,
            after=record.record_id,
        )

    client.ctx.store.write(fn)
    return record.record_id


def ready_through_g4(client: Client, release: str = V2) -> None:
    """Every piece of G0–G4 evidence, passing: CI, a clean validation run, a good eval."""
    client.gates.add_evidence(release, "ci", CI_OK, source="https://ci.example/1")
    client.gates.link_evidence(release, validation=store_validation(client))
    client.gates.link_evidence(release, eval=store_eval(client, comparison_body()))


def ready_through_g9(client: Client, release: str = V2) -> None:
    """Evidence for every gate of Tier 1 (approvals not included)."""
    ready_through_g4(client, release)
    for kind, metrics in LATER_OK.items():
        client.gates.add_evidence(release, kind, metrics)


def approve_all(client: Client, release: str = V2, *, when: datetime, **kw: Any) -> list[str]:
    """The five Tier 1 roles approved by five distinct people (none the submitter)."""
    ids = []
    for i, role in enumerate(TIER1_ROLES):
        other = as_actor(client, f"approver{i}", role)
        ids.append(other.gates.approve(release, role, now=when, **kw).approval_id)
        other.close()
    return ids
