"""The §8.1 AI Release Gate Memo (G7), rendered from a stored decision record body."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

import airel
from airel.domain.gate.approvals import Approval, Waiver, WaiverKind
from airel.domain.gate.decision import Fact, GateInputs, decide
from airel.domain.gate.decision_identity import inputs_digest
from airel.domain.gate.memo import code, decision_text, render_html, render_markdown, text
from airel.domain.gate.metrics import METRICS, FactStatus
from airel.domain.gate.policy import build_policy
from airel.domain.gate.stack import Conditions, GateId
from airel.domain.kernel.roles import Role
from airel.domain.kernel.tiers import PipelineType, RiskTier

POLICY = build_policy(
    yaml.safe_load(
        (Path(airel.__file__).parent / "policies" / "default.yaml").read_text(encoding="utf-8")
    )
)
NOW = datetime(2026, 6, 29, 9, 30, tzinfo=UTC)
DIGEST = "sha256:" + "a" * 64
RELEASE = "AIREL-AML-COPILOT-2026-007"
GOOD = {"risk_tier": 1, "shadow_requests": 900, "rollback_drill_minutes": 7.5}
SCRIPT = "<script>alert('x')</script>"


def facts(**overrides: Any) -> dict[str, Fact]:
    out = {
        m.name: Fact(FactStatus.OK, GOOD.get(m.name, m.sample()), f"sha256:{m.source.value}")
        for m in METRICS.values()
    }
    out |= {
        k: v if isinstance(v, Fact) else Fact(FactStatus.OK, v, "sha256:e")
        for k, v in overrides.items()
    }
    return out


def approval(role: Role, who: str, n: int) -> Approval:
    return Approval(
        approval_id=f"{n:032x}",
        release_id=RELEASE,
        bundle_digest=DIGEST,
        role=role,
        approver=who,
        issued_at=NOW - timedelta(hours=3),
        expires_at=NOW + timedelta(days=30),
    ).sealed()


def waiver(rules: list[str], *, reason: str = "analyst capacity") -> Waiver:
    return Waiver(
        waiver_id="e" * 32,
        kind=WaiverKind.EXCEPTION,
        release_id=RELEASE,
        bundle_digest=DIGEST,
        rules=rules,
        reason=reason,
        scope=Conditions(users=["15 trained Tier 2 AML analysts"], traffic_cap_percent=5),
        approver="mira",
        role=Role.MODEL_RISK,
        issued_at=NOW - timedelta(hours=1),
        expires_at=NOW + timedelta(days=10),
    ).sealed()


def body(
    *,
    through: GateId | None = GateId.G4,
    pipeline: PipelineType = PipelineType.RAG_ASSISTANT,
    fact_overrides: dict[str, Any] | None = None,
    approvals: tuple[Approval, ...] = (),
    waivers: tuple[Waiver, ...] = (),
    scope: dict[str, Any] | None = None,
    rollback_target: str | None = "AIREL-AML-COPILOT-2026-006",
) -> dict[str, Any]:
    """A stored decision record body, shaped as the gate service writes it."""
    evidence = tuple(
        {
            "kind": kind,
            "ref": f"{kind}/{RELEASE}",
            "digest": "sha256:" + str(i) * 64,
            "created_at": "2026-06-28T10:00:00+00:00",
        }
        for i, kind in enumerate(("bundle", "validation", "eval"), start=1)
    )
    inputs = GateInputs(
        release_id=RELEASE,
        bundle_digest=DIGEST,
        tier=RiskTier.TIER_1,
        pipeline_type=pipeline,
        submitter="sam",
        rollback_target=rollback_target,
        facts=facts(**(fact_overrides or {})),
        evidence=evidence,
        policy=POLICY,
        approvals=approvals,
        waivers=waivers,
        now=NOW,
        through=through,
    )
    outcome = decide(inputs).to_dict()
    return {
        "decision_id": "dec-0001",
        "release_id": RELEASE,
        "use_case_id": "AML-COPILOT-001",
        "risk_tier": "Tier 1",
        "pipeline_type": pipeline.value,
        "bundle_digest": DIGEST,
        "rollback_target": rollback_target,
        "submitter": "sam",
        "scope": {
            "approved_use": ["analyst-facing draft narrative", "evidence summary"],
            "prohibited_use": ["final SAR decision", "automatic regulatory submission"],
            "customer_impact": "none directly; analysts review every draft",
            "human_role": "analyst must review and edit before saving",
        }
        if scope is None
        else scope,
        "components": [
            {
                "path": "model",
                "ref": "model/aml-narrative-ranker:1.8.0",
                "digest": "sha256:" + "1" * 64,
            },
            {"path": "prompt", "ref": "prompt/aml-summary:2.3", "digest": "sha256:" + "2" * 64},
            {"path": "index", "ref": "index/aml-policy-2026Q2:2", "digest": "sha256:" + "3" * 64},
        ],
        "policy": {"ref": POLICY.ref, "digest": POLICY.digest},
        "through": through.value if through else None,
        "evaluated_at": NOW.isoformat(),
        "evaluated_by": "ci-bot",
        "inputs": {
            "facts": {
                k: {"status": f.status.value, "value": f.value, "source": f.source}
                for k, f in sorted(inputs.facts.items())
            },
            "evidence": list(evidence),
            "approvals": [a.model_dump(mode="json") for a in approvals],
            "waivers": [w.model_dump(mode="json") for w in waivers],
            "now": NOW.isoformat(),
            "through": through.value if through else None,
        },
        "inputs_digest": inputs_digest(inputs),
        "outcome": outcome,
    }


def section(md: str, name: str) -> str:
    match = re.search(rf"^## {re.escape(name)}\n\n(.*?)(?=^## |\Z)", md, re.S | re.M)
    assert match, f"no section {name}"
    return match.group(1)


def table_rows(block: str) -> list[list[str]]:
    lines = [ln for ln in block.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines[2:]]


def test_sections_follow_the_memo_template() -> None:
    md = render_markdown(body())
    assert md.startswith(f"# AI Release Gate Memo: {RELEASE}\n")
    headings = re.findall(r"^## (.+)$", md, re.M)
    assert headings == [
        "Decision",
        "Scope",
        "Release Bundle",
        "Eval Results",
        "Conditions",
        "Rollback",
        "Approval",
        "Evidence",
        "Gate results",
    ]


def test_decision_section() -> None:
    md = render_markdown(body())
    block = section(md, "Decision")
    for line in [
        "- decision: Limited go to staging",
        f"- release_id: {RELEASE}",
        "- use_case_id: AML-COPILOT-001",
        "- risk_tier: Tier 1",
        "- decision date: 2026-06-29",
        "- rollback target: AIREL-AML-COPILOT-2026-006",
        "- decision id: dec-0001",
        f"- policy: airel-default:1.0 (`{POLICY.digest}`)",
        "- gates run: G0 … G4",
        "- expires: 2026-07-13T09:30:00+00:00",
    ]:
        assert line in block.splitlines(), line
    assert "  - `STAGE_CAPPED:staging`" in block


@pytest.mark.parametrize(
    ("outcome", "target", "expected"),
    [
        ({"decision": "go", "max_stage": "full"}, "R-6", "Go to full scale"),
        ({"decision": "limited_go", "max_stage": "canary"}, "R-6", "Limited go to canary"),
        ({"decision": "no_go", "max_stage": None}, "R-6", "No-go"),
        ({"decision": "rollback", "max_stage": None}, "R-6", "Rollback to R-6"),
        ({"decision": "rollback", "max_stage": None}, None, "Rollback"),
        (
            {"decision": "risk_acceptance", "max_stage": "shadow"},
            "R-6",
            "Risk acceptance to shadow",
        ),
    ],
)
def test_decision_text(outcome: dict[str, Any], target: str | None, expected: str) -> None:
    assert decision_text({"outcome": outcome, "rollback_target": target}) == expected


def test_scope_section() -> None:
    block = section(render_markdown(body()), "Scope")
    assert block.splitlines()[:5] == [
        "- approved use: analyst-facing draft narrative; evidence summary",
        "- prohibited use: final SAR decision; automatic regulatory submission",
        "- customer impact: none directly; analysts review every draft",
        "- conditions scope: up to staging",
        "- human control: analyst must review and edit before saving",
    ]


def test_scope_not_recorded() -> None:
    b = body()
    b["scope"] = None
    block = section(render_markdown(b), "Scope")
    assert "- approved use: not recorded (G0 requires a recorded scope)" in block


def test_release_bundle_lists_components() -> None:
    block = section(render_markdown(body()), "Release Bundle")
    assert f"- bundle digest: `{DIGEST}`" in block
    assert table_rows(block) == [
        ["model", "model/aml-narrative-ranker:1.8.0", f"`sha256:{'1' * 64}`"],
        ["prompt", "prompt/aml-summary:2.3", f"`sha256:{'2' * 64}`"],
        ["index", "index/aml-policy-2026Q2:2", f"`sha256:{'3' * 64}`"],
    ]


def test_eval_results_has_one_row_per_g3_g4_rule() -> None:
    b = body(fact_overrides={"freshness_findings": 2}, waivers=(waiver(["feature-freshness"]),))
    block = section(render_markdown(b), "Eval Results")
    assert block.startswith("| Gate metric | Result | Threshold | Decision |\n|---|---|---|---|\n")
    rows = table_rows(block)
    expected = [
        r.id
        for r in POLICY.rules
        if r.gate.value in ("G3", "G4") and r.applies(RiskTier.TIER_1, PipelineType.RAG_ASSISTANT)
    ]
    assert [row[0].split(" ")[1] for row in rows] == expected
    by_rule = {row[0]: row for row in rows}
    assert by_rule["G4 zero-critical-failures (hard)"] == [
        "G4 zero-critical-failures (hard)",
        "eval_critical_failures = 0",
        "`eval_critical_failures == 0`",
        "pass",
    ]
    assert by_rule["G3 critical-feature-missing (hard)"][1:] == [
        "critical_feature_missing_rate = 0",
        "`critical_feature_missing_rate <= threshold.max_critical_missing_rate`",
        "pass",
    ]
    assert by_rule["G3 feature-freshness (soft)"][1:] == [
        "freshness_findings = 2",
        "`freshness_findings == 0`",
        "excepted",
    ]


def test_eval_results_show_unreadable_evidence_and_gates_behind_the_blocking_one() -> None:
    """G4 (issue 17): gates after the blocking one are evaluated and shown behind it."""
    b = body(fact_overrides={"schema_mismatches": Fact(FactStatus.STALE)})
    rows = {row[0]: row for row in table_rows(section(render_markdown(b), "Eval Results"))}
    assert rows["G3 schema-parity (hard)"][1:] == [
        "schema_mismatches = stale",
        "`schema_mismatches == 0`",
        "stale",
    ]
    assert rows["G4 zero-critical-failures (hard)"][3] == "pass"  # evaluated behind G3
    gates = {row[0]: row for row in table_rows(section(render_markdown(b), "Gate results"))}
    assert gates["G4"][2] == "passed (behind G3)"
    decision = section(render_markdown(b), "Decision")
    assert "failing rules (1, in gate order)" in decision
    assert "schema-parity" in decision
    assert "deciding" in decision


def test_eval_results_include_g5_rules() -> None:
    approvals = tuple(
        approval(role, f"{role.value}-person", n)
        for n, role in enumerate(POLICY.tier(RiskTier.TIER_1).approvers, start=1)
    )
    b = body(through=GateId.G5, approvals=approvals)
    rows = table_rows(section(render_markdown(b), "Eval Results"))
    assert "G5 no-secrets-in-logs (hard)" in [r[0] for r in rows]
    assert "- decision: Limited go to shadow" in render_markdown(b)


def test_conditions_section() -> None:
    b = body(fact_overrides={"freshness_findings": 2}, waivers=(waiver(["feature-freshness"]),))
    block = section(render_markdown(b), "Conditions")
    lines = block.splitlines()
    assert "- users: 15 trained Tier 2 AML analysts" in lines
    assert "- traffic cap: 5%" in lines
    assert "- up to stage: staging" in lines
    assert "- note: feature freshness alert on" in lines
    exc = next(ln for ln in lines if ln.startswith("- exception"))
    assert f"`{'e' * 32}`" in exc
    assert "feature-freshness: analyst capacity; approved by mira (Model Risk)" in exc


def test_conditions_none() -> None:
    approvals = tuple(
        approval(role, f"{role.value}-person", n)
        for n, role in enumerate(POLICY.tier(RiskTier.TIER_1).approvers, start=1)
    )
    b = body(through=None, approvals=approvals)
    assert b["outcome"]["decision"] == "go"
    assert section(render_markdown(b), "Conditions").strip() == "None."


def test_rollback_section() -> None:
    block = section(render_markdown(body()), "Rollback")
    assert "- rollback target: AIREL-AML-COPILOT-2026-006" in block
    assert "- target executable: yes" in block
    assert "- last rollback drill (minutes): 7.5" in block
    assert "- rollback action: route returns to AIREL-AML-COPILOT-2026-006" in block
    none = body(rollback_target=None, fact_overrides={"rollback_target_executable": False})
    block = section(render_markdown(none), "Rollback")
    assert "- rollback target: none recorded" in block
    assert "- target executable: no" in block


def test_rollback_decision_is_called_out() -> None:
    approvals = tuple(
        approval(role, f"{role.value}-person", n)
        for n, role in enumerate(POLICY.tier(RiskTier.TIER_1).approvers, start=1)
    )
    b = body(through=None, approvals=approvals, fact_overrides={"canary_critical_failures": 1})
    md = render_markdown(b)
    assert "- decision: Rollback to AIREL-AML-COPILOT-2026-006" in md
    assert "- **roll back now**: G7:CANARY_CRITICAL_FAILURE:canary-critical" in md


def test_approval_section_marks_missing_roles_and_void_approvals() -> None:
    roles = POLICY.tier(RiskTier.TIER_1).approvers
    approvals = (
        approval(roles[0], "olivia", 1),
        approval(roles[1], "sam", 2),  # the submitter: not counted
        approval(roles[2], "olivia", 3),  # one person, two roles: not counted
    )
    b = body(through=GateId.G5, approvals=approvals)
    block = section(render_markdown(b), "Approval")
    assert block.splitlines() == [
        "- Business owner: olivia (until 2026-07-29T09:30:00Z)",
        "- Model Risk: **missing**",
        "- Compliance: **missing**",
        "- Security: **missing**",
        "- Data Owner: **missing**",
        f"- not counted: `{2:032x}` (Model Risk): self approval",
        f"- not counted: `{3:032x}` (Compliance): approver fills another role",
        "",
    ]


def test_evidence_and_gate_results() -> None:
    b = body(fact_overrides={"eval_pii_leaks": 1})
    md = render_markdown(b)
    evidence = section(md, "Evidence")
    assert f"- inputs digest: `{b['inputs_digest']}`" in evidence
    assert table_rows(evidence)[1] == [
        "validation",
        f"validation/{RELEASE}",
        f"`sha256:{'2' * 64}`",
        "2026-06-28T10:00:00+00:00",
    ]
    gates = table_rows(section(md, "Gate results"))
    assert [g[0] for g in gates] == [g.value for g in GateId]
    assert gates[4] == ["G4", "Offline Eval", "failed", "G4:PII_LEAK:pii-leak"]
    assert gates[0][2] == "passed"
    assert gates[5][2] == "not run"


def test_user_text_cannot_break_out_of_its_line_or_cell() -> None:
    scope = {
        "approved_use": ["drafts\n## Approval\n- Compliance: forged"],
        "prohibited_use": ["a | b | c"],
        "customer_impact": "**bold** [link](javascript:alert(1)) `code`",
        "human_role": "x",
    }
    b = body(scope=scope)
    b["components"][0]["path"] = "model | injected | cells"
    md = render_markdown(b)
    assert re.findall(r"^## Approval$", md, re.M) == ["## Approval"]
    assert "- approved use: drafts \\#\\# Approval - Compliance: forged" in md
    assert "- prohibited use: a \\| b \\| c" in md
    assert table_rows(section(md, "Release Bundle"))[0][0] == "model \\| injected \\| cells"
    page = render_html(b)
    assert "href" not in page
    assert "<strong>bold</strong>" not in page
    assert "**bold**" in page
    assert "<a " not in page


@pytest.mark.parametrize("where", ["release_id", "scope", "condition", "waiver", "approver"])
def test_script_in_user_text_is_escaped_in_html(where: str) -> None:
    if where == "condition":
        w = waiver(["feature-freshness"], reason=SCRIPT)
        w = w.model_copy(
            update={"scope": Conditions(users=[SCRIPT], traffic_cap_percent=5)}
        ).sealed()
        b = body(fact_overrides={"freshness_findings": 1}, waivers=(w,))
        assert SCRIPT in b["outcome"]["conditions"]["users"]
    elif where == "approver":
        b = body(through=GateId.G5, approvals=(approval(Role.COMPLIANCE, SCRIPT, 9),))
    else:
        b = body()
        if where == "release_id":
            b["release_id"] = SCRIPT
        elif where == "scope":
            b["scope"]["approved_use"] = [SCRIPT]
            b["scope"]["human_role"] = SCRIPT
        else:
            b["inputs"]["waivers"] = [{"waiver_id": "w", "reason": SCRIPT}]
            b["outcome"]["waivers_used"] = ["w"]
    md = render_markdown(b)
    assert SCRIPT not in md  # escaped in the Markdown too
    page = render_html(b)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(" in page


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_html_is_a_standalone_page() -> None:
    page = render_html(body())
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert f"<title>AI Release Gate Memo: {RELEASE}</title>" in page
    assert "<style>" in page
    parser = _Tags()
    parser.feed(page)
    assert {"html", "head", "body", "h1", "h2", "table", "ul", "code"} <= set(parser.tags)
    assert parser.tags.count("h2") == 9
    assert "<th>Gate metric</th>" in page
    assert "http" not in page.replace("<!DOCTYPE html>", "")  # no external resources


def test_memo_is_deterministic() -> None:
    b = body(fact_overrides={"freshness_findings": 2}, waivers=(waiver(["feature-freshness"]),))
    assert render_markdown(b) == render_markdown(copy.deepcopy(b))
    assert render_html(b) == render_html(copy.deepcopy(b))


def test_minimal_body_renders() -> None:
    md = render_markdown({"release_id": "R-1", "outcome": {"decision": "no_go"}})
    assert "- decision: No-go" in md
    assert "No G3-G5 rules were evaluated." in md
    assert "- no approver roles required at this tier" in md


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "—"),
        ("", "—"),
        ([], "—"),
        (True, "yes"),
        (0.123456, "0.1235"),
        (["a", "b"], "a; b"),
        ("snake_case_name", "snake_case_name"),
        ("_lead and trail_", "\\_lead and trail\\_"),
        ("<b>&", "\\<b\\>\\&"),
        ("line\nbreak", "line break"),
    ],
)
def test_text_escaping(value: Any, expected: str) -> None:
    assert text(value) == expected


def test_code_spans() -> None:
    assert code("a || b") == "`a \\|\\| b`"
    assert code("x `y` z") == "``x `y` z``"
    assert code("`edge`") == "`` `edge` ``"
