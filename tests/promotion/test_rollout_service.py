"""Rollouts step by step on SQLite and PostgreSQL (P5, R6): each step analysed from the
evidence recorded since it began, a stop condition rolling back at once, inconclusive never
advancing, compare-and-set between operators, idempotent re-runs, and the reconciler."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airel.adapters.router import FileRouter
from airel.client import Client
from airel.domain.promotion.environments import Environment
from airel.domain.promotion.route import EventKind, Lane, RolloutStatus
from airel.errors import AirelError, Reason
from airel.services.promotion import promotions, reconciler, rollbacks, rollouts
from gate_fixtures import ROUTE, V1, V2
from rollout_helpers import Rollout, ready_rollout, to_canary, to_shadow


@pytest.fixture
def r(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Rollout:
    return ready_rollout(fraud_registry, bundle_yaml, write)


def refused(r: Rollout, fn: Callable[[], object]) -> AirelError:
    before = r.audit_seq()
    with pytest.raises(AirelError) as info:
        fn()
    assert r.audit_seq() == before  # nothing written
    return info.value


def test_promotion_puts_the_candidate_on_the_route_beside_the_stable_release(r: Rollout) -> None:
    route = to_shadow(r)
    assert route.version == 2  # 1: the adoption of V1
    assert route.status is RolloutStatus.PROGRESSING
    assert (route.stable, route.candidate, route.step) == (V1, V2, "shadow")
    assert route.desired.weights == {V1: 100.0}
    assert route.desired.mirror == [V2]
    assert not route.converged
    history = rollouts.route_history(r.ctx, ROUTE)
    assert [e.kind for e in history] == [EventKind.ADOPT, EventKind.PROMOTE]


def test_a_step_without_fresh_evidence_is_inconclusive_and_nothing_moves(r: Rollout) -> None:
    """The shadow evidence recorded before the step began does not count for it."""
    to_shadow(r)
    before = r.audit_seq()
    outcome = rollouts.advance(r.ctx, ROUTE)
    assert outcome.verdict == "inconclusive"
    assert outcome.analysis is not None
    assert set(outcome.analysis.reasons) == {"MISSING:shadow_side_effects", "MISSING:requests"}
    assert r.audit_seq() == before
    assert r.route().step == "shadow"
    r.attest("shadow", shadow_side_effects=0, shadow_requests=20)
    held = rollouts.advance(r.ctx, ROUTE)
    assert held.verdict == "hold"
    assert held.analysis is not None
    assert held.analysis.reasons == ("REQUESTS:20<100",)
    assert r.audit_seq() == before + 1  # the attestation only


def test_an_errored_attestation_proves_nothing(r: Rollout) -> None:
    to_shadow(r)
    r.clock.tick(seconds=1)
    r.client.gates.add_evidence(V2, "shadow", {}, status="errored")
    assert rollouts.advance(r.ctx, ROUTE).verdict == "inconclusive"


def test_advance_into_canary_is_a_promotion_under_the_decision(r: Rollout) -> None:
    route = to_canary(r)
    assert route.desired.weights == {V1: 95.0, V2: 5.0}
    assert route.desired.mirror == []
    assert (route.environment, route.step) == (Environment.CANARY, "canary-1")
    stored = promotions.list_promotions(r.ctx, V2)
    assert [(p.source, p.target) for p in stored] == [
        (None, Environment.SHADOW),
        (Environment.SHADOW, Environment.CANARY),
    ]
    manifest = promotions.get_deployment(r.ctx, route.desired.manifests[V2]).manifest
    assert manifest.traffic == route.desired.weights
    assert manifest.canary_result == "shadow: advance (route v2)"
    event = rollouts.route_history(r.ctx, ROUTE)[-1]
    assert event.kind is EventKind.ADVANCE
    assert event.body["analysis"]["verdict"] == "advance"  # type: ignore[index]
    assert r.client.verify_audit().ok


def test_the_minimum_duration_holds_then_the_next_step_is_in_the_same_environment(
    r: Rollout,
) -> None:
    to_canary(r)
    r.attest("canary", canary_critical_failures=0, canary_requests=900)
    held = rollouts.advance(r.ctx, ROUTE)
    assert held.verdict == "hold"
    assert held.analysis is not None
    assert held.analysis.reasons[0].startswith("DURATION:")
    r.clock.tick(hours=25)
    moved = rollouts.advance(r.ctx, ROUTE, to_step="canary-2")
    assert moved.verdict == "advance"
    assert moved.route.desired.weights == {V1: 80.0, V2: 20.0}
    assert len(promotions.list_promotions(r.ctx, V2)) == 2  # same environment: no promotion
    again = rollouts.advance(r.ctx, ROUTE, to_step="canary-2")  # a re-run after a crash
    assert again.verdict == "done"
    assert again.route.version == moved.route.version
    r.attest("canary", canary_critical_failures=0, canary_requests=900)
    done = rollouts.advance(r.ctx, ROUTE)
    assert done.verdict == "complete"
    assert done.route.status is RolloutStatus.COMPLETED
    assert done.route.stable == V1  # at 20 %, the candidate is not the last-known-good


def test_a_stop_condition_rolls_the_route_back_at_once(r: Rollout) -> None:
    to_canary(r)
    r.attest("canary", canary_critical_failures=2, canary_requests=10)
    outcome = rollouts.advance(r.ctx, ROUTE)
    assert outcome.verdict == "stop"
    route = outcome.route
    assert route.status is RolloutStatus.ROLLED_BACK
    assert route.desired.weights == {V1: 100.0}
    stored = rollbacks.list_rollbacks(r.ctx, V2)
    assert [(b.component.value, b.target, b.body["automatic"]) for b in stored] == [
        ("route", V1, True)
    ]
    assert "STOP:canary_critical_failures > 0" in stored[0].reason
    error = refused(r, lambda: rollouts.advance(r.ctx, ROUTE))
    assert error.reason is Reason.ROLLOUT_STATE


def test_two_operators_on_one_version_one_wins(r: Rollout) -> None:
    seen = to_canary(r).version
    first = rollouts.pause(r.as_actor("op.one"), ROUTE, expected_version=seen)
    assert first.status is RolloutStatus.PAUSED
    error = refused(r, lambda: rollouts.abort(r.as_actor("op.two"), ROUTE, expected_version=seen))
    assert error.reason is Reason.STALE_VERSION
    assert r.route().status is RolloutStatus.PAUSED


def test_pause_resume_abort(r: Rollout) -> None:
    to_canary(r)
    rollouts.pause(r.ctx, ROUTE, reason="complaint spike")
    assert refused(r, lambda: rollouts.advance(r.ctx, ROUTE)).reason is Reason.ROLLOUT_STATE
    assert refused(r, lambda: rollouts.pause(r.ctx, ROUTE)).reason is Reason.ROLLOUT_STATE
    resumed = rollouts.resume(r.ctx, ROUTE)
    assert resumed.status is RolloutStatus.PROGRESSING
    aborted = rollouts.abort(r.ctx, ROUTE, reason="business decision")
    assert aborted.status is RolloutStatus.ABORTED
    assert aborted.desired.weights == {V1: 100.0}
    kinds = [e.kind for e in rollouts.route_history(r.ctx, ROUTE)][-3:]
    assert kinds == [EventKind.PAUSE, EventKind.RESUME, EventKind.ABORT]


def test_bad_input_is_refused_and_nothing_written(r: Rollout) -> None:
    to_shadow(r)
    unknown = refused(r, lambda: rollouts.advance(r.ctx, ROUTE, to_step="canary-9"))
    assert unknown.reason is Reason.PLAN_UNKNOWN_STAGE
    skip = refused(r, lambda: rollouts.advance(r.ctx, "no-such-route"))
    assert skip.reason is Reason.ROUTE_NOT_FOUND
    again = refused(r, lambda: rollouts.adopt(r.ctx, ROUTE, release_id=V1, change_approval="x"))
    assert again.reason is Reason.ROLLOUT_STATE
    empty = refused(r, lambda: rollouts.adopt(r.ctx, "other", release_id=V1, change_approval=" "))
    assert empty.reason is Reason.MISSING_FIELD


def test_reconcile_applies_each_version_once(r: Rollout, tmp_path: Path) -> None:
    router = FileRouter(tmp_path / "routes")
    to_shadow(r)
    report = reconciler.reconcile(r.ctx, router)
    assert report.applied == [f"{ROUTE}@production"]
    route = r.route()
    assert route.converged
    assert route.observed == route.desired
    written = json.loads(router.path_of(route).read_text())
    assert (written["version"], written["weights"], written["mirror"]) == (2, {V1: 100.0}, [V2])
    before = r.audit_seq()
    assert reconciler.reconcile(r.ctx, router).applied == []
    assert r.audit_seq() == before  # converged: nothing to write


def test_reconcile_fires_stop_conditions_and_only_advances_when_asked(
    r: Rollout, tmp_path: Path
) -> None:
    router = FileRouter(tmp_path / "routes")
    to_shadow(r)
    r.attest("shadow", shadow_side_effects=0, shadow_requests=500)
    assert reconciler.reconcile(r.ctx, router).advanced == []
    assert r.route().step == "shadow"
    advanced = reconciler.reconcile(r.ctx, router, auto_advance=True).advanced
    assert advanced == [f"{ROUTE}@production"]
    r.attest("canary", canary_critical_failures=1, canary_requests=3)
    report = reconciler.reconcile(r.ctx, router)
    assert report.stopped == [f"{ROUTE}@production"]
    assert json.loads(router.path_of(r.route()).read_text())["weights"] == {V1: 100.0}
    assert r.client.verify_audit().ok


def test_a_staging_promotion_has_its_own_lane(r: Rollout) -> None:
    promotions.promote(r.ctx, V2, target="staging", deployment=r.deployment)
    staging = r.route(Lane.STAGING)
    assert staging.status is RolloutStatus.STABLE
    assert staging.desired.weights == {V2: 100.0}
    assert r.route().desired.weights == {V1: 100.0}  # production untouched
