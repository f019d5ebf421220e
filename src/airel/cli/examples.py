"""Examples for the help of every command, as data: ``airel <path> --help`` ends with them.

One entry per leaf command path (``"bundle create"``, ``"init"``): a list of
``(comment, command line)``. :func:`airel.cli.main.build_app` attaches them as the command's
help epilog in one loop (:func:`epilog`), so command modules carry no example text, and
``scripts/gen_cli_docs.py`` renders the same epilog into docs/cli.md.
``tests/cli/test_help.py`` requires an entry for every leaf command and parses every line
against the command's real options.

Release ids and files follow the README quickstart (``examples/quickstart``) and the
fraud-scoring demo (``examples/fraud-scoring``); UPPER_CASE words stand for ids that a
previous command printed.
"""

from __future__ import annotations

import re

Example = tuple[str, str]

PRODUCTION = "FRAUD-SCORING-2026-001"
CANDIDATE = "FRAUD-SCORING-2026-002"

EXAMPLES: dict[str, list[Example]] = {
    # -- store and settings --
    "init": [
        ("Create ./.airel: SQLite store, artifact directory, store id", "airel init"),
        (
            "The same on PostgreSQL (or set AIREL_DATABASE_URL)",
            "airel --database-url postgresql+psycopg://airel@db.internal/airel init",
        ),
    ],
    "db upgrade": [("Apply pending schema migrations after upgrading airel", "airel db upgrade")],
    "config show": [
        ("Every setting, its value and where it came from", "airel config show"),
        ("The settings of another store, as JSON", "airel --home /srv/airel config show --json"),
    ],
    # -- registry --
    "register": [
        (
            "Register the training snapshot; data/train.csv is hashed",
            "airel register dataset train.yaml",
        ),
        (
            "Register a model whose artifact paths are relative to ../training",
            "airel register model model.yaml --base-dir ../training",
        ),
    ],
    "component show": [
        (
            "The model version production points at",
            "airel component show model fraud-score@production",
        ),
        ("One dataset version, as JSON", "airel component show dataset fraud-train:1 --json"),
    ],
    "component list": [("Every registered model version", "airel component list --kind model")],
    "component diff": [
        (
            "Field changes and the text diff of two prompt versions",
            "airel component diff prompt support-answer 1.0.0 1.1.0",
        ),
    ],
    "alias set": [
        (
            "Point fraud-score@candidate at 1.0.0",
            'airel alias set model fraud-score candidate 1.0.0 --reason "first candidate"',
        ),
        (
            "Move production only if nobody moved it since you read row version 3",
            'airel alias set model fraud-score production 2.0.0 --expect 3 --reason "passed G7"',
        ),
    ],
    "alias history": [
        ("Every move of fraud-score@production", "airel alias history model fraud-score production")
    ],
    "artifact verify": [
        ("Re-hash every stored artifact (exit 1 on a mismatch)", "airel artifact verify"),
        (
            "Re-hash one artifact",
            "airel artifact verify "
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ),
    ],
    "artifact list": [("Artifacts recorded in the store, as JSON", "airel artifact list --json")],
    "artifact gc": [("Remove staging files that interrupted ingests left", "airel artifact gc")],
    "lineage": [
        ("What went into a release", f"airel lineage {CANDIDATE}"),
        (
            "Which releases used a dataset version",
            "airel lineage dataset/FRAUD-TRAIN-2026H1:1 --downstream",
        ),
        ("The same as OpenLineage RunEvents", f"airel lineage {CANDIDATE} --openlineage"),
    ],
    # -- bundles --
    "bundle create": [
        (
            "Store the release as an editable draft; completeness gaps are warnings",
            "airel bundle create release.yaml",
        ),
        (
            "Resolve and freeze it now (exit 1, nothing written, while it is incomplete)",
            "airel bundle create release.yaml --freeze",
        ),
        (
            "Freeze although incomplete; the reason is recorded with the release",
            "airel bundle create release.yaml --freeze "
            '--allow-incomplete "shadow only, evals follow"',
        ),
        ("Resolve and report, write nothing", "airel bundle create release.yaml --dry-run --json"),
    ],
    "bundle freeze": [
        ("Freeze the release's draft", f"airel bundle freeze {CANDIDATE}"),
        (
            "Freeze only if nobody edited the draft since you read version 3",
            f"airel bundle freeze {CANDIDATE} --expected-version 3",
        ),
    ],
    "bundle check": [
        (
            "Check a bundle file offline (CI, pre-commit; no store)",
            "airel bundle check release.yaml",
        )
    ],
    "bundle show": [
        ("A frozen bundle and its completeness", "airel bundle show FRAUD-QUICKSTART-001")
    ],
    "bundle list": [
        ("The releases of one use case", "airel bundle list --use-case FRAUD-SCORING-QUICKSTART")
    ],
    "bundle diff": [
        (
            "What changed from production to the candidate",
            f"airel bundle diff {PRODUCTION} {CANDIDATE}",
        ),
        (
            "Every component, unchanged ones too, as JSON",
            f"airel bundle diff {PRODUCTION} {CANDIDATE} --all --json",
        ),
    ],
    "bundle verify": [
        (
            "Recompute the digest and re-hash the pinned artifacts",
            f"airel bundle verify {CANDIDATE}",
        )
    ],
    "bundle repro": [
        ("The §7.2 reproducibility report", "airel bundle repro FRAUD-QUICKSTART-001")
    ],
    # -- data --
    "profile": [
        (
            "Profile a registered dataset version (stored, reused later)",
            "airel profile dataset/FRAUD-TRAIN-2026H1:1",
        ),
        (
            "Profile a file with leakage statistics for its label",
            "airel profile reference.parquet --label is_fraud --prediction-time scored_at --json",
        ),
    ],
    "validate": [
        (
            "Validate a scoring snapshot against training, with skew on a serving sample",
            "airel validate --current snapshot.parquet --reference FRAUD-TRAIN-2026H1:1 "
            "--serving serving.parquet --spec fraud-auth-features:11",
        ),
        (
            "Store the run as G3 evidence of a release and write its §8.3 card",
            "airel validate --current snapshot.parquet --spec features.spec.yaml "
            f"--as-of 2026-05-26T00:00:00+00:00 --release {CANDIDATE} --card card.md",
        ),
    ],
    "validation list": [
        ("Validation runs of one dataset", "airel validation list --current FRAUD-TRAIN-2026H1:1")
    ],
    "validation show": [
        ("A run's §8.3 card (RUN_ID from `airel validation list`)", "airel validation show RUN_ID"),
        ("The whole run, as JSON", "airel validation show RUN_ID --json"),
    ],
    # -- evaluation --
    "eval compare": [
        (
            "Baseline vs candidate predictions, linked as G4 evidence of the release",
            "airel eval compare --suite eval-suite.yaml "
            "--baseline models/baseline/predictions.parquet "
            "--candidate models/candidate/predictions.parquet "
            "--baseline-label fraud-score:1.0.0 --candidate-label fraud-score:2.0.0 "
            f"--report eval-report.md --release {CANDIDATE}",
        ),
    ],
    "eval run": [
        (
            "One classifier on a suite (predictions file with id, score)",
            "airel eval run --suite eval-suite.yaml "
            "--target models/candidate/predictions.parquet --label fraud-score:2.0.0",
        ),
        (
            "An LLM suite against an OpenAI-compatible endpoint, with a judge",
            "airel eval run --suite support-suite.yaml --target openai:http://127.0.0.1:8000/v1 "
            "--model support-bot --label support-bot:2 --judge-endpoint http://127.0.0.1:9000/v1",
        ),
    ],
    "eval rejudge": [
        (
            "Re-read stored judge responses with the current parser (no judge calls)",
            "airel eval rejudge RECORD_ID",
        ),
    ],
    "eval report": [
        (
            "The §8.4 report of a comparison (RECORD_ID from `airel eval list`)",
            "airel eval report RECORD_ID",
        )
    ],
    "eval list": [("Stored eval runs and comparisons", "airel eval list")],
    # -- gates --
    "gate check": [
        (
            "Run G0-G4 and store the decision (exit 1 on no-go)",
            f"airel gate check {CANDIDATE} --through G4",
        ),
        (
            "Every gate under your own policy, as JSON for CI",
            f"airel gate check {CANDIDATE} --policy bank-gates:1.0 --json",
        ),
    ],
    "gate explain": [
        (
            "The latest decision with the facts and evidence it read",
            f"airel gate explain {CANDIDATE}",
        ),
        (
            "Re-run a stored decision from its inputs (exit 1 if it differs)",
            "airel gate explain sha256:5b1f0c9e2a7d --recheck",
        ),
    ],
    "gate memo": [
        (
            "The §8.1 gate memo of the latest decision, as Markdown and HTML",
            f"airel gate memo {CANDIDATE} --out memo.md --html memo.html",
        ),
    ],
    "gate list": [("Gate decisions of one release", f"airel gate list {CANDIDATE}")],
    "gate except": [
        (
            "Accept a soft failure for a segment, with human review, for 14 days",
            f"airel --actor mara-okafor gate except {CANDIDATE} --rule validation-soft "
            '--reason "segment excluded from scoring by design" --segment "vulnerable customers" '
            '--human-review "an analyst reviews declines" --expires 14d',
        ),
    ],
    "approve": [
        (
            "Approve the frozen bundle in your model_risk role, for 14 days",
            f"airel --actor mara-okafor approve {CANDIDATE} --role model_risk --expires 14d",
        ),
        (
            "Sign the approval with your registered key",
            f"airel approve {CANDIDATE} --role model_risk --sign-with ~/.airel-key.pem",
        ),
        (
            "Present an approval signed offline (`airel approval sign`)",
            f"airel approve {CANDIDATE} --signed lena-approval.json",
        ),
        (
            "Approve only the digest you reviewed (from `airel bundle show`)",
            f"airel approve {CANDIDATE} --role compliance --bundle-digest sha256:5b1f0c9e2a7d "
            '--comment "memo read"',
        ),
    ],
    "accept-risk": [
        (
            "Accept a residual hard risk for a staff pilot, with a compensating control",
            f'airel accept-risk {CANDIDATE} --rule security-findings --reason "internal only" '
            '--control "WAF rule 1142" --segment "staff pilot" --expires 14d',
        ),
    ],
    "policy show": [
        ("The shipped default policy: tiers and rules", "airel policy show"),
        ("Your policy after extends, as JSON", "airel policy show bank-gates:1.0 --json"),
    ],
    "policy diff": [
        (
            "Rules and tiers changed from the default",
            "airel policy diff airel-default:1.0 bank-gates:1.0",
        )
    ],
    "policy check": [
        ("Check a policy file before registering it", "airel policy check policies/bank-gates.yaml")
    ],
    "policy metrics": [("Every metric a gate rule may read", "airel policy metrics")],
    "evidence add": [
        (
            "Record a CI run's metrics (G2)",
            f'airel evidence add {CANDIDATE} --kind ci --source "ci run 4711" '
            "--metric ci_tests_failed=0 --metric ci_container_built=true "
            "--metric ci_critical_cves=0",
        ),
        (
            "A security review that could not be completed",
            f"airel evidence add {CANDIDATE} --kind security_review --status inconclusive",
        ),
    ],
    "evidence link": [
        (
            "Count a stored validation run as the release's G3 evidence",
            f"airel evidence link {CANDIDATE} --validation RUN_ID",
        ),
        (
            "Count a stored eval comparison as G4 evidence",
            f"airel evidence link {CANDIDATE} --eval RECORD_ID",
        ),
    ],
    "evidence list": [
        ("Evidence, approvals and waivers of a release", f"airel evidence list {CANDIDATE}")
    ],
    # -- identities, roles and signing keys --
    "role grant": [
        ("Grant the compliance role (administrators only)", "airel role grant lena-vos compliance")
    ],
    "role revoke": [
        (
            "Revoke it again (the last admin cannot be revoked)",
            "airel role revoke lena-vos compliance",
        )
    ],
    "token create": [
        (
            "A 30-day API token for the CI pipeline",
            "airel token create ci-bot --name ci --expires 30d",
        )
    ],
    "token list": [("Every token of one identity", "airel token list --identity ci-bot")],
    "token revoke": [("Revoke a token", "airel token revoke tok_0123456789abcdef")],
    "role list": [
        ("Who holds model_risk", "airel role list --role model_risk"),
        (
            "Every grant of one identity, revoked ones too",
            "airel role list --identity lena-vos --revoked",
        ),
    ],
    "key generate": [
        (
            "Create your signing key; prints the public key for an administrator",
            "airel key generate --out lena.pem",
        ),
    ],
    "key register": [
        (
            "Register lena-vos's public key (administrators only)",
            "airel key register lena-vos lena.pub",
        )
    ],
    "key list": [
        (
            "Signing keys of one identity, revoked ones included",
            "airel key list --identity lena-vos",
        )
    ],
    "key revoke": [
        (
            "Revoke a key; statements signed with it are refused from now on",
            "airel key revoke ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73",
        ),
    ],
    "approval sign": [
        (
            "Sign an approval offline; present it with `airel approve RELEASE --signed FILE`",
            f"airel approval sign {CANDIDATE} --bundle-digest sha256:5b1f0c9e2a7d "
            "--role compliance --key lena.pem --expires 14d --out lena-approval.json",
        ),
    ],
    # -- audit --
    # -- promotion --
    "ci run": [
        (
            "Run the §5.3 checks in ./ and record them as the candidate's CI evidence",
            f"airel ci run {CANDIDATE} --config ci.yaml --report ci-report.json",
        ),
    ],
    "promote": [
        (
            "Staging first: the release replays traffic under its gate decision",
            f"airel promote {CANDIDATE} --to staging --deployment deploy-staging.yaml",
        ),
        (
            "Then canary, at the share of the plan's first canary step",
            f"airel promote {CANDIDATE} --to canary --plan rollout.yaml --deployment deploy.yaml",
        ),
    ],
    "promotion list": [
        ("Where the candidate has been promoted", f"airel promotion list --release {CANDIDATE}")
    ],
    "promotion card": [
        (
            "The §8.2 card of a promotion, for the approvers' pack",
            "airel promotion card sha256:5c0d2e7b41aa --out promotion-card.md",
        )
    ],
    "deployment list": [
        ("Every manifest of one route", "airel deployment list --route fraud-score-prod")
    ],
    "deployment show": [("One manifest, field by field", "airel deployment show sha256:3f2a9c1d")],
    "deployment diff": [
        (
            "What changed from shadow to canary",
            "airel deployment diff sha256:3f2a9c1d sha256:9b71e0aa --json",
        )
    ],
    "traffic-plan check": [
        ("Check a rollout plan before promoting", "airel traffic-plan check rollout.yaml")
    ],
    "traffic-plan canary": [
        (
            "The §8.5 canary plan of the first canary step",
            "airel traffic-plan canary rollout.yaml --step canary-1 --out canary-plan.md",
        )
    ],
    "release status": [
        (
            "Where the candidate is in the §5.8 workflow, and the next step",
            f"airel release status {CANDIDATE}",
        ),
        (
            "The same as JSON, with the Markdown page written for the change ticket",
            f"airel release status {CANDIDATE} --json --out release-status.md",
        ),
    ],
    "rollout status": [
        ("Every route: status, version, stable and candidate", "airel rollout status"),
        ("One route with its history", "airel rollout status fraud-scoring --json"),
    ],
    "rollout adopt": [
        (
            "Record what production ran before airel as the route's stable release",
            "airel rollout adopt fraud-scoring --release FRAUD-2026-006 "
            "--change-approval CHG-2026-0917",
        )
    ],
    "rollout analyse": [
        ("The current step's verdict, nothing moves", "airel rollout analyse fraud-scoring")
    ],
    "rollout advance": [
        (
            "Advance one step on the version you looked at (a re-run is a no-op)",
            "airel rollout advance fraud-scoring --expect-version 4 --to-step canary-2",
        )
    ],
    "rollout pause": [
        ("Hold the ramp", "airel rollout pause fraud-scoring --reason 'complaint spike'")
    ],
    "rollout resume": [("Let it move again", "airel rollout resume fraud-scoring")],
    "rollout abort": [
        (
            "Stop the rollout: all traffic to the stable release",
            f"airel rollout abort fraud-scoring --confirm {CANDIDATE}",
        )
    ],
    "reconcile": [
        ("One pass with the embedded router", "airel reconcile"),
        (
            "Loop, writing each route's split for the proxy",
            "airel reconcile --router-dir /etc/airel/routes --passes 360 --interval 10",
        ),
    ],
    "rollback apply": [
        (
            "The prompt back to the previous approved release's (emergency change)",
            f"airel rollback apply {CANDIDATE} --component prompt --reason 'refusals up' --yes",
        ),
        (
            "All traffic back to the approved rollback target",
            f"airel rollback apply {CANDIDATE} --component route --incident INC-2211 "
            f"--confirm {CANDIDATE}",
        ),
        (
            "Quarantine a batch run's outputs",
            f"airel rollback apply {CANDIDATE} --component batch --batch-run scores-2026-12-01",
        ),
    ],
    "rollback list": [
        ("Every rollback of a release", f"airel rollback list --release {CANDIDATE}")
    ],
    "rollback runbook": [
        ("The §8.6 runbook for the approvers' pack", f"airel rollback runbook {CANDIDATE}")
    ],
    "rollback drill": [
        (
            "Rehearse the rollback in staging, stored as G6 evidence",
            f"airel rollback drill {CANDIDATE} --out drill.md",
        )
    ],
    "ct trigger": [
        (
            "Record a drift trigger: build and freeze its candidate (held, never promoted)",
            "airel ct trigger ct-fraud-021.yaml --workdir training/",
        ),
        ("Record it without running the build", "airel ct trigger ct-fraud-021.yaml --no-build"),
    ],
    "ct check": [("Check a trigger file before recording it", "airel ct check ct-fraud-021.yaml")],
    "ct list": [("Every trigger of one use case", "airel ct list --use-case FRAUD-SCORING --json")],
    "ct record": [
        (
            "The §8.7 trigger record, for the model risk pack",
            "airel ct record CT-FRAUD-2026-021 --out ct-fraud-021.md",
        )
    ],
    "incident list": [
        ("Incidents of the production release", f"airel incident list --release {PRODUCTION}")
    ],
    "traffic-plan argo": [
        (
            "Argo Rollouts manifests of the plan, split by an NGINX ingress",
            "airel traffic-plan argo rollout.yaml --name fraud-score --namespace fraud "
            "--image registry.internal/fraud-score:2.0.0 --airel-url https://airel.internal "
            "--nginx-ingress fraud-score --out rollout-argo.yaml",
        )
    ],
    "traffic-plan flagger": [
        (
            "A Flagger Canary with airel as the webhook",
            "airel traffic-plan flagger rollout.yaml --name fraud-score --namespace fraud "
            "--image registry.internal/fraud-score:2.0.0 --airel-url https://airel.internal",
        )
    ],
    "traffic-plan alerts": [
        (
            "Prometheus alert rules for the candidate's stop conditions",
            f"airel traffic-plan alerts rollout.yaml --route fraud-scoring --release {CANDIDATE} "
            "--out alerts.yaml",
        )
    ],
    "serve api": [
        ("Serve the REST API on port 8780", "airel serve api"),
        ("For a team, on every interface", "airel serve api --host 0.0.0.0 --port 8780"),
    ],
    "serve gateway": [
        ("Serve the recorded routes on port 8787", "airel serve gateway"),
        (
            "On every interface; a failed candidate is an error, not a fallback",
            "airel serve gateway --host 0.0.0.0 --port 8080 --on-candidate-failure error",
        ),
    ],
    "canary analyse": [
        (
            "Decide the canary step from the traces since it began (exit 1 unless it passed)",
            "airel canary analyse fraud-scoring",
        ),
        (
            "A stricter family-wise error rate, as JSON",
            "airel canary analyse fraud-scoring --alpha 0.01 --json",
        ),
    ],
    "monitor": [
        (
            "A day of the production release: drift → CT trigger, degradation → incident",
            f"airel monitor {PRODUCTION} --since 2026-06-02T00:00:00Z --until 2026-06-03T00:00:00Z",
        )
    ],
    "traces query": [
        (
            "Who the candidate served during the canary (the rollback runbook's question)",
            f"airel traces query --release {CANDIDATE} --since 2026-06-02T00:00:00Z "
            "--until 2026-06-03T00:00:00Z",
        ),
        (
            "Every request one model version answered, as JSON",
            "airel traces query --component model_version=fraud-score:2.0.0 --json",
        ),
    ],
    "traces show": [("Every trace of one request", "airel traces show REQUEST_ID")],
    "traces verify": [("Check every trace batch against the audit chain", "airel traces verify")],
    "traces feedback": [
        ("A customer complained", "airel traces feedback REQUEST_ID --kind complaint"),
        (
            "An analyst overrode the answer",
            "airel traces feedback REQUEST_ID --kind override --review rejected "
            "--note 'decline reversed'",
        ),
    ],
    "audit verify": [
        ("Check every chain link and re-hash every record", "airel audit verify"),
        (
            "Also check a signed checkpoint kept outside the database",
            "airel audit verify --checkpoint /secure/airel-head.json --public-key audit.pub",
        ),
    ],
    "audit checkpoint": [
        (
            "Sign the chain head; keep the file outside the database",
            "airel audit checkpoint --key audit.pem --out /secure/airel-head.json",
        ),
    ],
    "audit keygen": [
        (
            "Create the checkpoint key pair",
            "airel audit keygen --private audit.pem --public audit.pub",
        )
    ],
}


# Commands that top-level verbs alias (``airel register`` → ``airel component register``): their
# examples are the alias's, spelled the canonical way.
CANONICAL = {
    "component register": "register",
    "gate approve": "approve",
    "gate accept-risk": "accept-risk",
}
for _canonical, _alias in CANONICAL.items():
    EXAMPLES[_canonical] = [
        (comment, re.sub(rf"(?<![\w-]){re.escape(_alias)}(?![\w-])", _canonical, line, count=1))
        for comment, line in EXAMPLES[_alias]
    ]


def epilog(path: str) -> str | None:
    """The help epilog of one command: its examples as a Markdown code block, or None."""
    examples = EXAMPLES.get(path)
    if not examples:
        return None
    lines = ["**Examples**", "", "```text"]
    for comment, line in examples:
        lines += [f"# {comment}", line]
    lines.append("```")
    return "\n".join(lines)
