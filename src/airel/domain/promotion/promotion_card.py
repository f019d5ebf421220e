"""The §8.2 Model Promotion Card, rendered from a stored promotion, its manifest and decision (P7).

Every row comes from a record: the promotion (from, to, expiry, the baseline it runs beside),
the manifest (the model version, the split, the automatic-rollback controls) and the gate
decision (its kind, conditions and accepted risks). What no record holds — the candidate's
benefit, when no comparison summary was stored with the promotion — says "not recorded",
never placeholder text. Values are escaped like the gate memo's.
"""

from __future__ import annotations

from typing import Any

from airel.domain.gate.memo import text
from airel.domain.gate.records import DecisionRecord
from airel.domain.promotion.manifest import DeploymentManifest, split_of
from airel.domain.promotion.promotion import Promotion

NOT_RECORDED = "not recorded"


def _model(manifest: DeploymentManifest) -> str:
    models = sorted(
        ref.split("/", 1)[1] for ref in manifest.components.values() if ref.startswith("model/")
    )
    return "; ".join(text(m) for m in models) or NOT_RECORDED


def _risks(outcome: dict[str, Any]) -> str:
    accepted = [text(w) for w in outcome.get("waivers_used") or []]
    notes = [text(n) for n in (outcome.get("conditions") or {}).get("notes") or []]
    return "; ".join(accepted + notes) or "none recorded with the decision"


def _controls(manifest: DeploymentManifest, outcome: dict[str, Any]) -> str:
    controls = [f"auto rollback: {text(r)}" for r in manifest.monitoring.auto_rollback]
    review = (outcome.get("conditions") or {}).get("human_review")
    if review:
        controls.append(f"human review: {text(review)}")
    return "; ".join(controls) or NOT_RECORDED


def _decision(promotion: Promotion, manifest: DeploymentManifest, outcome: dict[str, Any]) -> str:
    kind = str(outcome.get("decision") or promotion.body.get("decision") or NOT_RECORDED)
    words = f"{text(kind.replace('_', ' '))}: promote to {text(promotion.target.value)}"
    words += f" at {text(split_of(manifest.traffic))}"
    conditions = outcome.get("conditions") or {}
    if conditions.get("segments"):
        words += ", keeping " + ", ".join(text(s) for s in conditions["segments"]) + " back"
    if conditions.get("traffic_cap_percent") is not None:
        words += f", traffic at most {conditions['traffic_cap_percent']:g}%"
    return words


def render_promotion_card(
    promotion: Promotion, manifest: DeploymentManifest, decision: DecisionRecord | None
) -> str:
    """The §8.2 card as Markdown (a missing decision record shows as not recorded)."""
    outcome: dict[str, Any] = dict((decision.body.get("outcome") or {}) if decision else {})
    benefit = promotion.body.get("benefit")
    baseline = promotion.body.get("baseline")
    rows = [
        ("Promotion ID", text(promotion.promotion_id)),
        ("From stage", text(promotion.source.value) if promotion.source else "— (first stage)"),
        ("To stage", text(promotion.target.value)),
        ("Model", _model(manifest)),
        ("Release bundle", text(promotion.release_id)),
        ("Baseline", text(baseline) if baseline else "none: no earlier release to run beside"),
        ("Candidate benefit", text(benefit) if benefit else NOT_RECORDED),
        ("Critical risks", _risks(outcome) if decision else NOT_RECORDED),
        ("Required controls", _controls(manifest, outcome)),
        ("Decision", _decision(promotion, manifest, outcome)),
        ("Expiry", f"promotion expires at {text(promotion.expires_at)}"),
    ]
    lines = [f"# Model Promotion Card — {text(promotion.release_id)}", ""]
    lines += ["| Field | Value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"
