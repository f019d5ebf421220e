"""Continuous-training triggers in the domain (P4, §5.4, §8.7): the seven kinds as data, the
strict trigger file (every refusal with its reason code and field), the release rule derived
from the risk tier, and the §8.7 record rendered from a stored trigger."""

from __future__ import annotations

from typing import Any

import pytest

from airel.adapters.documents.parse import parse_yaml
from airel.domain.kernel.tiers import RiskTier
from airel.domain.promotion.ct_trigger import (
    KIND_ACTIONS,
    NOT_RECORDED,
    BuildOutcome,
    CtTrigger,
    IncidentSource,
    IncidentStatus,
    TriggerDecision,
    TriggerKind,
    TriggerSpec,
    decision_text,
    parse_trigger_spec,
    release_rule,
    render_trigger_record,
    trigger_incident,
)
from airel.errors import Reason, ValidationError

TRIGGER = """\
trigger_id: CT-FRAUD-2026-021
use_case_id: FRAUD-SCORING
kind: data_drift
source: production drift dashboard
condition: card-not-present merchant category distribution shifted beyond approved threshold
candidate_action: train fraud model candidate using 2026Q2-v6 snapshot
required_evals: [segment performance, false positive cost, vulnerable customer slice]
owner: Fraud Analytics Lead
build:
  command: [python, train.py, --snapshot, 2026Q2-v6]
  snapshots: [dataset/FRAUD-TXN:2026Q2-v6, feature_view/fraud-auth-features:11]
candidate_bundle: out/candidate.yaml
"""


def doc(**changes: Any) -> dict[str, Any]:
    data = dict(parse_yaml(TRIGGER).data)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def parse(**changes: Any) -> TriggerSpec:
    return parse_trigger_spec(doc(**changes))


def refusal(**changes: Any) -> tuple[Reason, str]:
    with pytest.raises(ValidationError) as info:
        parse(**changes)
    first = info.value.problems[0]
    return Reason(first["reason"]), first["field"]


def test_the_playbook_example_parses() -> None:
    spec = parse()
    assert spec.kind is TriggerKind.DATA_DRIFT
    assert spec.build is not None
    assert spec.build.snapshots[0] == "dataset/FRAUD-TXN:2026Q2-v6"
    assert spec.build.timeout_seconds == 3600
    assert spec.digest.startswith("sha256:")
    assert parse(owner="Someone Else").digest != spec.digest


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"trigger_id": "FRAUD-21"}, Reason.INVALID_NAME, "trigger_id"),
        ({"trigger_id": "ct-fraud-21"}, Reason.INVALID_NAME, "trigger_id"),
        ({"kind": "nightly_whim"}, Reason.INVALID_VALUE, "kind"),
        ({"owner": None}, Reason.MISSING_FIELD, "owner"),
        ({"required_evals": []}, Reason.INVALID_VALUE, "required_evals"),
        ({"required_evals": "latency"}, Reason.WRONG_TYPE, "required_evals"),
        ({"promote_to": "canary"}, Reason.UNKNOWN_FIELD, "promote_to"),
        ({"build": {"command": "python train.py"}}, Reason.WRONG_TYPE, "build.command"),
        ({"build": {"command": []}}, Reason.INVALID_VALUE, "build.command"),
        ({"build": {"command": ["x"], "timeout_seconds": 0}}, Reason.INVALID_VALUE,
         "build.timeout_seconds"),
        ({"build": {"command": ["x"], "shell": True}}, Reason.UNKNOWN_FIELD, "build.shell"),
        ({"build": {"command": ["x"], "snapshots": ["FRAUD-TXN:2026Q2-v6"]}},
         Reason.UNKNOWN_KIND, "build.snapshots"),
        ({"build": {"command": ["x"], "snapshots": ["spreadsheet/FRAUD-TXN:1"]}},
         Reason.UNKNOWN_KIND, "build.snapshots"),
        ({"build": {"command": ["x"], "snapshots": ["dataset/FRAUD-TXN"]}},
         Reason.INVALID_VALUE, "build.snapshots"),
        ({"build": {"command": ["x"], "snapshots": ["dataset/FRAUD-TXN@production"]}},
         Reason.INVALID_VALUE, "build.snapshots"),
        ({"build": {"command": ["x"], "snapshots": ["model/vendor-llm:latest"]}},
         Reason.ROUTE_TO_LATEST, "build.snapshots"),
        ({"build": {"command": ["x"], "snapshots": ["dataset/A:1", "dataset/A:1"]}},
         Reason.INVALID_VALUE, "build.snapshots"),
        ({"candidate_bundle": "../elsewhere.yaml"}, Reason.PATH_TRAVERSAL, "candidate_bundle"),
        ({"candidate_bundle": "/etc/bundle.yaml"}, Reason.PATH_TRAVERSAL, "candidate_bundle"),
        ({"severity": "sev1"}, Reason.INVALID_VALUE, "severity"),  # drift opens no incident
    ],
)  # fmt: skip
def test_bad_trigger_files_are_refused_with_the_field(
    changes: dict[str, Any], reason: Reason, field: str
) -> None:
    assert refusal(**changes) == (reason, field)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        parse(trigger_id="bad", kind="bad", owner=None)
    assert {p["field"] for p in info.value.problems} == {"trigger_id", "kind", "owner"}


@pytest.mark.parametrize("kind", list(TriggerKind))
def test_every_kind_has_its_training_and_release_action(kind: TriggerKind) -> None:
    spec = parse(kind=kind.action.label)  # the §5.4 names parse as written
    assert spec.kind is kind
    action = kind.action
    assert action is KIND_ACTIONS[kind]
    assert all((action.label, action.training, action.release))
    assert action.opens_incident is (kind is TriggerKind.PERFORMANCE_DEGRADATION)
    for tier in RiskTier:
        rule = release_rule(kind, tier)
        assert rule.startswith("candidate generation is automatic; ")
        assert rule.endswith(action.release)
    assert set(KIND_ACTIONS) == set(TriggerKind)


