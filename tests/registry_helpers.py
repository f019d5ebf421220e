"""Helpers shared by the component-registry tests (tests/release/test_registry.py and
tests/release/test_lineage.py).

One valid spec per component kind (``SPECS``) with its prerequisites (``DEPENDS``),
registration helpers, the model spec with fields replaced, the blob listing, and the ``files``
fixture (import ``files_fixture``; the tests request it as ``files``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airel.client import Client
from airel.domain.release.kinds import ComponentKind
from airel.services.release.components import Registered

Write = Callable[[str, str], Path]

IMAGE = "registry/fraud-serving@sha256:" + "b" * 64

# One valid spec per kind. Specs may name prerequisites (listed in DEPENDS) and files (FILES).
SPECS: dict[ComponentKind, str] = {
    ComponentKind.DATASET: """
        kind: dataset
        name: CARDS-TRAIN
        version: "1"
        owner: fraud-data
        source_lineage: [cards.authorisations]
        snapshot: {query: "select * from auth", partition: "2026-06"}
        schema: {amount: float64, label: int64}
        classification: confidential
        retention: 7y
        allowed_use: [fraud-detection]
        row_count: 2
        artifact: data/train.csv
    """,
    ComponentKind.FEATURE_VIEW: """
        kind: feature_view
        name: cards-features
        version: "3"
        owner: fraud-data
        entity_key: customer_id
        features: [{name: amount, dtype: float64}]
        transform: features.py
        freshness_sla: 15m
        serving_view: online.cards_v3
        allowed_use: [fraud-detection]
        source_datasets: ["CARDS-TRAIN:1"]
    """,
    ComponentKind.MODEL: """
        kind: model
        name: cards-score
        version: 1.0.0
        owner: Fraud Analytics Lead
        risk_tier: Tier 1
        signature: {inputs: [{name: amount, type: float}], outputs: [{name: score, type: float}]}
        training_run_id: TRN-1
        training_dataset: CARDS-TRAIN:1
        feature_view: cards-features:3
        approved_stage: staging
        approval_conditions: [analyst review]
        eval_report: reports/cards-score-1.html
        monitoring_dashboard: https://dash.example/cards
        review_expiry: "2027-06-30"
        artifact: models/m1
    """,
    ComponentKind.PROMPT: """
        kind: prompt
        name: cards-summary-prompt
        version: "2.3"
        text: "Summarise the alert.\\nCite evidence.\\n"
        format: text
    """,
    ComponentKind.POLICY: """
        kind: policy
        name: cards-guardrail
        version: "1.2"
        text_file: policies/guardrail.rego
        format: rego
        approval: CAB-77
    """,
    ComponentKind.TOOL_SCHEMA: """
        kind: tool_schema
        name: case-evidence-tool
        version: "1.1"
        tool_schema: {type: object, properties: {case_id: {type: string}}}
        side_effects: read
        requires_approval: false
        idempotent: true
    """,
    ComponentKind.RAG_INDEX: """
        kind: rag_index
        name: cards-policy-index
        version: 2026Q2-v2
        owner: knowledge-team
        source_datasets: ["CARDS-TRAIN:1"]
        embedding_model: text-embed-3
        chunking: {size: 512, overlap: 64}
        document_count: 120
        artifact: index
    """,
    ComponentKind.EVAL_DATASET: """
        kind: eval_dataset
        name: CARDS-GOLDEN
        version: "2"
        role: golden
        row_count: 2
        derived_from: ["CARDS-TRAIN:1"]
        artifact: data/golden.csv
    """,
    ComponentKind.EVALUATOR: """
        kind: evaluator
        name: ROC-AUC
        version: "1"
        evaluator_type: metric
        thresholds: {min: 0.85}
    """,
    ComponentKind.CODE: """
        kind: code
        name: cards-repo
        version: 9f2c81a
        repo: git@example:fraud/cards.git
        commit: 9f2c81a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6
        branch: main
        build_id: B-100
        reviewers: [bob]
    """,
    ComponentKind.CONTAINER_IMAGE: f"""
        kind: container_image
        name: cards-serving
        version: "1"
        image: {IMAGE}
        lock_file_hash: sha256:{"e" * 64}
        hardware_profile: cpu-4
        code: cards-repo:9f2c81a
    """,
}

DEPENDS: dict[ComponentKind, list[ComponentKind]] = {
    ComponentKind.FEATURE_VIEW: [ComponentKind.DATASET],
    ComponentKind.MODEL: [ComponentKind.DATASET, ComponentKind.FEATURE_VIEW],
    ComponentKind.RAG_INDEX: [ComponentKind.DATASET],
    ComponentKind.EVAL_DATASET: [ComponentKind.DATASET],
    ComponentKind.CONTAINER_IMAGE: [ComponentKind.CODE],
}


@pytest.fixture(name="files")
def files_fixture(project: Path) -> Path:
    """The artifacts the specs point at."""
    (project / "data").mkdir()
    (project / "data" / "train.csv").write_text("amount,label\n1.0,0\n250.0,1\n")
    (project / "data" / "golden.csv").write_text("amount,label\n9.0,0\n")
    (project / "models" / "m1").mkdir(parents=True)
    (project / "models" / "m1" / "model.bin").write_bytes(b"weights-1")
    (project / "models" / "m2").mkdir(parents=True)
    (project / "models" / "m2" / "model.bin").write_bytes(b"weights-2")
    (project / "index").mkdir()
    (project / "index" / "chunks.jsonl").write_text('{"id": 1}\n')
    (project / "features.py").write_text("def transform(row):\n    return row\n")
    (project / "policies").mkdir()
    (project / "policies" / "guardrail.rego").write_text("package guard\ndefault allow = false\n")
    return project


def register(client: Client, write: Write, project: Path, name: str, text: str) -> Registered:
    return client.registry.register(write(f"specs/{name}.yaml", text), base_dir=project)


def register_kind(client: Client, write: Write, project: Path, kind: ComponentKind) -> Registered:
    for dep in DEPENDS.get(kind, []):
        register_kind(client, write, project, dep)
    return register(client, write, project, kind.value, SPECS[kind])


def blobs(client: Client) -> set[str]:
    root = client.settings.artifact_root / "sha256"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def model_spec(**changes: str | None) -> str:
    """The model spec with fields replaced (value) or removed (None)."""
    lines = []
    for line in SPECS[ComponentKind.MODEL].strip("\n").splitlines():
        key = line.strip().split(":", 1)[0]
        if key not in changes:
            lines.append(line)
        elif (value := changes.pop(key)) is not None:
            lines.append(f"        {key}: {value}")
    lines += [f"        {k}: {v}" for k, v in changes.items() if v is not None]
    return "\n".join(lines) + "\n"
