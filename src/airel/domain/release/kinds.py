"""The release context's vocabularies that edges name before any record is built.

Enums only, with no pydantic: the CLI declares its ``--kind`` and ``--state`` options with them,
and importing this module costs nothing (``airel component --help`` stays fast, issue 10).
:mod:`airel.domain.release.components` and :mod:`airel.domain.release.bundle` build on them.
"""

from __future__ import annotations

from enum import StrEnum


class ComponentKind(StrEnum):
    """Every kind of thing a release is built from."""

    MODEL = "model"  # a trained artifact, adapter, calibration layer or pinned vendor model (R1)
    DATASET = "dataset"  # a training / validation / production-sample snapshot (R2)
    FEATURE_VIEW = "feature_view"  # a feature definition + transform + serving view (R3)
    PROMPT = "prompt"  # a system prompt, few-shot set or tool instruction (R4)
    POLICY = "policy"  # a guardrail, decision, threshold or label policy (R4)
    TOOL_SCHEMA = "tool_schema"  # an agent tool's schema and permissions (R4)
    RAG_INDEX = "rag_index"  # a retrieval index built from document snapshots
    EVAL_DATASET = "eval_dataset"  # a golden / regression / red-team / slice set (E1)
    EVALUATOR = "evaluator"  # a metric, rule, judge or human-review rubric (E1)
    CODE = "code"  # a source snapshot: repo, commit, build
    CONTAINER_IMAGE = "container_image"  # a pipeline or serving image pinned by digest


class BundleState(StrEnum):
    """Where a release bundle is in its life (B1); one way only: draft → frozen."""

    DRAFT = "draft"  # editable under compare-and-set; not citable by approvals, gates, evidence
    FROZEN = "frozen"  # resolved, content-addressed, immutable; what gates and approvals cite
