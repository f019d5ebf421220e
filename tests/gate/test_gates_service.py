"""Release gates as use cases (G1–G6) on a registered and frozen Tier 1 bundle.

End to end: evidence is recorded and linked, the gates run under the shipped policy (which
registers itself as ``airel-default:1.0``), the decision is stored and audited with what it
read, re-checking gives the same id, ``recheck`` reproduces it from the stored inputs, and
approvals, exceptions and risk acceptances move it — until they expire. Every bad input of
issue 5 is refused with its reason code and nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airel.client import Client
from airel.config import load_settings
from airel.domain.gate.stack import Conditions
from airel.domain.kernel.roles import Role
from airel.errors import AirelError, Reason
from gate_fixtures import (
    CI_OK,
    TIER1_ROLES,
    V1,
    V2,
    approve_all,
    as_actor,
    comparison_body,
    freeze_pair,
    now,
    ready_through_g4,
    ready_through_g9,
    store_eval,
)


@pytest.fixture
def release(fraud_registry: Client, bundle_yaml: Callable[..., str], write: Any) -> Client:
    """V1 and V2 frozen by alice (the submitter); V2 rolls back to V1."""
    freeze_pair(fraud_registry, bundle_yaml, write)
    return fraud_registry


@pytest.fixture
def actor(release: Client) -> Iterator[Callable[..., Client]]:
    """Clients on the same store acting as other people (closed at the end)."""
    made: list[Client] = []

    def make(name: str, *roles: str) -> Client:
        made.append(as_actor(release, name, *roles))
        return made[-1]

    yield make
    for c in made:
        c.close()


def audit_head(client: Client) -> tuple[int, str]:
    with client.ctx.store.read() as tx:
        return tx.audit_head()


def refused(client: Client, reason: Reason, fn: Callable[[], object]) -> AirelError:
    """``fn`` fails with ``reason`` and writes nothing."""
    before = audit_head(client)
    with pytest.raises(AirelError) as exc:
        fn()
    assert exc.value.reason is reason, exc.value.to_dict()
    assert audit_head(client) == before
    return exc.value


# -- decisions ---------------------------------------------------------------------------------


def test_check_stores_an_audited_reproducible_decision(release: Client) -> None:
    """G4/G5: the decision is stored with the policy version, the evidence digests and every
    fact it read; the same inputs at the same time give the same decision id."""
    when = now()
    checked = release.gates.check(V2, now=when)
    record = checked.record
    body = record.body
    assert checked.created
    assert record.decision == "no_go"  # no CI, validation or eval evidence yet
    assert body["policy"]["ref"] == "airel-default:1.0"
    assert body["policy"]["digest"] == record.policy_digest
    assert body["risk_tier"] == "Tier 1"
    assert body["submitter"] == "alice"
    assert body["rollback_target"] == V1
    assert body["scope"]["human_role"].startswith("fraud analysts")
    assert {c["path"] for c in body["components"]} >= {"model", "data.training_snapshot"}
    kinds = [e["kind"] for e in body["inputs"]["evidence"]]
    assert kinds == ["bundle", "rollback_target"]
    facts = body["inputs"]["facts"]
    assert facts["rollback_target_executable"]["value"] is True
    assert facts["ci_tests_failed"]["status"] == "missing"
    assert "G2:CI_FAILED:ci-tests" in body["outcome"]["reasons"]
    # the shipped policy is a registry version now, registered (and audited) on first use
    assert release.registry.component("policy", "airel-default:1.0").fields["format"] == "yaml"
    with release.ctx.store.read() as tx:
        actions = [e.action for e in tx.iter_audit()]
    assert actions[-2:] == ["component.register", "gate.decide"]

    again = release.gates.check(V2, now=when)
    assert not again.created
    assert again.record.decision_id == record.decision_id
    recheck = release.gates.recheck(V2)
    assert recheck.reproduced
    assert recheck.decision == "no_go"
    assert release.gates.decision(V2).decision_id == record.decision_id
    assert release.gates.decision(record.decision_id[:20]).decision_id == record.decision_id
    assert [d.decision_id for d in release.gates.decisions(V2)] == [record.decision_id]


def test_full_evidence_through_g4_is_a_limited_go_capped_at_staging(release: Client) -> None:
    """G1/G4: with CI, validation and eval evidence, G0–G4 pass; running only to G4 gives a
    limited go that may reach staging, never further."""
    ready_through_g4(release)
    record = release.gates.check(V2, through="G4", now=now()).record
    outcome = record.body["outcome"]
    assert record.decision == "limited_go", outcome["reasons"]
    assert outcome["max_stage"] == "staging"
    assert outcome["conditions"] == {"max_stage": "staging"}
    assert [g["status"] for g in outcome["gates"]] == ["passed"] * 5
    kinds = {e["kind"] for e in record.body["inputs"]["evidence"]}
    assert kinds == {"bundle", "rollback_target", "ci", "validation", "eval_comparison"}
    assert release.gates.recheck(record.decision_id).reproduced
    memo = release.gates.memo(record.decision_id)
    assert "Limited go" in memo
    assert V1 in memo  # the rollback target
    assert "<table>" in release.gates.memo(V2, html=True)


def test_critical_failure_and_missing_rollback_target_are_no_go(release: Client) -> None:
    """§4.4 hard: a critical eval failure, and V1 (no rollback target), are no-go with the
    rule's reason code."""
    ready_through_g4(release)
    release.gates.link_evidence(V2, eval=store_eval(release, comparison_body(critical=2)))
    record = release.gates.check(V2, through="G4", now=now()).record
    assert record.decision == "no_go"
    assert record.body["outcome"]["reasons"] == ["G4:CRITICAL_FAILURE:zero-critical-failures"]
    ready_through_g4(release, V1)
    v1 = release.gates.check(V1, through="G4", now=now()).record
    assert v1.decision == "no_go"
    assert "G2:NO_EXECUTABLE_ROLLBACK_TARGET:rollback-target" in v1.body["outcome"]["reasons"]


