"""Train the baseline and candidate fraud-scoring models for the airel demo.

Reads ``train.parquet`` and ``validation.parquet`` written by ``generate_data.py`` and trains
two models:

* baseline: logistic regression on five columns (scaled numbers, one-hot categories);
* candidate: histogram gradient boosting on every feature column.

Each model gets its own directory with the model, saved with ``skops.io`` (a format that,
unlike pickle, does not run arbitrary code on load), its input/output signature, its
hyper-parameters, its validation metrics and its validation predictions. These are the
artefacts a governed release refers to. ``train_manifest.json`` ties them to a training run id.

Identifiers, the event time, the label and ``chargeback_date`` are never used as features. The
last one is only known weeks after the event, so using it would leak the outcome.

Everything is seeded: two runs with the same data and seed write byte-identical metrics.

Usage::

    python train.py --data data/ --out models/ [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sklearn
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

LABEL = "label_fraud"
ID_COLUMN = "transaction_id"
OUTPUT = {"name": "fraud_score", "type": "float", "range": [0, 1]}
RUN_ID_PREFIX = "TRN-FRAUD-2026-"


@dataclass(frozen=True)
class ModelSpec:
    """A model's name and its input columns, split by how they are preprocessed."""

    name: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]


BASELINE = ModelSpec(
    name="baseline",
    numeric=("amount", "is_cross_border", "hour_of_day"),
    categorical=("channel", "merchant_category"),
)
CANDIDATE = ModelSpec(
    name="candidate",
    numeric=(
        "amount",
        "is_cross_border",
        "card_age_days",
        "txn_count_1h",
        "txn_count_24h",
        "amount_sum_24h",
        "distinct_merchants_24h",
        "hour_of_day",
    ),
    categorical=("currency", "merchant_category", "channel", "country"),
)


def build_baseline(seed: int) -> Pipeline:
    preprocess = ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(BASELINE.numeric)),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(BASELINE.categorical)),
        ]
    )
    classifier = LogisticRegression(C=1.0, max_iter=1_000, random_state=seed)
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def build_candidate(seed: int) -> HistGradientBoostingClassifier:
    # The categorical columns are encoded inside the model (native categorical support).
    return HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=400,
        max_leaf_nodes=31,
        min_samples_leaf=50,
        l2_regularization=1.0,
        categorical_features=list(CANDIDATE.categorical),
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=30,
        random_state=seed,
    )


# --- Helpers ----------------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def time_window(table: pa.Table) -> dict[str, str]:
    first, last = pc.min_max(table.column("event_time")).values()
    return {
        moment: value.as_py().astimezone(UTC).isoformat().replace("+00:00", "Z")
        for moment, value in (("start", first), ("end", last))
    }


def json_params(params: dict[str, Any]) -> dict[str, Any]:
    """The estimator's own hyper-parameters, as JSON values."""

    def convert(value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list | tuple):
            return [convert(item) for item in value]
        return repr(value)

    return {key: convert(value) for key, value in sorted(params.items())}


def evaluate(label: np.ndarray, score: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": round(float(roc_auc_score(label, score)), 6),
        "pr_auc": round(float(average_precision_score(label, score)), 6),
        "brier_score": round(float(brier_score_loss(label, score)), 6),
    }


