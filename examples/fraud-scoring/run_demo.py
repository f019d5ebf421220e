"""The airel demo release: real-time card fraud scoring (playbook §6.3), end to end.

What it does, in a fresh work directory with the embedded store (./.airel, SQLite):

1. generates realistic synthetic card transactions (``generate_data.py``);
2. trains a baseline and a candidate model (``train.py``, scikit-learn, saved with skops);
3. registers everything a release is built from — code, images, datasets, label and decision
   policies, the feature view and its transform code, both models, eval sets and evaluators —
   exactly as a training pipeline would, from what it produced (row counts, windows, params,
   seeds, metrics, signatures); artifacts are content-hashed into the CAS;
4. moves ``fraud-score@production`` / ``@candidate`` aliases;
5. freezes the production release and the candidate release (whose rollback target is the
   production one);
6. validates the data, compares the models offline, gates the candidate G0–G4 (a no-go, a
   fix, an exception, a limited go; a refused self-approval; the production release's no-go),
   promotes the candidate to staging under the limited go (shadow refused beyond its cap);
7. carries it on (``rollout_story.py``): adopts the production release on its route, drills
   the rollback in staging, attests the G5 reviews and the five Tier 1 approvals, promotes to
   shadow under a traffic plan, advances into canary; there (``gateway_story.py``) real
   scoring requests go through ``airel serve gateway`` to the two releases' model upstreams
   (``serve_model.py``), a planted defect makes the candidate's answers critical failures, the
   canary analysis of the traces fails, the plan's stop condition rolls the route back to
   production, and the traces give the impacted population; then it quarantines the canary's
   batch, writes the §8.6 runbook, and shows the restart gate refusing a second try;
8. shows lineage both ways, the §7.2 reproducibility report, the diff against production, and
   verifies the bundle and the audit chain.

It prints one line per step: ✓ or ✗ (a no-go or refusal the story expects is part of the
story, printed with its step), what happened, the id, and the ``airel`` command that shows it,
e.g. ``✓  5 register model fraud-score:2.0.0  sha256:ab12…  (airel component show model
fraud-score:2.0.0)``. Under a gate no-go comes one line per failing rule. ``--verbose`` also
prints the full output (tables, cards, reports) of each of those commands. The demo drives
the CLI as a user would, with ``--json`` where it needs ids and outcomes.

Usage: ``python examples/fraud-scoring/run_demo.py [--workdir DIR] [--rows N] [--verbose]``
(the README's ``./scripts/demo`` runs it in a fresh virtual environment).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from demo_cli import Demo
from gateway_story import Services
from pipeline_specs import (
    dump,
    specs,
    write_scoring_snapshot,
    write_skewed_serving_sample,
)
from rollout_story import roll_out

from airel import Client

HERE = Path(__file__).resolve().parent
STATIC = [
    "eval-suite.yaml",
    "features.py",
    "features.spec.yaml",
    "policies",
    "release-baseline.yaml",
    "release.yaml",
]
PRODUCTION = "FRAUD-SCORING-2026-001"
CANDIDATE = "FRAUD-SCORING-2026-002"
# Who holds which approver roles (G6): grants in the store, made by its administrator (the
# actor that ran `airel init`); a config file cannot grant a role.
ROLES = (
    ("mara-okafor", "model_risk"),
    ("lena-vos", "compliance"),
    ("sam-de-wit", "business_owner"),
    ("release-manager", "release_manager"),
    ("release-manager", "business_owner"),
    ("omar-haddad", "security"),
    ("priya-nair", "data_owner"),
)
PASSING = frozenset({"go", "limited_go", "risk_acceptance"})
NOT_FAILING = frozenset({"pass", "excepted", "accepted"})  # rule results that do not block
# The validation runs' freshness reference time (the synthetic data ends 2026-05-25).
AS_OF = "2026-05-26T00:00:00+00:00"


def prepare(demo: Demo, rows: int) -> None:
    """Fresh work directory, synthetic data and the two trained models."""
    work = demo.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in STATIC:
        src = HERE / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    demo.run_script("generate_data.py", "--out", str(work / "data"), "--rows", str(rows))
    data = json.loads((work / "data" / "data_manifest.json").read_text())
    split = ", ".join(f"{f['file'].split('.')[0]} {f['rows']:,}" for f in data["files"])
    demo.step(
        True,
        f"generate {data['rows']:,} synthetic card transactions ({split} rows, "
        f"fraud rate {data['fraud_rate']:.2%})",
    )
    demo.run_script("train.py", "--data", str(work / "data"), "--out", str(work / "models"))
    runs = json.loads((work / "models" / "train_manifest.json").read_text())["runs"]
    trained = " and ".join(
        f"{r['model']} {r['algorithm']} (ROC AUC {r['metrics']['roc_auc']:.4f})" for r in runs
    )
    demo.step(True, f"train {trained}; models/train_manifest.json")


def register_all(demo: Demo) -> None:
    """Every component, through the SDK as a training pipeline would; then the aliases."""
    work = demo.work
    _, store = demo.cli("init")
    demo.step(
        True,
        f"airel init: embedded store {store['database']} (schema {store['schema']})",
        lookup=("config", "show"),
    )
    for identity, role in ROLES:
        demo.cli("role", "grant", identity, role)
    demo.step(
        True,
        "roles granted in the store by its administrator: "
        + ", ".join(f"{identity} {role}" for identity, role in ROLES),
        lookup=("role", "list"),
    )
    client = Client(actor="fraud-ml-pipeline")
    try:
        (work / "specs").mkdir()
        for i, (kind, spec) in enumerate(specs(work)):
            path = dump(work / "specs" / f"{i:02d}-{kind}-{spec['name']}.yaml", spec)
            c = client.registry.register(path, kind=kind, base_dir=work).component
            art = f" (artifact {c.artifact.size:,} B into the CAS)" if c.artifact else ""
            ref = f"{c.name}:{c.version}"
            demo.step(
                True,
                f"register {c.kind.value} {ref}{art}",
                c.digest,
                ("component", "show", c.kind.value, ref),
                show=False,
            )
        client.registry.set_alias(
            "model", "fraud-score", "production", "1.0.0", reason="in production"
        )
        client.registry.set_alias(
            "model", "fraud-score", "candidate", "2.0.0", reason="CT candidate"
        )
    finally:
        client.close()
    demo.step(
        True,
        "aliases fraud-score@production → 1.0.0, fraud-score@candidate → 2.0.0",
        lookup=("alias", "history", "model", "fraud-score", "candidate"),
        show=False,
    )


def freeze(demo: Demo) -> bool:
    """Freeze production (incomplete: no rollback target), then the candidate."""
    complete = False
    for spec, what in (("release-baseline.yaml", "production"), ("release.yaml", "candidate")):
        _, doc = demo.cli(
            "--actor",
            "release-manager",
            "bundle",
            "create",
            spec,
            "--freeze",
            "--allow-incomplete",
            "the production release predates airel; the candidate closes that gap",
            expect=(0, 1),
        )
        bundle, report = doc["bundle"], doc["completeness"]
        rid = bundle["release_id"]
        tier = f"Tier {report['risk_tier']} {report['pipeline_type']}"
        if report["complete"]:
            target = bundle["spec"].get("deployment", {}).get("rollback_target")
            verdict = f"complete for {tier}" + (f", rollback target {target}" if target else "")
        else:
            codes = ", ".join(f["reason"] for f in report["findings"])
            verdict = f"incomplete for {tier}: {codes}"
            if what == "production":
                verdict += " (it predates airel; the candidate closes that gap)"
        demo.step(
            report["complete"],
            f"freeze the {what} release {rid}: {verdict}",
            bundle["digest"],
            ("bundle", "show", rid),
        )
        complete = bool(report["complete"])
    return complete


def findings_text(findings: list[dict[str, Any]]) -> str:
    """``REASON column`` of each finding, hard ones first."""
    ordered = sorted(findings, key=lambda f: f["severity"] != "hard")
    return ", ".join(
        f"{f['reason']} {f['column']}" if f.get("column") else f["reason"] for f in ordered
    )


def validate_data(demo: Demo) -> str:
    """The data-validation step (issue 3): nine dimensions, card stored as evidence."""
    serving = write_skewed_serving_sample(demo.work)
    code, run = demo.cli(
        "validate",
        "--current",
        "FRAUD-VALIDATION-2026H1:1",
        "--reference",
        "FRAUD-TRAIN-2026H1:1",
        "--serving",
        str(serving.relative_to(demo.work)),
        "--spec",
        "fraud-auth-features:11",
        "--use-case",
        "fraud-detection",
        "--as-of",
        AS_OF,
        "--card",
        "validation-card.md",
        expect=(0, 1),
    )
    demo.step(
        code == 0,
        f"validate the newer snapshot FRAUD-VALIDATION-2026H1:1 against FRAUD-TRAIN-2026H1:1 "
        f"with a skewed serving path: {run['hard']} hard, {run['soft']} soft — "
        f"{findings_text(run['findings'])}; card in validation-card.md",
        lookup=("validation", "show", run["run_id"]),
    )
    return str(run["run_id"])


def primary_outcome(body: dict[str, Any]) -> str:
    """``roc_auc a → b (Δ d [lo, hi])`` on the golden set's overall slice, if measured."""
    for ds in body.get("datasets", []):
        if ds.get("role") != "golden":
            continue
        m = ds["comparison"]["slices"].get("overall", {}).get("metrics", {}).get("roc_auc")
        if m and m["a"].get("value") is not None and m["b"].get("value") is not None:
            return (
                f"roc_auc {m['a']['value']:.4f} → {m['b']['value']:.4f} "
                f"(Δ {m['delta']['value']:+.4f} [{m['low']:+.4f}, {m['high']:+.4f}])"
            )
    return "compared"