def test_stale_and_errored_evidence_never_pass(release: Client) -> None:
    """Evidence older than the tier allows is stale; an errored attestation is errored."""
    ready_through_g4(release)
    later = now() + timedelta(days=31)  # Tier 1: evidence at most 30 days old
    stale = release.gates.check(V2, through="G4", now=later).record
    assert stale.decision == "no_go"
    assert stale.body["inputs"]["facts"]["ci_tests_failed"]["status"] == "stale"
    release.gates.add_evidence(V2, "ci", {}, status="errored", source="runner crashed")
    errored = release.gates.check(V2, through="G4", now=now()).record
    g2 = errored.body["outcome"]["gates"][2]
    assert {r["status"] for r in g2["rules"] if r["rule"].startswith("ci")} == {"errored"}


def test_full_stack_go_needs_five_distinct_unexpired_approvals(release: Client) -> None:
    """G6: Tier 1 reaches go through G9 only with every role approved by a different person
    who is not the submitter; an expired approval sends it back to no-go."""
    ready_through_g9(release)
    when = now()
    waiting = release.gates.check(V2, now=when).record
    assert waiting.decision == "no_go"
    assert {r.split(":")[2] for r in waiting.body["outcome"]["reasons"]} == set(TIER1_ROLES)
    approve_all(release, when=when, expires="1h")
    go = release.gates.check(V2, now=when + timedelta(minutes=1)).record
    assert go.decision == "go", go.body["outcome"]["reasons"]
    outcome = go.body["outcome"]
    assert outcome["approvals"]["missing"] == []
    assert len(set(outcome["approvals"]["valid"].values())) == 5
    assert outcome["expires_at"] <= (when + timedelta(hours=1)).isoformat()
    assert release.gates.recheck(go.decision_id).reproduced
    expired = release.gates.check(V2, now=when + timedelta(hours=2)).record
    assert expired.decision == "no_go"
    assert len(expired.body["outcome"]["approvals"]["missing"]) == 5


def test_soft_failure_needs_an_exception_which_expires(
    release: Client, actor: Callable[..., Client]
) -> None:
    """G3: a soft failure is no-go until an exception is recorded (limited go with its
    conditions); once the exception expires the release is back at no-go."""
    ready_through_g4(release)
    release.gates.add_evidence(V2, "ci", {**CI_OK, "ci_unplanned_low_cves": 2})
    when = now()
    blocked = release.gates.check(V2, through="G4", now=when).record
    assert blocked.body["outcome"]["reasons"] == [
        "G2:SOFT_FAILURE_WITHOUT_EXCEPTION:low-cves-planned"
    ]
    mrm = actor("mia", "model_risk")
    waived = mrm.gates.add_exception(
        V2,
        ["low-cves-planned"],
        reason="patch plan agreed for next sprint",
        expires="1h",
        scope={"segments": ["SME cards"], "traffic_cap_percent": 10.0},
        now=when,
    )
    waiver = waived.waiver
    assert waiver.role is Role.MODEL_RISK
    assert (waived.before, waived.decision, waived.still_blocking) == ("no_go", "limited_go", ())
    limited = release.gates.check(V2, through="G4", now=when + timedelta(minutes=1)).record
    outcome = limited.body["outcome"]
    assert limited.decision == "limited_go"
    assert outcome["conditions"]["segments"] == ["SME cards"]
    assert outcome["conditions"]["traffic_cap_percent"] == 10.0
    assert outcome["waivers_used"] == [waiver.waiver_id]
    again = release.gates.check(V2, through="G4", now=when + timedelta(hours=2)).record
    assert again.decision == "no_go"


