"""Use case: evaluate classifier predictions on a versioned suite; compare candidate with
baseline; store the run and the §8.4 report in the eval registry (E1–E4, R5).

Datasets and evaluators are resolved to registered versions (an unregistered one is refused;
a dataset whose bytes no longer match their digest is refused), predictions are joined to the
eval items by id, metrics come with bootstrap confidence intervals, thresholds are judged
MLflow-style on the pessimistic end of the paired delta CI, slices are checked for material
regressions, and regression-set misses are critical failures listed with their examples —
never averaged away.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airel.adapters.documents.parse import load_document
from airel.adapters.eval.data import ScoredItems, join_scores, read_table
from airel.domain.eval.compare import Threshold, compare
from airel.domain.eval.metrics import confusion, cost_threshold, segment_fairness
from airel.domain.eval.record import EvalRecord
from airel.domain.eval.report import render_report
from airel.domain.eval.suite import EvalSuite, SliceSpec
from airel.domain.kernel.canonical import digest_of
from airel.domain.kernel.validation import parse_record
from airel.domain.release.components import ComponentVersion, EvalRole
from airel.domain.release.kinds import ComponentKind
from airel.errors import AirelError, IntegrityError, NotFoundError, Reason
from airel.services.data.profiling import sniff_format
from airel.services.kernel.context import Context
from airel.services.release.components import resolve_reference
from airel.store.contract import WriteTx

MAX_EXAMPLES = 20


@dataclass(frozen=True)
class EvalOutcome:
    """A stored comparison and its rendered report."""

    record: EvalRecord
    markdown: str


def load_suite(ctx: Context, path: Path) -> EvalSuite:
    """Parse an eval suite YAML strictly."""
    doc = load_document(path, ctx.limits)
    return parse_record(EvalSuite, doc.data, source=doc.source, lines=doc.lines)


def dataset(ctx: Context, ref: str) -> ComponentVersion:
    """The registered eval dataset (or dataset) a suite names; refused when unregistered."""
    with ctx.store.read() as tx:
        for kind in (ComponentKind.EVAL_DATASET, ComponentKind.DATASET):
            try:
                key = resolve_reference(tx, kind, ref, field="datasets")
            except AirelError:
                continue
            found = tx.get_component(key)
            if found is not None:
                return found
    raise NotFoundError(
        Reason.DANGLING_REFERENCE,
        f"eval dataset {ref} is not registered",
        fix="register it (`airel register eval_dataset …`) or correct the suite",
        details={"reference": ref},
    )


def _evaluators(ctx: Context, suite: EvalSuite) -> list[str]:
    nodes = []
    with ctx.store.read() as tx:
        for ref in suite.evaluators:
            nodes.append(
                resolve_reference(tx, ComponentKind.EVALUATOR, ref, field="evaluators").node
            )
    return nodes


def verified_blob(ctx: Context, component: ComponentVersion) -> Path:
    """The stored bytes of a dataset, re-hashed first: changed bytes are refused."""
    artifact = component.artifact
    if artifact is None:
        raise AirelError(
            Reason.ARTIFACT_MISSING,
            f"{component.key.node} has no stored artifact to evaluate on",
            fix="register the eval dataset with `artifact:`",
        )
    bad = [c for c in ctx.blobs.verify(artifact.digest) if not c.ok]
    if bad:
        raise IntegrityError(
            Reason.HASH_MISMATCH,
            f"{component.key.node}: stored bytes no longer match {artifact.digest}",
            fix="restore the dataset or register a new version; run `airel artifact verify`",
            details={"problems": [c.problem for c in bad]},
        )
    return ctx.blobs.path_of(artifact.digest)


def _verified_table(ctx: Context, component: ComponentVersion) -> pa.Table:
    blob = verified_blob(ctx, component)
    return read_table(blob, sniff_format(blob))


def _mask(attributes: pa.Table, spec: SliceSpec) -> np.ndarray:
    col = attributes[spec.column]
    if spec.equals is not None:
        hit = pc.equal(col, pa.scalar(spec.equals))
    elif spec.in_ is not None:
        hit = pc.is_in(col, value_set=pa.array(spec.in_))
    else:
        hit = pa.array([True] * attributes.num_rows)
        if spec.gte is not None:
            hit = pc.and_(hit, pc.greater_equal(col, spec.gte))
        if spec.lt is not None:
            hit = pc.and_(hit, pc.less(col, spec.lt))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def _classifier_extras(suite: EvalSuite, items: ScoredItems, scores: np.ndarray) -> dict[str, Any]:
    y = items.labels
    out: dict[str, Any] = {
        "confusion": confusion(y, scores, suite.decision_threshold).to_dict(),
    }
    if suite.cost is not None:
        out["cost"] = cost_threshold(
            y, scores, cost_fn=suite.cost.missed_positive, cost_fp=suite.cost.false_positive
        ).to_dict()
    if suite.fairness is not None:
        groups = items.attributes[suite.fairness.attribute].to_numpy(zero_copy_only=False)
        report = segment_fairness(y, scores, groups.astype(str), suite.decision_threshold)
        out["fairness"] = report.to_dict()
    return out


def _critical(
    role: EvalRole, items: ScoredItems, scores: np.ndarray, cut: float
) -> list[dict[str, Any]]:
    """Regression and red-team sets are must-pass: every incident (a positive) the candidate
    does not flag at the operating threshold is a critical failure, listed, never averaged."""
    if role not in (EvalRole.REGRESSION, EvalRole.RED_TEAM):
        return []
    missed = (items.labels.astype(np.int64) == 1) & (scores < cut)
    ids = items.ids.to_pylist()
    return [
        {"id": str(ids[i]), "label": 1, "score": float(scores[i])} for i in np.flatnonzero(missed)
    ]


def compare_predictions(
    ctx: Context,
    *,
    suite_path: Path,
    baseline: Path,
    candidate: Path,
    baseline_label: str = "baseline",
    candidate_label: str = "candidate",
) -> EvalOutcome:
    """Score baseline and candidate predictions on every suite dataset and compare (E3)."""
    suite = load_suite(ctx, suite_path)
    evaluators = _evaluators(ctx, suite)
    cols = suite.columns
    attrs = sorted(
        {s.column for s in suite.slices.values()}
        | ({suite.fairness.attribute} if suite.fairness else set())
    )
    preds = {
        "baseline": read_table(baseline, sniff_format(baseline)),
        "candidate": read_table(candidate, sniff_format(candidate)),
    }
    thresholds = [
        Threshold(t.metric, t.kind, t.value, t.resolved_direction(), t.hard, t.slice or "overall")
        for t in suite.thresholds
    ]
    datasets: list[dict[str, Any]] = []
    critical: list[dict[str, Any]] = []
    passed = True
    for ds in suite.datasets:
        component = dataset(ctx, ds.ref)
        table = _verified_table(ctx, component)
        joined = {
            side: join_scores(
                table,
                p,
                id_column=cols.id,
                label_column=cols.label,
                score_column=cols.score,
                attributes=attrs,
            )
            for side, p in preds.items()
        }
        base, cand = joined["baseline"], joined["candidate"]
        masks = {name: _mask(cand.attributes, spec) for name, spec in suite.slices.items()}
        # Thresholds judge golden and slice sets; regression and red-team sets are must-pass
        # cases judged by their critical failures (metrics are still reported with CIs).
        must_pass = ds.role in (EvalRole.REGRESSION, EvalRole.RED_TEAM)
        result = compare(
            cand.labels,
            base.scores,
            cand.scores,
            thresholds=[] if must_pass else thresholds,
            slices=masks,
            materiality=dict.fromkeys(("roc_auc", "pr_auc"), suite.materiality),
            resamples=suite.bootstrap.resamples,
            seed=suite.bootstrap.seed,
            alpha=suite.bootstrap.alpha,
        )
        misses = _critical(ds.role, cand, cand.scores, suite.decision_threshold)
        critical.extend({"dataset": component.key.node, **m} for m in misses)
        passed = passed and result.passed and not misses
        datasets.append(
            {
                "dataset": component.key.node,
                "digest": component.digest,
                "role": ds.role.value,
                "items": len(cand.labels),
                "comparison": result.to_dict(),
                "baseline": _classifier_extras(suite, base, base.scores),
                "candidate": _classifier_extras(suite, cand, cand.scores),
                "critical_failures": len(misses),
            }
        )
    body: dict[str, Any] = {
        "suite": suite.as_dict(),
        "evaluators": evaluators,
        "baseline": {"label": baseline_label, "predictions": str(baseline.name)},
        "candidate": {"label": candidate_label, "predictions": str(candidate.name)},
        "datasets": datasets,
        "critical_failures": {"count": len(critical), "examples": critical[:MAX_EXAMPLES]},
        "passed": passed,
    }
    body["report"] = render_report(body)
    return save_record(
        ctx, body, kind="comparison", subject=f"{baseline_label} -> {candidate_label}",
        action="eval.compare",
    )  # fmt: skip


def save_record(ctx: Context, body: dict[str, Any], *, kind: str, subject: str,
                action: str) -> EvalOutcome:  # fmt: skip
    """Store an eval run or comparison (idempotent on its id, the digest of the body without
    the rendered report) with its audit entry, in one transaction."""
    record = EvalRecord(
        record_id=digest_of({k: v for k, v in body.items() if k != "report"}),
        kind=kind,
        subject=subject,
        passed=bool(body["passed"]),
        body=body,
        created_at=ctx.stamp(),
        created_by=ctx.actor,
    )

    def write(tx: WriteTx) -> EvalRecord:
        existing = tx.get_eval_record(record.record_id)
        if existing is not None:
            return existing
        tx.insert_eval_record(record)
        tx.append_audit(
            actor=ctx.actor,
            action=action,
            subject=subject,
            before=None,
            after=record.record_id,
            details={"passed": record.passed, "critical": body["critical_failures"]["count"]},
        )
        return record

    stored = ctx.store.write(write)
    return EvalOutcome(stored, str(stored.body.get("report", "")))


def get_record(ctx: Context, record_id: str) -> EvalRecord:
    """A stored eval record."""
    with ctx.store.read() as tx:
        found = tx.get_eval_record(record_id)
    if found is None:
        raise NotFoundError(
            Reason.COMPONENT_NOT_FOUND,
            f"eval record {record_id} not found",
            fix="list them with `airel eval list`",
        )
    return found


def list_records(ctx: Context) -> list[EvalRecord]:
    """Stored eval records, oldest first."""
    with ctx.store.read() as tx:
        return tx.list_eval_records()


# Public aliases of the helpers above, shared with single-model runs (services/eval/single.py).
resolve_evaluators = _evaluators
verified_table = _verified_table
slice_mask = _mask
classifier_extras = _classifier_extras
critical_misses = _critical