# --- Training ---------------------------------------------------------------------------------
def train_one(
    spec: ModelSpec, model: Any, *, train: pa.Table, validation: pa.Table, out: Path, seed: int
) -> dict[str, Any]:
    """Fit, evaluate and save one model; return what was written."""
    classifier = model[-1] if isinstance(model, Pipeline) else model
    started = time.perf_counter()
    model.fit(train.select(spec.features), train.column(LABEL).to_numpy())
    fit_seconds = time.perf_counter() - started

    score = model.predict_proba(validation.select(spec.features))[:, 1]
    label = validation.column(LABEL).to_numpy()
    metrics = evaluate(label, score)

    directory = out / spec.name
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / "model.skops"
    sio.dump(model, model_path)
    # Loading a skops file asks the caller to trust every type it is not sure is safe. Record
    # the list so that a reviewer can approve it, and check that the file scores identically.
    untrusted = sio.get_untrusted_types(file=model_path)
    reloaded = sio.load(model_path, trusted=untrusted)
    assert np.array_equal(reloaded.predict_proba(validation.select(spec.features))[:, 1], score)

    schema = train.schema
    signature = {
        "inputs": [{"name": name, "type": str(schema.field(name).type)} for name in spec.features],
        "output": OUTPUT,
    }
    params = {
        "algorithm": type(classifier).__name__,
        "library": "scikit-learn",
        "hyperparameters": json_params(classifier.get_params()),
        "preprocessing": (
            {"numeric": "StandardScaler", "categorical": "OneHotEncoder(handle_unknown='ignore')"}
            if isinstance(model, Pipeline)
            else {"categorical": "native (categorical_features)"}
        ),
        "features": {"numeric": list(spec.numeric), "categorical": list(spec.categorical)},
        "seed": seed,
        "sklearn_version": sklearn.__version__,
        "skops_version": version("skops"),
        "training_rows": train.num_rows,
        "training_positives": int(pc.sum(train.column(LABEL)).as_py()),
        "training_window": time_window(train),
        "skops_untrusted_types": untrusted,
    }
    if isinstance(classifier, HistGradientBoostingClassifier):
        params["boosting_iterations"] = int(classifier.n_iter_)
    metrics_doc = {
        "dataset": "validation.parquet",
        "rows": validation.num_rows,
        "positives": int(label.sum()),
        "evaluation_window": time_window(validation),
        **metrics,
    }
    predictions = pa.table(
        {
            ID_COLUMN: validation.column(ID_COLUMN),
            OUTPUT["name"]: pa.array(score, type=pa.float64()),
            LABEL: validation.column(LABEL),
        }
    )

    write_json(directory / "signature.json", signature)
    write_json(directory / "params.json", params)
    write_json(directory / "metrics.json", metrics_doc)
    pq.write_table(predictions, directory / "predictions_validation.parquet", compression="zstd")

    print(
        f"{spec.name:<10} {params['algorithm']:<32} "
        f"ROC AUC {metrics['roc_auc']:.4f}  PR AUC {metrics['pr_auc']:.4f}  "
        f"Brier {metrics['brier_score']:.5f}  (fit {fit_seconds:.1f} s)"
    )
    files = [
        "model.skops",
        "signature.json",
        "params.json",
        "metrics.json",
        "predictions_validation.parquet",
    ]
    return {
        "model": spec.name,
        "algorithm": params["algorithm"],
        "metrics": metrics,
        "files": {
            name: {"path": f"{spec.name}/{name}", "sha256": sha256_of(directory / name)}
            for name in files
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="directory of generate_data.py")
    parser.add_argument("--out", type=Path, required=True, help="directory to write models to")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = parser.parse_args()

    train = pq.read_table(args.data / "train.parquet")
    validation = pq.read_table(args.data / "validation.parquet")
    args.out.mkdir(parents=True, exist_ok=True)

    common = {"train": train, "validation": validation, "out": args.out, "seed": args.seed}
    runs = [
        train_one(BASELINE, build_baseline(args.seed), **common),
        train_one(CANDIDATE, build_candidate(args.seed), **common),
    ]
    for number, run in enumerate(runs, start=1):
        run["training_run_id"] = f"{RUN_ID_PREFIX}{number:04d}"

    data_manifest = args.data / "data_manifest.json"
    manifest = {
        "seed": args.seed,
        "data": {
            "manifest": {"path": str(data_manifest), "sha256": sha256_of(data_manifest)},
            "train": {
                "path": str(args.data / "train.parquet"),
                "sha256": sha256_of(args.data / "train.parquet"),
            },
            "validation": {
                "path": str(args.data / "validation.parquet"),
                "sha256": sha256_of(args.data / "validation.parquet"),
            },
        },
        "paths_relative_to": str(args.out),
        "runs": [{"training_run_id": run.pop("training_run_id"), **run} for run in runs],
    }
    write_json(args.out / "train_manifest.json", manifest)

    base, cand = (run["metrics"] for run in runs)
    print(
        f"candidate - baseline: ROC AUC {cand['roc_auc'] - base['roc_auc']:+.4f}, "
        f"PR AUC {cand['pr_auc'] - base['pr_auc']:+.4f}"
    )
    print(f"wrote {args.out / 'train_manifest.json'}")


if __name__ == "__main__":
    main()
