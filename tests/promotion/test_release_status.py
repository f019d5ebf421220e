"""``airel release status`` on a real store (SPEC P2): each §5.8 step's state as V2 moves from
a fresh frozen bundle through shadow into canary, and a stop that rolls the route back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from airel.cli.main import app
from airel.client import Client
from airel.domain.promotion.workflow import StepCode, StepState
from airel.services.promotion import rollouts, workflow
from airel.services.promotion.workflow import ReleaseStatus
from gate_fixtures import ROUTE, V1, V2, freeze_pair
from rollout_helpers import Rollout, ready_rollout, to_shadow

D, P, B = StepState.DONE, StepState.PENDING, StepState.BLOCKED
runner = CliRunner()


def states(found: ReleaseStatus) -> list[StepState]:
    return [s.state for s in found.steps]


def at(found: ReleaseStatus, number: int) -> tuple[StepState, StepCode]:
    s = found.steps[number - 1]
    return s.state, s.code


def test_a_fresh_bundle_is_done_through_step_3_and_waits_for_ci(
    client: Client, bundle_yaml: Callable[..., str], write: Callable[..., Path]
) -> None:
    freeze_pair(client, bundle_yaml, write)
    found = client.releases.status(V2)
    assert states(found)[:3] == [D, D, D]
    assert at(found, 4) == (P, StepCode.MISSING)
    assert at(found, 5)[0] is D  # the registered model 2.0.0 with its artifact
    assert at(found, 8) == (P, StepCode.MISSING)
    assert all(s.state is P for s in found.steps[8:])
    assert found.next is not None
    assert found.next.step.number == 4
    assert found.next.fix == f"airel ci run {V2} --config ci.yaml"
    bundle = found.steps[0].evidence[0]
    assert (bundle.kind, bundle.by) == ("bundle", "alice")


def test_a_draft_is_submitted_only(
    client: Client, bundle_yaml: Callable[..., str], write: Callable[..., Path]
) -> None:
    client.bundles.create(write("draft.yaml", bundle_yaml(release_id="FRAUD-2026-009")))
    found = client.releases.status("FRAUD-2026-009")
    assert states(found)[0] is D
    assert at(found, 2) == (P, StepCode.NOT_FROZEN)


def test_the_steps_progress_as_the_rollout_moves_and_a_stop_blocks_canary(
    client: Client, bundle_yaml: Callable[..., str], write: Callable[..., Path]
) -> None:
    r = ready_rollout(client, bundle_yaml, write)

    def status() -> ReleaseStatus:
        return workflow.release_status(r.ctx, V2)

    gated = status()
    assert states(gated)[:8] == [D] * 8, [(s.step.number, s.code, s.detail) for s in gated.steps]
    assert at(gated, 9) == (P, StepCode.NOT_ENTERED)
    assert gated.next is not None
    assert gated.next.step.number == 9
    assert gated.next.fix is not None
    assert f"promote {V2} --to shadow" in gated.next.fix

    to_shadow(r)  # the shadow evidence recorded before the promotion does not count
    assert at(status(), 9) == (P, StepCode.AWAITING_EVIDENCE)
    r.attest("shadow", shadow_side_effects=0, shadow_requests=500)
    assert at(status(), 9) == (D, StepCode.PROVEN)
    assert at(status(), 10) == (P, StepCode.NOT_ENTERED)
    assert status().steps[9].fix == f"airel rollout advance {ROUTE}"

    assert rollouts.advance(r.ctx, ROUTE).verdict == "advance"  # into canary-1
    moved = status()
    assert at(moved, 10) == (P, StepCode.AWAITING_EVIDENCE)
    r.attest("canary", canary_critical_failures=0, canary_requests=50)
    assert at(status(), 10) == (D, StepCode.PROVEN)
    assert at(status(), 11) == (P, StepCode.NOT_ENTERED)

    stopped(r)
    found = status()
    assert at(found, 10) == (B, StepCode.STOPPED)
    assert [e.kind for e in found.steps[9].evidence] == ["promotion", "route stop"]
    assert at(found, 9) == (D, StepCode.PROVEN)  # a later stop does not undo shadow
    assert found.next is not None
    assert found.next.step.number == 10
    assert found.next.fix == f"airel rollout status {ROUTE}"


def stopped(r: Rollout) -> None:
    r.attest("canary", canary_critical_failures=2, canary_requests=80)
    assert rollouts.advance(r.ctx, ROUTE).verdict == "stop"


def cli(database_url: str, *args: str) -> tuple[int, Any]:
    result = runner.invoke(app, ["--database-url", database_url, *args])
    return result.exit_code, result.output


def test_cli_exit_codes_json_and_markdown(
    client: Client,
    bundle_yaml: Callable[..., str],
    write: Callable[..., Path],
    database_url: str,
    project: Path,
) -> None:
    freeze_pair(client, bundle_yaml, write)
    code, text = cli(database_url, "release", "status", V2, "--json")
    assert code == 0, text
    doc = json.loads(text)
    assert [s["state"] for s in doc["steps"][:4]] == ["done", "done", "done", "pending"]
    assert doc["next_step"] == 4
    assert doc["steps"][0]["evidence"][0]["kind"] == "bundle"
    page = project / "status.md"
    code, text = cli(database_url, "release", "status", V1, "--out", str(page))
    assert code == 0, text
    assert "next step: 4" in text
    assert page.read_text(encoding="utf-8").startswith("# Promotion workflow")
    code, text = cli(database_url, "release", "status", "NO-SUCH-RELEASE", "--json")
    assert code == 2
    assert json.loads(text)["reason"] == "RELEASE_NOT_FOUND"