def test_risk_acceptance_of_an_acceptable_hard_failure(
    release: Client, actor: Callable[..., Client]
) -> None:
    """§4.5: a hard rule the policy marks acceptable may be accepted with scope, expiry,
    compensating controls and an approver of the acceptance role → risk acceptance."""
    ready_through_g9(release)
    release.gates.add_evidence(
        V2, "security_review", {"secrets_in_logs": 0, "security_high_findings": 1}
    )
    when = now()
    approve_all(release, when=when)
    assert release.gates.check(V2, through="G5", now=when).record.decision == "no_go"
    mrm = actor("mia", "model_risk")
    mrm.gates.accept_risk(
        V2,
        ["security-findings"],
        reason="the finding needs an internal network position",
        controls=["WAF rule 1142", "weekly pen-test of the endpoint"],
        expires="7d",
        scope=Conditions(segments=["staff pilot"], traffic_cap_percent=5.0),
        now=when,
    )
    accepted = release.gates.check(V2, through="G5", now=when + timedelta(minutes=1)).record
    assert accepted.decision == "risk_acceptance", accepted.body["outcome"]["reasons"]
    assert accepted.body["outcome"]["conditions"]["traffic_cap_percent"] == 5.0


# -- approvals: bad input ------------------------------------------------------------------------


def test_approval_refusals(release: Client, actor: Callable[..., Client]) -> None:
    """G6: unknown role, role not held, self-approval, one person two roles, expired,
    another bundle digest — each refused with its code, nothing written."""
    when = now()
    bob = actor("bob", "model_risk", "compliance")
    refused(release, Reason.UNKNOWN_ROLE, lambda: bob.gates.approve(V2, "chief_vibes", now=when))
    refused(release, Reason.ROLE_NOT_HELD, lambda: bob.gates.approve(V2, "security", now=when))
    alice = actor("alice", "model_risk")  # alice froze V2
    refused(release, Reason.SELF_APPROVAL, lambda: alice.gates.approve(V2, "model_risk", now=when))
    bob.gates.approve(V2, "model_risk", now=when)
    refused(
        release, Reason.DUPLICATE_APPROVER, lambda: bob.gates.approve(V2, "compliance", now=when)
    )
    carol = actor("carol", "compliance")
    refused(
        release,
        Reason.APPROVAL_EXPIRED,
        lambda: carol.gates.approve(V2, "compliance", expires="2020-01-01", now=when),
    )
    other = release.bundles.get(V1).digest
    refused(
        release,
        Reason.APPROVAL_DIGEST_MISMATCH,
        lambda: carol.gates.approve(V2, "compliance", bundle_digest=other, now=when),
    )
    assert [a.role for a in release.gates.approvals(V2)] == [Role.MODEL_RISK]


# -- waivers: bad input ----------------------------------------------------------------------------


def test_waiver_refusals(release: Client, actor: Callable[..., Client]) -> None:
    """§4.5: a risk acceptance needs expiry, scope and controls; exceptions cover only soft
    rules, acceptances only acceptable hard rules, unknown rules are refused, and only the
    policy's roles may sign."""
    mrm = actor("mia", "model_risk")
    scope = Conditions(segments=["pilot"])
    controls = ["manual review"]

    def accept(**kw: Any) -> Callable[[], object]:
        args: dict[str, Any] = {
            "reason": "r",
            "controls": controls,
            "expires": "7d",
            "scope": scope,
            **kw,
        }
        return lambda: mrm.gates.accept_risk(V2, kw.pop("rules", ["security-findings"]), **args)

    refused(release, Reason.WAIVER_INVALID, accept(expires=None))
    refused(release, Reason.WAIVER_INVALID, accept(scope=None))
    refused(release, Reason.WAIVER_INVALID, accept(controls=[]))
    refused(
        release,
        Reason.WAIVER_INVALID,
        lambda: mrm.gates.accept_risk(
            V2, ["zero-critical-failures"], reason="r", controls=controls, expires="7d", scope=scope
        ),
    )
    refused(
        release,
        Reason.WAIVER_INVALID,
        lambda: mrm.gates.add_exception(V2, ["zero-critical-failures"], reason="r", expires="7d"),
    )
    refused(
        release,
        Reason.WAIVER_INVALID,
        lambda: mrm.gates.add_exception(V2, ["no-such-rule"], reason="r", expires="7d"),
    )
    refused(
        release,
        Reason.WAIVER_INVALID,
        lambda: mrm.gates.add_exception(V2, ["low-cves-planned"], reason="r", expires=None),
    )
    sec = actor("sam", "security")
    refused(
        release,
        Reason.ROLE_NOT_HELD,
        lambda: sec.gates.add_exception(V2, ["low-cves-planned"], reason="r", expires="7d"),
    )
    refused(
        release,
        Reason.WAIVER_INVALID,
        lambda: sec.gates.add_exception(
            V2, ["low-cves-planned"], reason="r", expires="7d", role="security"
        ),
    )
    submitter = actor("alice", "model_risk")
    refused(
        release,
        Reason.SELF_APPROVAL,
        lambda: submitter.gates.add_exception(V2, ["low-cves-planned"], reason="r", expires="7d"),
    )
    assert release.gates.waivers(V2) == []


