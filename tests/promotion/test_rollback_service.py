"""Rollback by component on SQLite and PostgreSQL (P6, §5.7): route back to an approved bundle,
component swaps as emergency compositions that need a restart gate decision, tools switched
off, batch quarantine, compensation — and every refusal writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airel.client import Client
from airel.domain.promotion.manifest import ToolMode
from airel.domain.promotion.rollback import Compensation, RollbackComponent
from airel.domain.promotion.route import EventKind, RolloutStatus
from airel.errors import AirelError, Reason
from airel.services.gate import decisions as gates
from airel.services.promotion import promotions, rollbacks, rollouts
from gate_fixtures import LATER_OK, ROUTE, SCOPE, V1, V2
from rollout_helpers import Rollout, ready_rollout, to_canary

V3 = "FRAUD-2026-003"


@pytest.fixture
def r(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Rollout:
    return ready_rollout(fraud_registry, bundle_yaml, write)


def refused(r: Rollout, **kwargs: Any) -> AirelError:
    before = r.audit_seq()
    with pytest.raises(AirelError) as info:
        rollbacks.rollback(r.ctx, V2, **kwargs)
    assert r.audit_seq() == before  # nothing written
    return info.value


def test_route_rollback_returns_every_request_to_the_approved_target(r: Rollout) -> None:
    to_canary(r)
    done = rollbacks.rollback(r.ctx, V2, "route", reason="complaints", incident="INC-7")
    assert done.changed
    assert done.route is not None
    assert done.route.desired.weights == {V1: 100.0}
    assert done.route.status is RolloutStatus.ROLLED_BACK
    assert done.rollback.target == V1
    assert not done.rollback.emergency
    again = rollbacks.rollback(r.ctx, V2, "route", reason="complaints")  # a re-run
    assert not again.changed
    assert again.rollback.rollback_id == done.rollback.rollback_id
    assert r.client.verify_audit().ok


def test_a_model_rollback_is_an_emergency_composition(r: Rollout) -> None:
    to_canary(r)
    done = rollbacks.rollback(r.ctx, V2, RollbackComponent.MODEL, reason="regression")
    assert done.manifest is not None
    assert done.route is not None
    v1_model = next(x.node for x in r.client.bundles.get(V1).resolutions if x.path == "model")
    assert done.manifest.components["model"] == v1_model
    assert done.manifest.composed_from == {"model": V1}
    assert done.rollback.body["changes"]["model"][1] == v1_model
    assert done.rollback.emergency
    assert done.route.desired.weights == {V1: 95.0, V2: 5.0}  # the share stays
    assert done.route.desired.manifests[V2] == done.manifest.digest
    assert done.route.status is RolloutStatus.PAUSED
    assert done.route.emergency == done.rollback.rollback_id
    before = r.audit_seq()
    with pytest.raises(AirelError) as info:
        rollouts.resume(r.ctx, ROUTE)
    assert info.value.reason is Reason.RESTART_GATE_REQUIRED
    assert r.audit_seq() == before
    r.clock.tick(minutes=1)
    gates.check(r.ctx, V2, now=r.clock.at)  # the restart decision, after the rollback
    resumed = rollouts.resume(r.ctx, ROUTE)
    assert resumed.status is RolloutStatus.PROGRESSING
    assert resumed.emergency is None
    assert rollouts.route_history(r.ctx, ROUTE)[-2].kind is EventKind.ROLLBACK


def test_a_component_the_target_shares_has_nothing_to_roll_back(r: Rollout) -> None:
    to_canary(r)
    assert refused(r, component="policy").reason is Reason.ROLLBACK_NOT_ALLOWED
    assert refused(r, component="index").reason is Reason.ROLLBACK_NOT_ALLOWED  # none at all
    assert refused(r, component="tool").reason is Reason.ROLLBACK_NOT_ALLOWED  # none writes


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("FRAUD-2026-404", Reason.ROLLBACK_TARGET_NOT_FOUND),
        (V2, Reason.ROLLBACK_NOT_ALLOWED),  # itself
        (V3, Reason.ROLLBACK_NOT_ALLOWED),  # frozen, never approved for canary
        ("MORTGAGE-2026-001", Reason.ROLLBACK_NOT_ALLOWED),  # another use case
    ],
)
def test_a_target_never_approved_there_is_refused(
    r: Rollout, bundle_yaml: Callable[..., str], write: Any, to: str, reason: Reason
) -> None:
    to_canary(r)
    r.client.bundles.create(write("v3.yaml", bundle_yaml(release_id=V3) + SCOPE), freeze=True,
                            allow_incomplete="first release of the use case")  # fmt: skip
    other = bundle_yaml(release_id="MORTGAGE-2026-001").replace(
        "use_case_id: FRAUD", "use_case_id: MORTGAGE"
    )
    r.client.bundles.create(write("m.yaml", other + SCOPE), freeze=True,
                            allow_incomplete="first release of the use case")  # fmt: skip
    error = refused(r, component="route", to=to)
    assert error.reason is reason
    assert r.route().desired.weights == {V1: 95.0, V2: 5.0}


def test_tool_rollback_switches_writes_off(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any
) -> None:
    r = ready_rollout(fraud_registry, bundle_yaml, write, tool="write")
    promotions.promote(r.ctx, V2, target="canary", plan=r.plan, deployment=r.deployment)
    done = rollbacks.rollback(r.ctx, V2, "tool", tool_mode=ToolMode.DRAFT, reason="misuse")
    assert done.manifest is not None
    assert done.manifest.tools == {"case-lookup": ToolMode.READ, "case-note": ToolMode.DRAFT}
    assert done.rollback.body["changes"] == {"case-note": ["write", "draft"]}
    assert done.rollback.target is None
    assert done.rollback.emergency
    error = refused(r, component="tool", tool_mode=ToolMode.WRITE)
    assert error.reason is Reason.INVALID_VALUE


def test_batch_quarantine_is_visible_to_consumers_and_recorded_once(r: Rollout) -> None:
    assert rollbacks.is_quarantined(r.ctx, "batch-2026-12-01") is None
    first = rollbacks.rollback(r.ctx, V2, "batch", batch_run="batch-2026-12-01", reason="bad")
    assert first.changed
    assert first.route is None
    found = rollbacks.is_quarantined(r.ctx, "batch-2026-12-01")
    assert found is not None
    assert found.rollback_id == first.rollback.rollback_id
    assert not rollbacks.rollback(r.ctx, V2, "batch", batch_run="batch-2026-12-01").changed
    assert refused(r, component="batch").reason is Reason.MISSING_FIELD


def test_compensation_is_a_record_of_what_was_done(r: Rollout) -> None:
    record = Compensation(reversals=["fee reversed on 41 accounts"], affected_customers=41)
    done = rollbacks.rollback(r.ctx, V2, "compensation", compensation=record, incident="INC-7")
    assert done.rollback.body["reversals"] == ["fee reversed on 41 accounts"]
    assert done.rollback.body["incident"] == "INC-7"
    empty = refused(r, component="compensation", compensation=Compensation())
    assert empty.reason is Reason.MISSING_FIELD
    assert refused(r, component="everything").reason is Reason.INVALID_VALUE


def test_a_release_on_no_route_cannot_roll_back_its_route(r: Rollout) -> None:
    assert refused(r, component="route").reason is Reason.ROLLBACK_NOT_ALLOWED


def test_after_an_abort_the_release_may_enter_again(r: Rollout) -> None:
    """An abort is an operator's hold, not a failure: the same decision still admits it."""
    to_canary(r)
    rollouts.abort(r.ctx, ROUTE)
    with r.ctx.store.read() as tx:
        assert promotions.current_environment(tx, V2) is None  # off the route: back nowhere
    again = promotions.promote(r.ctx, V2, target="canary", plan=r.plan, deployment=r.deployment)
    assert again.route is not None
    assert again.route.desired.weights == {V1: 95.0, V2: 5.0}


