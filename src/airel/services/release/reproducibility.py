"""Use case: the §7.2 reproducibility report of a release (R8).

Each §7.2 item is *present* (all its minimum content is recorded), *partial* (something is
recorded but not enough to reproduce), *missing*, or *not applicable* to the pipeline type.
The report reads only what the registry holds: a claim in the bundle YAML that no registered
record backs is not evidence.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from airel.domain.kernel.tiers import PipelineType
from airel.domain.release.bundle import FrozenBundle
from airel.domain.release.components import ComponentKey, ComponentVersion
from airel.services.kernel.context import Context
from airel.services.release.bundles import get_bundle

_PINNED_IMAGE = re.compile(r"@sha256:[0-9a-f]{64}$")


class ItemStatus(StrEnum):
    """How complete one reproducibility item is."""

    PRESENT = "present"  # every minimum field of §7.2 is recorded
    PARTIAL = "partial"  # recorded, but something needed to reproduce is missing
    MISSING = "missing"  # nothing recorded
    NOT_APPLICABLE = "n/a"  # the pipeline type has no such item


class ReproItem(BaseModel):
    """One §7.2 row."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    item: str
    status: ItemStatus
    evidence: list[str]
    lacking: list[str]


class ReproReport(BaseModel):
    """The reproducibility report of one release."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    release_id: str
    digest: str
    complete: bool
    items: list[ReproItem]


def repro_item(name: str, evidence: list[str], lacking: list[str]) -> ReproItem:
    if not evidence:
        status = ItemStatus.MISSING
    elif lacking:
        status = ItemStatus.PARTIAL
    else:
        status = ItemStatus.PRESENT
    return ReproItem(item=name, status=status, evidence=evidence, lacking=lacking)


def _need(fields: dict[str, Any], names: list[str]) -> list[str]:
    return [n for n in names if fields.get(n) in (None, "", [], {})]


def reproducibility(
    ctx: Context, release_id: str, *, approval: ReproItem | None = None
) -> ReproReport:
    """Build the §7.2 report from the frozen bundle and the registry records it pins.

    The approval row belongs to a later context (the gate records who decided); its caller
    passes it in (``airel.services.gate.approval_record``). Without it the row is missing."""
    bundle = get_bundle(ctx, release_id)
    spec = bundle.bundle_spec()
    by_path: dict[str, ComponentVersion] = {}
    with ctx.store.read() as tx:
        for r in bundle.resolutions:
            found = tx.get_component(ComponentKey.from_node(r.node))
            if found is not None:
                by_path[r.path] = found
    items = [
        _code(spec.code.repo_commit, by_path.get("code.repo_commit")),
        _runtime(bundle, by_path),
        _data(by_path.get("data.training_snapshot")),
        _labels(by_path.get("data.label_policy"), bundle.pipeline_type),
        _features(by_path.get("features.feature_view"), bundle.pipeline_type),
        _training(by_path.get("model")),
        _model(by_path.get("model")),
        _prompt(bundle, by_path),
        _eval(bundle, by_path),
        _deployment(bundle),
        approval
        or repro_item("approval", [], ["decision maker, date, conditions, exceptions, expiry"]),
    ]
    complete = all(i.status in (ItemStatus.PRESENT, ItemStatus.NOT_APPLICABLE) for i in items)
    return ReproReport(release_id=release_id, digest=bundle.digest, complete=complete, items=items)


def _code(commit: str | None, code: ComponentVersion | None) -> ReproItem:
    evidence = [f"commit {commit}"] if commit else []
    lacking: list[str] = []
    if code is None:
        lacking.append("registered code snapshot (repo, branch, reviewers, build id)")
    else:
        evidence.append(f"{code.key.node}")
        lacking += _need(code.fields, ["repo", "branch", "build_id", "reviewers"])
    return repro_item("code_snapshot", evidence, lacking)


def _runtime(bundle: FrozenBundle, by_path: dict[str, ComponentVersion]) -> ReproItem:
    code = bundle.spec.get("code", {})
    evidence: list[str] = []
    lacking: list[str] = []
    for field in ("pipeline_image", "serving_image"):
        image = code.get(field)
        if not image:
            continue
        evidence.append(f"{field} {image}")
        if not _PINNED_IMAGE.search(image):
            lacking.append(f"{field} pinned by full sha256 digest")
        registered = by_path.get(f"code.{field}")
        if registered is None:
            lacking.append(f"{field} registered as a container_image (lock file, base image)")
        else:
            lacking += [f"{field} {n}" for n in _need(registered.fields, ["lock_file_hash"])]
    if evidence and not any("serving_image" in e for e in evidence):
        lacking.append("serving_image")
    return repro_item("runtime_environment", evidence, lacking)


def _data(dataset: ComponentVersion | None) -> ReproItem:
    if dataset is None:
        return repro_item("data_snapshot", [], ["registered training snapshot"])
    f = dataset.fields
    snapshot = f.get("snapshot", {})
    lacking = _need(f, ["source_lineage", "row_count"]) + _need(snapshot, ["query"])
    if not (snapshot.get("partition") or snapshot.get("window_start")):
        lacking.append("partition or time window")
    if dataset.artifact is None and not f.get("content_hash"):
        lacking.append("content hash")
    return repro_item("data_snapshot", [dataset.key.node], lacking)


def _labels(policy: ComponentVersion | None, pipeline: PipelineType | None) -> ReproItem:
    if pipeline in (PipelineType.RAG_ASSISTANT, PipelineType.LLM_PROMPT):
        return ReproItem(
            item="label_snapshot", status=ItemStatus.NOT_APPLICABLE, evidence=[], lacking=[]
        )
    if policy is None:
        return repro_item("label_snapshot", [], ["label policy version"])
    return repro_item("label_snapshot", [policy.key.node, policy.fields.get("text_hash", "")], [])


def _features(view: ComponentVersion | None, pipeline: PipelineType | None) -> ReproItem:
    if pipeline in (PipelineType.RAG_ASSISTANT, PipelineType.LLM_PROMPT):
        return ReproItem(
            item="feature_snapshot", status=ItemStatus.NOT_APPLICABLE, evidence=[], lacking=[]
        )
    if view is None:
        return repro_item("feature_snapshot", [], ["registered feature view"])
    lacking = _need(view.fields, ["transform_hash", "freshness_sla", "features"])
    return repro_item("feature_snapshot", [view.key.node], lacking)


def _training(model: ComponentVersion | None) -> ReproItem:
    if model is None:
        return repro_item("training_run", [], ["registered model"])
    f = model.fields
    if f.get("vendor_model"):
        return repro_item("training_run", [f"vendor model {f['vendor_model']}"], [])
    training = f.get("training") or {}
    evidence = [f"training_run_id {f['training_run_id']}"] if f.get("training_run_id") else []
    lacking = _need(training, ["algorithm", "params", "seed", "metrics"])
    return repro_item("training_run", evidence, lacking)


def _model(model: ComponentVersion | None) -> ReproItem:
    if model is None:
        return repro_item("model_artifact", [], ["registered model"])
    evidence = [model.key.node]
    lacking = [] if model.artifact or model.fields.get("vendor_model") else ["artifact hash"]
    if model.artifact:
        evidence.append(model.artifact.digest)
    lacking += _need(model.fields, ["signature"])
    return repro_item("model_artifact", evidence, lacking)


def _prompt(bundle: FrozenBundle, by_path: dict[str, ComponentVersion]) -> ReproItem:
    paths = [p for p in by_path if p.startswith("prompt_policy.")]
    if not paths:
        if bundle.pipeline_type in (PipelineType.CLASSIFIER,):
            return ReproItem(
                item="prompt_policy", status=ItemStatus.NOT_APPLICABLE, evidence=[], lacking=[]
            )
        return repro_item("prompt_policy", [], ["prompt / policy / tool schema versions"])
    evidence = [f"{by_path[p].key.node} {by_path[p].fields.get('text_hash', '')}" for p in paths]
    return repro_item("prompt_policy", evidence, [])


def _eval(bundle: FrozenBundle, by_path: dict[str, ComponentVersion]) -> ReproItem:
    evidence = [by_path[p].key.node for p in sorted(by_path) if p.startswith("eval.")]
    runs = bundle.spec.get("eval", {}).get("eval_run_ids", [])
    evidence += [f"eval run {r}" for r in runs]
    lacking = [] if runs else ["eval run ids (thresholds, slice metrics, raw failures)"]
    return repro_item("eval_run", evidence, lacking)


def _deployment(bundle: FrozenBundle) -> ReproItem:
    dep = bundle.spec.get("deployment", {})
    evidence = [f"{k} {dep[k]}" for k in ("route", "traffic_start") if dep.get(k)]
    lacking = [k for k in ("route", "traffic_start") if not dep.get(k)]
    return repro_item("deployment", evidence, lacking)
