"""The demo's rollout (issue 11, SPEC P1–P7, playbook §5.5–§5.8, §8.5, §8.6): after the
limited go to staging the candidate is carried on — and brought back.

1. the production release, which ran on ``fraud-score-prod`` before airel, is adopted as the
   route's stable release (with the change ticket that put it there);
2. a rollback drill in staging rolls the candidate back to it for real, timed, and restores it:
   the drill record is the G6 ``rollback_drill`` evidence;
3. the G5 reviews (security, privacy, model risk) are attested and the five Tier 1 approver
   roles sign off, each by its own role holder; the fairness gap for vulnerable customers gets
   a compliance exception (kept out of the canary, declines reviewed); G0–G5 admit shadow;
4. the candidate goes into shadow under the traffic plan (production keeps 100 % of the
   decisions, the candidate gets copies); the shadow run is attested and G0–G6 admit canary;
5. ``rollout advance`` analyses the shadow step and moves the candidate into canary-1 (2 %,
   vulnerable, hardship and complaint customers kept on production);
6. the canary serves live traffic through ``airel serve gateway`` (``gateway_story.py``): real
   scoring requests to the two releases' model upstreams, a planted production problem, and
   ``airel canary analyse`` on the traces — the analysis fails, the plan's stop condition rolls
   the route back to production at once (an automatic route rollback), and the traces give the
   impacted population;
7. the canary's scored batch is quarantined (a batch rollback), the §8.6 runbook is written, and
   the candidate cannot come back without a restart gate decision.

The two model upstreams (``serve_model.py``) are running before the rollout begins (``run_demo.py``
starts them once the models are trained): the deployment files it stores carry their endpoints
(the stable release's, given when it is adopted; the candidate's, when it is promoted). The
gateway starts with the rollout; every process is stopped when the demo ends, however it ends.
"""

from __future__ import annotations

from typing import Any

from demo_cli import Demo
from gateway_story import Services, canary_with_traffic

PRODUCTION = "FRAUD-SCORING-2026-001"
CANDIDATE = "FRAUD-SCORING-2026-002"
ROUTE = "fraud-score-prod"
TIER1_APPROVERS = (
    ("sam-de-wit", "business_owner"),
    ("mara-okafor", "model_risk"),
    ("lena-vos", "compliance"),
    ("omar-haddad", "security"),
    ("priya-nair", "data_owner"),
)
PLAN = """\
plan_id: FRAUD-SCORING-ROLLOUT-2
use_case_id: FRAUD-SCORING-001
sticky_by: customer_id
segments:
  vulnerable-customers: {description: customers tagged vulnerable}
  hardship: {description: customers in a hardship programme}
  complaint: {description: customers with an open complaint}
steps:
  - name: shadow
    environment: shadow
    traffic_percent: 0
    min_requests: 10000
    success:
      - {metric: shadow_side_effects, op: "==", value: 0}
      - {metric: dashboard_tiles_stale, op: "==", value: 0}
    stop: [{metric: shadow_side_effects, op: ">", value: 0}]
  - name: canary-1
    environment: canary
    traffic_percent: 2
    exclude_segments: [vulnerable-customers, hardship, complaint]
    min_duration_hours: 24
    min_requests: 5000
    human_review: analyst review of every declined authorisation above 500 EUR
    success:
      - {metric: canary_critical_failures, op: "==", value: 0}
      - {metric: canary_latency_p95_ms, op: "<=", value: 300.0}
    stop:
      - {metric: canary_critical_failures, op: ">", value: 0}
      - {metric: canary_error_rate, op: ">", value: 0.01}
  - name: canary-2
    environment: canary
    traffic_percent: 10
    exclude_segments: [vulnerable-customers, hardship, complaint]
    min_duration_hours: 48
    success: [{metric: canary_critical_failures, op: "==", value: 0}]
    stop: [{metric: canary_critical_failures, op: ">", value: 0}]
"""
DEPLOY_PRODUCTION = """\
tools: {{case-lookup: read}}
customer_visible: false
monitoring:
  dashboard: grafana/fraud-score-canary
  alerts: [p95 latency above 300 ms, decline rate up 20 % on any segment]
  auto_rollback: [any critical failure, error rate above 1 %]
change_approval: CHG-FRAUD-2026-002
endpoint: {endpoint}
"""
# The production release as it ran before airel: its upstream, for the gateway.
DEPLOY_STABLE = """\
tools: {{case-lookup: read}}
customer_visible: false
monitoring:
  dashboard: grafana/fraud-score
  alerts: [p95 latency above 300 ms]
change_approval: CHG-FRAUD-2025-114
endpoint: {endpoint}
"""
G5_REVIEWS = (
    ("security_review", ("secrets_in_logs=0", "security_high_findings=0"), "SEC-REV-3141"),
    ("privacy_review", ("privacy_approved=true",), "DPIA-FRAUD-2026-07"),
    (
        "model_risk_review",
        ("model_risk_validated=true", "explainability_documented=true"),
        "MRM-VAL-2026-118",
    ),
)
SHADOW_RUN = (
    "shadow_requests=48211",
    "shadow_side_effects=0",
    "traces_by_release_id=true",
    "monitoring_dashboard_live=true",
    "dashboard_tiles_stale=0",
)