# -- evidence: bad input -------------------------------------------------------------------------


def test_evidence_refusals(release: Client) -> None:
    """Attested metrics must belong to their kind and be typed; links need a stored record."""
    cases: list[tuple[Reason, Callable[[], object]]] = [
        (
            Reason.POLICY_UNKNOWN_METRIC,
            lambda: release.gates.add_evidence(V2, "ci", {"ci_vibes": 1}),
        ),
        (
            Reason.POLICY_UNKNOWN_METRIC,
            lambda: release.gates.add_evidence(V2, "ci", {"secrets_in_logs": 0}),
        ),
        (Reason.WRONG_TYPE, lambda: release.gates.add_evidence(V2, "ci", {"ci_tests_failed": "0"})),
        (Reason.INVALID_VALUE, lambda: release.gates.add_evidence(V2, "eval", {"x": 1})),
        (Reason.INVALID_VALUE, lambda: release.gates.add_evidence(V2, "ci", CI_OK, status="great")),
        (Reason.MISSING_FIELD, lambda: release.gates.add_evidence(V2, "ci", {})),
        (Reason.RELEASE_NOT_FOUND, lambda: release.gates.add_evidence("NOPE-1", "ci", CI_OK)),
        (
            Reason.EVIDENCE_NOT_FOUND,
            lambda: release.gates.link_evidence(V2, eval="sha256:" + "0" * 64),
        ),
        (Reason.INVALID_VALUE, lambda: release.gates.link_evidence(V2)),
        (Reason.DECISION_NOT_FOUND, lambda: release.gates.decision(V2)),
        (Reason.POLICY_UNKNOWN_GATE, lambda: release.gates.check(V2, through="G11")),
    ]
    for reason, fn in cases:
        refused(release, reason, fn)
    assert release.gates.evidence(V2).attestations == []
    record_id = store_eval(release, comparison_body())
    first = release.gates.link_evidence(V2, eval=record_id[:30])  # a unique prefix is enough
    assert first.record_id == record_id
    before = audit_head(release)
    assert release.gates.link_evidence(V2, eval=record_id) == first  # linking again: no-op
    assert audit_head(release) == before


# -- policies ------------------------------------------------------------------------------------


def register_policy(client: Client, write: Any, name: str, version: str, body: str) -> None:
    write(f"p/{name}.yaml", f"policy: {name}\nversion: '{version}'\n{body}\n")
    client.registry.register(
        write(
            f"p/{name}-spec.yaml",
            f"kind: policy\nname: {name}\nversion: '{version}'\nformat: yaml\n"
            f"text_file: {name}.yaml\n",
        )
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("rules: [{id: r, gate: G0, expr: vibes > 0, reason: VIBES}]", "POLICY_UNKNOWN_METRIC"),
        ("rules: [{id: r, gate: G12, expr: risk_tier > 0, reason: X_Y}]", "POLICY_UNKNOWN_GATE"),
        ("rules: [{id: r, gate: G0, expr: 'risk_tier >', reason: X_Y}]", "POLICY_RULE_SYNTAX"),
        ("rules: [{id: r, gate: G0, expr: risk_tier, reason: X_Y}]", "POLICY_RULE_TYPE"),
        (
            'tiers: {"Tier 0": {production: true, gates: [G0], rollout: [full]}}',
            "POLICY_CONTRADICTION",
        ),
    ],
)
def test_bad_registered_policy_is_refused_at_check(
    release: Client, write: Any, body: str, reason: str
) -> None:
    """G5: a policy naming an unknown metric or gate, a rule with a syntax or type error, or a
    contradictory policy is refused with its code before anything is decided."""
    register_policy(release, write, "bank-gates", "2.0", "extends: airel-default:1.0\n" + body)
    error = refused(
        release, Reason(reason), lambda: release.gates.check(V2, policy="bank-gates:2.0")
    )
    assert error.details["problems"][0]["reason"] == reason
    assert release.gates.decisions() == []