@pytest.mark.parametrize("how", ["stop", "route"])
def test_after_a_rollback_the_release_needs_a_restart_decision(r: Rollout, how: str) -> None:
    """§5.8: a release taken off its route by a stop condition or a route rollback comes back
    only under a gate decision taken after the rollback (SPEC P6)."""
    to_canary(r)
    if how == "stop":
        r.attest("canary", canary_critical_failures=1)
        assert rollouts.advance(r.ctx, ROUTE).verdict == "stop"
    else:
        rollbacks.rollback(r.ctx, V2, "route", reason="complaints")
    before = r.audit_seq()
    with pytest.raises(AirelError) as info:
        promotions.promote(r.ctx, V2, target="canary", plan=r.plan, deployment=r.deployment)
    assert info.value.reason is Reason.RESTART_GATE_REQUIRED
    assert r.audit_seq() == before
    if how == "route":  # the evidence is still good: a new decision lets it in again
        r.attest("shadow", **LATER_OK["shadow"])  # to_canary's shadow attestation was partial
        r.clock.tick(minutes=1)
        assert gates.check(r.ctx, V2, now=r.clock.at).record.decision == "go"
        again = promotions.promote(r.ctx, V2, target="canary", plan=r.plan, deployment=r.deployment)
        assert again.route is not None
        assert V2 in again.route.desired.weights