def shares(route: dict[str, Any]) -> str:
    """``A 98 %, B 2 %`` (and the mirrored releases) of a route's desired traffic."""
    desired = route["desired"]
    text = ", ".join(f"{r} {s:g} %" for r, s in desired["weights"].items())
    if desired.get("mirror"):
        text += f"; copies to {', '.join(desired['mirror'])}"
    return text


def evidence(demo: Demo, kind: str, metrics: tuple[str, ...], source: str) -> None:
    args = ["evidence", "add", CANDIDATE, "--kind", kind, "--source", source]
    for metric in metrics:
        args += ["--metric", metric]
    demo.cli(*args)


def adopt_and_drill(demo: Demo, services: Services) -> bool:
    """Steps 1–2: the stable release on the route, then the drill in staging."""
    endpoint = services.endpoint(PRODUCTION)
    (demo.work / "deploy-stable.yaml").write_text(
        DEPLOY_STABLE.format(endpoint=endpoint), encoding="utf-8"
    )
    _, route = demo.cli(
        "rollout", "adopt", ROUTE, "--release", PRODUCTION,
        "--change-approval", "CHG-FRAUD-2025-114", "--deployment", "deploy-stable.yaml",
    )  # fmt: skip
    demo.step(
        True,
        f"adopt {PRODUCTION} as the stable release of {ROUTE} (it ran there before airel; "
        f"change CHG-FRAUD-2025-114): {shares(route)}; deploy-stable.yaml gives the gateway "
        f"its model's endpoint {endpoint} (serve_model.py, models/baseline)",
        lookup=("rollout", "status", ROUTE),
    )
    code, drill = demo.cli("rollback", "drill", CANDIDATE, "--out", "rollback-drill.md",
                           expect=(0, 1))  # fmt: skip
    passed = code == 0 and bool(drill["passed"])
    steps = drill["steps"]
    demo.step(
        passed,
        f"rollback drill in staging: {CANDIDATE} → {drill['target']} and back, "
        f"runbook steps: {sum(s['status'] == 'done' for s in steps)} done, "
        f"{sum(s['status'] == 'skipped' for s in steps)} skipped (not for this release), "
        f"last-known-good in {drill['minutes_to_last_known_good'] * 60:.2f} s; recorded as "
        "rollback_drill evidence (G6); rollback-drill.md",
        drill["drill_id"],
        ("rollback", "list", "--release", CANDIDATE),
        show=False,
    )
    return passed


