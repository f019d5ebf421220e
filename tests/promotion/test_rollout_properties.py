"""Property (issue 11, P5/P6): random sequences of promote / evidence / advance / pause /
resume / abort / rollback / reconcile from many actors never leave a route pointing at a
release that was not approved for its environment, never serve a component version that was
not part of an approved release, and always keep the weights adding up to 100 %.

Each example starts from a copy of one prepared SQLite store (V1 adopted on the route, V2 with
a go decision, V3 frozen but never gated), so a sequence is a fresh history every time.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from airel.adapters.router import EmbeddedRouter
from airel.client import Client
from airel.config import load_settings
from airel.domain.promotion.route import Lane, Route
from airel.errors import AirelError
from airel.services.gate import decisions as gates
from airel.services.gate import evidence
from airel.services.kernel.context import Context
from airel.services.promotion import promotions, reconciler, rollbacks, rollouts, routes
from gate_fixtures import LATER_OK, ROUTE, SCOPE, V1, V2
from rollout_helpers import MovingClock, ready_rollout

V3 = "FRAUD-2026-003"
ACTORS = ("rm.ana", "rm.ben", "sre.caro", "bot.reconciler")
RELEASES = (V1, V2, V3)
REFUSED: list[str] = []
run_machine: Callable[..., None] = run_state_machine_as_test  # hypothesis leaves it untyped


class RolloutMachine(RuleBasedStateMachine):
    """Many actors on one store; the route is checked against the records after every step."""

    template: ClassVar[Path]
    project: ClassVar[Path]
    plan: ClassVar[Path]
    deployment: ClassVar[Path]
    runs: ClassVar[int] = 0
    moves: ClassVar[set[str]] = set()  # event kinds seen over all examples (not vacuous)

    @initialize(start=st.sampled_from(("shadow", "canary", None)))
    def open_store(self, start: str | None) -> None:
        RolloutMachine.runs += 1
        db = self.project / f"prop-{RolloutMachine.runs}.db"
        shutil.copyfile(self.template, db)
        self.client = Client(
            load_settings(
                {"database_url": f"sqlite:///{db}", "actor": "alice"}, cwd=self.project, environ={}
            )
        )
        base = self.client.ctx
        self.clock = MovingClock(base.clock.now() + timedelta(hours=1))
        self.ctx = dataclasses.replace(base, clock=self.clock)
        self.seen: dict[str, int] = {}  # the version each actor last read
        if start is not None:  # most histories begin with the candidate on the route
            promotions.promote(
                self.ctx, V2, target=start, plan=self.plan, deployment=self.deployment
            )

    def teardown(self) -> None:
        if hasattr(self, "client"):
            try:
                with self.ctx.store.read() as tx:
                    RolloutMachine.moves |= {e.kind.value for e in tx.list_route_events()}
                assert self.client.verify_audit().ok  # every step was one audited transaction
            finally:
                self.client.close()

    def as_(self, actor: str) -> Context:
        return dataclasses.replace(self.ctx, actor=actor)

    def attempt(self, fn: Callable[[], object]) -> None:
        try:
            fn()
        except AirelError as exc:  # a refusal or a lost compare-and-set: allowed
            REFUSED.append(exc.reason.value)

    def route(self) -> Route | None:
        with self.ctx.store.read() as tx:
            return tx.get_route(ROUTE, Lane.PRODUCTION)

    @rule(actor=st.sampled_from(ACTORS))
    def look(self, actor: str) -> None:
        found = self.route()
        if found is not None:
            self.seen[actor] = found.version

    @rule(
        release=st.sampled_from((V2, V3)),
        env=st.sampled_from(("shadow", "canary", "limited_production")),
    )
    def promote(self, release: str, env: str) -> None:
        self.attempt(
            lambda: promotions.promote(
                self.ctx, release, target=env, plan=self.plan, deployment=self.deployment
            )
        )

    @rule(kind=st.sampled_from(("shadow", "canary")), bad=st.booleans())
    def attest(self, kind: str, bad: bool) -> None:
        self.clock.tick(seconds=1)
        metrics: dict[str, Any] = {**LATER_OK[kind], f"{kind}_requests": 500}
        metrics["shadow_side_effects" if kind == "shadow" else "canary_critical_failures"] = int(
            bad
        )
        evidence.add_attestation(self.ctx, V2, kind, metrics)

    @rule(hours=st.integers(min_value=1, max_value=48))
    def wait(self, hours: int) -> None:
        self.clock.tick(hours=hours)

    @rule(actor=st.sampled_from(ACTORS), stale=st.booleans())
    def advance(self, actor: str, stale: bool) -> None:
        expected = self.seen.get(actor) if stale else None
        self.attempt(lambda: rollouts.advance(self.as_(actor), ROUTE, expected_version=expected))

    @rule(actor=st.sampled_from(ACTORS), what=st.sampled_from(("pause", "resume", "abort")))
    def operate(self, actor: str, what: str) -> None:
        fn = {"pause": rollouts.pause, "resume": rollouts.resume, "abort": rollouts.abort}[what]
        expected = self.seen.get(actor)
        self.attempt(lambda: fn(self.as_(actor), ROUTE, expected_version=expected))

    @rule(
        actor=st.sampled_from(ACTORS),
        component=st.sampled_from(("route", "model", "prompt", "tool", "policy")),
        to=st.sampled_from((None, *RELEASES)),
    )
    def rollback(self, actor: str, component: str, to: str | None) -> None:
        self.attempt(lambda: rollbacks.rollback(self.as_(actor), V2, component, to=to))

    @rule()
    def restart_decision(self) -> None:
        self.clock.tick(seconds=1)
        gates.check(self.ctx, V2, now=self.clock.at)

    @rule()
    def reconcile(self) -> None:
        reconciler.reconcile(self.as_("bot.reconciler"), EmbeddedRouter())

    @invariant()
    def route_points_only_at_approved_bundles(self) -> None:
        if not hasattr(self, "ctx"):
            return
        found = self.route()
        if found is None:
            return
        with self.ctx.store.read() as tx:
            for traffic in (found.desired, found.observed):
                if traffic is None:
                    continue
                assert abs(sum(traffic.weights.values()) - 100.0) < 1e-6, traffic
                assert all(0 <= s <= 100 for s in traffic.weights.values())
                for release in traffic.releases:
                    assert routes.approved_for(tx, release, found.environment), release
                    assert release != V3
                for release, digest in traffic.manifests.items():
                    stored = tx.get_deployment(digest)
                    assert stored is not None
                    for path, node in stored.manifest.components.items():
                        source = stored.manifest.composed_from.get(path, release)
                        bundle = tx.get_bundle(source)
                        assert bundle is not None
                        assert node in {r.node for r in bundle.resolutions}
                        assert routes.approved_for(tx, source, found.environment)


def tour() -> None:
    """One scripted history through the machine's own rules, with the invariant after each
    step: every kind of move is made at least once whatever the random histories reach."""
    machine = RolloutMachine()
    steps: list[Callable[[], None]] = [
        lambda: machine.open_store("shadow"),
        lambda: machine.attest("shadow", bad=False),
        lambda: machine.advance("rm.ana", stale=False),  # shadow -> canary-1
        lambda: machine.look("rm.ben"),
        lambda: machine.operate("rm.ben", "pause"),
        lambda: machine.operate("rm.ben", "resume"),  # stale: refused, the version moved
        lambda: machine.look("rm.ben"),
        lambda: machine.operate("rm.ben", "resume"),
        lambda: machine.look("rm.ana"),
        lambda: machine.operate("rm.ana", "abort"),
        lambda: machine.promote(V2, "canary"),  # an abort is no rollback: it may go again
        lambda: machine.rollback("sre.caro", "route", None),
        lambda: machine.promote(V2, "canary"),  # refused: the restart gate
        machine.restart_decision,
        lambda: machine.promote(V2, "canary"),
        lambda: machine.attest("canary", bad=True),
        lambda: machine.advance("sre.caro", stale=False),  # a stop condition: rolled back
        lambda: machine.rollback("rm.ana", "tool", None),  # refused: V2 is off the route
        machine.reconcile,
    ]
    try:
        for step in steps:
            step()
            machine.route_points_only_at_approved_bundles()
    finally:
        machine.teardown()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_random_rollouts_keep_the_route_approved(
    fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any, project: Path
) -> None:
    r = ready_rollout(fraud_registry, bundle_yaml, write)
    fraud_registry.bundles.create(
        write("v3.yaml", bundle_yaml(release_id=V3) + SCOPE),
        freeze=True,
        allow_incomplete="first release",
    )
    fraud_registry.close()
    template = project / "template.db"
    shutil.copyfile(project / ".airel" / "airel.db", template)
    RolloutMachine.template, RolloutMachine.project = template, project
    RolloutMachine.plan, RolloutMachine.deployment = r.plan, r.deployment
    tour()
    assert {"promote", "advance", "stop", "rollback", "pause", "resume", "abort"} <= (
        RolloutMachine.moves
    ), (RolloutMachine.moves, REFUSED)
    assert {"STALE_VERSION", "RESTART_GATE_REQUIRED", "ROLLBACK_NOT_ALLOWED"} <= set(REFUSED)
    run_machine(
        RolloutMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=25,
            derandomize=True,  # the same histories every run: a failure reproduces
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert {"ROLLOUT_STATE", "ROLLBACK_NOT_ALLOWED"} <= set(REFUSED)  # refusals were tried
    assert {"promote", "advance", "stop", "rollback", "pause", "abort"} <= RolloutMachine.moves
