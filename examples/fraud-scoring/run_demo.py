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
6. prints the candidate bundle, its completeness, its lineage both ways, the §7.2
   reproducibility report, the diff against production, and verifies the audit chain.

Usage: ``python examples/fraud-scoring/run_demo.py [--workdir DIR] [--rows N]``
(the README's ``./scripts/demo`` runs it in a fresh virtual environment).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from airel import Client

HERE = Path(__file__).resolve().parent
IMAGES = {
    "fraud-pipeline": "registry.example/fraud-pipeline",
    "fraud-serving": "registry.example/fraud-serving",
}
# The image digests the release YAML files pin (images are built by the service's own CI).
PIPELINE_DIGEST = "5f0c6a1e9d2b4c7a8e3f1d0b9c8a7e6f5d4c3b2a1908f7e6d5c4b3a291807f6e"
SERVING_DIGESTS = (
    "8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b",
    "c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3",
)
STATIC = [
    "eval-suite.yaml",
    "features.py",
    "features.spec.yaml",
    "policies",
    "release-baseline.yaml",
    "release.yaml",
]


def step(title: str) -> None:
    """Print a step header."""
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def airel(*args: str, check: bool = True) -> int:
    """Run the airel CLI as a user would; return its exit code."""
    cmd = [sys.executable, "-m", "airel.cli", *args]
    print(f"$ airel {' '.join(args)}", flush=True)
    width = max(160, int(os.environ.get("COLUMNS", "0") or 0))
    env = {**os.environ, "COLUMNS": str(width)}
    result = subprocess.run(cmd, check=False, env=env)
    if check and result.returncode not in (0,):
        raise SystemExit(f"airel {' '.join(args)} exited {result.returncode}")
    return result.returncode


class _QuotedDumper(yaml.SafeDumper):
    """Quotes every string, so a YAML 1.2 reader never re-types "09" or "1e3" as a number."""


_QuotedDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
)


