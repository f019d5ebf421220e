"""The §5.8 workflow (SPEC P2), pure: each step's state and code from plain facts."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from airel.domain.promotion.workflow import (
    STEPS,
    Entry,
    EvalResult,
    Facts,
    Reading,
    Record,
    StepCode,
    StepState,
    StepStatus,
    Stop,
    Verdict,
    assess,
    next_step,
    render_markdown,
)

R = "R-2"
D, P, B = StepState.DONE, StepState.PENDING, StepState.BLOCKED


def rec(kind: str, at: str = "2026-12-01T10:00:00Z", note: str = "") -> Record:
    return Record(kind, f"sha256:{kind[:4]:0<64}", at, "alice", note)


def reading(kind: str, at: str = "2026-12-01T10:00:00Z", status: str = "ok", **m: Any) -> Reading:
    return Reading(rec("attestation", at, kind), kind, status, m)


CI_OK = reading("ci", ci_tests_failed=0, ci_container_built=True, ci_critical_cves=0)
FROZEN = Facts(
    R,
    rec("bundle"),
    frozen=True,
    risk_tier="tier_1",
    components=("model/fraud:2.0.0",),
    locks={"code commit": "abc123", "data snapshot": "dataset/train:1", "feature version": None},
    candidates=(rec("component"),),
    lineage=("model/fraud:2.0.0",),
)
GATED = dataclasses.replace(
    FROZEN,
    readings=(CI_OK,),
    evals=(EvalResult(rec("eval"), True, ("golden",)),),
    approvals=(rec("approval"),),
    decisions=(Verdict(rec("decision"), "go", "full"),),
)
T1, T2, T3 = "2026-12-02T10:00:00Z", "2026-12-02T11:00:00Z", "2026-12-02T12:00:00Z"


def states(facts: Facts) -> list[StepState]:
    return [s.state for s in assess(facts)]


def step(facts: Facts, number: int) -> StepStatus:
    return assess(facts)[number - 1]


def test_the_twelve_steps_are_the_playbooks() -> None:
    assert [s.number for s in STEPS] == list(range(1, 13))
    assert STEPS[0].owner == "product owner"
    assert STEPS[7].owner == "release gate board"


def test_a_draft_is_submitted_and_nothing_else() -> None:
    facts = Facts(R, rec("draft"), frozen=False)
    got = assess(facts)
    assert got[0].state is D
    assert [s.code for s in got[1:3]] == [StepCode.NOT_FROZEN] * 2
    assert all(s.state is P for s in got[1:])
    assert got[1].fix == f"airel bundle freeze {R}"


def test_a_fresh_frozen_bundle_is_done_through_step_3_and_waits_for_ci() -> None:
    got = assess(FROZEN)
    assert [s.state for s in got[:3]] == [D, D, D]
    assert got[3].state is P
    assert got[3].code is StepCode.MISSING
    assert next_step(got) == got[3]
    assert got[3].fix == f"airel ci run {R} --config ci.yaml"


def test_missing_scope_and_locks_are_pending_not_done() -> None:
    facts = dataclasses.replace(FROZEN, scope_missing=("human_role",), locks={"code commit": None})
    assert step(facts, 2).code is StepCode.INCOMPLETE
    assert step(facts, 2).state is P
    assert step(facts, 3).code is StepCode.INCOMPLETE
    assert step(facts, 3).state is P


@pytest.mark.parametrize(
    ("ci", "code"),
    [
        (reading("ci", ci_tests_failed=2), StepCode.FAILED),
        (reading("ci", ci_container_built=False), StepCode.FAILED),
        (reading("ci", status="errored"), StepCode.ERRORED),
        (reading("ci", status="inconclusive"), StepCode.INCONCLUSIVE),
    ],
)
def test_failed_ci_blocks_step_4(ci: Reading, code: StepCode) -> None:
    got = step(dataclasses.replace(FROZEN, readings=(ci,)), 4)
    assert (got.state, got.code) == (B, code)
    assert got.evidence == (ci.record,)


def test_the_latest_ci_run_counts() -> None:
    failed = reading("ci", "2026-11-30T00:00:00Z", ci_tests_failed=3)
    assert step(dataclasses.replace(FROZEN, readings=(failed, CI_OK)), 4).state is D


def test_evals_registry_and_gate() -> None:
    assert states(GATED)[:8] == [D] * 8
    failed = dataclasses.replace(GATED, evals=(EvalResult(rec("eval"), False),))
    assert step(failed, 6).state is B
    assert step(failed, 6).code is StepCode.FAILED
    named = dataclasses.replace(GATED, evals_missing=("sha256:abc",))
    assert step(named, 6).code is StepCode.INCOMPLETE
    unapproved = dataclasses.replace(GATED, approvals=())
    assert step(unapproved, 7).code is StepCode.INCOMPLETE
    assert step(unapproved, 7).fix == f"airel gate approve {R} --role ROLE"
    no_go = dataclasses.replace(
        GATED, decisions=(*GATED.decisions, Verdict(rec("decision"), "no_go", None, ("G4 X",)))
    )
    assert (step(no_go, 8).state, step(no_go, 8).code) == (B, StepCode.NO_GO)
    assert step(no_go, 8).fix == f"airel gate explain {R}"


def test_a_later_step_never_makes_an_earlier_one_done() -> None:
    """A canary promotion and canary evidence, but no CI: step 4 stays pending."""
    canary = Entry(rec("promotion", T1, "canary"), "canary")
    facts = dataclasses.replace(
        FROZEN, entries=(canary,), readings=(reading("canary", T2, canary_critical_failures=0),)
    )
    got = assess(facts)
    assert got[9].state is D
    assert got[3].state is P
    assert got[8].code is StepCode.NOT_ENTERED
    assert next_step(got) == got[3]


def test_stage_evidence_counts_only_after_the_stage_was_entered() -> None:
    shadow = Entry(rec("promotion", T2, "shadow"), "shadow")
    early = reading("shadow", T1, shadow_side_effects=0, traces_by_release_id=True)
    facts = dataclasses.replace(GATED, entries=(shadow,), readings=(CI_OK, early))
    assert step(facts, 9).code is StepCode.AWAITING_EVIDENCE
    late = reading("shadow", T3, shadow_side_effects=0, traces_by_release_id=True)
    assert step(dataclasses.replace(facts, readings=(CI_OK, early, late)), 9).state is D
    bad = reading("shadow", T3, shadow_side_effects=4)
    assert step(dataclasses.replace(facts, readings=(CI_OK, bad)), 9).code is StepCode.FAILED


@pytest.mark.parametrize(
    ("kind", "code"),
    [("stop", StepCode.STOPPED), ("abort", StepCode.ABORTED), ("rollback", StepCode.ROLLED_BACK)],
)
def test_a_stop_in_the_stage_blocks_it(kind: str, code: StepCode) -> None:
    canary = Entry(rec("promotion", T1, "canary"), "canary")
    stop = Stop(rec("route stop", T3), kind, "canary", "canary_critical_failures > 0")
    ok = reading("canary", T2, canary_critical_failures=0)
    facts = dataclasses.replace(GATED, entries=(canary,), readings=(ok,), stops=(stop,))
    got = step(facts, 10)
    assert (got.state, got.code) == (B, code)
    assert stop.record in got.evidence
    again = Entry(rec("promotion", "2026-12-03T00:00:00Z", "canary"), "canary")
    retried = dataclasses.replace(facts, entries=(canary, again))
    assert step(retried, 10).code is StepCode.AWAITING_EVIDENCE  # a new attempt starts clean


def test_ramp_and_post_release_review() -> None:
    ramp = Entry(rec("promotion", T1, "limited_production"), "limited_production")
    facts = dataclasses.replace(
        GATED,
        entries=(ramp,),
        readings=(
            reading("ramp", T2, ramp_capacity_ok=True, support_ready=True),
            reading("post_release", T2, post_release_review_done=False, evidence_complete=True),
        ),
    )
    assert step(facts, 11).state is D
    assert step(facts, 12).code is StepCode.INCOMPLETE
    done = reading("post_release", T3, post_release_review_done=True, evidence_complete=True)
    facts = dataclasses.replace(facts, readings=(*facts.readings, done))
    assert step(facts, 12).state is D
    failed = reading("post_release", T3, post_release_review_done=True, evidence_complete=False)
    assert step(dataclasses.replace(facts, readings=(failed,)), 12).state is B


def test_the_fix_of_an_unentered_stage_advances_a_progressing_route() -> None:
    facts = dataclasses.replace(GATED, route="fraud", route_status="progressing")
    assert step(facts, 10).fix == "airel rollout advance fraud"
    assert step(GATED, 9).fix == (
        f"airel promote {R} --to shadow --plan rollout.yaml --deployment deploy.yaml"
    )


def test_markdown_has_one_row_per_step_and_the_next_step() -> None:
    page = render_markdown(R, assess(FROZEN))
    rows = [line for line in page.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 13  # header + 12 steps
    assert "**Next step**: 4" in page
    assert "airel ci run" in page