def through_shadow(demo: Demo, gate_check: Any, services: Services) -> bool:
    """Steps 3–4: G5 evidence and approvals, shadow, then the G6 decision."""
    for kind, metrics, source in G5_REVIEWS:
        evidence(demo, kind, metrics, source)
    demo.step(
        True,
        "G5 reviews attested: security (no high findings, no secrets in logs), privacy (DPIA "
        "approved), model risk (validated, explainability documented)",
        lookup=("evidence", "list", CANDIDATE),
        show=False,
    )
    for identity, role in TIER1_APPROVERS:
        demo.cli("--actor", identity, "approve", CANDIDATE, "--role", role, "--expires", "30d")
    demo.step(
        True,
        "approved by the five Tier 1 roles, each its own role holder: "
        + ", ".join(f"{role} {identity}" for identity, role in TIER1_APPROVERS),
        lookup=("release", "status", CANDIDATE),
        show=False,
    )
    _, waived = demo.cli(
        "--actor", "lena-vos", "gate", "except", CANDIDATE, "--rule", "fairness",
        "--reason", "the TPR/FPR gaps for vulnerable customers exceed the suite's limits "
        "offline: they stay out of the canary and their declines are reviewed by an analyst",
        "--segment", "vulnerable customers",
        "--human-review", "declines of vulnerable customers are reviewed by an analyst",
        "--expires", "30d",
    )  # fmt: skip
    demo.step(
        True,
        f"G5 fairness fails for vulnerable customers: exception by {waived['approver']} "
        f"({waived['role']}), segment excluded from the canary, analyst review of declines, "
        "30 days",
        waived.get("waiver_id"),
        ("evidence", "list", CANDIDATE),
        show=False,
    )
    decision, _ = gate_check(demo, CANDIDATE, "reviews, approvals, exception", through="G5")
    (demo.work / "rollout-plan.yaml").write_text(PLAN, encoding="utf-8")
    endpoint = services.endpoint(CANDIDATE)
    (demo.work / "deploy-production.yaml").write_text(
        DEPLOY_PRODUCTION.format(endpoint=endpoint), encoding="utf-8"
    )
    demo.plain("traffic-plan", "canary", "rollout-plan.yaml", "--step", "canary-1",
               "--out", "canary-plan.md")  # fmt: skip
    code, shadow = demo.cli(
        "promote", CANDIDATE, "--to", "shadow", "--plan", "rollout-plan.yaml",
        "--deployment", "deploy-production.yaml", expect=(0, 2),
    )  # fmt: skip
    if code != 0:
        demo.step(False, f"promote to shadow refused: {shadow['reason']} — {shadow['message']}")
        return False
    demo.step(
        True,
        f"promote {CANDIDATE} to shadow under plan FRAUD-SCORING-ROLLOUT-2: "
        f"{shares(shadow['route'])} (0 % customer impact); its model at {endpoint} "
        "(models/candidate); §8.5 canary plan: canary-plan.md",
        shadow["deployment_digest"],
        ("rollout", "status", ROUTE),
    )
    evidence(demo, "shadow", SHADOW_RUN, "shadow run 2026-05-26, 48,211 authorisations")
    demo.step(
        True,
        "shadow run attested: 48,211 copied authorisations, 0 side effects, traces by release "
        "id, dashboard live",
        lookup=("rollout", "analyse", ROUTE),
    )
    decision, _ = gate_check(demo, CANDIDATE, "shadow run and rollback drill in", through="G6")
    return decision in ("go", "limited_go")


def canary_and_stop(demo: Demo, services: Services) -> bool:
    """Steps 5–7: into canary, live traffic until the stop condition fires, the batch, the
    runbook, the restart gate."""
    _, moved = demo.cli("rollout", "advance", ROUTE)
    route = moved["route"]
    demo.step(
        moved["verdict"] == "advance",
        f"rollout advance: shadow passed its analysis, {CANDIDATE} enters {route['step']} "
        f"({route['environment']}): {shares(route)}; vulnerable, hardship and complaint "
        "customers stay on production",
        lookup=("rollout", "status", ROUTE),
        show=False,
    )
    stopped = canary_with_traffic(demo, services, shares)
    _, batch = demo.cli(
        "rollback", "apply", CANDIDATE, "--component", "batch",
        "--batch-run", "canary-1-scores-2026-05-26",
        "--reason", "decisions scored by the canary before the stop: re-score on production",
        "--incident", "INC-FRAUD-0412", "--yes",
    )  # fmt: skip
    demo.step(
        True,
        "the canary's scored batch canary-1-scores-2026-05-26 is quarantined (a batch "
        "rollback: consumers skip it until re-scored)",
        batch["rollback"]["rollback_id"],
        ("rollback", "list", "--release", CANDIDATE),
    )
    demo.plain("rollback", "runbook", CANDIDATE, "--out", "rollback-runbook.md")
    demo.step(
        True,
        "the §8.6 rollback runbook of the release: rollback-runbook.md (drill record: "
        "rollback-drill.md)",
        lookup=("rollback", "runbook", CANDIDATE),
    )
    code, refused = demo.cli(
        "promote", CANDIDATE, "--to", "shadow", "--plan", "rollout-plan.yaml",
        "--deployment", "deploy-production.yaml", expect=(0, 2),
    )  # fmt: skip
    demo.step(
        code == 2 and refused["reason"] == "RESTART_GATE_REQUIRED",
        f"promote again refused ({refused.get('reason')}): after a rollback the candidate "
        "needs a restart gate decision taken after it",
        lookup=("promotion", "list", "--release", CANDIDATE),
        show=False,
    )
    return stopped and code == 2


def roll_out(demo: Demo, gate_check: Any, services: Services) -> bool:
    """The whole rollout story; True when every step went as the story expects.
    ``services`` has the model upstreams started; the gateway starts here, and is ready by
    the time the canary begins."""
    services.start_gateway()
    drilled = adopt_and_drill(demo, services)
    shadowed = through_shadow(demo, gate_check, services)
    return drilled and shadowed and canary_and_stop(demo, services)
