"""Use case: evaluate ONE classifier's predictions on a ``task: classifier`` suite; store the
run in the eval registry (E1–E4, R5) — ``airel eval run`` for classifiers. The predictions
file is Parquet, Arrow, CSV or JSON Lines (``.jsonl``/``.ndjson``) with the suite's id and
score columns.

As in :func:`~airel.services.eval.evaluation.compare_predictions`, the suite's datasets and
evaluators are resolved to registered versions (unregistered → refused; bytes that no longer
match their digest → refused) and the predictions are joined to the eval items by id (every
item needs exactly one prediction). Per dataset and slice every metric gets a seeded bootstrap
CI; the confusion at the suite's decision threshold, the cost-optimal threshold (with a cost
matrix) and segment fairness (with a fairness attribute) are reported. Only ``absolute``
thresholds apply, judged on the pessimistic end of the CI (see
:mod:`airel.domain.eval.run`); change thresholds are listed as not applicable without a
baseline. Regression and red-team sets are must-pass: every incident the model does not flag
at the decision threshold is a critical failure, listed with its example, never averaged away.
The run is stored as ``EvalRecord(kind="run")`` with its Markdown summary and audited as
``eval.run``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airel.adapters.eval.data import join_scores, read_table
from airel.adapters.files.hashing import hash_file
from airel.domain.eval.compare import Threshold
from airel.domain.eval.run import evaluate_single, render_run_report
from airel.domain.eval.suite import EvalSuite, EvalTask
from airel.domain.release.components import EvalRole
from airel.errors import Reason, ValidationError
from airel.services.data.profiling import sniff_format
from airel.services.eval.evaluation import (
    MAX_EXAMPLES,
    EvalOutcome,
    classifier_extras,
    critical_misses,
    load_suite,
    resolve_evaluators,
    save_record,
    slice_mask,
    verified_table,
)
from airel.services.eval.evaluation import dataset as registered_dataset
from airel.services.kernel.context import Context


def _predictions_format(path: Path) -> str:
    """JSON Lines by suffix; otherwise Parquet/Arrow by magic bytes, else CSV."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        sniff_format(path)  # a missing file is ARTIFACT_MISSING, as for the other formats
        return "jsonl"
    return sniff_format(path)


def _over_limit(suite: EvalSuite, extras: dict[str, Any]) -> list[dict[str, Any]]:
    """Fairness gaps above the suite's limits (reported; the gate decides what they mean)."""
    fair, spec = extras.get("fairness"), suite.fairness
    if fair is None or spec is None:
        return []
    limits = {
        "tpr_gap": spec.max_tpr_gap,
        "fpr_gap": spec.max_fpr_gap,
        "approval_gap": spec.max_approval_gap,
    }
    return [
        {"gap": gap, "value": fair[gap]["value"], "limit": limit}
        for gap, limit in limits.items()
        if limit is not None and fair[gap]["value"] is not None and fair[gap]["value"] > limit
    ]


def run_classifier_suite(
    ctx: Context, *, suite_path: Path, predictions: Path, label: str
) -> EvalOutcome:
    """Evaluate one predictions file on every dataset of a classifier suite; store the run."""
    suite = load_suite(ctx, suite_path)
    if suite.task is not EvalTask.CLASSIFIER:
        raise ValidationError(
            Reason.INVALID_VALUE,
            f"suite {suite.name} is a {suite.task.value} suite",
            fix="classifier runs need a `task: classifier` suite",
        )
    evaluators = resolve_evaluators(ctx, suite)
    cols = suite.columns
    attrs = sorted(
        {s.column for s in suite.slices.values()}
        | ({suite.fairness.attribute} if suite.fairness else set())
    )
    preds = read_table(predictions, _predictions_format(predictions))
    preds_digest, _ = hash_file(predictions)
    thresholds = [
        Threshold(t.metric, t.kind, t.value, t.resolved_direction(), t.hard, t.slice or "overall")
        for t in suite.thresholds
    ]
    datasets: list[dict[str, Any]] = []
    critical: list[dict[str, Any]] = []
    passed = True
    for ds in suite.datasets:
        component = registered_dataset(ctx, ds.ref)
        items = join_scores(
            verified_table(ctx, component),
            preds,
            id_column=cols.id,
            label_column=cols.label,
            score_column=cols.score,
            attributes=attrs,
        )
        masks = {name: slice_mask(items.attributes, spec) for name, spec in suite.slices.items()}
        # As in compare: thresholds judge golden and slice sets; regression and red-team sets
        # are must-pass cases judged by their critical failures (metrics still reported).
        must_pass = ds.role in (EvalRole.REGRESSION, EvalRole.RED_TEAM)
        result = evaluate_single(
            items.labels,
            items.scores,
            thresholds=[] if must_pass else thresholds,
            slices=masks,
            resamples=suite.bootstrap.resamples,
            seed=suite.bootstrap.seed,
            alpha=suite.bootstrap.alpha,
        )
        misses = critical_misses(ds.role, items, items.scores, suite.decision_threshold)
        critical.extend({"dataset": component.key.node, **m} for m in misses)
        passed = passed and result.passed and not misses
        extras = classifier_extras(suite, items, items.scores)
        datasets.append(
            {
                "dataset": component.key.node,
                "digest": component.digest,
                "role": ds.role.value,
                "items": len(items.labels),
                "run": result.to_dict(),
                "classifier": extras,
                "fairness_over_limit": _over_limit(suite, extras),
                "critical_failures": len(misses),
            }
        )
    body: dict[str, Any] = {
        "suite": suite.as_dict(),
        "evaluators": evaluators,
        "label": label,
        "target": {"predictions": predictions.name, "digest": preds_digest},
        "datasets": datasets,
        "critical_failures": {"count": len(critical), "examples": critical[:MAX_EXAMPLES]},
        "passed": passed,
    }
    body["report"] = render_run_report(body)
    return save_record(ctx, body, kind="run", subject=label, action="eval.run")