def dump(path: Path, spec: dict[str, Any]) -> Path:
    """Write a spec as YAML."""
    text = yaml.dump(spec, Dumper=_QuotedDumper, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def lock_file_hash() -> str:
    """sha256 of the pinned package set the training ran with (the image's lock file)."""
    lines = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def specs(work: Path) -> list[tuple[str, dict[str, Any]]]:
    """Component specs derived from what the data generator and the trainer produced."""
    data = json.loads((work / "data" / "data_manifest.json").read_text())
    files = {f["file"]: f for f in data["files"]}
    runs = json.loads((work / "models" / "train_manifest.json").read_text())["runs"]

    def dataset(name: str, file: str, usage: str) -> dict[str, Any]:
        f = files[file]
        return {
            "kind": "dataset",
            "name": name,
            "version": "1",
            "description": f"{usage} snapshot of card authorisations",
            "owner": "fraud-data-engineering",
            "source_lineage": ["cards.authorisations", "disputes.chargebacks"],
            "snapshot": {
                "query": data["query"],
                "partition": f"event_time in [{f['time_window']['start']}, "
                f"{f['time_window']['end']})",
                "window_start": f["time_window"]["start"],
                "window_end": f["time_window"]["end"],
            },
            "schema": {c["name"]: c["type"] for c in f["columns"]},
            "classification": "confidential",
            "retention": "7y",
            "allowed_use": ["fraud-detection", "model-validation"],
            "row_count": f["rows"],
            "artifact": f"data/{file}",
        }

    def model(version: str, run: dict[str, Any], folder: str, **extra: Any) -> dict[str, Any]:
        params = json.loads((work / "models" / folder / "params.json").read_text())
        signature = json.loads((work / "models" / folder / "signature.json").read_text())
        return {
            "kind": "model",
            "name": "fraud-score",
            "version": version,
            "description": f"{run['algorithm']} fraud scorer ({folder})",
            "owner": "Fraud Analytics Lead",
            "risk_tier": "Tier 1",
            "signature": {"inputs": signature["inputs"], "outputs": [signature["output"]]},
            "training_run_id": run["training_run_id"],
            "training_dataset": "FRAUD-TRAIN-2026H1:1",
            "feature_view": "fraud-auth-features:11",
            "training": {
                "algorithm": run["algorithm"],
                "framework": f"scikit-learn {params.get('sklearn_version', '')}".strip(),
                "params": params.get("hyperparameters", {}),
                "seed": params.get("seed", 7),
                "metrics": run["metrics"],
            },
            "monitoring_dashboard": "grafana/d/fraud-score-quality",
            "artifact": f"models/{folder}",
            **extra,
        }

    baseline, candidate = runs[0], runs[1]
    lock_hash = lock_file_hash()
    regression_rows = write_regression_set(work)
    return [
        (
            "code",
            {
                "name": "fraud-scoring-service",
                "version": "4e1d2c9",
                "repo": "git.example/fraud/fraud-scoring",
                "commit": "4e1d2c9",
                "branch": "main",
                "build_id": "BUILD-2026-1187",
                "reviewers": ["r.de-vries"],
            },
        ),
        (
            "code",
            {
                "name": "fraud-scoring-service",
                "version": "7c3b5e0",
                "repo": "git.example/fraud/fraud-scoring",
                "commit": "7c3b5e0",
                "branch": "main",
                "build_id": "BUILD-2026-1242",
                "reviewers": ["a.jansen"],
            },
        ),
        *[
            (
                "container_image",
                {
                    "name": name,
                    "version": version,
                    "image": f"{IMAGES[name]}@sha256:{digest}",
                    "base_image": "python:3.11-slim",
                    "lock_file_hash": lock_hash,
                    "hardware_profile": "2 vCPU x86-64, no accelerator",
                    "code": code,
                },
            )
            for name, version, digest, code in (
                ("fraud-pipeline", "2026.03", PIPELINE_DIGEST, "fraud-scoring-service:4e1d2c9"),
                ("fraud-serving", "2026.04", SERVING_DIGESTS[0], "fraud-scoring-service:4e1d2c9"),
                ("fraud-serving", "2026.05", SERVING_DIGESTS[1], "fraud-scoring-service:7c3b5e0"),
            )
        ],
        ("dataset", dataset("FRAUD-TRAIN-2026H1", "train.parquet", "training")),
        ("dataset", dataset("FRAUD-VALIDATION-2026H1", "validation.parquet", "validation")),
        (
            "policy",
            {
                "name": "FRAUD-LABEL-GUIDE",
                "version": "1.4",
                "format": "markdown",
                "text_file": "policies/label_guide.md",
                "approval": "Fraud Ops Council 2026-02-11",
            },
        ),
        (
            "policy",
            {
                "name": "fraud-decision-policy",
                "version": "3.1",
                "format": "yaml",
                "text_file": "policies/decision_policy.yaml",
                "approval": "Fraud Risk Committee 2026-03-04",
            },
        ),
        (
            "feature_view",
            {
                "name": "fraud-auth-features",
                "version": "11",
                "owner": "fraud-data-engineering",
                "entity_key": "customer_id",
                "features": [
                    {"name": c["name"], "dtype": c["type"]}
                    for c in files["train.parquet"]["columns"]
                    if c["name"]
                    not in {
                        "transaction_id",
                        "customer_id",
                        "event_time",
                        "label_fraud",
                        "chargeback_date",
                    }
                ],
                "transform": "features.py",
                "freshness_sla": "15m",
                "serving_view": "online.fraud_auth_features_v11",
                "allowed_use": ["fraud-detection"],
                "source_datasets": ["FRAUD-TRAIN-2026H1:1"],
                "validation_spec": "features.spec.yaml",
            },
        ),
        (
            "model",
            model(
                "1.0.0",
                baseline,
                "baseline",
                approved_stage="production",
                review_expiry="2026-09-30",
            ),
        ),
        ("model", model("2.0.0", candidate, "candidate", rollback_target="fraud-score:1.0.0")),
        (
            "eval_dataset",
            {
                "name": "FRAUD-GOLDEN-2026H1",
                "version": "1",
                "role": "golden",
                "row_count": files["validation.parquet"]["rows"],
                "derived_from": ["FRAUD-VALIDATION-2026H1:1"],
                "artifact": "data/validation.parquet",
            },
        ),
        (
            "eval_dataset",
            {
                "name": "FRAUD-REGRESSION-2026H1",
                "version": "1",
                "role": "regression",
                "row_count": regression_rows,
                "derived_from": ["FRAUD-VALIDATION-2026H1:1"],
                "description": "past incidents: card-not-present bursts, new-card cross-border",
                "artifact": "data/regression.parquet",
            },
        ),
        (
            "evaluator",
            {
                "name": "ROC-AUC",
                "version": "1",
                "evaluator_type": "metric",
                "thresholds": {"min": 0.85, "min_delta": -0.005},
            },
        ),
        (
            "evaluator",
            {
                "name": "COST-THRESHOLD",
                "version": "1",
                "evaluator_type": "metric",
                "thresholds": {"cost_missed_fraud_eur": 500, "cost_false_decline_eur": 12},
            },
        ),
        (
            "evaluator",
            {
                "name": "SEGMENT-FAIRNESS",
                "version": "1",
                "evaluator_type": "metric",
                "thresholds": {"max_fpr_gap": 0.02, "segment": "vulnerable_customer"},
            },
        ),
    ]


def write_regression_set(work: Path) -> int:
    """Every past incident becomes a regression case (E1): the night-time card-testing attacks
    production missed (several quick online payments within an hour, before 06:00) and
    account takeovers of new cards abroad. Must-pass: a missed one is a critical failure."""
    table = pq.read_table(work / "data" / "validation.parquet")
    testing = pc.and_(
        pc.and_(
            pc.equal(table["channel"], "ecommerce"), pc.greater_equal(table["txn_count_1h"], 3)
        ),
        pc.less(table["hour_of_day"], 6),
    )
    takeover = pc.and_(
        pc.and_(table["is_cross_border"], pc.less(table["card_age_days"], 21)),
        pc.greater_equal(table["distinct_merchants_24h"], 3),
    )
    fraud = pc.equal(table["label_fraud"], 1)
    incidents = table.filter(pc.and_(fraud, pc.or_(testing, takeover)))
    pq.write_table(incidents, work / "data" / "regression.parquet")
    return incidents.num_rows


def write_skewed_serving_sample(work: Path) -> Path:
    """The serving path's features for the validation transactions, with two real-world bugs:
    gross instead of net amounts for 10 % of card-not-present payments, and a 24 h velocity
    counter that misses the current transaction for 5 % of rows (training-serving skew)."""
    table = pq.read_table(work / "data" / "validation.parquet")
    rng = np.random.default_rng(11)
    n = table.num_rows
    ecommerce = pc.equal(table["channel"], "ecommerce").to_numpy(zero_copy_only=False)
    gross = ecommerce & (rng.random(n) < 0.10)
    amount = table["amount"].to_numpy() * np.where(gross, 1.21, 1.0)
    stale = rng.random(n) < 0.05
    count_24h = table["txn_count_24h"].to_numpy() - stale.astype(np.int64)
    table = table.set_column(table.schema.get_field_index("amount"), "amount", [amount])
    table = table.set_column(
        table.schema.get_field_index("txn_count_24h"), "txn_count_24h", [count_24h]
    )
    keep = [c for c in table.column_names if c not in ("label_fraud", "chargeback_date")]
    out = work / "data" / "serving_recomputed.parquet"
    pq.write_table(table.select(keep), out)
    return out


def evaluate_models() -> int:
    """The offline-evaluation step (issue 4): baseline vs candidate with paired CIs."""
    step("offline evaluation: baseline vs candidate on golden, regression and slice sets")
    return airel(
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
        "FRAUD-SCORING-2026-002",
        check=False,
    )


def show_evidence() -> None:
    """Lineage both ways, reproducibility, the diff to production, and verification."""
    step("lineage: what went into the candidate release")
    airel("lineage", "FRAUD-SCORING-2026-002", "--upstream")
    step("lineage: which releases used the training snapshot")
    airel("lineage", "dataset/FRAUD-TRAIN-2026H1:1", "--downstream")
    step("reproducibility evidence (§7.2)")
    airel("bundle", "repro", "FRAUD-SCORING-2026-002")
    step("what changed versus production (B4)")
    airel("bundle", "diff", "FRAUD-SCORING-2026-001", "FRAUD-SCORING-2026-002")
    step("verify: bundle digests and artifacts, then the audit chain")
    airel("bundle", "verify", "FRAUD-SCORING-2026-002")
    airel("audit", "verify")


def validate_data(work: Path) -> None:
    """The data-validation step (issue 3): nine dimensions, card stored as evidence."""
    step("validate the data: newer snapshot vs the training reference, with a skewed serving path")
    serving = write_skewed_serving_sample(work)
    code = airel(
        "validate",
        "--current",
        "FRAUD-VALIDATION-2026H1:1",
        "--reference",
        "FRAUD-TRAIN-2026H1:1",
        "--serving",
        str(serving.relative_to(work)),
        "--spec",
        "fraud-auth-features:11",
        "--use-case",
        "fraud-detection",
        "--as-of",
        "2026-05-26T00:00:00+00:00",
        "--card",
        "validation-card.md",
        check=False,
    )
    print(f"  (validate exited {code}: hard findings block G1/G3 until fixed or accepted;")
    print("   the card is in validation-card.md and stored as evidence)")


CANDIDATE = "FRAUD-SCORING-2026-002"
IDENTITIES = """
# Who holds which approver roles (G6). The REST API's authentication replaces this later.
[identities]
mara-okafor = ["model_risk"]
lena-vos = ["compliance"]
sam-de-wit = ["business_owner"]
release-manager = ["release_manager", "business_owner"]
"""


def latest_validation() -> str:
    """The id of the last validation run in the store (the monitoring run above)."""
    client = Client(actor="fraud-ml-pipeline")
    try:
        return client.validation_runs()[-1].run_id
    finally:
        client.close()


def write_scoring_snapshot(work: Path) -> tuple[Path, Path]:
    """The fix for G3: the serving path recomputes features with the training code (no skew),
    and the scoring snapshot carries only model inputs — no post-outcome chargeback date and no
    restricted vulnerable-customer flag (that one stays for fairness slices in offline eval)."""
    table = pq.read_table(work / "data" / "validation.parquet")
    table = table.drop_columns(["chargeback_date", "vulnerable_customer"])
    snapshot, serving = (
        work / "data" / "scoring_snapshot.parquet",
        work / "data" / "serving.parquet",
    )
    pq.write_table(table, snapshot)
    pq.write_table(table.drop_columns(["label_fraud"]), serving)
    return snapshot, serving


def gate_release(work: Path) -> int:
    """The gate step (issue 5): evidence → G0–G4 decisions, an exception, the §8.1 memo."""
    step("gate evidence: CI results (G2) and the monitoring validation run (G3); the eval")
    print("  comparison (G4) was linked by `eval compare --release` above")
    (work / "airel.toml").write_text(IDENTITIES, encoding="utf-8")
    airel(
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
    airel("evidence", "link", CANDIDATE, "--validation", latest_validation())
    step("gate check G0–G4: the validation above found skew, leakage and a restricted feature")
    airel("gate", "check", CANDIDATE, "--through", "G4", check=False)
    step("fix the serving path and the scoring snapshot; validate again as the release's G3 run")
    snapshot, serving = write_scoring_snapshot(work)
    airel(
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
        "2026-05-26T00:00:00+00:00",
        "--release",
        CANDIDATE,
    )
    step("gate check G0–G4: one soft finding (the restricted column is absent on purpose)")
    airel("gate", "check", CANDIDATE, "--through", "G4", check=False)
    step("segregation of duties: the release manager froze the bundle and cannot sign for it")
    airel(
        "--actor", "release-manager", "approve", CANDIDATE, "--role", "business_owner", check=False
    )
    step("model risk records an exception for the soft finding, with conditions")
    airel(
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
    step("gate check G0–G4: limited go with conditions")
    code = airel("gate", "check", CANDIDATE, "--through", "G4", check=False)
    airel("gate", "memo", CANDIDATE, "--out", "gate-memo.md", "--html", "gate-memo.html")
    print("  (the §8.1 gate memo is in gate-memo.md and gate-memo.html)")
    step("a second candidate: the production release has no rollback target — no-go")
    airel("gate", "check", "FRAUD-SCORING-2026-001", "--through", "G4", check=False)
    return code


def main() -> int:
    """Run the demo; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=HERE / "work")
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    started = time.perf_counter()

    work: Path = args.workdir.resolve()
    step(f"fresh work directory {work}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in STATIC:
        src = HERE / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)

    step("generate synthetic card transactions and train baseline + candidate")
    py = sys.executable
    subprocess.run(
        [py, str(HERE / "generate_data.py"), "--out", str(work / "data"), "--rows", str(args.rows)],
        check=True,
    )
    subprocess.run(
        [py, str(HERE / "train.py"), "--data", str(work / "data"), "--out", str(work / "models")],
        check=True,
    )

    os.chdir(work)
    step("airel init (embedded store in ./.airel)")
    airel("init")

    step("register every component the releases are built from")
    client = Client(actor="fraud-ml-pipeline")
    (work / "specs").mkdir()
    for i, (kind, spec) in enumerate(specs(work)):
        path = dump(work / "specs" / f"{i:02d}-{kind}-{spec['name']}.yaml", spec)
        result = client.register(path, kind=kind, base_dir=work)
        c = result.component
        art = f"  artifact {c.artifact.digest[:19]}… ({c.artifact.size:,} B)" if c.artifact else ""
        print(f"  registered {c.kind.value:<15} {c.name}:{c.version}{art}")
    client.set_alias("model", "fraud-score", "production", "1.0.0", reason="in production")
    client.set_alias("model", "fraud-score", "candidate", "2.0.0", reason="CT candidate")
    client.close()

    step("freeze the production release, then the candidate (rollback target = production)")
    airel("--actor", "release-manager", "bundle", "create", "release-baseline.yaml", check=False)
    print("  (the production release predates airel and has no rollback target of its own:")
    print("   its completeness report says so — that gap is what the candidate closes)")
    code = airel("--actor", "release-manager", "bundle", "create", "release.yaml")

    validate_data(work)
    evaluate_models()
    gate_code = gate_release(work)

    show_evidence()
    print(f"\ndemo finished in {time.perf_counter() - started:.1f} s; store: {work / '.airel'}")
    return code or gate_code


if __name__ == "__main__":
    raise SystemExit(main())