def test_the_release_rule_follows_the_risk_tier() -> None:
    drift, refresh = TriggerKind.DATA_DRIFT, TriggerKind.SCHEDULED_REFRESH
    assert "requires the full Tier 1 gate" in release_rule(drift, RiskTier.TIER_1)
    assert "requires the full Tier 2 gate" in release_rule(refresh, RiskTier.TIER_2)
    low = release_rule(refresh, RiskTier.TIER_3)
    assert "low risk" in low
    assert "still gated" in low
    assert "never reaches production" in release_rule(drift, RiskTier.TIER_0)
    vendor = release_rule(TriggerKind.VENDOR_MODEL_CHANGE, RiskTier.TIER_2)
    assert "latest" in vendor


def test_a_degradation_may_carry_a_severity() -> None:
    spec = parse(kind="performance_degradation", severity="sev1")
    assert spec.severity == "sev1"
    assert refusal(kind="performance_degradation", severity="sev9")[1] == "severity"


def stored(**changes: Any) -> CtTrigger:
    body: dict[str, Any] = {
        "trigger_id": "CT-FRAUD-2026-021",
        "use_case_id": "FRAUD-SCORING",
        "kind": TriggerKind.DATA_DRIFT,
        "source": "production drift dashboard",
        "condition": "card-not-present | merchant shift",
        "candidate_action": "train fraud model candidate using 2026Q2-v6 snapshot",
        "release_rule": release_rule(TriggerKind.DATA_DRIFT, RiskTier.TIER_1),
        "required_evals": ("segment performance", "latency"),
        "owner": "Fraud Analytics Lead",
        "risk_tier": RiskTier.TIER_1,
        "decision": TriggerDecision.CANDIDATE_HELD,
        "decision_text": decision_text(
            TriggerDecision.CANDIDATE_HELD, tier=RiskTier.TIER_1, candidate="FRAUD-2026-003"
        ),
        "candidate_release_id": "FRAUD-2026-003",
        "spec_digest": "sha256:" + "a" * 64,
        "created_at": "2026-12-03T12:00:00+00:00",
        "created_by": "ct-bot",
    }
    body.update(changes)
    return CtTrigger.model_validate(body)


def table(markdown: str) -> dict[str, str]:
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    return {
        cells[0]: cells[1]
        for cells in (r.strip("| ").split(" | ", 1) for r in rows)
        if cells[0] not in {"Field", "Record"}
    }


def test_the_8_7_record_renders_every_field() -> None:
    markdown = render_trigger_record(stored())
    fields = table(markdown)
    assert list(fields)[:8] == [
        "Trigger ID",
        "Trigger source",
        "Trigger condition",
        "Candidate action",
        "Release rule",
        "Required evals",
        "Owner",
        "Decision",
    ]
    assert fields["Trigger ID"] == "CT-FRAUD-2026-021"
    assert fields["Trigger condition"] == "card-not-present \\| merchant shift"
    assert "requires the full Tier 1 gate" in fields["Release rule"]
    assert fields["Required evals"] == "segment performance, latency"
    assert "FRAUD-2026-003" in fields["Decision"]
    assert "Tier 1" in fields["Decision"]
    assert fields["Candidate release"] == "FRAUD-2026-003"
    assert fields["Snapshots"] == NOT_RECORDED
    assert fields["Incident"] == NOT_RECORDED


def test_gaps_say_not_recorded_and_a_failed_build_keeps_its_exit_code() -> None:
    build = BuildOutcome(command=("python", "train.py"), exit_code=3, seconds=0.5)
    failed = stored(
        decision=TriggerDecision.BUILD_FAILED,
        decision_text=decision_text(TriggerDecision.BUILD_FAILED, tier=RiskTier.TIER_1,
                                    build=build),
        candidate_release_id=None,
        build=build,
        owner="",
    )  # fmt: skip
    fields = table(render_trigger_record(failed))
    assert fields["Owner"] == NOT_RECORDED
    assert fields["Candidate release"] == NOT_RECORDED
    assert "exit 3" in fields["Decision"]
    assert fields["Build"] == "python train.py → 3"
    timed = BuildOutcome(command=("x",), exit_code=None, timed_out=True, seconds=9.0)
    assert "timed out" in decision_text(
        TriggerDecision.BUILD_FAILED, tier=RiskTier.TIER_2, build=timed
    )


def test_a_degradation_opens_an_incident_shown_in_the_record() -> None:
    trigger = stored(kind=TriggerKind.PERFORMANCE_DEGRADATION, incident_id="INC-CT-FRAUD-2026-021")
    incident = trigger_incident(trigger, release_id="FRAUD-2026-002", severity="sev2")
    assert incident.incident_id == trigger.incident_id
    assert incident.source is IncidentSource.CT_TRIGGER
    assert incident.status is IncidentStatus.OPEN
    assert incident.release_id == "FRAUD-2026-002"
    assert incident.opened_at == trigger.created_at
    assert incident.summary.startswith("Performance degradation: ")
    fields = table(render_trigger_record(trigger, incident))
    assert fields["Incident"] == "INC-CT-FRAUD-2026-021 (sev2)"


def test_a_stored_trigger_round_trips_through_json() -> None:
    trigger = stored(build=BuildOutcome(command=("a",), exit_code=0, seconds=1.25))
    back = CtTrigger.model_validate_json(trigger.model_dump_json(), strict=False)
    assert back == trigger
    assert back.risk_tier is RiskTier.TIER_1
