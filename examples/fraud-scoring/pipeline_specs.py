"""What the fraud-scoring training pipeline produced, as airel component specs and data files.

``specs`` derives every component spec the demo registers from the data generator's and the
trainer's manifests (row counts, windows, params, seeds, metrics, signatures); the ``write_*``
functions derive the demo's extra data files (the regression set of past incidents, a
serving sample with training-serving skew, and the fixed scoring snapshot). Used by
``run_demo.py``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

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
    return int(incidents.num_rows)


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