def evaluate_models(demo: Demo) -> None:
    """The offline-evaluation step (issue 4): baseline vs candidate with paired CIs."""
    code, doc = demo.cli(
        "eval",
        "compare",
        "--suite",
        "eval-suite.yaml",
        "--baseline",
        "models/baseline/predictions_validation.parquet",
        "--candidate",
        "models/candidate/predictions_validation.parquet",
        "--baseline-label",
        "fraud-score:1.0.0",
        "--candidate-label",
        "fraud-score:2.0.0",
        "--report",
        "eval-report.md",
        "--release",
        CANDIDATE,
        expect=(0, 1),
    )
    critical = doc.get("critical_failures", {}).get("count")
    demo.step(
        code == 0,
        f"offline eval fraud-score:1.0.0 → 2.0.0 on golden, regression and slice sets: "
        f"{primary_outcome(doc)}, {critical} critical failures; report in eval-report.md, "
        f"linked as G4 evidence of {CANDIDATE}",
        lookup=("eval", "report", doc["record_id"]),
    )


def failures_of(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """Every failing rule of a gate outcome, in gate order, each with the decision's ``code``.

    ``failures`` when the CLI gives it; otherwise derived from each gate's entry and rules
    (those not pass / excepted / accepted): deciding at the deciding gate, else behind it.
    A rule's code is the one its decision reason gives (``G3:CODE:rule``), else its own.
    """
    codes = {}
    for reason in outcome.get("reasons", []):
        gate, _, rest = reason.partition(":")
        code, _, rule = rest.partition(":")
        codes[gate, rule] = code
    found = outcome.get("failures")
    if found is None:
        deciding_gate = outcome.get("deciding_gate")
        found = []
        for gate in outcome.get("gates", []):
            behind = gate.get("behind")
            for result in ([gate["entry"]] if gate.get("entry") else []) + list(gate["rules"]):
                if result["status"] not in NOT_FAILING:
                    deciding = gate["gate"] == deciding_gate if deciding_gate else not behind
                    found.append(
                        {**result, "gate": gate["gate"], "deciding": deciding, "behind": behind}
                    )
    return [
        {**f, "code": codes.get((f["gate"], f["rule"])) or f.get("code") or f.get("reason")}
        for f in found
    ]


def failure_line(f: dict[str, Any]) -> str:
    """``G3 validation-soft (soft) fail SOFT_FAILURE_WITHOUT_EXCEPTION — deciding``."""
    kind = "hard" if f.get("hard") else "soft"
    where = "deciding" if f.get("deciding") else f"also failing behind {f.get('behind')}"
    line = f"{f['gate']} {f['rule']} ({kind}) {f['status']} {f['code']} — {where}"
    if f.get("detail"):
        line += f"; {f['detail']}"
    causes = [c.get("code") for c in f.get("causes") or [] if c.get("code")]
    if causes:
        line += f"; cause {', '.join(causes)}"
    return line


def gate_check(
    demo: Demo, release: str, why: str, *, behind_limit: int | None = None, through: str = "G4"
) -> tuple[str, str]:
    """``gate check --through G4`` (or ``through``): one line, and one per failing rule on a
    no-go.

    ``behind_limit`` caps the lines for rules failing behind the deciding gate (the rest are
    counted; ``gate explain`` lists them all). Returns the decision and its id.
    """
    _, out = demo.cli("gate", "check", release, "--through", through, expect=(0, 1))
    decision = out["decision"]
    failures = failures_of(out)
    if decision in PASSING:
        stage = f" up to {out['max_stage']}" if out.get("max_stage") else ""
        conditions = {k: v for k, v in (out.get("conditions") or {}).items() if k != "max_stage"}
        extra = "; ".join(
            f"{k.replace('_', ' ')}: {', '.join(v) if isinstance(v, list) else v}"
            for k, v in conditions.items()
        )
        text = f"{decision}{stage}" + (f" — {extra}" if extra else "")
    else:
        at = out.get("deciding_gate") or next((f["gate"] for f in failures), "?")
        behind = sum(not f.get("deciding") for f in failures)
        text = (
            f"{decision} at {at}, {len(failures)} failing rule{'' if len(failures) == 1 else 's'}"
        )
        text += f" ({behind} behind {at})" if behind else ""
    lookup = ("gate", "explain", out["decision_id"][:19])
    line = f"gate check {release} G0–{through} ({why}): {text}"
    demo.step(decision in PASSING, line, lookup=lookup)
    shown_behind = 0
    for f in failures:
        if not f.get("deciding") and behind_limit is not None:
            if shown_behind >= behind_limit:
                continue
            shown_behind += 1
        demo.detail(failure_line(f))
    hidden = len(failures) - sum(bool(f.get("deciding")) for f in failures) - shown_behind
    if behind_limit is not None and hidden > 0:
        demo.detail(f"… {hidden} more failing behind it (airel {shlex.join(lookup)})")
    return str(decision), str(out["decision_id"])


def gate_release(demo: Demo, monitoring_run: str) -> str:
    """The gate step (issue 5): evidence → G0–G4 decisions, an exception, the §8.1 memo."""
    work = demo.work
    evidence = ("evidence", "list", CANDIDATE)
    _, ci = demo.cli(
        "evidence",
        "add",
        CANDIDATE,
        "--kind",
        "ci",
        "--source",
        "ci run 4711",
        "--metric",
        "ci_tests_failed=0",
        "--metric",
        "ci_container_built=true",
        "--metric",
        "ci_critical_cves=0",
        "--metric",
        "ci_unplanned_low_cves=0",
    )
    demo.step(True, "evidence: CI run 4711 (G2)", ci["attestation_id"], evidence, show=False)
    _, link = demo.cli("evidence", "link", CANDIDATE, "--validation", monitoring_run)
    demo.step(
        True,
        "evidence: the monitoring validation run above (G3); the eval comparison (G4) was "
        "linked by eval compare --release",
        link["record_id"],
        evidence,
        show=False,
    )
    gate_check(demo, CANDIDATE, "the validation found skew, leakage and a restricted feature")

    snapshot, serving = write_scoring_snapshot(work)
    _, run = demo.cli(
        "validate",
        "--current",
        str(snapshot.relative_to(work)),
        "--reference",
        "FRAUD-TRAIN-2026H1:1",
        "--serving",
        str(serving.relative_to(work)),
        "--spec",
        "fraud-auth-features:11",
        "--use-case",
        "fraud-detection",
        "--as-of",
        AS_OF,
        "--release",
        CANDIDATE,
    )
    demo.step(
        bool(run["passed"]),
        f"fix the serving path and the scoring snapshot, validate again as the release's G3 "
        f"run: {run['hard']} hard, {run['soft']} soft — {findings_text(run['findings'])} "
        "(the restricted column is absent on purpose)",
        lookup=("validation", "show", run["run_id"]),
    )
    gate_check(demo, CANDIDATE, "one soft finding, no exception yet")

    _, refused = demo.cli(
        "--actor", "release-manager", "approve", CANDIDATE, "--role", "business_owner",
        expect=(2,),
    )  # fmt: skip
    demo.step(
        False,
        f"approve as release-manager (business_owner): refused {refused['reason']} — "
        f"{refused['message']} (segregation of duties; nothing written)",
        lookup=evidence,
        show=False,
    )
    if demo.verbose and refused.get("fix"):
        demo.detail(f"fix: {refused['fix']}")

    _, waived = demo.cli(
        "--actor",
        "mara-okafor",
        "gate",
        "except",
        CANDIDATE,
        "--rule",
        "validation-soft",
        "--reason",
        "vulnerable_customer is excluded from scoring by design (ACL); "
        "fairness for the segment is measured offline",
        "--segment",
        "vulnerable customers",
        "--human-review",
        "declines of vulnerable customers are reviewed by an analyst",
        "--expires",
        "30d",
    )
    demo.step(
        True,
        f"exception by {waived['approver']} ({waived['role']}) for "
        f"{', '.join(waived['rules'])}, segment vulnerable customers, human review, "
        f"30 days: decision {waived['decision_before']} → {waived['decision']}",
        waived.get("waiver_id"),
        evidence,
    )
    decision, decision_id = gate_check(demo, CANDIDATE, "with the exception")
    demo.plain(
        "gate", "memo", decision_id[:19], "--out", "gate-memo.md", "--html", "gate-memo.html"
    )
    demo.step(
        True,
        "the §8.1 gate memo of that decision: gate-memo.md, gate-memo.html",
        decision_id,
        ("gate", "memo", decision_id[:19]),
        show=False,
    )
    gate_check(demo, PRODUCTION, "the production release has no rollback target", behind_limit=0)
    return decision


DEPLOY_STAGING = """\
tools: {case-lookup: read}
customer_visible: false
change_approval: CHG-FRAUD-2026-002
"""


def promote_release(demo: Demo) -> bool:
    """Issue 11: the limited go admits the candidate to staging and no further; the §8.2 card."""
    (demo.work / "deploy-staging.yaml").write_text(DEPLOY_STAGING, encoding="utf-8")
    _, staged = demo.cli(
        "promote", CANDIDATE, "--to", "staging", "--deployment", "deploy-staging.yaml"
    )
    manifest = staged["deployment"]
    demo.step(
        True,
        f"promote {CANDIDATE} to staging under its limited go: route {manifest['route']}, "
        f"{', '.join(f'{r} {s:g}%' for r, s in manifest['traffic'].items())}",
        staged["deployment_digest"],
        ("deployment", "show", staged["deployment_digest"][:19]),
    )
    code, refused = demo.cli("promote", CANDIDATE, "--to", "shadow", expect=(2,))
    demo.step(
        code == 2 and refused["reason"] == "PROMOTION_BEYOND_DECISION",
        f"shadow refused ({refused['reason']}): the decision caps the candidate at staging "
        "until G5–G6 pass",
        lookup=("promotion", "list", "--release", CANDIDATE),
    )
    promotion_id = staged["promotion"]["promotion_id"]
    demo.plain("promotion", "card", promotion_id[:19], "--out", "promotion-card.md")
    demo.step(
        True,
        "the §8.2 promotion card: promotion-card.md",
        promotion_id,
        ("promotion", "card", promotion_id[:19]),
        show=False,
    )
    return code == 2


def show_evidence(demo: Demo) -> bool:
    """Lineage both ways, reproducibility, the diff to production, and verification."""
    _, up = demo.cli("lineage", CANDIDATE, "--upstream")
    demo.step(
        True,
        f"lineage: {CANDIDATE} was built from {len(up['nodes']) - 1} components "
        f"({len(up['edges'])} edges)",
        lookup=("lineage", CANDIDATE, "--upstream"),
    )
    _, down = demo.cli("lineage", "dataset/FRAUD-TRAIN-2026H1:1", "--downstream")
    demo.step(
        True,
        f"lineage: the training snapshot is used by releases {', '.join(down['releases'])}",
        lookup=("lineage", "dataset/FRAUD-TRAIN-2026H1:1", "--downstream"),
    )
    _, repro = demo.cli("bundle", "repro", CANDIDATE)
    counts: dict[str, list[str]] = {}
    for item in repro["items"]:
        counts.setdefault(item["status"], []).append(item["item"])
    summary = ", ".join(
        f"{len(items)} {status}" + ("" if status == "present" else f" ({', '.join(items)})")
        for status, items in counts.items()
    )
    demo.step(True, f"reproducibility (§7.2): {summary}", lookup=("bundle", "repro", CANDIDATE))
    _, diff = demo.cli("bundle", "diff", PRODUCTION, CANDIDATE)
    changed = [c["component"] for c in diff["changes"] if c["change"] != "unchanged"]
    demo.step(
        True,
        f"what changed versus production (B4): {len(changed)} components — {', '.join(changed)}",
        lookup=("bundle", "diff", PRODUCTION, CANDIDATE),
    )
    code, verify = demo.cli("bundle", "verify", CANDIDATE, expect=(0, 1))
    demo.step(
        code == 0,
        f"verify {CANDIDATE}: digest recomputed, every pinned artifact re-hashed"
        + ("" if verify["ok"] else f" — {len(verify['problems'])} problem(s)"),
        verify["digest"],
        ("bundle", "verify", CANDIDATE),
        show=False,
    )
    code, audit = demo.cli("audit", "verify", expect=(0, 1))
    state = "intact" if audit["ok"] else "BROKEN"
    demo.step(
        code == 0,
        f"audit chain {state}: {audit['entries']} entries, {audit['records_checked']} records "
        "match",
        audit["head_hash"],
        ("audit", "verify"),
        show=False,
    )
    return code == 0 and bool(verify["ok"])


def main() -> int:
    """Run the demo; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=HERE / "work")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument(
        "--verbose", action="store_true", help="also print each command's full output"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    # a SIGTERM ends the demo like an error: the servers it started are stopped on the way out
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    demo = Demo(args.workdir.resolve(), verbose=args.verbose)
    print(f"airel demo: card fraud scoring, from raw data to a gated release, in {demo.work}")
    prepare(demo, args.rows)
    os.chdir(demo.work)
    with Services(demo) as services:  # every process it starts is stopped, however this ends
        services.start_models()  # the two model upstreams load while the release is built
        register_all(demo)
        complete = freeze(demo)
        monitoring_run = validate_data(demo)
        evaluate_models(demo)
        decision = gate_release(demo, monitoring_run)
        promoted = promote_release(demo)
        rolled = roll_out(demo, gate_check, services)
    verified = show_evidence(demo)
    demo.flush()
    print(
        f"demo finished in {time.perf_counter() - started:.0f} s: {demo.steps} steps; "
        f"store {demo.work / '.airel'}; run the commands in parentheses there (cd {demo.work})"
        + ("" if demo.verbose else ", or rerun with --verbose for every table")
    )
    ok = complete and decision in PASSING and promoted and rolled and verified
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
