"""The §8.6 runbook and a drill that runs it in staging (P6): nine steps with owners from the
bundle, a real route rollback with timings, the route restored, and evidence the gate reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airel.client import Client
from airel.domain.promotion.route import EventKind, Lane
from airel.domain.promotion.runbook import StepStatus
from airel.errors import AirelError, Reason
from airel.services.promotion import drills, promotions, rollouts
from gate_fixtures import ROUTE, V1, V2
from rollout_helpers import Rollout, ready_rollout


@pytest.fixture
def r(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Rollout:
    return ready_rollout(fraud_registry, bundle_yaml, write)


def table(markdown: str) -> dict[str, list[str]]:
    out = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0].isdigit():
            out[cells[0]] = cells[1:]
    return out


def test_the_runbook_names_nine_steps_for_this_release(r: Rollout) -> None:
    steps, markdown = drills.runbook(r.ctx, V2)
    assert [s.row.number for s in steps] == list(range(1, 10))
    rows = table(markdown)
    assert rows["2"][0] == "Platform Owner"
    assert rows["2"][3] == f"route fraud-score-prod → {V1}"
    assert rows["4"][3].startswith("n/a")  # V1 and V2 share their policies
    assert rows["6"][3] == "fraud analysts review declines above 500 EUR"  # scope.human_role
    assert rows["9"][2] == "restart decision record"


def test_a_drill_rolls_back_in_staging_and_restores(r: Rollout) -> None:
    promotions.promote(r.ctx, V2, target="staging", deployment=r.deployment)
    before = rollouts.get_route(r.ctx, ROUTE, lane=Lane.STAGING)
    drill = drills.drill(r.ctx, V2)
    assert drill.passed
    assert [s.number for s in drill.steps] == list(range(1, 10))
    statuses = {s.number: s.status for s in drill.steps}
    assert statuses[2] is StepStatus.DONE
    assert statuses[8] is StepStatus.SKIPPED
    assert 0 < drill.minutes_to_last_known_good < 1 / 60  # well under a second
    after = rollouts.get_route(r.ctx, ROUTE, lane=Lane.STAGING)
    assert after.desired.weights == before.desired.weights == {V2: 100.0}
    kinds = [e.kind for e in rollouts.route_history(r.ctx, ROUTE, lane=Lane.STAGING)]
    assert kinds == [EventKind.PROMOTE, EventKind.ROLLBACK, EventKind.OBSERVE, EventKind.RESTORE]
    assert rollouts.get_route(r.ctx, ROUTE).desired.weights == {V1: 100.0}  # production as was
    evidence = [a for a in r.client.gates.evidence(V2).attestations if a.kind == "rollback_drill"]
    assert evidence[-1].metrics == {
        "rollback_drill_minutes": drill.minutes_to_last_known_good,
        "rollback_drill_failed_steps": 0,
    }
    assert evidence[-1].source == f"airel-drill:{drill.drill_id}"
    assert drills.list_drills(r.ctx, V2) == [drill]
    assert r.client.verify_audit().ok


def test_a_drill_needs_the_release_in_staging(r: Rollout) -> None:
    before = r.audit_seq()
    with pytest.raises(AirelError) as info:
        drills.drill(r.ctx, V2)
    assert info.value.reason is Reason.ROLLBACK_NOT_ALLOWED
    assert r.audit_seq() == before