def test_cyclic_extends_is_refused(release: Client, write: Any) -> None:
    register_policy(release, write, "pol-a", "1", "extends: pol-b:1\ntiers: {}")
    register_policy(release, write, "pol-b", "1", "extends: pol-a:1\ntiers: {}")
    refused(release, Reason.POLICY_CYCLE, lambda: release.gates.policy("pol-a:1"))


def test_a_registered_policy_extends_the_default(release: Client, write: Any) -> None:
    """G5: a bank policy overrides a threshold; decisions name its version; diff shows it."""
    register_policy(
        release,
        write,
        "bank-gates",
        "2.0",
        "extends: airel-default:1.0\n"
        'tiers: {"Tier 1": {thresholds: {min_primary_delta: 0.05}}}\n'
        "remove_rules: [fairness]",
    )
    ready_through_g4(release)
    record = release.gates.check(V2, through="G4", policy="bank-gates:2.0", now=now()).record
    assert record.policy_ref == "bank-gates:2.0"
    assert record.decision == "no_go"  # delta low 0.01 < 0.05: a soft primary-metric failure
    assert (
        "G4:SOFT_FAILURE_WITHOUT_EXCEPTION:primary-not-worse" in record.body["outcome"]["reasons"]
    )
    assert release.gates.recheck(record.decision_id).reproduced
    diff = release.gates.diff_policies("airel-default:1.0", "bank-gates:2.0")
    assert diff.removed_rules == ["fairness"]
    assert diff.changed_tiers == ["Tier 1"]
    assert "min_primary_delta" in diff.text_diff
    assert (
        release.gates.policy().policy.digest
        == release.gates.policy("airel-default:1.0").policy.digest
    )


def test_policy_document_must_match_its_registry_version(release: Client, write: Any) -> None:
    write("p/x.yaml", "policy: other-name\nversion: '1'\ntiers: {}\n")
    release.registry.register(
        write(
            "p/x-spec.yaml",
            "kind: policy\nname: x\nversion: '1'\nformat: yaml\ntext_file: x.yaml\n",
        )
    )
    refused(release, Reason.INVALID_VALUE, lambda: release.gates.policy("x:1"))
    refused(
        release, Reason.INVALID_VALUE, lambda: release.gates.policy("fraud-threshold-policy:1.0")
    )


def test_check_policy_file_offline(tmp_path: Path) -> None:
    """`airel policy check` needs no store for a policy extending the shipped default."""
    client = Client(load_settings({"home": tmp_path / "none"}, cwd=tmp_path, environ={}))
    good = tmp_path / "good.yaml"
    good.write_text("policy: mine\nversion: '1'\nextends: airel-default:1.0\n")
    assert client.gates.check_policy_file(good).policy.ref == "mine:1"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "policy: mine\nversion: '1'\nextends: airel-default:1.0\nrules: [{id: r, gate: G0"
    )
    with pytest.raises(AirelError) as exc:
        client.gates.check_policy_file(bad)
    assert exc.value.reason is Reason.YAML_SYNTAX
    assert {m.name for m in client.gates.policy_metrics()} >= {"eval_pii_leaks", "ci_tests_failed"}


# -- identities ----------------------------------------------------------------------------------


def test_identities_come_from_airel_toml(tmp_path: Path) -> None:
    """G6: ``[identities]`` maps people to roles (the seed of a new store's grants, see
    tests/gate/test_roles.py); an unknown role is a configuration error."""
    (tmp_path / "airel.toml").write_text(
        '[airel]\nactor = "bob"\n\n[identities]\nbob = ["model_risk", "Compliance"]\n'
    )
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings.identities == {"bob": frozenset({Role.MODEL_RISK, Role.COMPLIANCE})}
    (tmp_path / "airel.toml").write_text('[identities]\nbob = ["chief_vibes"]\n')
    with pytest.raises(AirelError) as exc:
        load_settings(cwd=tmp_path, environ={})
    assert exc.value.reason is Reason.CONFIG_INVALID
    assert "chief_vibes" in exc.value.message
